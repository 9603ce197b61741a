"""What ocrwatch changes in RapidOCR's reading: the detector's input scale, and what the direction
classifier is shown (`directions.py`).

RapidOCR enlarges every image until its short side is 736 pixels (`limit_type: min`): a 480 x 120
label becomes 2944 x 736, six times the pixels' worth of work for text that was readable as it was.
ocrwatch enlarges an image by at most `max_upscale` (2: not enlarging at all lost words on small
receipts), and never past that 736-pixel side, so the detector's cost follows the image's pixels;
large pages keep the pixel budget of `engine.MAX_PIXELS`.
"""

from __future__ import annotations

from dataclasses import dataclass

RAPIDOCR_SHORT_SIDE = 736
"""RapidOCR's `Det.limit_side_len`: the short side it enlarges every image to."""
STRIDE = 32
"""The detector network needs sides that are multiples of this."""


@dataclass(frozen=True, slots=True)
class Tuning:
    """RapidOCR's own behaviour unless set; `bench/rapidocr_tuning.py` compares variants."""

    max_upscale: float = float("inf")
    line_pieces: float | None = None
    """Show the direction classifier pieces of each line more than this many times as long as its
    input is wide, not the whole line squeezed (`directions.py`); None: never."""

    def short_side(self, height: int, width: int) -> int:
        """RapidOCR's `limit_side_len` for this image: it enlarges a shorter short side to this."""
        short = min(height, width)
        return max(1, int(min(RAPIDOCR_SHORT_SIDE, short * self.max_upscale)))

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """The (height, width) the detector network sees, computed as RapidOCR's `DetPreProcess` does."""
        short = min(height, width)
        target = self.short_side(height, width)
        ratio = target / short if short < target else 1.0
        return (_to_stride(int(height * ratio)), _to_stride(int(width * ratio)))


def _to_stride(side: int) -> int:
    return int(round(side / STRIDE) * STRIDE)


RAPIDOCR_DEFAULTS = Tuning()
"""RapidOCR's own settings: every image enlarged to a 736-pixel short side."""
TUNED = Tuning(max_upscale=2.0, line_pieces=2.0)
"""Lines squeezed less than twice are still legible to the classifier; cutting them cost photos."""
"""What ocrwatch reads with (`bench/README.md`, issue 12)."""
