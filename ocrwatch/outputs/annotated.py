"""The annotated copy: the page with every word's box drawn and its reading labelled above it.

It is meant for a person checking what the OCR saw, so it must read well both on a large scan and on
a small crop: labels are sized from each word's own box, and small pages are scaled up first.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrwatch.engines.base import PageText, Word
from ocrwatch.geometry import Quad

MIN_LONG_SIDE = 1200
"""Pages smaller than this (in pixels, on their long side) are scaled up so labels can be read."""
LABEL_SCALE = 0.5
"""Label font size as a share of the word box's height: smaller than the word, so it fits the gap."""
MIN_FONT, MAX_FONT = 12, 64
LOW_SCORE = 0.5

BOX_COLOUR = (0, 150, 60, 255)
LOW_BOX_COLOUR = (230, 60, 0, 255)
TEXT_COLOUR = (0, 0, 0, 255)
LOW_TEXT_COLOUR = (170, 30, 0, 255)
LABEL_BACKGROUND = (255, 255, 255, 150)


def annotate(image: np.ndarray, page: PageText) -> Image.Image:
    """`image` (RGB uint8, height x width x 3) with `page`'s word boxes and labels drawn on it."""
    height, width = image.shape[:2]
    scale = max(1.0, MIN_LONG_SIDE / max(height, width))
    canvas = Image.fromarray(image)
    if scale > 1:
        canvas = canvas.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
    # Boxes are in the engine's page pixels; map them onto the canvas, whatever its size.
    boxes = [_scaled(word.box, canvas.width / page.width, canvas.height / page.height) for word in page.words]
    # "RGBA" on an RGB image blends each shape into it: one canvas, no per-word copies.
    draw = ImageDraw.Draw(canvas, "RGBA")
    sizes = [_font_size(box) for box in boxes]
    # Boxes first, labels on top: a label's background may cover a neighbour's outline, never its text.
    for word, box, size in zip(page.words, boxes, sizes, strict=True):
        colour = LOW_BOX_COLOUR if word.score < LOW_SCORE else BOX_COLOUR
        draw.polygon(box, outline=colour, width=_line_width(size))
    for word, box, size in zip(page.words, boxes, sizes, strict=True):
        _label(draw, word, box, size, canvas.size)
    return canvas


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """JPEG bytes without chroma subsampling, which would smear the thin coloured outlines."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()


def _label(draw: ImageDraw.ImageDraw, word: Word, box: Quad, size: int, canvas: tuple[int, int]) -> None:
    """Write the word's text on a light background just above its box.

    Near the top edge the label shrinks to fit the room above; only when even the smallest size
    does not fit does it go below the box, where it would crowd the next row's labels.
    """
    text = " ".join(word.text.split())  # one line: a label has room for one
    if not text:
        return
    top_of_box, bottom_of_box = min(y for _, y in box), max(y for _, y in box)
    gap = _line_width(size)  # keeps the box's own outline clear of the label
    room = top_of_box - gap
    if _label_height(size) > room:
        size = max(MIN_FONT, math.floor(size * room / _label_height(size)))
    height = _label_height(size)
    top = top_of_box - gap - height if height <= room else bottom_of_box + gap
    font = _font(size)
    pad = _pad(size)
    width = font.getlength(text) + 2 * pad
    top = max(0.0, min(top, canvas[1] - height))
    left = max(0.0, min(min(x for x, _ in box), canvas[0] - width))
    draw.rectangle((left, top, left + width, top + height), fill=LABEL_BACKGROUND)
    draw.text(
        (left + pad, top + pad),
        text,
        font=font,
        fill=LOW_TEXT_COLOUR if word.score < LOW_SCORE else TEXT_COLOUR,
        # A thin white halo keeps the text readable where the translucent background lets a picture through.
        stroke_width=max(1, size // 16),
        stroke_fill=(255, 255, 255, 255),
    )


def _scaled(box: Quad, sx: float, sy: float) -> Quad:
    a, b, c, d = ((x * sx, y * sy) for x, y in box)
    return (a, b, c, d)


def _label_height(size: int) -> int:
    ascent, descent = _font(size).getmetrics()
    return ascent + descent + 2 * _pad(size)


def _pad(size: int) -> int:
    return max(1, size // 8)


def _line_width(size: int) -> int:
    return max(1, round(size / 10))


def _font_size(box: Quad) -> int:
    """A size that follows the word's own height (mean of its left and right edges)."""
    top_left, top_right, bottom_right, bottom_left = box
    height = (math.dist(top_left, bottom_left) + math.dist(top_right, bottom_right)) / 2
    return min(MAX_FONT, max(MIN_FONT, round(height * LABEL_SCALE)))


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font: nothing to download, and unknown glyphs draw as boxes."""
    return ImageFont.load_default(size=size)
