"""rapidocr-onnxruntime 1.4 (PP-OCRv4 models), kept only to check the engine choice against it.

It runs in its own venv (`pip install rapidocr-onnxruntime==1.4.4 shapely pillow numpy`, with
PYTHONPATH=<repo>), so this module uses no more of ocrwatch than its geometry helpers. 1.4 returns
line boxes only: each line is cut into word boxes with `split_line_box`, as ocrwatch does for lines
that come without word boxes.
"""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from rapidocr_onnxruntime import RapidOCR

from bench.metrics import TextBox
from ocrwatch.geometry import quad_from_points, split_line_box


class RapidOcrOnnxruntime14:
    def __init__(self) -> None:
        self._ocr = RapidOCR()
        self.label = f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')}"

    def read(self, image: np.ndarray) -> list[TextBox]:
        lines, _ = self._ocr(np.ascontiguousarray(image[:, :, ::-1]))  # it takes arrays as BGR
        return [
            TextBox(word, box)
            for points, text, _score in lines or []
            for word, box in split_line_box(quad_from_points(points), text)
        ]
