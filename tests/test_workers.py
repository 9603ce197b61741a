"""The OCR worker processes for real: the RapidOCR engine in spawned processes, faults injected into them.

A `sitecustomize.py` on the workers' PYTHONPATH makes a file named `crash*` kill its worker with SIGSEGV
and one named `hang*` sleep forever (after leaving a `.hanging` mark beside it), inside the real
`open_pages`, and engines fail to load while the file $OCRWATCH_TEST_BROKEN exists: the processes,
signals and pipes are the real ones.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ocrwatch.config import EngineSettings, Settings
from ocrwatch.errors import ClaimLost, EngineError, TimedOut, WorkerCrashed
from ocrwatch.index import FileRecord, FileStatus
from ocrwatch.pipeline import OcrJob
from ocrwatch.watch.workers import Finished, Workers
from tests.daemon_helpers import page, sha256, wait_for

ENGINES = EngineSettings(rapidocr={"threads": 1})  # two workers on two cores: no oversubscription

FAULTS = """
import os, signal, time

import ocrwatch.documents
import ocrwatch.engines
import ocrwatch.pipeline

_open_pages = ocrwatch.documents.open_pages
_create_engine = ocrwatch.engines.create_engine


def open_pages(path, settings):
    if "crash" in path.name:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "hang" in path.name:
        path.with_name(path.name + ".hanging").touch()
        while True:
            time.sleep(60)
    return _open_pages(path, settings)


def create_engine(name, settings):
    if os.path.exists(os.environ["OCRWATCH_TEST_BROKEN"]):
        raise RuntimeError("damaged weights (a test)")
    return _create_engine(name, settings)


ocrwatch.documents.open_pages = ocrwatch.pipeline.open_pages = open_pages
ocrwatch.engines.create_engine = create_engine
"""

ORPHANS = """
import hashlib, multiprocessing, sys
from pathlib import Path

from datetime import UTC, datetime

from ocrwatch.config import Settings
from ocrwatch.index import FileRecord, FileStatus
from ocrwatch.pipeline import OcrJob
from ocrwatch.watch.workers import Workers

if __name__ == "__main__":
    source = Path(sys.argv[1])
    settings = Settings(output=source.parent / "out", engine="rapidocr", engines={"rapidocr": {"threads": 1}})
    workers = Workers(2, "rapidocr", settings.engines, may_write=lambda job: True)
    stat = source.stat()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    record = FileRecord(1, str(source), stat.st_size, stat.st_mtime, digest, FileStatus.PROCESSING, None, 0,
                        None, "hang", datetime.now(UTC))
    workers.submit(OcrJob(source, record, stat.st_size, stat.st_mtime, digest, settings))
    print(*(child.pid for child in multiprocessing.active_children()), flush=True)
    workers.wait(600)
"""

UNCLOSED = """
import multiprocessing

from ocrwatch.config import EngineSettings
from ocrwatch.watch.workers import Workers

if __name__ == "__main__":
    workers = Workers(1, "rapidocr", EngineSettings(rapidocr={"threads": 1}), may_write=lambda job: True)
    print(*(child.pid for child in multiprocessing.active_children()), flush=True)
"""

REFUSED: set[str] = set()
"""Paths of jobs whose claim `may_write` says is lost."""
ARRIVALS = itertools.count(1)
"""Arrival ids for the jobs made here."""


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Workers spawned meanwhile (they inherit the environment) load the fault injection."""
    folder = tmp_path_factory.mktemp("faults")
    (folder / "sitecustomize.py").write_text(FAULTS)
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), before]))
    os.environ["OCRWATCH_TEST_BROKEN"] = str(folder / "broken")
    yield dict(os.environ)
    del os.environ["OCRWATCH_TEST_BROKEN"]
    if before is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def workers(faults: dict[str, str]) -> Iterator[Workers]:
    pool = Workers(2, "rapidocr", ENGINES, may_write=lambda job: job.record.path not in REFUSED)
    yield pool
    pool.close(time.monotonic() + 10)


def make_job(folder: Path, name: str, text: str = "", **settings: Any) -> OcrJob:
    """`folder/name.png` with `text` on it, as the daemon would hand it to the workers."""
    folder.mkdir(exist_ok=True)
    source = folder / f"{name}.png"
    data = page(text or name)
    source.write_bytes(data)
    stat = source.stat()
    options = Settings(
        output=folder / "out", engine="rapidocr", engines=ENGINES, outputs=("text",), **settings
    )
    record = FileRecord(
        id=next(ARRIVALS),
        path=str(source),
        size=stat.st_size,
        mtime=stat.st_mtime,
        sha256=sha256(data),
        status=FileStatus.PROCESSING,
        error=None,
        attempts=0,
        document_id=None,
        output_stem=name,
        updated_at=datetime.now(UTC),
    )
    return OcrJob(source, record, stat.st_size, stat.st_mtime, sha256(data), options)


def collect(pool: Workers, count: int, timeout: float = 120) -> dict[str, Finished]:
    """Exactly `count` results, by their job's stem."""
    finished: list[Finished] = []
    deadline = time.monotonic() + timeout
    while len(finished) < count and time.monotonic() < deadline:
        finished += pool.wait(1)
    assert len(finished) == count, finished
    return {result.job.stem: result for result in finished}


def alive(pid: int) -> bool:
    """A zombie counts as gone: it runs nothing (and this container's init may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children() -> set[int]:
    """This process's child processes, from /proc, zombies included."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(stat.parent.name))
    return found


def worker_pids() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def test_a_crash_costs_its_own_file_only_and_a_replacement_reads_on(workers: Workers, tmp_path: Path):
    started = worker_pids()
    workers.submit(make_job(tmp_path, "crash"))
    workers.submit(make_job(tmp_path, "good-1", "invoice 101"))
    workers.submit(make_job(tmp_path, "good-2", "invoice 202"))
    results = collect(workers, 3)
    crash = results["crash"]
    assert isinstance(crash.error, WorkerCrashed)
    assert str(crash.error) == "the OCR worker process died while reading the file (killed by SIGSEGV)"
    assert crash.content is None
    for name, text in (("good-1", "invoice 101"), ("good-2", "invoice 202")):
        assert results[name].error is None
        assert results[name].content is not None
        assert text in results[name].content.pages[0].text.lower()
        assert text in (tmp_path / "out" / f"{name}.txt").read_text().lower()
    # An idle worker dying costs no file; then only replacements are left to read the next one.
    (survivor,) = [pid for pid in started if alive(pid)]
    os.kill(survivor, signal.SIGKILL)
    wait_for(lambda: not alive(survivor), "the idle worker to die")
    assert workers.wait(0.5) == []
    workers.submit(make_job(tmp_path, "good-3", "invoice 303"))
    assert collect(workers, 1)["good-3"].error is None
    assert worker_pids().isdisjoint(started)
    assert workers.free() == 4


def test_a_hung_file_times_out_and_its_worker_is_killed(workers: Workers, tmp_path: Path):
    started = worker_pids()
    workers.submit(make_job(tmp_path, "hang", timeout_seconds=3, timeout_per_page_seconds=0))
    began = time.monotonic()
    result = collect(workers, 1, timeout=60)["hang"]
    assert time.monotonic() - began >= 3
    assert isinstance(result.error, TimedOut)
    assert str(result.error) == "timed out after 3 s"
    assert len([pid for pid in started if not alive(pid)]) == 1


def test_a_replacement_whose_engine_cannot_start_is_tried_again(
    workers: Workers, faults: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="ocrwatch.watch.workers")
    broken = Path(faults["OCRWATCH_TEST_BROKEN"])
    broken.touch()
    try:
        workers.submit(make_job(tmp_path, "crash"))
        assert isinstance(collect(workers, 1)["crash"].error, WorkerCrashed)
        wait_for(lambda: not workers.wait(0.2) and "trying again in 1 s" in caplog.text, "a failed start")
        assert "could not start: the rapidocr engine cannot start: damaged weights (a test)" in caplog.text
    finally:
        broken.unlink()
    wait_for(lambda: not workers.wait(0.2) and "process is ready" in caplog.text, "a replacement")
    workers.submit(make_job(tmp_path, "after", "invoice 404"))
    assert collect(workers, 1)["after"].error is None


def test_a_lost_claim_writes_nothing(workers: Workers, tmp_path: Path):
    job = make_job(tmp_path, "refused")
    REFUSED.add(job.record.path)
    workers.submit(job)
    result = collect(workers, 1)["refused"]
    assert isinstance(result.error, ClaimLost)
    assert str(result.error) == "the claim on this file was lost before its outputs were written"
    assert not list((tmp_path / "out").glob("refused*"))


def test_an_engine_that_cannot_start_is_reported_before_any_file_and_leaves_no_process():
    before = children()
    with pytest.raises(EngineError, match=r"the tesseract engine cannot start: .*'xxx'"):
        Workers(2, "tesseract", EngineSettings(tesseract={"lang": "xxx"}), may_write=lambda job: True)
    assert children() == before


def test_workers_die_with_their_parent_even_mid_file(faults: dict[str, str], tmp_path: Path):
    (tmp_path / "orphans.py").write_text(textwrap.dedent(ORPHANS))
    hang = tmp_path / "hang.png"
    hang.write_bytes(page("hang"))
    script = subprocess.Popen(
        [sys.executable, str(tmp_path / "orphans.py"), str(hang)], stdout=subprocess.PIPE, env=faults
    )
    pids: list[int] = []
    try:
        assert script.stdout is not None
        pids += [int(pid) for pid in script.stdout.readline().split()]
        assert len(pids) == 2
        wait_for(hang.with_name("hang.png.hanging").exists, "a worker to hang on its file", timeout=60)
        script.kill()
        script.wait()
        wait_for(lambda: not any(alive(pid) for pid in pids), "every worker to exit", timeout=5)
    finally:
        script.kill()
        for pid in pids:  # leave no hung worker behind a failed test
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_program_that_never_closes_its_workers_still_exits(tmp_path: Path):
    """Workers ignore SIGTERM, which is all multiprocessing's exit handler sends before it waits."""
    (tmp_path / "unclosed.py").write_text(UNCLOSED)
    script = subprocess.run(
        [sys.executable, str(tmp_path / "unclosed.py")], capture_output=True, text=True, timeout=30
    )
    assert script.returncode == 0, script.stderr
    (pid,) = map(int, script.stdout.split())
    assert not alive(pid)


def test_close_hands_back_what_finished_and_what_did_not(faults: dict[str, str], tmp_path: Path):
    """A pool of its own, both workers up: the module's may still be replacing one."""
    others = worker_pids()
    workers = Workers(2, "rapidocr", ENGINES, may_write=lambda job: True)
    jobs = [make_job(tmp_path, "hang"), make_job(tmp_path, "read", "invoice 505")]
    jobs += [make_job(tmp_path, f"waiting-{n}", f"invoice 60{n}") for n in (1, 2)]
    for job in jobs:
        workers.submit(job)
    assert workers.free() == 0
    assert {job.stem for job in workers.in_hand()} == {"hang", "read", "waiting-1", "waiting-2"}
    wait_for((tmp_path / "hang.png.hanging").exists, "a worker to hang on its file")
    finished, unstarted, cut_off = workers.close(time.monotonic() + 6)
    assert [(result.job.stem, result.error) for result in finished] == [("read", None)]
    assert {job.stem for job in unstarted} == {"waiting-1", "waiting-2"}
    assert [job.stem for job in cut_off] == ["hang"]
    assert worker_pids() <= others  # this pool's workers are gone
    assert workers.free() == 0
