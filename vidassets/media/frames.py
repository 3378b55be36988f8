"""Sample frames across the whole video, decoding as little as possible.

Decoding every frame of a long 720p upload costs minutes; moderation needs only a few hundred frames spread
evenly over the full duration. The video gets `n` equally spaced target times 0, w, 2w, ... (w at least
1/rate_fps, at most `max_frames` targets), each owning a slot of +-w/2, and one frame is taken per slot:

1. keyframe pass: demux the video packets (cheap, no decoding) and decode only one keyframe per slot,
   the one nearest the target (``skip_frame="NONKEY"``, threaded decoder). A keyframe is a complete
   picture, so this costs one decode per sampled frame.
2. seek pass, for slots with no keyframe: seek to the keyframe before the target and decode forward
   to it; when the next target lies in the same GOP, keep decoding instead of seeking again.

When keyframes are too sparse for the spacing (fewer than half the slots have one), all slots use the seek
pass so frames stay evenly spaced. The method used is reported: "keyframes", "keyframes+seek" or "seek".

Cost on a 10-minute 720p video with 2 s GOPs: ~300 keyframe decodes instead of 15,000 frame decodes
(benchmarks/bench_frames.py: ~11x less CPU; a keyframe costs several P-frames, which bounds the gain).
"""

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from vidassets.media.errors import InvalidMediaError
from vidassets.media.probe import (
    main_video_stream,
    open_input,
    stream_start_s,
    stream_time_base,
    video_duration_s,
)

KEYFRAME_COVERAGE_MIN = 0.5  # below this share of slots with a keyframe, sample every slot by seeking
DEBLOCK_SKIP_MIN_DOWNSCALE = 2.0  # keyframes shrunk at least this much are decoded without deblocking


@dataclass
class SampledFrame:
    index: int  # position in the returned list (0-based, time order)
    timestamp_s: float  # presentation time from the start of the video
    is_keyframe: bool
    image: np.ndarray  # RGB uint8, H x W x 3, upright, max(H, W) <= max_side


@dataclass(frozen=True)
class _Slots:
    """`count` targets at 0, width, 2*width, ...; slot i is the window [target - width/2, target + width/2).

    Targets sit on multiples of the spacing because encoders put keyframes on multiples of their GOP from
    t=0, so with a 1 s or 2 s GOP every target has a keyframe right on it, even when the container's
    duration is a little off (a slot grid with edges on the GOP would split keyframes between slots).
    """

    count: int
    width: float

    def of(self, t: float) -> int:
        if self.width <= 0:
            return 0
        return min(self.count - 1, max(0, math.floor(t / self.width + 0.5)))

    def target(self, i: int) -> float:
        return i * self.width


def plan_slots(duration_s: float, rate_fps: float, max_frames: int) -> tuple[int, float]:
    """(slot count, slot width in s): width >= 1/rate_fps and >= duration/max_frames, slots tile the video.

    The last target is duration - width, so frames span the whole video in equal steps."""
    if rate_fps <= 0 or max_frames < 1:
        raise ValueError(f"rate_fps must be > 0 and max_frames >= 1 (got {rate_fps}, {max_frames})")
    spacing = max(1.0 / rate_fps, duration_s / max_frames)
    count = max(1, min(max_frames, math.floor(duration_s / spacing + 1e-6)))
    return count, duration_s / count


def _display_size(frame: av.VideoFrame, sar: float, max_side: int) -> tuple[int, int]:
    """Output (width, height): display aspect (anamorphic pixels widened), max side <= max_side, even."""
    width = frame.width * sar if sar > 0 else frame.width
    scale = min(1.0, max_side / max(width, frame.height))

    def even(x: float) -> int:
        return max(2, 2 * math.floor(x * scale / 2))

    return even(width), even(frame.height)


def _shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to width x height, area-averaging when shrinking.

    OpenCV's area filter is fast only for integer ratios (0.07 ms vs 3.7 ms for a 720p plane), so shrink
    by the integer part first (cropping fewer than k edge pixels) and finish bilinearly; less than 2x
    is left by then, where bilinear barely aliases.
    """
    h, w = image.shape[:2]
    k = int(min(w / width, h / height))
    if k >= 2:
        h, w = h - h % k, w - w % k
        image = cv2.resize(image[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def _i420_to_rgb(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """Downscale the Y, U and V planes first, then convert the small picture (area averaging)."""
    flat = frame.to_ndarray().reshape(-1)  # Y plane, then U, then V, each tightly packed
    fw, fh = frame.width, frame.height
    luma, chroma = fw * fh, (fw // 2) * (fh // 2)
    y = flat[:luma].reshape(fh, fw)
    u = flat[luma : luma + chroma].reshape(fh // 2, fw // 2)
    v = flat[luma + chroma : luma + 2 * chroma].reshape(fh // 2, fw // 2)
    small_luma, small_chroma = width * height, (width // 2) * (height // 2)
    out = np.empty(small_luma + 2 * small_chroma, dtype=np.uint8)
    for plane, size, offset in (
        (y, (width, height), 0),
        (u, (width // 2, height // 2), small_luma),
        (v, (width // 2, height // 2), small_luma + small_chroma),
    ):
        small = _shrink(plane, *size).reshape(-1)
        out[offset : offset + small.size] = small
    return cv2.cvtColor(out.reshape(height * 3 // 2, width), cv2.COLOR_YUV2RGB_I420)


def frame_to_rgb(frame: av.VideoFrame, sar: float, max_side: int) -> np.ndarray:
    """RGB uint8 at display aspect, max side <= max_side, turned upright.

    Limited-range 4:2:0 (nearly every upload) is scaled plane by plane and converted with OpenCV, several
    times faster than swscale's RGB path here; other pixel formats go through swscale then cv2.resize.
    """
    width, height = _display_size(frame, sar, max_side)
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        image = _i420_to_rgb(frame, width, height)
    else:
        image = _shrink(frame.to_ndarray(format="rgb24"), width, height)
    rotation = round(frame.rotation or 0) % 360
    if rotation in (90, 180, 270):
        # The display matrix angle is counter-clockwise; np.rot90 with k>0 also turns counter-clockwise.
        image = np.rot90(image, k=rotation // 90)
    return np.ascontiguousarray(image)


class _Sampler:
    """One video being sampled: its open container, the frames picked so far, and the two passes."""

    def __init__(self, path: Path, name: str, max_side: int) -> None:
        self.path, self.name, self.max_side = path, name, max_side
        self.container, self.stream = self._open()
        self.time_base = stream_time_base(self.stream, name)
        self.start = stream_start_s(self.stream)
        sar = self.stream.codec_context.sample_aspect_ratio
        self.sar = float(sar) if sar else 1.0
        self.picked: dict[int, SampledFrame] = {}
        self.deblocking_skipped = False

    def _open(self) -> tuple[InputContainer, VideoStream]:
        container = open_input(self.path, self.name)
        stream = main_video_stream(container)
        if stream is None:
            container.close()
            raise InvalidMediaError(self.name, "has no video stream")
        stream.thread_type = "AUTO"
        return container, stream

    def close(self) -> None:
        self.container.close()

    def downscale(self) -> float:
        """How many times the output is smaller than the stored picture (1.0 = not scaled)."""
        ctx = self.stream.codec_context
        return max(ctx.width * self.sar, ctx.height) / self.max_side

    def rel_time(self, pts: int) -> float:
        return float(pts * self.time_base) - self.start

    def keep(self, slot: int, frame: av.VideoFrame, t: float, is_keyframe: bool) -> None:
        image = frame_to_rgb(frame, self.sar, self.max_side)
        self.picked[slot] = SampledFrame(index=-1, timestamp_s=max(0.0, t), is_keyframe=is_keyframe, image=image)

    def keyframe_pass(self, slots: _Slots) -> list[float]:
        """Decode the keyframe nearest each slot's target; returns every keyframe time seen (sorted).

        When the picture is shrunk 2x or more, the deblocking filter is skipped (~15% less CPU): its effect
        is below the downscale and JPEG error, and keyframes are not used as references here. The seek
        pass then reopens the file, because skipping it on reference frames would smear P/B frames.
        """
        ctx = self.stream.codec_context
        if self.downscale() >= DEBLOCK_SKIP_MIN_DOWNSCALE:
            ctx.options = {**ctx.options, "skip_loop_filter": "all"}  # read when the decoder opens
            self.deblocking_skipped = True
        ctx.skip_frame = "NONKEY"
        key_times: list[float] = []
        slot_of_pts: dict[int, int] = {}

        def send(packet: Packet | None) -> None:
            for frame in ctx.decode(packet):
                if frame.pts is None:
                    continue
                t = self.rel_time(frame.pts)
                slot = slot_of_pts.get(frame.pts, slots.of(t))
                if slot not in self.picked:
                    self.keep(slot, frame, t, is_keyframe=True)

        best: Packet | None = None
        best_slot, best_dist = -1, math.inf
        for packet in self.container.demux(self.stream):
            if packet.pts is None or not packet.is_keyframe or packet.size == 0:
                continue
            t = self.rel_time(packet.pts)
            key_times.append(t)
            slot = slots.of(t)
            dist = abs(t - slots.target(slot))
            if slot != best_slot:
                if best is not None:
                    send(best)
                best, best_slot, best_dist = packet, slot, dist
                slot_of_pts[packet.pts] = slot
            elif best is not None and best.pts is not None and dist < best_dist:  # best is set once slot is
                slot_of_pts.pop(best.pts, None)
                best, best_dist = packet, dist
                slot_of_pts[packet.pts] = slot
        if best is not None:
            send(best)
        send(None)  # drain the threaded decoder
        ctx.skip_frame = "DEFAULT"
        return sorted(key_times)

    def _decode_forward(self) -> Iterator[tuple[float, av.VideoFrame]]:
        for packet in self.container.demux(self.stream):
            for frame in packet.decode():
                if frame.pts is not None:
                    yield self.rel_time(frame.pts), frame

    def _seek(self, t: float) -> Iterator[tuple[float, av.VideoFrame]]:
        self.container.seek(int((t + self.start) / self.time_base), stream=self.stream, backward=True)
        return self._decode_forward()

    def seek_pass(self, slots: _Slots, targets: list[int], key_times: list[float], fps: float) -> None:
        """For each slot (in time order) decode forward to its target, seeking only across GOPs."""
        if self.deblocking_skipped:
            self.close()
            self.container, self.stream = self._open()
            self.deblocking_skipped = False
        half_frame = 0.5 / fps if fps > 0 else 0.02
        try:
            self._seek_slots(slots, targets, key_times, half_frame)
        finally:
            self.drain()

    def drain(self) -> None:
        """Flush the frame-threaded decoder before the container closes: freeing a codec context with frames
        still in flight can deadlock inside libavcodec (seen once, in a long test process)."""
        try:
            for _ in self.stream.codec_context.decode(None):
                pass
        except av.error.FFmpegError:
            pass

    def _seek_slots(self, slots: _Slots, targets: list[int], key_times: list[float], half_frame: float) -> None:
        frames: Iterator[tuple[float, av.VideoFrame]] | None = None
        position = -math.inf  # time of the last frame decoded from `frames`
        last: tuple[float, av.VideoFrame] | None = None
        for slot in targets:
            target = slots.target(slot)
            k = bisect.bisect_right(key_times, target + half_frame) - 1
            keyframe_before = key_times[k] if k >= 0 else -math.inf
            if frames is None or target < position or keyframe_before > position:
                frames, last = self._seek(target), None
            chosen: tuple[float, av.VideoFrame] | None = None
            for t, frame in frames:
                position, last = t, (t, frame)
                if t >= target - half_frame:
                    chosen = (t, frame)
                    break
            if chosen is None:  # ran off the end (header duration longer than the data)
                frames = None
                if last is None or slots.of(last[0]) != slot:
                    continue
                chosen = last
            t, frame = chosen
            self.keep(slot, frame, t, is_keyframe=bool(frame.key_frame))


def sample_frames(
    path: Path, *, name: str, rate_fps: float = 0.5, max_frames: int = 300, max_side: int = 640
) -> tuple[list[SampledFrame], str]:
    """Up to `max_frames` frames evenly spread over the whole video, at most `rate_fps` per second.

    Returns (frames sorted by time, method) where method is "keyframes", "keyframes+seek" or "seek".
    Raises InvalidMediaError naming `name` when the file has no decodable video.
    """
    sampler = _Sampler(Path(path), name, max_side)
    try:
        container, stream = sampler.container, sampler.stream
        duration = video_duration_s(container, stream)
        if duration <= 0:
            duration = _scan_duration(container, stream)
            container.seek(0, stream=stream, backward=True)
        slots = _Slots(*plan_slots(duration, rate_fps, max_frames))
        method = _sample(sampler, slots)
    except av.error.FFmpegError as err:
        raise InvalidMediaError(name, f"truncated or corrupt: decoding failed ({err.strerror or err})") from err
    finally:
        sampler.close()
    frames = [sampler.picked[slot] for slot in sorted(sampler.picked)]
    if not frames:
        raise InvalidMediaError(name, "truncated or corrupt: no decodable video frames")
    for i, frame in enumerate(frames):
        frame.index = i
    return frames, method


def _sample(sampler: _Sampler, slots: _Slots) -> str:
    """Pick the strategy (see the module docstring), fill sampler.picked, return the method name."""
    stream = sampler.stream
    fps = float(stream.average_rate or stream.guessed_rate or 0)
    indexed = _index_keyframe_times(sampler, stream)
    if indexed is not None and _coverage(indexed, slots) < KEYFRAME_COVERAGE_MIN:
        sampler.seek_pass(slots, list(range(slots.count)), indexed, fps)
        return "seek"
    key_times = sampler.keyframe_pass(slots)
    if len(sampler.picked) < KEYFRAME_COVERAGE_MIN * slots.count:
        sampler.picked.clear()
        sampler.seek_pass(slots, list(range(slots.count)), key_times, fps)
        return "seek"
    missing = [slot for slot in range(slots.count) if slot not in sampler.picked]
    if not missing:
        return "keyframes"
    sampler.seek_pass(slots, missing, key_times, fps)
    return "keyframes+seek"


def _index_keyframe_times(sampler: _Sampler, stream: VideoStream) -> list[float] | None:
    """Keyframe times from a complete container index (MP4/MOV sample tables); None otherwise.

    Matroska cues and the like list only some keyframes, so an index is trusted only when it has an entry
    per frame. Index timestamps are decode times, a constant few frames early for B-frame streams: good
    enough to judge keyframe density and to decide when a seek is worthwhile.
    """
    entries = stream.index_entries
    if not stream.frames or len(entries) < 0.9 * stream.frames:
        return None
    times = [sampler.rel_time(entries[i].timestamp) for i in range(len(entries)) if entries[i].is_keyframe]
    return sorted(times) if times else None


def _coverage(key_times: list[float], slots: _Slots) -> float:
    return len({slots.of(t) for t in key_times}) / slots.count


def _scan_duration(container: InputContainer, stream: VideoStream) -> float:
    """Last video timestamp, read by demuxing without decoding (headers without a duration)."""
    end = 0.0
    start = stream_start_s(stream)
    for packet in container.demux(stream):
        if packet.pts is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * stream_time_base(stream)) - start)
    return end


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of an RGB uint8 image. OpenCV, not Pillow: same bytes, ~1.2-1.7x faster at 640x360
    (benchmarks/bench_frames.py measures both)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"JPEG encoding failed for an image of shape {image.shape}")
    return buf.tobytes()
