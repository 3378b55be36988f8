"""Locate and run the FFmpeg binary shipped by imageio-ffmpeg (there is no system ffmpeg or ffprobe).

FFmpeg is always run with an argument list, never through a shell, so file names are passed verbatim.
"""

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg

from vidassets.media.errors import InvalidMediaError

_STDERR_TAIL_LINES = 6
_STDERR_TAIL_CHARS = 800


def ffmpeg_exe(override: str | None = None) -> str:
    """Path of the FFmpeg executable: `override` (the `VIDASSETS_FFMPEG` setting) if given, else the
    imageio-ffmpeg wheel binary."""
    return override or imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_input(path: Path) -> str:
    """An FFmpeg file argument that cannot be read as an option (``-x.mp4``) or protocol (``concat:...``)."""
    return "file:" + str(Path(path).absolute())


_LOG_PREFIX = re.compile(r"\[[\w#:.-]+ @ 0x[0-9a-f]+\] ")


def _stderr_tail(stderr: bytes, args: list[str], source_name: str) -> str:
    """Last stderr lines, with log prefixes dropped and scratch paths replaced by display names."""
    text = _LOG_PREFIX.sub("", stderr.decode("utf-8", "replace"))
    inputs = {args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-i"}
    for arg in sorted({a for a in args if a.startswith(("file:", "/"))}, key=len, reverse=True):
        text = text.replace(arg, source_name if arg in inputs else Path(arg.removeprefix("file:")).name)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tail = " | ".join(lines[-_STDERR_TAIL_LINES:])
    return tail[-_STDERR_TAIL_CHARS:] or "no error output"


# Decoding/encoding runs far faster than real time; a stuck or adversarial input (a huge declared length, a
# decoder loop) must not hold a worker forever.
TIMEOUT_FLOOR_S = 120.0
TIMEOUT_PER_MEDIA_S = 2.0


def ffmpeg_timeout(duration_s: float | None, *, floor_s: float = TIMEOUT_FLOOR_S,
                   per_media_s: float = TIMEOUT_PER_MEDIA_S) -> float:
    """Seconds an FFmpeg pass over `duration_s` seconds of media may take: proportional, never below `floor_s`."""
    return max(floor_s, per_media_s * max(0.0, duration_s or 0.0))


def run_ffmpeg(
    args: list[str], *, source_name: str, timeout: float | None = TIMEOUT_FLOOR_S, ffmpeg: str | None = None
) -> None:
    """Run ``ffmpeg -nostdin -hide_banner -loglevel error *args``; on failure raise InvalidMediaError.

    The error names `source_name` (the input the command was about) and carries the last stderr lines. FFmpeg
    is killed after `timeout` seconds (give `ffmpeg_timeout(duration)` for long media; None: no limit).
    `ffmpeg` is the executable to run (default: the wheel's, see `ffmpeg_exe`).
    """
    cmd = [ffmpeg_exe(ffmpeg), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    try:
        proc = subprocess.run(  # noqa: S603 - argument list, no shell; inputs are file names only
            cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as err:
        raise InvalidMediaError(source_name, f"ffmpeg did not finish within {timeout:g}s (killed)") from err
    if proc.returncode != 0:
        tail = _stderr_tail(proc.stderr, args, source_name)
        raise InvalidMediaError(source_name, f"ffmpeg failed (exit {proc.returncode}): {tail}")
