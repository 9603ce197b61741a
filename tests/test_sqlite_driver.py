"""The SQLite library under the index (`dialects/sqlite_driver.py`): a current SQLite where
pysqlite3's wheel exists, Python's own module elsewhere; the index must work on both."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from ocrwatch.index import database

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"),
    reason="pysqlite3-binary's wheels are for x86-64 Linux",
)
def test_on_x86_64_linux_the_index_runs_on_a_current_sqlite(tmp_path: Path):
    engine = database.connect(f"sqlite:///{tmp_path / 'index.db'}")
    try:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT sqlite_version()").scalar_one()
    finally:
        engine.dispose()
    assert tuple(map(int, version.split("."))) >= (3, 51)
    assert engine.dialect.dbapi.__name__ == "pysqlite3.dbapi2"


BLOCKED = """
import sys
sys.modules["pysqlite3"] = None  # as on a platform without its wheel: importing it fails
import pytest
from ocrwatch.index.dialects.sqlite_driver import sqlite3
assert sqlite3.__name__ == "sqlite3", sqlite3
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_without_pysqlite3_the_index_runs_on_pythons_own_sqlite(tmp_path: Path):
    """The index's and phrases' tests on SQLite, run again on Python's `sqlite3` module."""
    run = subprocess.run(
        [
            sys.executable, "-c", BLOCKED, "-q", "-p", "no:cacheprovider", "-k", "not postgresql",
            "--basetemp", str(tmp_path / "pytest"), "tests/test_search_phrases.py",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
