"""Several daemons on one index: throughput of 1, 2 and 3 daemons on PostgreSQL against 1 on SQLite, and
how long a dead daemon's files wait before another daemon takes them.

    PYTHONPATH=$PWD .venv/bin/python bench/cluster.py [--files 30] [--runs 3] [--engine tesseract]
                                                      [--lease 10]

Each daemon is a separate `ocrwatch run` (its own node name, one worker, the polling observer, as on
a network share) on one shared inbox, as separate hosts would run it; PostgreSQL is a server of the
bench's own (`tests/postgres.py`: initdb in a temporary folder, a unix socket, fsync off). Every run
times each configuration once, in an order rotating between runs, on a fresh index: one warm-up
receipt read first, then `--files` SROIE receipts moved into the inbox at once, timed from the first
drop to the last file recorded (`done` in the index, polled every 0.1 s). The table gives the median
over `--runs`.

The wait: two daemons, one receipt dropped; the daemon that claims it is SIGKILLed with its worker
the moment it holds it, and the wait runs from the kill to the other daemon's claim. It should be
about `--lease` (the claim was just renewed) plus the other's poll of the queue.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
import yaml

from bench import datasets
from tests.databases import plain_engine
from tests.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
CONFIGURATIONS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3))
POLL = 0.1
FINAL = ("done", "duplicate", "failed")


class Daemon:
    """One `ocrwatch run` in its own process group, so that a SIGKILL takes its worker too."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        folder.mkdir()
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        self.log = folder / "run.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ocrwatch", "run", "--config", "config.yaml"],
                cwd=folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                start_new_session=True,
            )

    def wait_watching(self) -> None:
        _until(lambda: "watching" in self.log.read_text(errors="replace"), f"{self.log} to start")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


class Cluster:
    """`count` daemons on the index at `url`, one inbox, in `folder`."""

    def __init__(self, folder: Path, url: str, count: int, engine: str, lease: float) -> None:
        self.inbox, self.staging = folder / "inbox", folder / "staging"
        self.inbox.mkdir()
        self.staging.mkdir()
        self.daemons: dict[str, Daemon] = {}
        for number in range(1, count + 1):
            node = f"node-{number}"
            config = {
                "node": node,
                "database": url,
                "lease_seconds": lease,
                "output": str(folder / "out"),
                "workers": 1,
                "engine": engine,
                "settle_seconds": 0.5,
                "watch": [{"folder": str(self.inbox), "name": "inbox", "polling": True, "poll_seconds": 0.5}],
            }
            self.daemons[node] = Daemon(folder / node, config)
        for daemon in self.daemons.values():
            daemon.wait_watching()
        self.engine = plain_engine(url)

    def rows(self) -> dict[str, tuple[str, str | None]]:
        """Each file's path with its status and the node holding it."""
        with self.engine.connect() as connection:
            query = sqlalchemy.text("SELECT path, status, claimed_by FROM files")
            return {path: (status, node) for path, status, node in connection.execute(query)}

    def drop(self, images: Sequence[Path]) -> tuple[float, list[str]]:
        """Copy `images` aside, then move them all into the inbox at once; when, and their paths."""
        for number, image in enumerate(images):
            shutil.copy(image, self.staging / f"{number:03d}-{image.name}")
        names = sorted(path.name for path in self.staging.iterdir())
        started = time.monotonic()
        for name in names:
            os.rename(self.staging / name, self.inbox / name)
        return started, [str(self.inbox / name) for name in names]

    def wait_recorded(self, paths: list[str]) -> float:
        """Poll until every path is in a final state; when the last one was first seen so."""
        return _until(lambda: all(self.rows().get(path, ("",))[0] in FINAL for path in paths), "the burst")

    def close(self) -> None:
        for daemon in self.daemons.values():
            daemon.stop()
        self.engine.dispose()


def _until(condition: Callable[[], object], what: str, timeout: float = 1800) -> float:
    """Poll `condition` every `POLL` seconds; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(POLL)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}")


@contextmanager
def cluster(server: PostgresServer, kind: str, count: int, engine: str, lease: float) -> Iterator[Cluster]:
    """A fresh index (an SQLite file, or a new database on `server`) with `count` daemons on it."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ocrwatch-bench-cluster-")))
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'index.db'}"
        else:
            name = server.create_database()
            stack.callback(server.drop_database, name)
            url = server.url(name)
        running = Cluster(folder, url, count, engine, lease)
        stack.callback(running.close)
        yield running


def throughput(running: Cluster, receipts: list[Path], warm_up: Path) -> float:
    """Files per minute over the burst, after one warm-up receipt."""
    _, first = running.drop([warm_up])
    running.wait_recorded(first)
    started, paths = running.drop(receipts)
    return len(paths) / (running.wait_recorded(paths) - started) * 60


def dead_wait(running: Cluster, receipt: Path) -> float:
    """Seconds from SIGKILL of the daemon holding the only file to the other daemon's claim of it."""
    _, (path,) = running.drop([receipt])
    holder: list[str] = []

    def held() -> bool:
        status, node = running.rows().get(path, ("", None))
        holder[:] = [node] if status == "processing" and node else []
        return bool(holder)

    _until(held, "a daemon to claim the file")
    running.daemons[holder[0]].kill()
    killed = time.monotonic()
    taken = _until(lambda: running.rows()[path][1] != holder[0], "another daemon to take the file")
    running.wait_recorded([path])
    return taken - killed


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments().parse_args(argv)
    print("$", "PYTHONPATH=$PWD .venv/bin/python bench/cluster.py", shlex.join(argv or sys.argv[1:]))
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}, {os.cpu_count()} cores")
    samples = datasets.sroie()
    receipts, warm_up = [sample.image for sample in samples[: args.files]], samples[-1].image
    per_minute: dict[tuple[str, int], list[float]] = {}
    waits: list[float] = []
    server = PostgresServer().start()
    try:
        for run in range(args.runs):
            shift = run % len(CONFIGURATIONS)
            for kind, count in CONFIGURATIONS[shift:] + CONFIGURATIONS[:shift]:
                with cluster(server, kind, count, args.engine, args.lease) as running:
                    per_minute.setdefault((kind, count), []).append(throughput(running, receipts, warm_up))
            with cluster(server, "postgresql", 2, args.engine, args.lease) as running:
                waits.append(dead_wait(running, receipts[run % len(receipts)]))
    finally:
        server.stop()
    _report(args, per_minute, waits)


def _report(
    args: argparse.Namespace, per_minute: dict[tuple[str, int], list[float]], waits: list[float]
) -> None:
    base = statistics.median(per_minute["sqlite", 1])
    print(
        f"\n{args.files} SROIE receipts at once, engine {args.engine}, one worker per daemon;"
        f" median of {args.runs} runs"
    )
    print("\n| index | daemons | files/min | ratio to 1 daemon on SQLite |")
    print("|---|--:|--:|--:|")
    for kind, count in CONFIGURATIONS:
        value = statistics.median(per_minute[kind, count])
        name = "SQLite" if kind == "sqlite" else "PostgreSQL"
        print(f"| {name} | {count} | {value:.1f} | {value / base:.2f} |")
    print(
        f"\nA dead daemon's file waits {statistics.median(waits):.1f} s (median; "
        f"{', '.join(f'{wait:.1f}' for wait in waits)} s) with lease_seconds {args.lease:g}: "
        "SIGKILL of the daemon holding it to the other daemon's claim."
    )
    print(
        f"\nThe bound: {os.cpu_count()} cores for every daemon, its worker, the PostgreSQL server and this "
        "bench. One worker reads one page at a time, so two daemons can at best double one; a third worker "
        "has no core of its own and only shares the two (and the engine's own threads share them too)."
    )


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=30, help="receipts per burst (default 30, at most 99)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of (default 3)")
    parser.add_argument("--engine", default="tesseract", help="the daemons' engine (default tesseract)")
    parser.add_argument("--lease", type=float, default=10, help="lease_seconds (default 10)")
    return parser


if __name__ == "__main__":
    main()
