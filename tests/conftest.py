"""Shared fixtures: the real engine (loaded once), the public data sets, rendered test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrwatch.config import Settings
from ocrwatch.engines import Engine, create_engine

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The read-only public data sets (receipts and street photos); never write here."""
    if not (DATA / "sroie").is_dir() or not (DATA / "icdar2015").is_dir():
        pytest.skip(f"the public data sets are not at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The real RapidOCR engine, loaded once for the whole run."""
    return create_engine("rapidocr", Settings().engines)


def render_text(lines: list[str], size: int = 40, width: int = 900) -> Image.Image:
    """A clean page with `lines` printed on it, for tests that must know the exact text."""
    font = ImageFont.load_default(size=size)
    image = Image.new("RGB", (width, 60 + len(lines) * size * 2), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * size * 2), line, fill="black", font=font)
    return image


@pytest.fixture
def rendered_page() -> np.ndarray:
    return np.asarray(render_text(["INVOICE 4711", "Total amount 129.50", "Thank you"]))
