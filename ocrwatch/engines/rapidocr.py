"""RapidOCR: the PP-OCR detector, direction classifier and recognizer on onnxruntime.

Only the models inside the `rapidocr` wheel are used (PP-OCRv6 small detector and recognizer), so
nothing is ever downloaded. RapidOCR's own `vis()` would fetch a font: ocrwatch draws its annotated
copies itself (`ocrwatch.outputs.annotated`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from rapidocr import RapidOCR
from rapidocr._version import __version__ as rapidocr_version

from ocrwatch.config import EngineSettings
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.geometry import Quad, quad_from_points, reading_order, split_line_box

RawWord = tuple[str, float, Sequence[Sequence[float]]]


class RapidOcrEngine:
    name = "rapidocr"
    version = rapidocr_version

    def __init__(self, settings: EngineSettings) -> None:
        options = settings.rapidocr
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

    def read(self, image: np.ndarray) -> PageText:
        height, width = image.shape[:2]
        result = self._ocr(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if result.txts is None or result.boxes is None or len(result.txts) == 0:
            return PageText(width=width, height=height)
        line_boxes = [quad_from_points(box) for box in result.boxes]
        line_words = _align_words(result.txts, result.scores, line_boxes, result.word_results)
        words: list[Word] = []
        lines: list[Line] = []
        for index in reading_order(line_boxes):
            first = len(words)
            words.extend(line_words[index])
            lines.append(
                Line(
                    text=result.txts[index],
                    score=round(float(result.scores[index]), 4),
                    box=line_boxes[index],
                    words=tuple(range(first, len(words))),
                )
            )
        return PageText(width=width, height=height, words=words, lines=lines)


def _align_words(
    texts: Sequence[str],
    scores: Sequence[float],
    boxes: Sequence[Quad],
    word_results: Sequence[Sequence[RawWord]],
) -> list[list[Word]]:
    """Pair each line with its word boxes.

    RapidOCR drops a line's entry from `word_results` when it found no word boxes for it, so the two
    sequences can drift apart; a group is taken for a line only when its words spell the line.
    Lines without their own word boxes get boxes cut from the line box, and the line's score.
    """
    groups = list(word_results)
    paired: list[list[Word]] = []
    cursor = 0
    for text, box, line_score in zip(texts, boxes, scores, strict=True):
        group = groups[cursor] if cursor < len(groups) else ()
        if group and _squeeze("".join(word[0] for word in group)) == _squeeze(text):
            cursor += 1
            paired.append(
                [
                    Word(word_text, round(float(score), 4), quad_from_points(word_box))
                    for word_text, score, word_box in group
                    if word_text.strip()
                ]
            )
        else:
            score = round(float(line_score), 4)
            paired.append([Word(word, score, word_box) for word, word_box in split_line_box(box, text)])
    return paired


def _squeeze(text: str) -> str:
    return "".join(text.split())
