"""Extract the speech track as 16 kHz mono FLAC: what whisperx and diarization models read.

FLAC keeps the file lossless and about half the size of WAV; the models resample to 16 kHz anyway, so
doing it once here saves every later step from decoding the video.
"""

import os
import uuid
from pathlib import Path

import av
import av.error

from vidassets.media.errors import InvalidMediaError
from vidassets.media.ffmpeg import ffmpeg_input, ffmpeg_timeout, run_ffmpeg

SAMPLE_RATE = 16_000  # the audio asset's rate, and what every speech model (Whisper, VAD, diarizers) reads


def extract_audio(
    video: Path, out: Path, *, name: str, sample_rate: int = SAMPLE_RATE, duration_s: float | None = None,
    timeout_s: float | None = None, ffmpeg: str | None = None,
) -> None:
    """Write the first audio stream of `video` to `out` as mono `sample_rate` Hz FLAC, atomically, with the
    `ffmpeg` executable (default: the wheel's).

    The FLAC is written to a temporary file beside `out` and renamed, so `out` is either absent or
    complete. Raises InvalidMediaError naming `name` if FFmpeg fails (e.g. no audio stream) or takes longer
    than `timeout_s` (default: proportional to the probed `duration_s`, with a floor).
    """
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    args = [
        "-y", "-i", ffmpeg_input(video),
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1",
        "-ac", "1", "-ar", str(sample_rate), "-c:a", "flac",
        "-f", "flac", ffmpeg_input(tmp),
    ]  # fmt: skip
    try:
        timeout = timeout_s if timeout_s is not None else ffmpeg_timeout(duration_s)
        run_ffmpeg(args, source_name=name, timeout=timeout, ffmpeg=ffmpeg)
        os.replace(tmp, out)
    except InvalidMediaError as err:
        if "matches no streams" in err.cause:
            raise InvalidMediaError(name, "has no audio stream") from err
        raise
    finally:
        tmp.unlink(missing_ok=True)


def audio_duration_s(path: Path, *, name: str | None = None) -> float:
    """Duration of the first audio stream in seconds (header value; packets summed if it has none)."""
    label = name or Path(path).name
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise InvalidMediaError(label, f"not a decodable audio file ({reason})") from err
    with container:
        if not container.streams.audio:
            raise InvalidMediaError(label, "has no audio stream")
        stream = container.streams.audio[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / av.time_base
        total = 0
        for packet in container.demux(stream):
            total += packet.duration or 0
        return float(total * stream.time_base) if stream.time_base else 0.0
