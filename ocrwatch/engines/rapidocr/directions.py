"""Which way up each line is, told from a piece of the line the direction classifier can see.

RapidOCR's classifier takes a 48 x 192 input and squeezes every longer crop into it: a printed line
of 90 characters (1100 x 25 pixels on a 9-pt page) arrives five times narrower, its letters two
pixels wide, and the answer is a guess. A wrong but sure "180" turns the line upside down before
recognition, and it comes out as noise (`E`, `T`, `THD`), or a whole page is turned (bench/README.md,
issue 12). So the classifier is shown a piece of the line as long as its input is wide, from the middle
of the line (a line's ends may be a short word), and the whole crop is turned by its answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from rapidocr.ch_ppocr_cls import TextClassifier, TextClsOutput


class PieceClassifier:
    """Stands in for RapidOCR's `text_cls`: same call, same output, answers from unsqueezed pieces."""

    def __init__(self, classifier: TextClassifier) -> None:
        self._classifier = classifier
        _, height, width = classifier.cls_image_shape
        self._aspect = width / height

    def __call__(self, crops: Sequence[np.ndarray]) -> TextClsOutput:
        answers = self._classifier([self._piece(crop) for crop in crops])
        if answers.cls_res is None:
            return answers
        sure = self._classifier.cls_thresh
        turned = [
            cv2.rotate(crop, cv2.ROTATE_180) if label == "180" and score > sure else crop
            for crop, (label, score) in zip(crops, answers.cls_res, strict=True)
        ]
        return TextClsOutput(img_list=turned, cls_res=answers.cls_res, elapse=answers.elapse)

    def _piece(self, crop: np.ndarray) -> np.ndarray:
        height, width = crop.shape[:2]
        length = int(height * self._aspect)
        if width <= length:
            return crop
        start = (width - length) // 2
        return crop[:, start : start + length]
