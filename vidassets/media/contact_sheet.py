"""A small captioned grid of sampled frames, small enough to embed (base64) in Dagster markdown metadata."""

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_BACKGROUND = (24, 24, 24)
_CAPTION_COLOR = (235, 235, 235)
_CAPTION_HEIGHT = 16
_GAP = 2


def format_timestamp(seconds: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss``) caption for a frame time."""
    if seconds >= 3600:
        h, rest = divmod(int(seconds), 3600)
        return f"{h}:{rest // 60:02d}:{rest % 60:02d}"
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}"


def _pick(count: int, limit: int) -> list[int]:
    """Indices of at most `limit` items spread evenly over `count`, always keeping the first and last."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)}) if limit > 1 else [0]


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=11)
    except (TypeError, OSError):  # Pillow built without FreeType: bitmap font
        return ImageFont.load_default()


def _render(images: list[np.ndarray], captions: list[str], columns: int, thumb_width: int) -> Image.Image:
    thumbs = []
    for image in images:
        pic = Image.fromarray(np.ascontiguousarray(image[..., :3]).astype(np.uint8, copy=False))
        height = max(1, round(pic.height * thumb_width / pic.width))
        thumbs.append(pic.resize((thumb_width, height), Image.Resampling.BILINEAR, reducing_gap=2.0))
    cell_h = max(t.height for t in thumbs) + _CAPTION_HEIGHT
    cols = min(columns, len(thumbs))
    rows = math.ceil(len(thumbs) / cols)
    sheet = Image.new("RGB", (cols * (thumb_width + _GAP) + _GAP, rows * (cell_h + _GAP) + _GAP), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for i, (thumb, caption) in enumerate(zip(thumbs, captions, strict=True)):
        x = _GAP + (i % cols) * (thumb_width + _GAP)
        y = _GAP + (i // cols) * (cell_h + _GAP)
        sheet.paste(thumb, (x, y))
        draw.text((x + 3, y + cell_h - _CAPTION_HEIGHT + 2), caption, fill=_CAPTION_COLOR, font=font)
    return sheet


def _encode(sheet: Image.Image, image_format: str, max_bytes: int) -> bytes:
    """PNG (256-colour palette if too big) or JPEG (lower quality if too big); shrink as a last resort."""
    while True:
        attempts: list[Image.Image | tuple[Image.Image, int]]
        if image_format == "PNG":
            attempts = [sheet, sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT)]
        else:
            attempts = [(sheet, q) for q in (80, 65, 50)]
        data = b""
        for attempt in attempts:
            out = io.BytesIO()
            if isinstance(attempt, tuple):
                attempt[0].save(out, format="JPEG", quality=attempt[1], optimize=True)
            else:
                attempt.save(out, format="PNG", optimize=False, compress_level=6)
            data = out.getvalue()
            if len(data) <= max_bytes:
                return data
        if sheet.width < 200:
            return data
        sheet = sheet.resize((sheet.width * 3 // 4, sheet.height * 3 // 4), Image.Resampling.LANCZOS)


def contact_sheet(
    images: list[np.ndarray],
    captions: list[str],
    *,
    columns: int = 6,
    thumb_width: int = 160,
    max_images: int = 24,
    image_format: str = "PNG",
    max_bytes: int = 150_000,
) -> bytes:
    """PNG (default) or JPEG bytes of a captioned thumbnail grid, at most `max_bytes` (best effort).

    With more than `max_images` images an evenly spread subset (first and last included) is shown.
    `images` are RGB uint8 arrays of any size; `captions` (e.g. timestamps) go under each thumbnail.
    """
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    image_format = image_format.upper().replace("JPG", "JPEG")
    if image_format not in ("PNG", "JPEG"):
        raise ValueError(f"image_format must be PNG or JPEG, not {image_format!r}")
    if not images:
        blank = Image.new("RGB", (thumb_width, _CAPTION_HEIGHT + 8), _BACKGROUND)
        ImageDraw.Draw(blank).text((4, 4), "no frames", fill=_CAPTION_COLOR, font=_font())
        return _encode(blank, image_format, max_bytes)
    chosen = _pick(len(images), max(1, max_images))
    sheet = _render([images[i] for i in chosen], [captions[i] for i in chosen], max(1, columns), thumb_width)
    return _encode(sheet, image_format, max_bytes)
