"""keras-ocr: the CRAFT text detector and a CRNN recognizer on TensorFlow (the original design).

Installed apart from the base (`pip install 'ocrwatch[keras]'`: TensorFlow is some 1.5 GB). keras-ocr
keeps its weights in `KERAS_OCR_CACHE_DIR` (default `~/.keras-ocr`) and downloads a missing file
from its GitHub release the moment a model is built, which on a machine without internet hangs or
dies in the middle of a batch. ocrwatch therefore never lets keras-ocr fetch anything: it checks
every weight file (present, sha256 as keras-ocr publishes it) when the engine is created, says which
files are missing, where they go and their sha256, and then builds the models without weights and
loads the verified files itself.

The detector's weights come as Keras weights (`craft_mlt_25k.h5`) or as the original PyTorch weights
(`craft_mlt_25k.pth`, read with torch, the CPU build is enough); either will do.

keras-ocr's words carry no confidence: a word's score is the recognizer's mean probability of the
characters it read (greedy CTC decoding, as keras-ocr decodes). keras-ocr finds words, not lines:
ocrwatch joins the words of a row of text into lines (`geometry.lines_of_words`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ocrwatch.config import KerasOcrSettings
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.errors import EngineError
from ocrwatch.geometry import Quad, bounding_quad, lines_of_words, quad_from_points

RELEASE = "https://github.com/faustomorales/keras-ocr/releases/download/v0.8.4/"


@dataclass(frozen=True, slots=True)
class WeightFile:
    filename: str
    sha256: str
    note: str = ""

    @property
    def url(self) -> str:
        return RELEASE + self.filename


# The files and checksums of keras-ocr 0.9.3 (keras_ocr.detection / keras_ocr.recognition
# PRETRAINED_WEIGHTS); a test checks them against the installed keras-ocr.
DETECTOR_H5 = WeightFile(
    "craft_mlt_25k.h5", "7283ce2ff05a0617e9740c316175ff3bacdd7215dbdf1a726890d5099431f899"
)
DETECTOR_PTH = WeightFile(
    "craft_mlt_25k.pth", "4a5efbfb48b4081100544e75e1e2b57f8de3d84f213004b14b85fd4b3748db17", "needs torch"
)
RECOGNIZER_KURAPAN = WeightFile(
    "crnn_kurapan.h5", "a7d8086ac8f5c3d6a0a828f7d6fbabcaf815415dd125c32533013f85603be46d"
)


def cache_dir(options: KerasOcrSettings) -> Path:
    """Where keras-ocr's weights are: the config's `cache_dir`, else keras-ocr's own default."""
    if options.cache_dir is not None:
        return options.cache_dir.expanduser()
    return Path(os.environ.get("KERAS_OCR_CACHE_DIR") or Path.home() / ".keras-ocr").expanduser()


def find_weights(options: KerasOcrSettings) -> tuple[Path, Path | None]:
    """The verified detector and recognizer weight files, or an EngineError saying what is missing.

    The detector takes the Keras file if it is there, else the PyTorch one. A file whose sha256 is not
    the published one is refused rather than used (a partial download looks just like it).
    """
    folder = cache_dir(options)
    problems: list[str] = []
    detector = _first_verified(folder, [DETECTOR_H5, DETECTOR_PTH], problems)
    recognizer: Path | None = None
    if options.recognizer_weights == "kurapan":
        recognizer = _first_verified(folder, [RECOGNIZER_KURAPAN], problems)
    elif options.recognizer_weights is not None:
        raise EngineError(
            f"engines.keras_ocr.recognizer_weights: unknown weights {options.recognizer_weights!r}; "
            "known: kurapan, or null (untrained, for tests)"
        )
    if detector is None or (options.recognizer_weights and recognizer is None):
        needed = []
        if detector is None:
            needed.append(f"  the detector: {_describe(DETECTOR_H5)}\n    or {_describe(DETECTOR_PTH)}")
        if options.recognizer_weights and recognizer is None:
            needed.append(f"  the recognizer: {_describe(RECOGNIZER_KURAPAN)}")
        found = "".join(f"\n  ({problem})" for problem in problems)
        raise EngineError(
            f"keras-ocr weights missing in {folder} (engines.keras_ocr.cache_dir, or "
            f"KERAS_OCR_CACHE_DIR); ocrwatch never downloads them. Put there:\n" + "\n".join(needed) + found
        )
    assert detector is not None
    return detector, recognizer


def _first_verified(folder: Path, choices: list[WeightFile], problems: list[str]) -> Path | None:
    for choice in choices:
        path = folder / choice.filename
        if not path.is_file():
            continue
        actual = sha256_of(path)
        if actual == choice.sha256:
            return path
        problems.append(f"{path} has sha256 {actual}, not the published one: damaged or incomplete")
    return None


def _describe(weights: WeightFile) -> str:
    note = f", {weights.note}" if weights.note else ""
    return f"{weights.filename} (sha256 {weights.sha256}{note}) from {weights.url}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class KerasOcrEngine:
    name = "keras-ocr"

    def __init__(self, settings: Any) -> None:
        options: KerasOcrSettings = settings.keras_ocr
        self._options = options
        detector_path, recognizer_path = find_weights(options)
        keras_ocr = _import_keras_ocr()
        self.version = keras_ocr.__version__
        self.recognizer_trained = recognizer_path is not None
        self._tools = keras_ocr.tools
        self._detector = keras_ocr.detection.Detector(weights=None)
        try:
            if detector_path.suffix == ".pth":
                keras_ocr.detection.load_torch_weights(self._detector.model, str(detector_path))
            else:
                self._detector.model.load_weights(str(detector_path))
        except ImportError as error:
            raise EngineError(
                f"keras-ocr: {detector_path.name} are PyTorch weights and need torch "
                f"(pip install torch, the CPU build), or put {DETECTOR_H5.filename} beside it ({error})"
            ) from error
        self._recognizer = keras_ocr.recognition.Recognizer(
            alphabet=keras_ocr.recognition.DEFAULT_ALPHABET, weights=None
        )
        if recognizer_path is not None:
            self._recognizer.model.load_weights(str(recognizer_path))
        self._alphabet = self._recognizer.alphabet

    def read(self, image: np.ndarray) -> PageText:
        height, width = image.shape[:2]
        options = self._options
        resized, scale = self._tools.resize_image(image, max_scale=options.scale, max_size=options.max_size)
        boxes = self._detector.detect(
            [resized],
            detection_threshold=options.detection_threshold,
            text_threshold=options.text_threshold,
            link_threshold=options.link_threshold,
            size_threshold=options.size_threshold,
            verbose=0,
        )[0]
        if len(boxes) == 0:
            return PageText(width=width, height=height, engine=self.name)
        texts, scores = self._recognize(resized, boxes)
        found = [
            Word(text, score, _clip(quad_from_points(box / scale), width, height))
            for text, score, box in zip(texts, scores, boxes, strict=True)
            if text
        ]
        words: list[Word] = []
        lines: list[Line] = []
        for members in lines_of_words([word.box for word in found]):
            first = len(words)
            words.extend(found[index] for index in members)
            line_words = words[first:]
            lines.append(
                Line(
                    text=" ".join(word.text for word in line_words),
                    score=round(sum(word.score for word in line_words) / len(line_words), 4),
                    box=bounding_quad([word.box for word in line_words]),
                    words=tuple(range(first, len(words))),
                )
            )
        return PageText(width=width, height=height, words=words, lines=lines, engine=self.name)

    def _recognize(self, image: np.ndarray, boxes: np.ndarray) -> tuple[list[str], list[float]]:
        """Read each box: keras-ocr's own crops, then greedy CTC decoding with the probabilities kept."""
        import cv2

        model = self._recognizer.model
        _, crop_height, crop_width, channels = model.input_shape
        source = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if channels == 1 else image
        crops = np.array(
            [
                self._tools.warpBox(image=source, box=box, target_height=crop_height, target_width=crop_width)
                for box in boxes
            ],
            dtype="float32",
        )
        crops /= 255
        if crops.ndim == 3:
            crops = crops[..., np.newaxis]
        probabilities = model.predict(crops, batch_size=self._options.batch_size, verbose=0)
        return ctc_greedy_decode(probabilities, self._alphabet)


def ctc_greedy_decode(probabilities: np.ndarray, alphabet: str) -> tuple[list[str], list[float]]:
    """Best path decoding of (crops, steps, classes) with the blank last: texts and mean probabilities."""
    blank = len(alphabet)
    texts: list[str] = []
    scores: list[float] = []
    for steps in probabilities:
        best = steps.argmax(axis=-1)
        kept = [
            step
            for step, label in enumerate(best)
            if label != blank and (step == 0 or label != best[step - 1])
        ]
        texts.append("".join(alphabet[best[step]] for step in kept))
        scores.append(round(float(np.mean([steps[step, best[step]] for step in kept])), 4) if kept else 0.0)
    return texts, scores


def _import_keras_ocr() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter on stderr
    try:
        import keras_ocr
    except ImportError as error:
        raise EngineError(
            f"the keras-ocr engine needs its extra: pip install 'ocrwatch[keras]' ({error})"
        ) from error
    return keras_ocr


def _clip(box: Quad, width: int, height: int) -> Quad:
    return quad_from_points([(min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in box])
