"""After-actions that fail and failures fixed later, through the real `ocrwatch run`: a move that cannot
be made is recorded once, retried, given up without reading the file again, and announced once; a
failed file is read again with `ocrwatch retry` once its cause is gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.daemon_helpers import RunningDaemon, page, wait_for
from tests.receiver import Receiver


def test_a_move_that_fails_is_retried_given_up_and_announced_once(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "done").write_text("a file where the done folder should be")  # every move fails
    receiver = Receiver()
    folder = {
        "folder": "inbox",
        "on_success": "move",
        "done": "done",
        "on_done": {"webhook": {"url": receiver.url}},
    }
    config = {"watch": [folder], "retries": 2, "retry_seconds": 0.5, "rescan_seconds": 1}
    daemon = RunningDaemon(tmp_path, config)
    try:
        daemons.append(daemon.start())
        scan = inbox / "scan.png"
        scan.write_bytes(page("cannot be moved away"))
        wait_for(lambda: "gave up, the original stays where it is" in daemon.log(), "the move to be given up")
        wait_for(lambda: receiver.requests, "the notification")
        log = daemon.log()
        assert log.count("cannot move it") == 2, log  # the first failure and the giving up; retries are quiet
        [row] = daemon.rows()
        assert row["status"] == "done" and row["after_attempts"] == 3 and row["after_due"] is None
        assert "cannot move it" in row["after_error"] and row["moved_to"] is None
        assert scan.exists()
        # The original stayed in the watched folder through many rescans: never read, never announced again.
        time.sleep(4)
        assert len(daemon.outcome_lines(scan)) == 1
        assert len(daemon.rows()) == 1
        [summary] = receiver.summaries()
        assert summary["moved_to"] is None and summary["source"] == str(scan)
        assert daemon.stop() == 0
    finally:
        receiver.close()


def test_ocrwatch_retry_reads_a_failed_file_again_once_its_cause_is_fixed(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = RunningDaemon(tmp_path, {"watch": [{"folder": "inbox"}], "documents": {"max_pixels": 1000}})
    daemons.append(daemon.start())
    big = inbox / "big.png"
    big.write_bytes(page("too many pixels for this config"))
    wait_for(lambda: daemon.statuses().get(str(big)) == "failed", "the file to fail")
    assert "pixels" in daemon.rows()[0]["error"]
    assert daemon.stop() == 0

    config = yaml.safe_load(daemon.config_path.read_text())
    config["documents"]["max_pixels"] = 89_478_485  # the cause fixed
    daemon.config_path.write_text(yaml.safe_dump(config))
    daemon.start()
    retried = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "retry", str(big), "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert retried.returncode == 0 and f"queued again: {big}" in retried.stdout, retried.stderr
    wait_for(lambda: daemon.statuses().get(str(big)) == "done", "the file to be read after the retry")
    assert (tmp_path / "out" / "big.png.txt").read_text() == "too many pixels for this config\n"
    assert len(daemon.rows()) == 1  # the same arrival, read again

    unknown = subprocess.run(
        [
            sys.executable,
            "-m",
            "ocrwatch",
            "retry",
            str(inbox / "never.png"),
            "--config",
            str(daemon.config_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 1 and "no failed file at this path" in unknown.stderr
    assert daemon.stop() == 0
