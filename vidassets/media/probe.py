"""Probe an uploaded video with PyAV and prove it is decodable, without decoding the whole file.

There is no ffprobe here, and opening a container is not enough: a text file renamed .mp4, an empty file and
an upload cut short all need a clear error naming the upload. So the probe decodes the first video frame and
checks that video data reaches (near) the end the header promises: for MP4/MOV by comparing the sample
index with the file size, otherwise by seeking near the end.
"""

import dataclasses
import statistics
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from vidassets.media.errors import InvalidMediaError

_MAX_PACKETS_FIRST_FRAME = 600  # a few GOPs of a normal video; corrupt streams give up quickly
_MAX_PACKETS_TAIL = 2000
_MAX_INDEX_ENTRIES_FOR_GOP = 5000


@dataclass(frozen=True)
class VideoStreamInfo:
    codec: str
    width: int
    height: int
    fps: float
    frame_count: int | None
    pix_fmt: str | None = None
    rotation: int = 0  # degrees from the display matrix; sampled frames are turned upright
    keyframe_interval_s: float | None = None  # median, from the container index when it has one


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoProbe:
    container: str
    duration_s: float
    size_bytes: int
    bit_rate: int | None
    video: VideoStreamInfo
    audio: AudioStreamInfo | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (nested dicts for the streams, None for a missing audio stream)."""
        return dataclasses.asdict(self)


def stream_time_base(stream: VideoStream, name: str = "input") -> Fraction:
    """The stream's time base; a video stream without one cannot be timed (InvalidMediaError)."""
    if stream.time_base is None:
        raise InvalidMediaError(name, "video stream has no time base")
    return stream.time_base


def open_input(path: Path, name: str) -> InputContainer:
    """Open a media file with PyAV, turning empty/garbage/unopenable files into InvalidMediaError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as err:
        raise InvalidMediaError(name, "file does not exist") from err
    if size == 0:
        raise InvalidMediaError(name, "file is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        if _looks_like_iso_bmff(path):
            raise InvalidMediaError(
                name, f"truncated or corrupt: MP4/MOV header present but the file cannot be opened ({reason})"
            ) from err
        raise InvalidMediaError(name, f"not a decodable video ({reason})") from err


def _looks_like_iso_bmff(path: Path) -> bool:
    """MP4/MOV start with an `ftyp` box; an unopenable one is usually cut short (no `moov` index)."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head[4:8] == b"ftyp"


def main_video_stream(container: InputContainer) -> VideoStream | None:
    """First real video stream; cover art in audio files is a one-picture "video" stream and is skipped."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def video_duration_s(container: InputContainer, stream: VideoStream) -> float:
    """Duration of the video track, falling back to the container's (0.0 if neither header says)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def stream_start_s(stream: VideoStream) -> float:
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _codec_name(stream: Any) -> str:
    """Codec ("av1"), not decoder ("libdav1d") name."""
    ctx = stream.codec_context
    return ctx.codec.canonical_name if ctx.codec is not None else ctx.name


def _fps(stream: VideoStream) -> float:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _first_frame(container: InputContainer, stream: VideoStream, name: str) -> av.VideoFrame:
    try:
        for n, packet in enumerate(container.demux(stream)):
            for frame in packet.decode():
                return frame
            if n >= _MAX_PACKETS_FIRST_FRAME:
                break
        else:
            for frame in stream.decode(None):  # drain: a one-frame video is only output on flush
                return frame
    except av.error.FFmpegError as err:
        raise InvalidMediaError(
            name, f"truncated or corrupt: no decodable video frames ({err.strerror or err})"
        ) from err
    raise InvalidMediaError(name, "truncated or corrupt: no decodable video frames")


def _scan_duration_s(container: InputContainer, stream: VideoStream, name: str) -> float:
    """Demux (no decoding) to the end and return the last video timestamp relative to the start."""
    end: float | None = None
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                t = float((packet.pts + (packet.duration or 0)) * stream_time_base(stream, name))
                end = t if end is None else max(end, t)
    except av.error.FFmpegError as err:
        raise InvalidMediaError(name, f"truncated or corrupt: {err.strerror or err}") from err
    if end is None:
        raise InvalidMediaError(name, "not a decodable video (unknown duration)")
    return max(0.0, end - stream_start_s(stream))


def _index_end_bytes(stream: Any) -> int:
    """Largest byte offset the container index says this stream's samples reach (0 if no index)."""
    entries = stream.index_entries
    count = len(entries)
    end = 0
    for i in range(max(0, count - 32), count):
        entry = entries[i]
        if entry.pos >= 0:
            end = max(end, entry.pos + entry.size)
    return end


def _keyframe_interval_s(stream: VideoStream) -> float | None:
    """Median keyframe spacing, only from a complete index (an entry per frame, as in MP4/MOV)."""
    entries = stream.index_entries
    if not stream.frames or len(entries) < 0.9 * stream.frames:
        return None
    times = [
        entries[i].timestamp for i in range(min(len(entries), _MAX_INDEX_ENTRIES_FOR_GOP)) if entries[i].is_keyframe
    ]
    if len(times) < 2 or not stream.time_base:
        return None
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return round(float(statistics.median(gaps) * stream.time_base), 3)


def _check_tail(container: InputContainer, stream: VideoStream, duration_s: float, name: str) -> None:
    """Seek to 90% of the duration and demux forward: data for the last part must exist and decode."""
    start = stream_start_s(stream)
    target = start + 0.9 * duration_s
    reached: float | None = None
    decoded = False
    try:
        container.seek(int(target / stream_time_base(stream)), stream=stream, backward=True)
        for n, packet in enumerate(container.demux(stream)):
            if packet.pts is not None:
                t = float(packet.pts * stream_time_base(stream))
                reached = t if reached is None else max(reached, t)
            if not decoded:
                decoded = bool(packet.decode())
            if (decoded and reached is not None and reached >= target) or n >= _MAX_PACKETS_TAIL:
                break
    except av.error.FFmpegError as err:
        raise InvalidMediaError(
            name, f"truncated or corrupt: video data near the end cannot be read ({err.strerror or err})"
        ) from err
    if reached is None or not decoded:
        raise InvalidMediaError(
            name,
            f"truncated or corrupt: no decodable video frames near the end (header says {duration_s:.1f}s)",
        )
    if reached - start + 1.0 < 0.5 * duration_s:  # slack: short clips, audio-padded container durations
        raise InvalidMediaError(
            name,
            f"truncated or corrupt: video data ends at about {reached - start:.1f}s "
            f"but the header says {duration_s:.1f}s",
        )


def probe_video(path: Path, *, name: str) -> VideoProbe:
    """Container/stream facts for `path`, after proving it holds a decodable video stream.

    Cost: opens the file, decodes one frame, reads a few packets near the end. Raises InvalidMediaError
    (message ``"<name>: <cause>"``) for empty, non-media, truncated or video-less files.
    """
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    container = open_input(path, name)
    with container:
        stream = main_video_stream(container)
        if stream is None:
            audio_codecs = sorted({_codec_name(s) for s in container.streams.audio})
            detail = f" (audio only: {', '.join(audio_codecs)})" if audio_codecs else ""
            raise InvalidMediaError(name, f"has no video stream{detail}")
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise InvalidMediaError(name, f"not a decodable video ({ctx.name} stream has no frame size)")
        first = _first_frame(container, stream, name)
        duration = video_duration_s(container, stream)
        scanned = duration <= 0
        if scanned:  # raw streams and some live recordings: no duration in any header, so read it off
            duration = _scan_duration_s(container, stream, name)

        index_end = max((_index_end_bytes(s) for s in container.streams), default=0)
        if index_end > size:
            raise InvalidMediaError(
                name,
                f"truncated or corrupt: file is {size} bytes but its index references {index_end} bytes "
                "(upload cut short?)",
            )
        if not scanned:
            _check_tail(container, stream, duration, name)

        audio = None
        if container.streams.audio:
            a = container.streams.audio[0]
            audio = AudioStreamInfo(codec=_codec_name(a), sample_rate=int(a.rate or 0), channels=int(a.channels or 0))
        video = VideoStreamInfo(
            codec=_codec_name(stream),
            width=int(ctx.width),
            height=int(ctx.height),
            fps=round(_fps(stream), 3),
            frame_count=int(stream.frames) or None,
            pix_fmt=ctx.pix_fmt,
            rotation=int(round(first.rotation or 0)) % 360,
            keyframe_interval_s=_keyframe_interval_s(stream),
        )
        return VideoProbe(
            container=container.format.name,
            duration_s=round(duration, 3),
            size_bytes=size,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            video=video,
            audio=audio,
        )
