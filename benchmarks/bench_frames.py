"""How much cheaper is sample_frames than decoding every frame? (target: >= 10x on a 10-minute 720p video)

Builds (or reuses) a 10-minute 1280x720 speaking video with vidassets.samples, then in one run times:
  a) PyAV decoding every video frame (threaded, no pixel conversion): the cost sampling avoids;
  b) sample_frames with its defaults (0.5 fps, <= 300 frames, <= 640 px, RGB);
  c) extract_audio to 16 kHz mono FLAC;
  d) JPEG encoding of the sampled frames with OpenCV (encode_jpeg) vs Pillow.

    python benchmarks/bench_frames.py [--seconds 600] [--cache-dir .cache/bench] [--repeat 3]
"""

import argparse
import io
import os
import resource
import tempfile
import time
from pathlib import Path

import av
from PIL import Image

from vidassets import samples
from vidassets.media.audio import audio_duration_s, extract_audio
from vidassets.media.frames import encode_jpeg, sample_frames
from vidassets.media.probe import probe_video

REPO = Path(__file__).resolve().parents[1]


def decode_every_frame(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def pillow_jpeg(image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _cpu_s() -> float:
    """CPU seconds of this process (all threads) plus finished children (the ffmpeg subprocess)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(fn, *args, **kwargs):
    """(wall s, cpu s, result). CPU time barely moves when other jobs load the machine; wall time does."""
    wall, cpu = time.perf_counter(), _cpu_s()
    result = fn(*args, **kwargs)
    return time.perf_counter() - wall, _cpu_s() - cpu, result


def best_of(repeat: int, fn, *args, **kwargs):
    runs = [timed(fn, *args, **kwargs) for _ in range(max(1, repeat))]
    return min(runs, key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for each measurement")
    args = parser.parse_args()

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    video = args.cache_dir / f"speaking_{int(args.seconds)}s_1280x720.mp4"
    if video.exists():
        build_s, build_note = None, "reused"
    else:
        build_s, build_cpu, _ = timed(samples.speaking_video, video, seconds=args.seconds)
        build_note = f"built ({build_cpu:.1f} CPU s)"
    probe = probe_video(video, name=video.name)
    print(
        f"video: {video} ({build_note}) {probe.duration_s:.0f}s {probe.video.width}x{probe.video.height} "
        f"{probe.video.codec} {probe.video.fps:g} fps, {probe.video.frame_count} frames, keyframe every "
        f"{probe.video.keyframe_interval_s}s, {probe.size_bytes / 1e6:.1f} MB; cores: {os.cpu_count()}, "
        f"load avg: {os.getloadavg()[0]:.2f}"
    )

    decode_s, decode_cpu, decoded = best_of(args.repeat, decode_every_frame, video)
    sample_s, sample_cpu, (frames, method) = best_of(args.repeat, sample_frames, video, name=video.name)
    with tempfile.TemporaryDirectory() as tmp:
        flac = Path(tmp) / "audio.flac"
        audio_s, audio_cpu, _ = best_of(args.repeat, extract_audio, video, flac, name=video.name)
        flac_duration = audio_duration_s(flac)
    images = [f.image for f in frames]
    cv_s, cv_cpu, cv_bytes = best_of(args.repeat, lambda: sum(len(encode_jpeg(i)) for i in images))
    pil_s, pil_cpu, _ = best_of(args.repeat, lambda: sum(len(pillow_jpeg(i)) for i in images))

    rows = [
        ("build sample video (samples.speaking_video)", build_s, None, build_note),
        ("a) decode every frame (PyAV threads)", decode_s, decode_cpu, f"{decoded} frames"),
        ("b) sample_frames (defaults)", sample_s, sample_cpu, f"{len(frames)} frames, method={method}"),
        ("c) extract_audio (16 kHz mono FLAC)", audio_s, audio_cpu, f"{flac_duration:.1f}s of audio"),
        ("d) encode_jpeg x sampled (OpenCV)", cv_s, cv_cpu, f"{cv_bytes / max(1, len(images)) / 1e3:.0f} KB/frame"),
        ("   same with Pillow", pil_s, pil_cpu, f"OpenCV {pil_s / cv_s:.2f}x faster (wall)"),
    ]
    print(f"\n| {'step':<46} | {'wall s':>8} | {'CPU s':>8} | notes")
    print(f"|{'-' * 48}|{'-' * 10}|{'-' * 10}|{'-' * 40}")
    for label, wall, cpu, note in rows:
        shown = ["-" if v is None else f"{v:.2f}" for v in (wall, cpu)]
        print(f"| {label:<46} | {shown[0]:>8} | {shown[1]:>8} | {note}")
    ratio, cpu_ratio = decode_s / sample_s, decode_cpu / sample_cpu
    verdict = "OK" if ratio >= 10 else "BELOW TARGET"
    print(
        f"\nsampling is {ratio:.1f}x faster than decoding every frame in wall time (target >= 10x): {verdict}; "
        f"{cpu_ratio:.1f}x less CPU (the load-independent figure)"
    )
    print(f"first/last sampled timestamps: {frames[0].timestamp_s:.1f}s / {frames[-1].timestamp_s:.1f}s")


if __name__ == "__main__":
    main()
