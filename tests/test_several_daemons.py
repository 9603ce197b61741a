"""Two and three `ocrwatch run` processes on one index and one shared inbox, as separate hosts would run
them: each with its own node name, one worker and the polling observer (as on NFS or SMB). A burst of real
receipts is read once each; one daemon killed mid-batch with its workers loses its files to the others
once its leases run out: nothing lost, nothing read twice; one frozen (SIGSTOP) past its leases cannot
record, once resumed, what another took over. Each test runs on an SQLite file (daemons of one host) and
on the real PostgreSQL server (daemons of several hosts); three daemons only on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.daemon_helpers import RunningDaemon, wait_for

LEASE = 3
RECEIPTS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The shared index: an SQLite file in the test's folder, or a database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.db'}"
    return request.getfixturevalue("postgres_url")


def start(tmp_path: Path, url: str, node: str, daemons: list[RunningDaemon]) -> RunningDaemon:
    home = tmp_path / node
    home.mkdir()
    config = {
        "node": node,
        "lease_seconds": LEASE,
        "output": str(tmp_path / "out"),
        "workers": 1,
        "engine": "tesseract",
        "settle_seconds": 0.5,
        "watch": [{"folder": str(tmp_path / "inbox"), "name": "inbox", "polling": True, "poll_seconds": 0.5}],
    }
    daemon = RunningDaemon(home, config, database=url)
    if url.startswith("sqlite:"):
        daemon.database = tmp_path / "index.db"
    daemons.append(daemon)
    return daemon.start()


def held_by(daemon: RunningDaemon, node: str) -> list[str]:
    return [
        row["path"] for row in daemon.rows() if row["status"] == "processing" and row["claimed_by"] == node
    ]


def drop_burst(tmp_path: Path, data_dir: Path, count: int) -> list[Path]:
    """Copy `count` receipts aside, then move them all into the inbox at once."""
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir(exist_ok=True)
    staging.mkdir()
    receipts = sorted((data_dir / "sroie" / "img").glob("*.jpg"))[:count]
    for receipt in receipts:
        shutil.copy(receipt, staging / receipt.name)
    for receipt in receipts:
        os.rename(staging / receipt.name, inbox / receipt.name)
    return [inbox / receipt.name for receipt in receipts]


def assert_read_once(tmp_path: Path, daemons: list[RunningDaemon], dropped: list[Path]) -> None:
    """One arrival per file, done, its claim gone; one document and one set of outputs each; at most one
    outcome line per file over every daemon's log."""
    rows = daemons[0].rows()
    assert Counter(row["path"] for row in rows) == Counter(str(path) for path in dropped)
    assert {row["status"] for row in rows} == {"done"}
    assert all(row["claimed_by"] is None and row["lease_until"] is None for row in rows)
    assert daemons[0].count("documents") == len(dropped)
    lines = {path: [line for daemon in daemons for line in daemon.outcome_lines(path)] for path in dropped}
    assert all(len(found) <= 1 for found in lines.values()), lines
    outputs = sorted(path.name for path in (tmp_path / "out").glob("*.txt"))
    assert outputs == sorted(f"{path.name}.txt" for path in dropped)  # no `~2`: never read twice


def test_two_daemons_share_a_burst_and_one_takes_over_from_the_other_killed(
    tmp_path: Path, url: str, data_dir: Path, daemons: list[RunningDaemon]
) -> None:
    (tmp_path / "inbox").mkdir()
    alpha = start(tmp_path, url, "alpha", daemons)
    beta = start(tmp_path, url, "beta", daemons)
    dropped = drop_burst(tmp_path, data_dir, RECEIPTS)  # seen by both observers

    victim = wait_for(lambda: held_by(beta, "beta"), "beta to have files in hand", timeout=120)
    beta.kill()  # the daemon and its worker, mid-batch
    wait_for(lambda: alpha.settled(dropped), "alpha to finish every file, beta's too", timeout=240)

    assert_read_once(tmp_path, [alpha, beta], dropped)
    assert any(alpha.outcome_lines(Path(path)) for path in victim)  # beta's files, finished by alpha

    status = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "status", "--config", str(alpha.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    daemon_lines = [line for line in status.stdout.splitlines() if line.startswith("daemon ")]
    assert daemon_lines[0].startswith("daemon alpha: running; 0 files in hand; folders inbox"), daemon_lines
    assert daemon_lines[1].startswith("daemon beta: stale"), daemon_lines
    assert alpha.stop() == 0


def test_a_daemon_frozen_past_its_leases_cannot_record_what_another_took_over(
    tmp_path: Path, url: str, data_dir: Path, daemons: list[RunningDaemon]
) -> None:
    (tmp_path / "inbox").mkdir()
    alpha = start(tmp_path, url, "alpha", daemons)
    beta = start(tmp_path, url, "beta", daemons)
    dropped = drop_burst(tmp_path, data_dir, 4)
    frozen = wait_for(lambda: held_by(beta, "beta"), "beta to have files in hand", timeout=120)
    with beta.frozen():
        taken = [Path(path) for path in frozen]
        wait_for(lambda: all(alpha.outcome_lines(path) for path in taken), "alpha to take beta's files")
    wait_for(lambda: alpha.settled(dropped), "every file to be read")
    time.sleep(LEASE)  # time for beta, resumed, to try what it held
    assert_read_once(tmp_path, [alpha, beta], dropped)
    assert "not recorded" in beta.log(), beta.log()
    assert beta.alive() and beta.stop() == 0 and alpha.stop() == 0


def three_daemons(
    tmp_path: Path, url: str, data_dir: Path, daemons: list[RunningDaemon], count: int
) -> tuple[list[RunningDaemon], list[Path]]:
    """alpha, beta and gamma on one inbox, and `count` receipts dropped into it, once gamma holds some."""
    (tmp_path / "inbox").mkdir()
    nodes = [start(tmp_path, url, node, daemons) for node in ("alpha", "beta", "gamma")]
    dropped = drop_burst(tmp_path, data_dir, count)
    wait_for(lambda: held_by(nodes[2], "gamma"), "gamma to have files in hand", timeout=120)
    return nodes, dropped


def test_three_daemons_on_postgresql_share_a_burst_and_two_finish_the_killed_ones_files(
    tmp_path: Path, postgres_url: str, data_dir: Path, daemons: list[RunningDaemon]
) -> None:
    nodes, dropped = three_daemons(tmp_path, postgres_url, data_dir, daemons, 9)
    alpha, beta, gamma = nodes
    gamma.kill()  # the daemon and its worker, mid-batch
    victim = held_by(alpha, "gamma")
    assert victim  # still gamma's: a lease that has not run out is not taken
    wait_for(lambda: alpha.settled(dropped), "alpha and beta to finish every file, gamma's too", timeout=240)

    assert_read_once(tmp_path, nodes, dropped)
    finished = {
        path: [node.config_path.parent.name for node in (alpha, beta) if node.outcome_lines(Path(path))]
        for path in victim
    }
    assert all(len(by) == 1 for by in finished.values()), finished  # each by one of the other two
    assert alpha.stop() == 0 and beta.stop() == 0


def test_three_daemons_on_postgresql_one_frozen_past_its_leases_records_nothing_the_others_took(
    tmp_path: Path, postgres_url: str, data_dir: Path, daemons: list[RunningDaemon]
) -> None:
    nodes, dropped = three_daemons(tmp_path, postgres_url, data_dir, daemons, 6)
    alpha, beta, gamma = nodes
    with gamma.frozen():
        frozen = [Path(path) for path in held_by(alpha, "gamma")]  # read again: nothing of gamma's moves now
        assert frozen
        wait_for(
            lambda: all(alpha.outcome_lines(path) or beta.outcome_lines(path) for path in frozen),
            "alpha or beta to take each of gamma's files",
            timeout=240,
        )
    wait_for(lambda: alpha.settled(dropped), "every file to be read", timeout=240)
    time.sleep(LEASE)  # time for gamma, resumed, to try what it held
    assert_read_once(tmp_path, nodes, dropped)
    assert all(not gamma.outcome_lines(path) for path in frozen)
    assert "not recorded" in gamma.log(), gamma.log()
    assert all(node.alive() and node.stop() == 0 for node in nodes)
