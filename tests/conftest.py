"""Shared fixtures: the real engine (loaded once), the public data sets, rendered test images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrwatch.config import Settings
from ocrwatch.engines import Engine, create_engine
from tests.postgres import PostgresServer, PostgresUnavailable

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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server of the tests' own, for the whole run. Where PostgreSQL is not
    installed its tests are skipped, except in CI, where that is a failure."""
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as error:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(str(error))
        pytest.skip(str(error))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped after the test."""
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def index_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty index, on each database the index runs on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index' / 'index.db'}"
    return request.getfixturevalue("postgres_url")


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
