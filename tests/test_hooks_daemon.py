"""Notifications through the real `ocrwatch run`: a webhook receiver that is down while the daemon is
killed and started again still gets each file's notification, once per id, with the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

from ocrwatch.index.dialects.sqlite_driver import sqlite3
from tests.daemon_helpers import RunningDaemon, page, wait_for
from tests.receiver import Receiver
from tests.webserver import free_port


def outbox_rows(daemon: RunningDaemon) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{daemon.database}?mode=ro", uri=True, timeout=30) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM outbox ORDER BY id").fetchall()


def test_a_notification_survives_a_killed_daemon(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    port = free_port()
    hook = {"webhook": {"url": f"http://127.0.0.1:{port}/hook", "retries": 20, "retry_seconds": 0.5}}
    folder = {"folder": "inbox", "on_success": "move", "done": "done", "on_done": hook}
    config = {"workers": 1, "watch": [folder]}
    daemon = RunningDaemon(tmp_path, config)
    try:
        daemon.start()
        dropped = [tmp_path / "inbox" / f"scan {n}.png" for n in range(2)]
        for number, path in enumerate(dropped):
            path.write_bytes(page(f"durable receipt {number}"))
        wait_for(lambda: daemon.settled(dropped), "both files to be read")
        wait_for(
            lambda: all(row["attempts"] for row in outbox_rows(daemon)) and len(outbox_rows(daemon)) == 2,
            "an attempt at the dead receiver for each",
        )
        daemon.kill()  # SIGKILL: nothing is flushed, nothing is said
        before = {row["id"]: row for row in outbox_rows(daemon)}
        assert len(before) == 2 and all(row["delivered_at"] is None for row in before.values())

        receiver = Receiver(port=port)
        try:
            daemon.start()
            wait_for(lambda: all(row["delivered_at"] for row in outbox_rows(daemon)), "the notifications")
            assert daemon.stop() == 0
        finally:
            receiver.close()
        keys = sorted(int(headers["Idempotency-Key"]) for headers, _, _ in receiver.requests)
        assert keys == sorted(before)  # each once
        for headers, body, _ in receiver.requests:
            row = before[int(headers["Idempotency-Key"])]
            assert row["body"] is None or body == row["body"].encode("ascii")
            summary = json.loads(body)
            assert summary["moved_to"] == str(tmp_path / "done" / Path(summary["source"]).name)
        assert "Traceback" not in daemon.log(0) + daemon.log()
    finally:
        daemon.kill()
