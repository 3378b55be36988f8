"""Bad input for the picture track: a 4K video and a multi-hour one end with a clear result, and the shot pass
and the frame sampler stream (peak memory does not grow with the video's length). The 1-frame, portrait and
undecodable cases are in test_shots.py and assets/test_visual_bad_input.py."""

import json
import subprocess
import sys

from vidassets import samples
from vidassets.media.ffmpeg import ffmpeg_input, run_ffmpeg
from vidassets.media.frames import sample_frames
from vidassets.media.shots import KEYFRAME_MAX_SIDE, detect_shots

HOURS = 2
FPS = 0.1  # one frame every 10 s: 720 frames for two hours
# What the subprocess reports: its peak RSS after reading a 50-minute video, then after the 2-hour one (both have
# the frame sampler's 300 frames or more: what it returns is bounded by max_frames, not by the length).
MEASURE = """
import json, resource, sys
from pathlib import Path
from vidassets.media.frames import sample_frames
from vidassets.media.shots import iter_shots

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def read(path):
    shots = [(s.start_s, s.end_s, s.image.shape) for s in iter_shots(path, name=path.name)]
    frames, _ = sample_frames(path, name=path.name)
    return shots, [f.timestamp_s for f in frames]

read(Path(sys.argv[1]))
warm = peak_mb()
shots, frames = read(Path(sys.argv[2]))
print(json.dumps({"warm_mb": warm, "peak_mb": peak_mb(), "shots": shots, "frames": frames}))
"""


def test_a_4k_video_gets_keyframes_and_frames_at_the_product_sizes(tmp_path):
    pictures = [samples.picture_frame(p, s, 3840, 2160) for p, s in (("bikes", 2.0), ("bigbuckbunny", 2.0))]
    video = samples.still_video(tmp_path / "uhd.mp4", pictures, seconds_each=1.0, fps=2)
    shots = detect_shots(video, name="uhd.mp4").shots
    assert [s.transition for s in shots] == ["start", "cut"] and abs(shots[1].start_s - 1.0) <= 0.5
    assert all(s.image.shape == (720, KEYFRAME_MAX_SIDE, 3) for s in shots)  # 16:9 at 1280 px, never 3840
    frames, _ = sample_frames(video, name="uhd.mp4")
    assert frames and all(f.image.shape == (360, 640, 3) for f in frames)


def test_a_two_hour_video_streams_with_bounded_memory(tmp_path):
    clip, short, long = tmp_path / "clip.mp4", tmp_path / "short.mp4", tmp_path / "long.mp4"
    # 10 s of real footage at 320x180 (one frame), looped by stream copy into 2 hours in ~1 s. Measured: peak
    # +1 MB from the 50-minute to the 2-hour video; a reader holding every decoded frame (~85 KB each) +36 MB.
    run_ffmpeg(["-y", "-i", ffmpeg_input(samples.picture_path("bikes")), "-vf", f"fps={FPS},scale=320:180,setsar=1",
                "-c:v", "libx264", "-bf", "0", "-pix_fmt", "yuv420p", ffmpeg_input(clip)],
               source_name="clip.mp4")
    for out, seconds in ((short, 3000), (long, HOURS * 3600)):
        run_ffmpeg(["-y", "-stream_loop", str(seconds // 10 - 1), "-i", ffmpeg_input(clip), "-c", "copy",
                    ffmpeg_input(out)], source_name=out.name)
    out = subprocess.run([sys.executable, "-c", MEASURE, str(short), str(long)], capture_output=True, text=True,
                         timeout=120, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    shots, frames = report["shots"], report["frames"]
    assert abs(shots[-1][1] - HOURS * 3600) <= 10 and shots[0][0] == 0.0  # the whole video, nothing held back
    assert all(tuple(shape) == (180, 320, 3) for _, _, shape in shots), {tuple(s) for _, _, s in shots}
    assert len(frames) == 300 and frames[-1] >= HOURS * 3600 - 60  # the sampler spreads over the whole video
    assert report["peak_mb"] - report["warm_mb"] < 15, report["peak_mb"] - report["warm_mb"]
