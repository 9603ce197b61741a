"""Running the real `ocrwatch run` in a subprocess and waiting on what it records, for the daemon tests."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy
import yaml
from sqlalchemy import RowMapping
from sqlalchemy.pool import NullPool

from ocrwatch.index.dialects.sqlite_driver import sqlite3
from tests.conftest import render_text
from tests.databases import plain_engine

DEADLINE = 300.0
"""Seconds any wait may take: generous, because the machine is shared with other test runs."""


def page(text: str) -> bytes:
    """A small PNG with `text` on it: distinct texts give distinct files, and OCR on it is quick."""
    buffer = io.BytesIO()
    render_text([text], size=28, width=420).save(buffer, "PNG")
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """Poll `condition` until it returns something true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class RunningDaemon:
    """`ocrwatch run --config` in its own process group (as systemd runs it in its own cgroup)."""

    def __init__(
        self,
        folder: Path,
        config: dict[str, Any],
        env: dict[str, str] | None = None,
        database: str | None = None,
    ) -> None:
        """`database`: the index's URL, when not the SQLite file in the output folder (PostgreSQL)."""
        self.folder = folder
        self.config_path = folder / "ocrwatch.yaml"
        defaults = {
            "output": "out",
            "workers": 2,
            "settle_seconds": 1,
            "engines": {"rapidocr": {"threads": 1}},  # two workers on two cores: no oversubscription
        }
        if database is not None:
            defaults["database"] = database
        self.config_path.write_text(yaml.safe_dump({**defaults, **config}, allow_unicode=True))
        self.database = folder / "out" / "index.db"
        self.url = database or f"sqlite:///{self.database}"
        self.env = {**os.environ, **(env or {})}
        self.logs: list[Path] = []
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RunningDaemon:
        log = self.folder / f"run-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ocrwatch", "run", "--config", str(self.config_path)],
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        wait_for(lambda: "watching" in self.log(), "the daemon to start watching")
        return self

    def log(self, run: int = -1) -> str:
        return self.logs[run].read_text(errors="replace") if self.logs else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 120) -> int:
        """Signal the daemon itself (systemd's KillMode=mixed) and wait for it to exit."""
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP to the whole process group for the block, SIGCONT after it: a suspended VM."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL to the whole process group: the daemon and its workers, as `kill -9` of a service."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        if self.process is not None:
            with suppress(ProcessLookupError):  # workers left behind must not outlive the test
                os.killpg(self.process.pid, signal.SIGKILL)

    def rows(self) -> list[sqlite3.Row] | list[RowMapping]:
        """The `files` rows, first first, by column name; none before the index is created."""
        if not self.url.startswith("sqlite:"):
            return self._server_rows()
        if not self.database.exists():
            return []
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30) as connection:
            connection.row_factory = sqlite3.Row
            try:
                return connection.execute("SELECT * FROM files ORDER BY id").fetchall()
            except sqlite3.OperationalError as error:
                if str(error) == "no such table: files":  # not migrated yet; any other error is real
                    return []
                raise

    def _server_rows(self) -> list[RowMapping]:
        engine = plain_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                if not sqlalchemy.inspect(connection).has_table("files"):
                    return []  # not migrated yet
                return list(connection.execute(sqlalchemy.text("SELECT * FROM files ORDER BY id")).mappings())
        finally:
            engine.dispose()

    def count(self, table: str) -> int:
        """The number of rows in `table` of the index, on either database."""
        engine = plain_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return connection.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar_one()
        finally:
            engine.dispose()

    def statuses(self) -> dict[str, str]:
        return {row["path"]: row["status"] for row in self.rows()}

    def settled(self, paths: list[Path]) -> bool:
        """Every path has a row in a final state (done, duplicate or failed)."""
        statuses = self.statuses()
        return all(statuses.get(str(path)) in ("done", "duplicate", "failed") for path in paths)

    def outcome_lines(self, path: Path) -> list[str]:
        """The log lines that record a final outcome for `path`, over every run so far."""
        lines = []
        for run in range(len(self.logs)):
            for line in self.log(run).splitlines():
                for outcome in ("done", "duplicate", "failed", "skipped"):
                    if f" {outcome} {path} " in line:
                        lines.append(line)
        return lines
