"""Shared fixtures: the real engine (loaded once), the public data sets, rendered test images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrwatch.config import Settings
from ocrwatch.engines import Engine, create_engine

if TYPE_CHECKING:
    from tests.daemon_helpers import RunningDaemon

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


@pytest.fixture
def daemons() -> Iterator[list[RunningDaemon]]:
    """Daemons started by a test, killed (with their workers) whatever the test's outcome."""

    started: list[RunningDaemon] = []
    yield started
    for daemon in started:
        daemon.kill()
