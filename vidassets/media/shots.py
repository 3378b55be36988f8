"""Shot boundaries and one sharp keyframe per shot, in one streaming decode pass with bounded memory.

Every frame is decoded once (PyAV, threaded) and fed to a boundary detector (`BoundaryDetector`):
- `ContentBoundaries` (the CPU default): every `DETECT_EVERY`-th frame shrunk to a small BGR picture for
  PySceneDetect's `ContentDetector` (HSV + edge change between compared frames: hard cuts, `cut`), and a dissolve
  test on the same pictures (a frame that is the average of the frames around it: `gradual`);
- `TransNetV2Boundaries`: the TransNetV2 network on every frame at 48x27 (cuts and gradual transitions; chosen
  where a GPU is, `VIDASSETS_SHOT_DETECTOR`; ~21 frames/s on 2 CPU cores).
Nothing is kept per frame: a few keyframe candidates per open shot are taken at a stride that doubles whenever the
shot outgrows them (at most `2 * CANDIDATES` decoded frames held, plus those of the detector's reporting delay),
each scored by the variance of the Laplacian of its luma at `SHARPNESS_WIDTH` px (sharpness); when a shot ends,
the sharpest candidate away from its edges (a transition or a fade may blur them) is its keyframe, converted to
RGB only then, at up to `max_side` px (1280 by default: on-screen text of 24 px in 720p stays readable for OCR, at
640 px it loses its spaces). Memory stays the same for a 10-hour video as for a clip.
"""

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av
import av.error
import cv2
import numpy as np

from vidassets.media.errors import InvalidMediaError
from vidassets.media.frames import frame_to_rgb
from vidassets.media.probe import main_video_stream, open_input, stream_start_s
from vidassets.media.reformat import scaled_array

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
# The dissolve test (ContentBoundaries): dissolves up to 2 x GRADUAL_MAX_HALF_S long; tuned on the xfade montages
# of benchmarks/quality_shots.py.
GRADUAL_MAX_HALF_S = 0.4
GRADUAL_WIDTH = 64
GRADUAL_BLUR = 5
GRADUAL_MAX_ERROR = 0.4
GRADUAL_MIN_DIFFERENCE = 20.0
GRADUAL_MAX_SIDE_CHANGE = 0.35
# TransNetV2: a transition whose all-frames head marks this many frames is gradual; runs longer than
# TRANSITION_MAX_S are cut short (bounded memory and reporting delay).
GRADUAL_MIN_FRAMES = 3
TRANSITION_MAX_S = 2.0
@dataclass
class Shot:
    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int  # exclusive
    transition: str  # how the shot begins: "start" (first shot), "cut" or "gradual" (a dissolve)
    keyframe_s: float
    sharpness: float  # variance of the Laplacian of the keyframe (gray, at keyframe size)
    image: np.ndarray = field(repr=False)  # RGB uint8, upright, max side <= max_side (never upscaled)


@dataclass
class ShotStats:
    """Filled in by `iter_shots` as it reads."""

    method: str = METHOD
    model: str = ""  # the detector and its version
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


Boundary = tuple[int, str]  # (first frame of the new shot, "cut" | "gradual")


class BoundaryDetector(Protocol):
    """Finds shot boundaries in decoded frames fed in order; may report a boundary up to `delay_frames` late."""

    method: str
    model: str  # the detector and its version (manifests)
    every_frame: bool  # needs every frame decoded (non-reference ones too)
    delay_frames: int  # set by `start`
    params: dict[str, float]

    def start(self, fps: float) -> None: ...

    def feed(self, frame_number: int, frame: av.VideoFrame) -> list[Boundary]: ...

    def finish(self, end: int) -> list[Boundary]: ...


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the picture (gray, or RGB made gray): high for in-focus detail, low for blur
    and fades."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def frame_sharpness(frame: av.VideoFrame) -> float:
    """`sharpness` of the frame's luma shrunk to SHARPNESS_WIDTH (area filter), without an RGB conversion."""
    width = min(SHARPNESS_WIDTH, frame.width)
    height = max(2, round(width * frame.height / frame.width))
    gray = scaled_array(frame, width, height, "gray", "AREA")
    return sharpness(gray)


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b)))


class ContentBoundaries:
    """PySceneDetect's `ContentDetector` on every `detect_every`-th frame (at DETECT_WIDTH) for hard cuts, and a
    dissolve test on the same frames at 64x36 (blurred): a gradual transition of half-width h centred on frame m
    is a picture m that is the average of the frames h before and h after it (mean error <= GRADUAL_MAX_ERROR of
    their difference), those two differ like two shots (>= GRADUAL_MIN_DIFFERENCE, 0-255) and each barely changes
    over the h before/after it (<= GRADUAL_MAX_SIDE_CHANGE of that difference: motion inside one shot fails it).
    A cut the detector reports inside a dissolve is that dissolve. Cuts wait for the dissolve test (`delay_frames`).
    """

    method = METHOD

    def __init__(self, threshold: float = CONTENT_THRESHOLD, min_shot_s: float = MIN_SHOT_S,
                 detect_every: int = DETECT_EVERY, gradual: bool = True) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, not {detect_every}")
        self.threshold, self.min_shot_s, self.detect_every, self.gradual = threshold, min_shot_s, detect_every, gradual
        from importlib.metadata import version

        self.model = f"scenedetect {version('scenedetect-headless')} ContentDetector"
        self.every_frame = False
        self.delay_frames = 0
        self.params = {"threshold": threshold, "min_shot_s": min_shot_s, "detect_width": DETECT_WIDTH,
                       "detect_every": detect_every, "gradual": float(gradual),
                       "gradual_max_half_s": GRADUAL_MAX_HALF_S, "gradual_max_error": GRADUAL_MAX_ERROR,
                       "gradual_min_difference": GRADUAL_MIN_DIFFERENCE,
                       "gradual_max_side_change": GRADUAL_MAX_SIDE_CHANGE}

    def start(self, fps: float) -> None:
        from scenedetect.detectors import ContentDetector

        self.fps = fps
        self.detector = ContentDetector(threshold=self.threshold, min_scene_len=max(1, round(self.min_shot_s * fps)))
        self.last_detected = -(10**9)
        # compared frame -> the compared frame before it (recent ones): a cut the detector reports at frame c
        # happened somewhere after that one, up to c
        self.compared_after: dict[int, int] = {}
        self.max_half = max(1, round(GRADUAL_MAX_HALF_S * fps / self.detect_every))  # in compared frames
        self.tiny: deque[tuple[int, np.ndarray]] = deque(maxlen=4 * self.max_half + 1)
        self.pending_cuts: list[int] = []
        self.cluster: tuple[float, int, int] | None = None  # best (error ratio, middle frame, half-width frames)
        self.cluster_last = -(10**9)  # the compared frame that last extended the cluster
        self.min_gap = round(self.min_shot_s * fps)
        if self.gradual:  # compared frames: 4 half-widths for the test, 1 to close a cluster, 2 of margin
            self.delay_frames = (5 * self.max_half + 2) * max(2, self.detect_every) + self.detect_every

    def _gap_middle(self, cut: int) -> int:
        """The detector names the first compared frame after a cut; with frames skipped (non-reference frames not
        decoded, every `detect_every`-th compared) the cut lies in the gap before it: report its middle, so the
        error is at most half the gap (1 frame for gaps up to 3) instead of the whole gap."""
        before = self.compared_after.get(cut)
        if len(self.compared_after) > 4096:  # bounded for long videos; the detector reports within a few frames
            for key in list(self.compared_after)[:2048]:
                del self.compared_after[key]
        if before is None or cut - before <= 2:
            return cut
        return cut - (cut - before - 1) // 2

    def feed(self, frame_number: int, frame: av.VideoFrame) -> list[Boundary]:
        from scenedetect.common import FrameTimecode

        n = frame_number
        if n - self.last_detected < self.detect_every:
            return self._ready(n, final=False)
        self.compared_after[n] = self.last_detected
        self.last_detected = n
        height = max(2, 2 * round(DETECT_WIDTH * frame.height / frame.width / 2))
        small = scaled_array(frame, DETECT_WIDTH, height, "bgr24", "FAST_BILINEAR")
        cuts = [self._gap_middle(c.frame_num) for c in self.detector.process_frame(FrameTimecode(n, self.fps), small)]
        if not self.gradual:
            return [(c, "cut") for c in cuts]
        self.pending_cuts += cuts
        width = GRADUAL_WIDTH
        tiny = cv2.resize(small, (width, max(2, round(width * small.shape[0] / small.shape[1]))),
                          interpolation=cv2.INTER_AREA)
        if GRADUAL_BLUR:
            tiny = cv2.GaussianBlur(tiny, (GRADUAL_BLUR, GRADUAL_BLUR), 0)
        self.tiny.append((n, tiny.astype(np.float32)))
        self._dissolve_test(n)
        return self._ready(n, final=False)

    def _dissolve_test(self, n: int) -> None:
        ring = self.tiny
        best: tuple[float, int, int] | None = None
        for half in range(1, self.max_half + 1):
            if len(ring) < 4 * half + 1:
                break
            pre, a, m, b, post = (ring[-1 - k * half] for k in (4, 3, 2, 1, 0))
            change = _difference(a[1], b[1])
            if change < GRADUAL_MIN_DIFFERENCE:
                continue
            if max(_difference(pre[1], a[1]), _difference(b[1], post[1])) > GRADUAL_MAX_SIDE_CHANGE * change:
                continue
            ratio = _difference(m[1], (a[1] + b[1]) / 2) / change
            if ratio <= GRADUAL_MAX_ERROR and (best is None or ratio < best[0]):
                best = (ratio, m[0], (b[0] - a[0]) // 2)
        if best is not None:
            if self.cluster is None or best[0] < self.cluster[0]:
                self.cluster = best
            self.cluster_last = n

    def _ready(self, n: int, *, final: bool) -> list[Boundary]:
        """Boundaries no later test can change: dissolves whose cluster closed, cuts older than the delay."""
        found: list[Boundary] = []
        if self.cluster is not None and (final or n - self.cluster_last > self.max_half * max(2, self.detect_every)):
            _, middle, half = self.cluster
            self.cluster = None
            tol = 2 * max(2, self.detect_every)
            inside = [c for c in self.pending_cuts if middle - half - tol <= c <= middle + half + tol]
            self.pending_cuts = [c for c in self.pending_cuts if c not in inside]
            found.append((middle, "gradual"))
        open_from = self.cluster[1] - self.cluster[2] - 2 * max(2, self.detect_every) if self.cluster else n
        due = [c for c in self.pending_cuts if final or (c < n - self.delay_frames and c < open_from)]
        self.pending_cuts = [c for c in self.pending_cuts if c not in due]
        found += [(c, "cut") for c in due]
        found.sort()
        kept: list[Boundary] = []
        for boundary in found:  # a dissolve's test may fire near a cut it does not contain: keep shots >= min
            if not kept or boundary[0] - kept[-1][0] >= self.min_gap:
                kept.append(boundary)
        return kept

    def finish(self, end: int) -> list[Boundary]:
        from scenedetect.common import FrameTimecode

        cuts = [self._gap_middle(c.frame_num) for c in self.detector.post_process(FrameTimecode(end, self.fps))]
        if not self.gradual:
            return [(c, "cut") for c in cuts]
        self.pending_cuts += cuts
        return self._ready(end, final=True)


class TransNetV2Boundaries:
    """TransNetV2 on every frame at 48x27 RGB, streamed in the package's own windows (100 frames, 50 new each,
    the first and last frame repeated 25 times at the ends), so its predictions equal `predict_frames` on the
    whole video while at most one window is held. A transition is a run of frames where either head says
    > `threshold`; it is a boundary when the single-frame head does, `gradual` when the all-frames head marks at
    least GRADUAL_MIN_FRAMES frames (a dissolve), else a `cut` (the network marks a cut's last frame: the shot
    starts after it; a dissolve's middle frame: the boundary). `predict` is `ml.transnetv2.TransNetV2Network`'s.
    """

    method = "transnetv2"
    WINDOW, STEP, PAD = 100, 50, 25

    def __init__(self, predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], *, model: str = "transnetv2",
                 threshold: float = 0.5, min_shot_s: float = MIN_SHOT_S) -> None:
        self.predict, self.model, self.threshold, self.min_shot_s = predict, model, threshold, min_shot_s
        self.every_frame = True
        self.delay_frames = 0
        self.params = {"threshold": threshold, "min_shot_s": min_shot_s, "window": self.WINDOW,
                       "gradual_min_frames": GRADUAL_MIN_FRAMES, "max_transition_s": TRANSITION_MAX_S}

    def start(self, fps: float) -> None:
        self.pictures: list[np.ndarray] = []
        self.numbers: list[int | None] = []  # frame number of each picture (None: padding)
        self.run: list[tuple[int, float, float]] = []  # (frame, single, many) of the transition being read
        self.last_boundary = 0
        self.min_gap = round(self.min_shot_s * fps)
        self.max_run = max(1, round(TRANSITION_MAX_S * fps))
        self.delay_frames = self.WINDOW + self.max_run

    def feed(self, frame_number: int, frame: av.VideoFrame) -> list[Boundary]:
        picture = scaled_array(frame, 48, 27, "rgb24", "BICUBIC")
        if not self.pictures:
            self.pictures, self.numbers = [picture] * self.PAD, [None] * self.PAD
        self.pictures.append(picture)
        self.numbers.append(frame_number)
        return self._window() if len(self.pictures) == self.WINDOW else []

    def _window(self) -> list[Boundary]:
        single, many = self.predict(np.stack(self.pictures))
        found: list[Boundary] = []
        for i in range(self.PAD, self.PAD + self.STEP):
            if (number := self.numbers[i]) is not None:
                found += self._scan(number, float(single[i]), float(many[i]))
        del self.pictures[:self.STEP], self.numbers[:self.STEP]
        return found

    def _scan(self, number: int, single: float, many: float) -> list[Boundary]:
        if (single > self.threshold or many > self.threshold) and len(self.run) < self.max_run:
            self.run.append((number, single, many))
            return []
        if not self.run:
            return []
        run, self.run = self.run, []
        peak = max(range(len(run)), key=lambda i: run[i][1])
        if run[peak][1] <= self.threshold:
            return []
        if sum(m > self.threshold for _, _, m in run) >= GRADUAL_MIN_FRAMES:
            boundary = (run[peak][0], "gradual")
        else:
            boundary = (run[peak + 1][0] if peak + 1 < len(run) else number, "cut")
        if boundary[0] - self.last_boundary < self.min_gap:
            return []
        self.last_boundary = boundary[0]
        return [boundary]

    def finish(self, end: int) -> list[Boundary]:
        found: list[Boundary] = []
        while any(n is not None for n in self.numbers[self.PAD:]):
            last = self.pictures[-1]
            self.pictures += [last] * (self.WINDOW - len(self.pictures))
            self.numbers += [None] * (self.WINDOW - len(self.numbers))
            found += self._window()
        self.run = []  # a transition still open at the end: the last shot runs to the end
        return found


class _OpenShot:
    """Keyframe candidates of the shot being read, thinned so that at most 2 * CANDIDATES are held, plus (for a
    detector that reports late) the candidates of its last `recent` strides unthinned, so a shot found late still
    has candidates of its own."""

    def __init__(self, start: int, stride: int, recent: int = 0) -> None:
        self.start, self.base_stride, self.stride = start, stride, stride
        self.due = start  # the next frame number that may become a candidate (decoded frames may skip numbers)
        self.candidates: list[_Candidate] = []
        self.recent: deque[_Candidate] = deque(maxlen=recent)
        self.recent_due = start

    def wants(self, frame: int) -> bool:
        return frame >= self.due or (bool(self.recent.maxlen) and frame >= self.recent_due)

    def add(self, candidate: _Candidate) -> None:
        if candidate.frame >= self.due:
            self.candidates.append(candidate)
            if len(self.candidates) >= 2 * CANDIDATES:
                self.candidates = self.candidates[::2]
                self.stride *= 2
            self.due = self.candidates[-1].frame + self.stride
        if self.recent.maxlen and candidate.frame >= self.recent_due:
            self.recent.append(candidate)
            self.recent_due = candidate.frame + self.base_stride

    def _pool(self) -> list[_Candidate]:
        return sorted({c.frame: c for c in (*self.candidates, *self.recent)}.values(), key=lambda c: c.frame)

    def split(self, cut: int) -> "_OpenShot":
        """The next shot from frame `cut` (the detector reports a cut a few frames late): its candidates move."""
        pool = self._pool()
        after = _OpenShot(cut, self.base_stride, self.recent.maxlen or 0)
        for candidate in (c for c in pool if c.frame >= cut):
            after.add(candidate)
        self.candidates = [c for c in pool if c.frame < cut]
        self.recent.clear()
        return after

    def keyframe(self, end: int, margin: int) -> _Candidate | None:
        pool = [c for c in self._pool() if c.frame < end]
        inner = [c for c in pool if self.start + margin <= c.frame < end - margin]
        pool = inner or pool
        return max(pool, key=lambda c: c.sharpness) if pool else None


def detect_shots(path: Path, *, name: str, **options: Any) -> ShotDetection:
    """Every shot of the video in a list (tests, benchmarks); the asset streams them with `iter_shots`."""
    stats = ShotStats()
    return ShotDetection(list(iter_shots(path, name=name, stats=stats, **options)), stats)


def iter_shots(
    path: Path, *, name: str, stats: ShotStats | None = None, max_side: int = KEYFRAME_MAX_SIDE,
    threshold: float = CONTENT_THRESHOLD, min_shot_s: float = MIN_SHOT_S, detect_every: int = DETECT_EVERY,
    skip_nonref: bool = SKIP_NONREF, detector: BoundaryDetector | None = None,
) -> Iterator[Shot]:
    """Shots of the whole video in time order, each yielded when it ends (at least one for a video with a
    decodable frame), so a caller can store keyframes as they come. `stats` is filled in as the video is read.

    `detector` finds the boundaries (default: `ContentBoundaries(threshold, min_shot_s, detect_every)`). Frame
    numbers are positions at the stream's average rate (presentation time x fps, strictly increasing): the
    decoded frame count for constant-rate video read whole. `skip_nonref` leaves non-reference frames undecoded
    (see SKIP_NONREF) unless the detector needs every frame (TransNetV2).

    Raises InvalidMediaError naming `name` when the file has no decodable video frame.
    """
    detector = detector or ContentBoundaries(threshold, min_shot_s, detect_every)
    skip_nonref = skip_nonref and not detector.every_frame
    stats = stats if stats is not None else ShotStats()
    stats.method, stats.model = detector.method, detector.model
    stats.params = {**detector.params, "skip_nonref": float(skip_nonref), "candidates": CANDIDATES,
                    "edge_margin_s": EDGE_MARGIN_S}
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
        detector.start(fps)
        stride = max(1, round(CANDIDATE_STRIDE_S * fps))
        margin = round(EDGE_MARGIN_S * fps)
        recent = -(-detector.delay_frames // stride) + 1 if detector.delay_frames else 0
        times: deque[tuple[int, float]] = deque(maxlen=max(1024, 2 * detector.delay_frames))  # recent (frame, time)
        current, transition = _OpenShot(0, stride, recent), "start"
        last: av.VideoFrame | None = None
        previous = -(10**9)
        stats.frames_decoded = 0

        def time_of(frame: int) -> float:
            for number, t in reversed(times):
                if number == frame:
                    return t
            return frame / fps

        def close(shot: _OpenShot, end: int, kind: str, best: _Candidate) -> Shot:
            return Shot(
                index=count, start_s=time_of(shot.start), end_s=time_of(end), start_frame=shot.start,
                end_frame=end, transition=kind, keyframe_s=best.time_s, sharpness=round(best.sharpness, 2),
                image=frame_to_rgb(best.picture, sar, max_side),
            )

        def split_at(boundaries: list[Boundary], end: int) -> Iterator[Shot]:
            """Close the open shot at each boundary before `end`; a boundary that would leave a shot without a
            candidate frame of its own (reported later than its candidates were kept) is dropped: the shot goes on."""
            nonlocal current, transition, count
            for cut, kind in boundaries:
                if not current.start < cut < end:
                    continue
                best = current.keyframe(cut, margin)
                if best is None:
                    continue
                following = current.split(cut)
                if not following.candidates and last is not None:  # its first frames went by before the cut was
                    following.add(_Candidate(previous, time_of(previous), frame_sharpness(last), last))  # known
                yield close(current, cut, transition, best)
                count += 1
                current, transition = following, kind

        for frame in container.decode(stream):
            t = max(0.0, float(frame.time) - origin) if frame.time is not None else (previous + 1) / fps
            n = max(previous + 1, round(t * fps))
            times.append((n, t))
            if current.wants(n):
                current.add(_Candidate(n, t, frame_sharpness(frame), frame))
            found = detector.feed(n, frame)
            last, previous = frame, n
            stats.frames_decoded += 1
            if found:
                yield from split_at(found, n + 1)
        n = previous + 1
        if last is not None:
            times.append((n, time_of(n - 1) + 1.0 / fps))
            yield from split_at(detector.finish(n), n)
            best = current.keyframe(n, margin)
            if best is None:  # the last shot, shorter than the candidate stride
                best = _Candidate(n - 1, time_of(n - 1), frame_sharpness(last), last)
            yield close(current, n, transition, best)
            count += 1
    except av.error.FFmpegError as err:
        raise InvalidMediaError(name, f"truncated or corrupt: decoding failed ({err.strerror or err})") from err
    finally:
        container.close()
        stats.seconds = time.monotonic() - started
    if not count:
        raise InvalidMediaError(name, "truncated or corrupt: no decodable video frames")
