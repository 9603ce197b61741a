"""The RapidOCR engine: detection, direction, recognition, then ocrwatch's own corrections.

RapidOCR's steps are run one by one (`preprocess_img`, `run_ocr_steps`, `build_final_output`, the
three steps of its `__call__`) because the direction classifier's answers, which `__call__` drops,
say which way up the page is (`orientation`).

RapidOCR shrinks every image whose longest side exceeds 2000 pixels to that side. That suits an A4
page, but a long receipt (750 x 3500) comes out so narrow that its letters blur away (word F1 0.73
against 0.84 unshrunk, `bench/README.md`). ocrwatch bounds the pixel count instead, at what the
2000-pixel rule leaves of an A4 page: the detector's cost follows the pixels, not the longest side.
Smaller images are not enlarged for the detector, and the direction classifier judges each line from
pieces of it (`tuning.TUNED`: measured in `bench/README.md`, issue 12).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from rapidocr import RapidOCR
from rapidocr._version import __version__ as rapidocr_version

from ocrwatch.config import EngineSettings
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.engines.rapidocr.directions import PieceClassifier
from ocrwatch.engines.rapidocr.orientation import page_rotation
from ocrwatch.engines.rapidocr.tuning import TUNED, Tuning
from ocrwatch.engines.rapidocr.words import RawWord, line_words, trim_to_text
from ocrwatch.geometry import Quad, from_upright, quad_from_points, reading_order

MAX_PIXELS = 2000 * 1414
"""Larger pages are shrunk to this many pixels before reading (an A4 page at 2000 x 1414)."""


@dataclass(frozen=True, slots=True)
class _Reading:
    """One pass of RapidOCR over an image, lines in the detector's order."""

    texts: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    boxes: tuple[Quad, ...] = ()
    word_results: tuple[Sequence[RawWord], ...] = ()
    rotation: int = 0
    """What the classifier's votes say would turn the image read upright."""


class RapidOcrEngine:
    name = "rapidocr"
    version = rapidocr_version

    def __init__(self, settings: EngineSettings, tuning: Tuning = TUNED) -> None:
        options = settings.rapidocr
        self._tuning = tuning
        self._use_cls = options.use_angle_cls
        self._turn_pages = options.detect_rotation
        self._ocr = RapidOCR(
            params={
                # RapidOCR warns "The text detection result is empty" on every blank page: for a
                # hot folder that is an ordinary outcome, not something for the service log.
                "Global.log_level": "error",
                "Global.text_score": options.text_score,
                "Global.use_cls": options.use_angle_cls,
                "Global.return_word_box": True,
                "EngineConfig.onnxruntime.intra_op_num_threads": options.threads or -1,
            }
        )
        # Loaded now, not on first use, so that each image can set its own input scale on it.
        self._detector = self._ocr._load_det_model()
        if tuning.line_pieces is not None:
            self._ocr.text_cls = PieceClassifier(self._ocr._load_cls_model(), tuning.line_pieces)
        self._read(_warm_up_page())  # RapidOCR loads its models on first use: not on a user's file

    def read(self, image: np.ndarray) -> PageText:
        height, width = image.shape[:2]
        stored = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        reading = self._read(stored)
        rotation = reading.rotation if self._turn_pages else 0
        if rotation:
            reading = self._read(np.ascontiguousarray(np.rot90(stored, -rotation // 90)))
        if not reading.texts:
            return PageText(width=width, height=height, rotation=rotation, engine=self.name)
        words_of_line = line_words(reading.texts, reading.scores, reading.boxes, reading.word_results)
        words: list[Word] = []
        lines: list[Line] = []
        for index in reading_order(reading.boxes):
            first = len(words)
            words.extend(
                Word(word.text, word.score, from_upright(word.box, rotation, width, height))
                for word in words_of_line[index]
            )
            box = from_upright(trim_to_text(reading.boxes[index]), rotation, width, height)
            score = round(float(reading.scores[index]), 4)
            lines.append(Line(reading.texts[index], score, box, tuple(range(first, len(words)))))
        return PageText(
            width=width, height=height, words=words, lines=lines, rotation=rotation, engine=self.name
        )

    def _read(self, bgr: np.ndarray) -> _Reading:
        ocr = self._ocr
        # RapidOCR keeps per-call switches from one call to the next: say them every time.
        ocr.update_params(use_det=True, use_cls=self._use_cls, use_rec=True)
        ocr.max_side_len = _longest_side_within(bgr.shape[0], bgr.shape[1], MAX_PIXELS)
        prepared, record = ocr.preprocess_img(bgr)
        self._detector.limit_side_len = self._tuning.short_side(*prepared.shape[:2])
        detected, directions, recognized, crops = ocr.run_ocr_steps(prepared, record)
        rotation = 0
        if detected.boxes is not None and directions.cls_res is not None:
            rotation = page_rotation(detected.boxes, directions.cls_res, ocr.cfg.Cls.cls_thresh)
        result = ocr.build_final_output(bgr, detected, directions, recognized, crops, record)
        if getattr(result, "txts", None) is None or getattr(result, "boxes", None) is None:
            return _Reading(rotation=rotation)
        return _Reading(
            texts=tuple(result.txts),
            scores=tuple(float(score) for score in result.scores),
            boxes=tuple(quad_from_points(box) for box in result.boxes),
            word_results=tuple(result.word_results),
            rotation=rotation,
        )


def _longest_side_within(height: int, width: int, pixels: int) -> int:
    """The longest side a `width` x `height` image may keep so that it holds at most `pixels`."""
    return (
        max(height, width, 1)
        if height * width <= pixels
        else int(max(height, width) * (pixels / (height * width)) ** 0.5)
    )


def _warm_up_page() -> np.ndarray:
    """A small page with one printed word, so that detector, classifier and recognizer all run."""
    page = np.full((64, 320, 3), 255, np.uint8)
    cv2.putText(page, "ocrwatch", (12, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2, cv2.LINE_AA)
    return page
