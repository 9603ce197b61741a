"""Tesseract: its languages are checked at start, and its threads are limited before it loads."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrwatch.config import EngineSettings, TesseractSettings
from ocrwatch.engines import create_engine
from ocrwatch.engines.tesseract import check_languages, debian_package
from ocrwatch.errors import ConfigError

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tesserocr") is None,
    reason="tesserocr is not installed: pip install 'ocrwatch[tesseract]' (make test installs it)",
)


def settings(**options: object) -> EngineSettings:
    return EngineSettings(tesseract=TesseractSettings(**options))


def test_a_missing_language_names_the_debian_package_to_install() -> None:
    with pytest.raises(ConfigError) as raised:
        create_engine("tesseract", settings(lang="eng+fra"))
    message = str(raised.value)
    assert message.startswith("engines.tesseract.lang: no traineddata for 'fra' in ")
    assert "installed: deu, eng" in message
    assert message.endswith("install it with: apt-get install tesseract-ocr-fra")


def test_every_missing_language_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"'chi_sim', 'fra'.*apt-get install tesseract-ocr-chi-sim tesseract-ocr-fra"
    ):
        check_languages("eng+chi_sim+fra", tmp_path, {"eng", "osd"})
    assert debian_package("chi_sim") == "tesseract-ocr-chi-sim"


def test_an_empty_tessdata_folder_is_reported_not_crashed_on(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"no traineddata for 'eng' in {tmp_path} \(installed: none\)"):
        create_engine("tesseract", settings(tessdata=tmp_path))


def test_german_is_read_with_its_umlauts() -> None:
    """Pillow's own font has no umlauts: DejaVu (Debian's fonts-dejavu-core) draws them."""
    if not DEJAVU.is_file():
        pytest.skip(f"no {DEJAVU}: apt-get install fonts-dejavu-core")
    image = Image.new("RGB", (900, 140), "white")
    ImageDraw.Draw(image).text((40, 40), "Größe der Übung", fill="black", font=ImageFont.truetype(DEJAVU, 48))
    engine = create_engine("tesseract", settings(lang="deu"))
    page = engine.read(np.asarray(image))
    assert page.text == "Größe der Übung"
    assert engine.version.startswith("5.")


def test_threads_limit_openmp_before_tesseract_loads() -> None:
    """OMP_THREAD_LIMIT is read once, when libgomp loads: the engine sets it first (fresh process)."""
    code = (
        "import ctypes, os\n"
        "from ocrwatch.config import EngineSettings, TesseractSettings\n"
        "from ocrwatch.engines import create_engine\n"
        "create_engine('tesseract', EngineSettings(tesseract=TesseractSettings(threads=1)))\n"
        "print(os.environ['OMP_THREAD_LIMIT'], ctypes.CDLL('libgomp.so.1').omp_get_thread_limit())\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "OMP_THREAD_LIMIT"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert result.stdout.split() == ["1", "1"]
