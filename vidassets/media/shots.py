"""Shot boundaries and one sharp keyframe per shot, in one streaming decode pass with bounded memory.

Every frame is decoded once (PyAV, threaded); every `DETECT_EVERY`-th is shrunk to a small BGR picture for
PySceneDetect's `ContentDetector` (HSV + edge change between compared frames: hard cuts; it reports no gradual
transitions, so every boundary it gives is a `cut`). Nothing is kept per frame: a few keyframe candidates per open
shot are taken at a stride that doubles whenever the shot outgrows them (at most `2 * CANDIDATES` decoded frames
held), each scored by the variance of the Laplacian of its luma at `SHARPNESS_WIDTH` px (sharpness); when a shot
ends, the sharpest candidate away from its edges (a transition or a fade may blur them) is its keyframe, converted
to RGB only then, at up to `max_side` px (1280 by default: on-screen text of 24 px in 720p stays readable for OCR,
at 640 px it loses its spaces). Memory stays the same for a 10-hour video as for a clip.
"""

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from vidassets.media.errors import InvalidMediaError
from vidassets.media.frames import frame_to_rgb
from vidassets.media.probe import main_video_stream, open_input, stream_start_s

DETECT_WIDTH = 256  # PySceneDetect's own auto-downscale aims at about this width
SHARPNESS_WIDTH = 320  # candidates are compared at this width (luma only): cheap, and enough to rank focus
KEYFRAME_MAX_SIDE = 1280
CANDIDATES = 6  # keyframe candidates kept per shot (between CANDIDATES and 2 * CANDIDATES)
CANDIDATE_STRIDE_S = 0.5  # first spacing of candidates in a shot
EDGE_MARGIN_S = 0.2  # candidates this close to a boundary are used only if no other exists
CONTENT_THRESHOLD = 27.0  # ContentDetector's default
MIN_SHOT_S = 0.5
# The detector compares every 2nd frame: cuts land within 1 frame, and the pass costs ~35% less (31 s instead of
# 49 s for 15,000 frames of 720p on 2 busy cores); every frame is still decoded (H.264 needs them).
DETECT_EVERY = 2
# Non-reference frames (most B-frames) are not decoded: nothing else depends on them, so every decoded frame is
# exact, and with x264's default B-pyramid the decoded frames are every 2nd one, what the detector compares anyway
# (cuts still within 1-2 frames). Streams without B-frames (most phones) decode whole. Measured on the 10-minute
# 720p bench video: see docs/QUALITY.md.
SKIP_NONREF = True
METHOD = "pyscenedetect-content"


@dataclass
class Shot:
    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int  # exclusive
    transition: str  # how the shot begins: "start" (first shot) or "cut"
    keyframe_s: float
    sharpness: float  # variance of the Laplacian of the keyframe (gray, at keyframe size)
    image: np.ndarray = field(repr=False)  # RGB uint8, upright, max side <= max_side (never upscaled)


@dataclass
class ShotStats:
    """Filled in by `iter_shots` as it reads."""

    method: str = METHOD
    fps: float = 0.0
    frames_decoded: int = 0
    seconds: float = 0.0
    params: dict[str, float] = field(default_factory=dict)


@dataclass
class ShotDetection:
    shots: list[Shot]
    stats: ShotStats


@dataclass
class _Candidate:
    frame: int
    time_s: float
    sharpness: float
    picture: av.VideoFrame  # held decoded; converted to RGB only if it becomes the keyframe


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the picture (gray, or RGB made gray): high for in-focus detail, low for blur
    and fades."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def frame_sharpness(frame: av.VideoFrame) -> float:
    """`sharpness` of the frame's luma shrunk to SHARPNESS_WIDTH (area filter), without an RGB conversion."""
    width = min(SHARPNESS_WIDTH, frame.width)
    height = max(2, round(width * frame.height / frame.width))
    gray = frame.reformat(width=width, height=height, format="gray", interpolation="AREA").to_ndarray()
    return sharpness(gray)


class _OpenShot:
    """Keyframe candidates of the shot being read, thinned so that at most 2 * CANDIDATES are held."""

    def __init__(self, start: int, stride: int) -> None:
        self.start, self.base_stride, self.stride = start, stride, stride
        self.due = start  # the next frame number that may become a candidate (decoded frames may skip numbers)
        self.candidates: list[_Candidate] = []

    def wants(self, frame: int) -> bool:
        return frame >= self.due

    def add(self, candidate: _Candidate) -> None:
        self.candidates.append(candidate)
        if len(self.candidates) >= 2 * CANDIDATES:
            self.candidates = self.candidates[::2]
            self.stride *= 2
        self.due = self.candidates[-1].frame + self.stride

    def split(self, cut: int) -> "_OpenShot":
        """The next shot from frame `cut` (the detector reports a cut a few frames late): its candidates move."""
        after = _OpenShot(cut, self.base_stride)
        after.candidates = [c for c in self.candidates if c.frame >= cut]
        if after.candidates:
            after.due = after.candidates[-1].frame + after.stride
        self.candidates = [c for c in self.candidates if c.frame < cut]
        return after

    def keyframe(self, end: int, margin: int) -> _Candidate | None:
        inner = [c for c in self.candidates if self.start + margin <= c.frame < end - margin]
        pool = inner or self.candidates
        return max(pool, key=lambda c: c.sharpness) if pool else None


def detect_shots(path: Path, *, name: str, **options: float) -> ShotDetection:
    """Every shot of the video in a list (tests, benchmarks); the asset streams them with `iter_shots`."""
    stats = ShotStats()
    return ShotDetection(list(iter_shots(path, name=name, stats=stats, **options)), stats)  # type: ignore[arg-type]


def iter_shots(
    path: Path, *, name: str, stats: ShotStats | None = None, max_side: int = KEYFRAME_MAX_SIDE,
    threshold: float = CONTENT_THRESHOLD, min_shot_s: float = MIN_SHOT_S, detect_every: int = DETECT_EVERY,
    skip_nonref: bool = SKIP_NONREF,
) -> Iterator[Shot]:
    """Shots of the whole video in time order, each yielded when it ends (at least one for a video with a
    decodable frame), so a caller can store keyframes as they come. `stats` is filled in as the video is read.

    Frame numbers are positions at the stream's average rate (presentation time x fps, strictly increasing): the
    decoded frame count for constant-rate video read whole. `skip_nonref` leaves non-reference frames undecoded
    (see SKIP_NONREF); the detector then compares the decoded frames at least `detect_every` numbers apart.

    Raises InvalidMediaError naming `name` when the file has no decodable video frame.
    """
    from scenedetect.common import FrameTimecode
    from scenedetect.detectors import ContentDetector

    stats = stats if stats is not None else ShotStats()
    if detect_every < 1:
        raise ValueError(f"detect_every must be >= 1, not {detect_every}")
    stats.params = {"threshold": threshold, "min_shot_s": min_shot_s, "detect_width": DETECT_WIDTH,
                    "detect_every": detect_every, "skip_nonref": float(skip_nonref),
                    "candidates": CANDIDATES, "edge_margin_s": EDGE_MARGIN_S}
    started = time.monotonic()
    container = open_input(Path(path), name)
    count = 0
    try:
        stream = main_video_stream(container)
        if stream is None:
            raise InvalidMediaError(name, "no video stream")
        stream.thread_type = "AUTO"
        if skip_nonref:
            stream.codec_context.skip_frame = "NONREF"
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        stats.fps = fps
        sar = float(stream.codec_context.sample_aspect_ratio or 1.0)
        origin = stream_start_s(stream)
        detector = ContentDetector(threshold=threshold, min_scene_len=max(1, round(min_shot_s * fps)))
        stride = max(1, round(CANDIDATE_STRIDE_S * fps))
        margin = round(EDGE_MARGIN_S * fps)
        times: deque[tuple[int, float]] = deque(maxlen=1024)  # recent (frame, time): the detector reports late
        current, transition = _OpenShot(0, stride), "start"
        last: av.VideoFrame | None = None
        n = 0  # the number of the frame being read; after the loop, one past the last
        previous = last_detected = -(10**9)
        decoded = 0
        # compared frame -> the compared frame before it (recent ones): a cut the detector reports at frame c
        # happened somewhere after that one, up to c
        compared_after: dict[int, int] = {}

        def gap_middle(cut: int) -> int:
            """The detector names the first compared frame after a cut; with frames skipped (non-reference frames
            not decoded, every `detect_every`-th compared) the cut lies in the gap before it: report its middle, so
            the error is at most half the gap (1 frame for gaps up to 3) instead of the whole gap."""
            before = compared_after.get(cut)
            if len(compared_after) > 4096:  # bounded for long videos; the detector reports within a few frames
                for key in list(compared_after)[:2048]:
                    del compared_after[key]
            if before is None or cut - before <= 2:
                return cut
            return cut - (cut - before - 1) // 2

        def time_of(frame: int) -> float:
            for number, t in reversed(times):
                if number == frame:
                    return t
            return frame / fps

        def close(shot: _OpenShot, end: int, kind: str, fallback: av.VideoFrame | None) -> Shot | None:
            best = shot.keyframe(end, margin)
            if best is None and fallback is not None:  # the last shot, shorter than the candidate stride
                best = _Candidate(end - 1, time_of(end - 1), frame_sharpness(fallback), fallback)
            if best is None:
                return None
            return Shot(
                index=count, start_s=time_of(shot.start), end_s=time_of(end), start_frame=shot.start,
                end_frame=end, transition=kind, keyframe_s=best.time_s, sharpness=round(best.sharpness, 2),
                image=frame_to_rgb(best.picture, sar, max_side),
            )

        for frame in container.decode(stream):
            t = max(0.0, float(frame.time) - origin) if frame.time is not None else (previous + 1) / fps
            n = max(previous + 1, round(t * fps))
            times.append((n, t))
            if current.wants(n):
                current.add(_Candidate(n, t, frame_sharpness(frame), frame))
            cuts: list[int] = []
            if n - last_detected >= detect_every:
                compared_after[n] = last_detected
                height = max(2, 2 * round(DETECT_WIDTH * frame.height / frame.width / 2))
                small = frame.reformat(width=DETECT_WIDTH, height=height, format="bgr24",
                                       interpolation="FAST_BILINEAR").to_ndarray()
                last_detected = n
                cuts = [gap_middle(c.frame_num) for c in detector.process_frame(FrameTimecode(n, fps), small)]
            for cut in cuts:
                if cut <= current.start:
                    continue
                following = current.split(cut)
                if not following.candidates:  # its first frames went by before the cut was known: this one is its
                    following.add(_Candidate(n, t, frame_sharpness(frame), frame))
                if (done := close(current, cut, transition, None)) is not None:
                    count += 1
                    yield done
                current, transition = following, "cut"
            last, previous = frame, n
            decoded += 1
            stats.frames_decoded = decoded
        n = previous + 1
        if last is not None:
            for cut in (gap_middle(c.frame_num) for c in detector.post_process(FrameTimecode(n, fps))):
                if current.start < cut < n:
                    following = current.split(cut)
                    if (done := close(current, cut, transition, None)) is not None:
                        count += 1
                        yield done
                    current, transition = following, "cut"
            times.append((n, time_of(n - 1) + 1.0 / fps))
            if (done := close(current, n, transition, last)) is not None:
                count += 1
                yield done
    except av.error.FFmpegError as err:
        raise InvalidMediaError(name, f"truncated or corrupt: decoding failed ({err.strerror or err})") from err
    finally:
        container.close()
        stats.seconds = time.monotonic() - started
    if not count:
        raise InvalidMediaError(name, "truncated or corrupt: no decodable video frames")

