"""Which way up each line is, told from a piece of the line the direction classifier can see.

RapidOCR's classifier takes a 48 x 192 input and squeezes every longer crop into it: a printed line
of 90 characters (1100 x 25 pixels on a 9-pt page) arrives five times narrower, its letters two
pixels wide, and the answer is a guess. A wrong but sure "180" turns the line upside down before
recognition, and it comes out as noise (`E`, `T`, `THD`), or a whole page is turned (bench/README.md,
issue 12). So the classifier is shown pieces of the line as long as its input is wide, up to `PIECES` of
them spread along the line, and the line is turned only when every piece says so: even unsqueezed, one
piece in a few hundred is read upside down with a sure score. The whole crop is turned by the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from rapidocr.ch_ppocr_cls import TextClassifier, TextClsOutput

PIECES = 3
"""At most this many pieces of a line are classified: its start, middle and end."""


class PieceClassifier:
    """Stands in for RapidOCR's `text_cls`: same call, same output, answers from unsqueezed pieces."""

    def __init__(self, classifier: TextClassifier, squeeze: float) -> None:
        self._classifier = classifier
        _, height, width = classifier.cls_image_shape
        self._aspect = width / height
        self._squeeze = squeeze
        """Lines that would be squeezed more than this many times are cut into pieces."""

    def __call__(self, crops: Sequence[np.ndarray]) -> TextClsOutput:
        pieces = [self._pieces(crop) for crop in crops]
        answers = self._classifier([piece for line in pieces for piece in line])
        if answers.cls_res is None:
            return answers
        sure = self._classifier.cls_thresh
        lines, position = [], 0
        for line in pieces:
            labels = answers.cls_res[position : position + len(line)]
            position += len(line)
            agreed = {label for label, _ in labels}
            lines.append(
                (agreed.pop(), min(score for _, score in labels)) if len(agreed) == 1 else ("0", 0.0)
            )
        turned = [
            cv2.rotate(crop, cv2.ROTATE_180) if label == "180" and score > sure else crop
            for crop, (label, score) in zip(crops, lines, strict=True)
        ]
        return TextClsOutput(img_list=turned, cls_res=lines, elapse=answers.elapse)

    def _pieces(self, crop: np.ndarray) -> list[np.ndarray]:
        height, width = crop.shape[:2]
        length = max(1, int(height * self._aspect))
        if width <= length * self._squeeze:
            return [crop]
        count = min(PIECES, width // length)
        starts = np.linspace(0, width - length, count).astype(int) if count > 1 else [(width - length) // 2]
        return [crop[:, start : start + length] for start in starts]
