"""Which way up a page is, told by what RapidOCR's detector and direction classifier already found.

Every text line the detector finds is cropped along its length, and the direction classifier says
whether the crop reads upright or upside down: a crop from a line running down the page was turned a
quarter counter-clockwise first (RapidOCR turns crops at least 1.5 times taller than wide). So each
clearly elongated line the classifier is sure about votes for one of the four rotations, weighted by
its length, and the page is turned when at least `MIN_LINES` lines and two thirds of the voting
length agree. On photos the classifier is often unsure, or wrong about a sign or two: counting every
answer turned 26 of the 200 upright ICDAR 2015 photos; these rules turn none of them, and find the
turn of every one of 30 receipts in all four ways (`bench/README.md`). Nothing is run for this beyond
the reading itself; only a page found turned is read a second time, upright.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

ELONGATED = 2.0
"""Lines at least this many times longer than thick vote; shorter ones (a digit, a short word) can
be read across as well as along, so their direction says little."""

MIN_LINES = 3
"""A page is turned only when at least this many lines say so: one or two lines (a label, a sign) may
run any way on an upright page."""
MAJORITY = 2 / 3
"""The share of the voting length that the winning rotation needs."""

_ROTATION = {(False, False): 0, (False, True): 180, (True, False): 270, (True, True): 90}
"""(line runs down the page, classifier says upside down) -> degrees clockwise to turn the page."""


def page_rotation(boxes: np.ndarray, directions: Sequence[tuple[str, float]], sure: float) -> int:
    """Degrees clockwise (0, 90, 180 or 270) that turn the page upright; 0 unless its text agrees.

    `boxes` are the detector's line boxes (corners clockwise from the top-left of the page as
    stored); `directions` the classifier's (label, score) for each, label "0" or "180"; answers
    scored below `sure` (RapidOCR's own threshold for turning a line) do not vote.
    """
    weights: Counter[int] = Counter()
    lines: Counter[int] = Counter()
    for box, (label, score) in zip(boxes, directions, strict=True):
        across = float(np.linalg.norm(box[1] - box[0]))
        down = float(np.linalg.norm(box[3] - box[0]))
        if score < sure or max(across, down) < ELONGATED * max(min(across, down), 1.0):
            continue
        rotation = _ROTATION[down > across, label == "180"]
        weights[rotation] += max(across, down)
        lines[rotation] += 1
    if not weights:
        return 0
    rotation, weight = weights.most_common(1)[0]
    return rotation if lines[rotation] >= MIN_LINES and weight > MAJORITY * weights.total() else 0
