"""Notifications: the hooks' config, webhooks against a real HTTP server on loopback (retries, timeouts,
a server that is down), commands with awkward file names, shutdown, and the daemon going on meanwhile."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ocrwatch.config import HOOK_PLACEHOLDERS, Settings, Webhook, load_settings
from ocrwatch.engines import PageText
from ocrwatch.errors import ConfigError
from ocrwatch.hooks import Hooks
from ocrwatch.hooks.dispatcher import Delivery, Dispatcher
from ocrwatch.hooks.send import Attempt, arguments, post
from ocrwatch.index import Index
from ocrwatch.pipeline import Outcome, Status
from ocrwatch.result import DocumentText
from tests.daemon_helpers import RunningDaemon, page, sha256, wait_for
from tests.webserver import free_port


class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread. It records every POST and answers each from
    `replies`, in turn, as (status, seconds to wait before answering); then 200 at once."""

    def __init__(self, replies: list[tuple[int, float]] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        script = list(replies or [])
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), json.loads(body)))
                status, delay = script.pop(0) if script else (200, 0.0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="ocrwatch")
    return caplog


def deliver(url: str, log: pytest.LogCaptureFixture, **options: Any) -> list[str]:
    """POST a small summary through a dispatcher until it is delivered or given up; return the lines."""
    webhook = Webhook(url=url, **{"retries": 3, "retry_seconds": 0.05, **options})
    dispatcher = Dispatcher()
    send = partial(post, webhook, b'{"event": "done"}')
    dispatcher.submit(Delivery("on_done webhook", "a.png", send, webhook.retries + 1, webhook.retry_seconds))
    wait_for(lambda: dispatcher.pending() == 0, "the delivery to end", timeout=60)
    dispatcher.close(time.monotonic())
    return [record.getMessage() for record in log.records if record.name == "ocrwatch.hooks.dispatcher"]


def settings_from(tmp_path: Path, text: str) -> Settings:
    (tmp_path / "config.yaml").write_text(text)
    return load_settings(tmp_path / "config.yaml")


# Config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("on_done:\n  webhook: {url: 'ftp://example.org/x'}\n", "on_done.webhook.url: Value error, expected"),
        ("on_done:\n  webhook: {url: 'example.org/hook'}\n", "on_done.webhook.url: Value error, expected"),
        ("on_done:\n  webhok: {url: 'http://example.org'}\n", "on_done.webhok: unknown key"),
        ("on_failed:\n  webhook: {url: 'http://x', retries: -1}\n", "on_failed.webhook.retries: Input"),
        ("on_done:\n  webhook: {url: 'http://x', headers: {'A b': x}}\n", "on_done.webhook.headers: Value"),
        ("on_done:\n  command: []\n", "on_done.command: Tuple should have at least 1 item"),
        ("on_done:\n  command: /bin/echo {source}\n", "on_done.command: Input should be a valid tuple"),
        ("on_done:\n  command: [echo, '{txt}']\n", "on_done.command: Value error, '{txt}': unknown"),
        ("on_done:\n  command: [echo, '{seconds:.1f}']\n", "write {seconds} plainly"),
        ("on_done:\n  command: [echo, '{']\n", "write a literal brace as {{"),
        ("watch:\n  - folder: a\n    on_failed: {webhook: {url: 'file:///etc/passwd'}}\n",
         "watch.0.on_failed.webhook.url: Value error"),
    ],
)  # fmt: skip
def test_hook_config_mistakes_name_their_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_from(tmp_path, text)
    assert message in str(error.value)


def test_a_folder_takes_the_top_level_hooks_or_its_own(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        "on_done:\n  webhook: {url: 'https://example.org/hook', headers: {Authorization: 'Bearer x'}}\n"
        "  command: [bin/after-ocr, '{source}', '{text}']\n"
        "watch:\n  - folder: a\n  - folder: b\n    on_done: {}\n"
        "  - folder: c\n    on_failed: {command: [logger, '{error}'], command_timeout_seconds: 5}\n",
    )
    a, b, c = (profile.settings for profile in settings.profiles())
    assert a.on_done is not None and a.on_done.webhook is not None
    assert a.on_done.webhook.headers == {"Authorization": "Bearer x"} and a.on_done.webhook.retries == 5
    # A program given as a path is relative to the config file; a bare name is looked up in PATH.
    assert a.on_done.command == (str(tmp_path / "bin/after-ocr"), "{source}", "{text}")
    assert b.on_done is not None and b.on_done.webhook is None and b.on_done.command is None
    assert c.on_done == a.on_done and c.on_failed is not None and c.on_failed.command == ("logger", "{error}")


def test_placeholders_fill_whole_arguments_and_missing_values_are_empty() -> None:
    summary: dict[str, Any] = {name: None for name in HOOK_PLACEHOLDERS} | {
        "source": "/in/a b.png",
        "document_id": 7,
        "outputs": {"text": "/out/a b.png.txt"},
    }
    command = ["x", "{source}", "--id={document_id}", "{json}", "{text}", "{{literal}}"]
    assert arguments(command, summary) == ["x", "/in/a b.png", "--id=7", "", "/out/a b.png.txt", "{literal}"]


def test_a_missing_program_is_refused_at_start(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path, "watch:\n  - folder: in\n    on_failed: {command: [no-such-program-x]}\n"
    )
    with Index(settings.database_url) as index, pytest.raises(ConfigError) as error:
        Hooks(index, settings.profiles())
    assert "on_failed.command: no executable program 'no-such-program-x'" in str(error.value)


# Webhooks


def test_a_webhook_receives_the_summary(
    tmp_path: Path, receiver: Receiver, log: pytest.LogCaptureFixture
) -> None:
    settings = settings_from(
        tmp_path,
        f"output: out\nwatch:\n  - folder: in\n    name: scanner\n"
        f"    on_done: {{webhook: {{url: '{receiver.url}', headers: {{Authorization: Bearer s3cret}}}}}}\n",
    )
    (profile,) = settings.profiles()
    content = DocumentText(Path("in/a.png"), "ab" * 32, "rapidocr", "3.10.0", [PageText(10, 10)], 0.5)
    for name in ("a.png.txt", "a.png.json", "a.png.page-1.jpg"):
        (tmp_path / "out" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "out" / name).write_text("x")
    with Index(settings.database_url) as index:
        document_id = index.record_done(str(tmp_path / "in/a.png"), 1, 1.0, content.sha256, "a.png", content)
        hooks = Hooks(index, [profile])
        outcome = Outcome(tmp_path / "in/a.png", Status.DONE, 1.23456, document_id=document_id, pages=1)
        started = time.monotonic()
        hooks.notify(profile, outcome, tmp_path / "done/a.png")
        assert time.monotonic() - started < 0.5  # queued, not sent, in the daemon's thread
        wait_for(lambda: receiver.requests, "the POST", timeout=30)
        hooks.close(time.monotonic() + 5)

    ((headers, summary),) = receiver.requests
    assert headers["Content-Type"] == "application/json" and headers["Authorization"] == "Bearer s3cret"
    assert headers["User-Agent"].startswith("ocrwatch/")
    assert summary.pop("timestamp").endswith("Z") and len(summary.pop("id")) == 32
    out = tmp_path / "out"
    assert summary == {
        "event": "done",
        "status": "done",
        "profile": "scanner",
        "folder": str(tmp_path / "in"),
        "source": str(tmp_path / "in/a.png"),
        "moved_to": str(tmp_path / "done/a.png"),
        "sha256": "ab" * 32,
        "document_id": document_id,
        "pages": 1,
        "outputs": {"text": f"{out}/a.png.txt", "json": f"{out}/a.png.json",
                    "annotated": [f"{out}/a.png.page-1.jpg"]},
        "seconds": 1.235,
        "engine": "rapidocr",
        "error": None,
    }  # fmt: skip
    # The log names the URL without its query, which may hold a secret.
    (line,) = [record.getMessage() for record in log.records if "HTTP 200" in record.getMessage()]
    assert "/hook for " in line and "secret" not in line


def test_a_failing_server_is_retried_until_it_answers(log: pytest.LogCaptureFixture) -> None:
    receiver = Receiver([(500, 0.0), (503, 0.0)])
    try:
        lines = deliver(receiver.url, log)
    finally:
        receiver.close()
    assert len(receiver.requests) == 3
    assert "HTTP 500 Internal Server Error (attempt 1 of 4); retry in" in lines[0]
    assert "HTTP 503 Service Unavailable (attempt 2 of 4); retry in" in lines[1]
    assert lines[2].endswith("HTTP 200 (attempt 3 of 4)") and len(lines) == 3


def test_a_slow_answer_times_out_and_is_retried(log: pytest.LogCaptureFixture) -> None:
    receiver = Receiver([(200, 3.0)])
    try:
        lines = deliver(receiver.url, log, timeout_seconds=0.5)
    finally:
        receiver.close()
    assert len(receiver.requests) == 2
    assert "no answer within 0.5 s (attempt 1 of 4); retry in" in lines[0]
    assert lines[1].endswith("HTTP 200 (attempt 2 of 4)")


@pytest.mark.parametrize(
    ("status", "line"),
    [(404, "HTTP 404 Not Found (attempt 1 of 4); not retried"),
     (301, "HTTP 301 Moved Permanently (attempt 1 of 4); not retried")],  # never followed as a GET
)  # fmt: skip
def test_a_refusal_or_redirect_is_not_retried(status: int, line: str, log: pytest.LogCaptureFixture) -> None:
    receiver = Receiver([(status, 0.0)])
    try:
        lines = deliver(receiver.url, log)
    finally:
        receiver.close()
    assert len(receiver.requests) == 1
    assert lines == [f"on_done webhook for a.png: {line}"]


def test_a_server_that_is_down_is_given_up_after_the_retries(log: pytest.LogCaptureFixture) -> None:
    lines = deliver(f"http://127.0.0.1:{free_port()}/hook", log, retries=2)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "cannot connect: Connection refused (attempt 1 of 3); retry in " + lines[0].rsplit(" in ", 1)[1],
        "cannot connect: Connection refused (attempt 2 of 3); retry in " + lines[1].rsplit(" in ", 1)[1],
        "cannot connect: Connection refused (attempt 3 of 3); gave up",
    ]


def test_shutdown_waits_briefly_then_logs_what_it_dropped(log: pytest.LogCaptureFixture) -> None:
    dispatcher = Dispatcher()
    webhook = Webhook(url=f"http://127.0.0.1:{free_port()}/", retry_seconds=60, retries=2)
    send = partial(post, webhook, b"{}")
    dispatcher.submit(Delivery("on_done webhook", "a.png", send, 3, webhook.retry_seconds))
    wait_for(lambda: "retry in" in log.text, "the first attempt", timeout=30)
    started = time.monotonic()
    dispatcher.close(time.monotonic() + 0.5)
    assert time.monotonic() - started < 2
    assert "on_done webhook for a.png: dropped at shutdown after 1 of 3 attempts, not delivered" in log.text


def test_a_full_queue_drops_new_deliveries_without_blocking(log: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def stuck() -> Attempt:
        release.wait(30)
        return Attempt(True, False, "exit 0")

    dispatcher = Dispatcher(threads=1, capacity=2)
    for name in ("a", "b", "c"):
        dispatcher.submit(Delivery("on_done command", name, stuck))
    release.set()
    wait_for(lambda: dispatcher.pending() == 0, "the queue to drain", timeout=30)
    dispatcher.close(time.monotonic())
    assert "on_done command for c: dropped, 2 deliveries pending" in log.text
    assert "for a: exit 0" in log.text and "for b: exit 0" in log.text


# Commands


@pytest.fixture
def recorder(tmp_path: Path) -> Path:
    """A program that writes down its arguments and what it read on stdin, then exits with $EXIT."""
    script = tmp_path / "record.py"
    script.write_text(
        "import json, os, sys\n"
        "with open(os.environ['RECORD'], 'w', encoding='utf-8') as out:\n"
        "    json.dump({'argv': sys.argv[1:], 'stdin': json.load(sys.stdin)}, out)\n"
        "print('something went wrong', file=sys.stderr)\n"
        "sys.exit(int(os.environ.get('EXIT', '0')))\n"
    )
    return script


def failed_file(tmp_path: Path, command: str, name: str = "a.png", **hook: Any) -> None:
    """Notify `on_failed` for `name` with `command`, and wait for the command to end."""
    options = "".join(f", {key}: {value}" for key, value in hook.items())
    settings = settings_from(
        tmp_path, f"watch:\n  - folder: in\n    on_failed: {{command: {command}{options}}}\n"
    )
    (profile,) = settings.profiles()
    with Index(settings.database_url) as index:
        hooks = Hooks(index, [profile])
        hooks.notify(profile, Outcome(tmp_path / "in" / name, Status.FAILED, 0.1, error="not an image"), None)
        hooks.close(time.monotonic() + 30)


def test_a_command_gets_an_awkward_file_name_as_one_argument(
    tmp_path: Path, recorder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD", str(tmp_path / "record.json"))
    name = "Rechnung März 2026; $(touch pwned) 'квитанция' *.png"
    command = json.dumps([sys.executable, str(recorder), "{source}", "{event}: {error}", "{text}"])
    failed_file(tmp_path, command, name)
    recorded = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert recorded["argv"] == [str(tmp_path / "in" / name), "failed: not an image", ""]
    assert recorded["stdin"]["source"] == str(tmp_path / "in" / name) and recorded["stdin"]["pages"] is None
    assert recorded["stdin"]["error"] == "not an image" and recorded["stdin"]["outputs"] == {}
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_a_failing_or_hanging_command_is_logged_not_retried(
    tmp_path: Path, recorder: Path, log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD", str(tmp_path / "record.json"))
    monkeypatch.setenv("EXIT", "3")
    failed_file(tmp_path, json.dumps([sys.executable, str(recorder)]))
    assert "exit 3: 'something went wrong'; not retried" in log.text
    sleeper = json.dumps([sys.executable, "-c", "import time; time.sleep(30)"])
    started = time.monotonic()
    failed_file(tmp_path, sleeper, command_timeout_seconds=0.5)
    assert "killed after 0.5 s; not retried" in log.text and time.monotonic() - started < 10


# The daemon


def test_the_daemon_goes_on_while_a_webhook_is_down(
    tmp_path: Path, receiver: Receiver, recorder: Path
) -> None:
    """A real `ocrwatch run`: one folder posts to a live server and runs a command for failures; the
    other posts to a closed port. Files in both are read and searchable; the dead hook gives up."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "down").mkdir()
    closed = f"http://127.0.0.1:{free_port()}/hook"
    daemon = RunningDaemon(
        tmp_path,
        {
            "workers": 1,
            "watch": [
                {
                    "folder": "inbox",
                    "on_success": "move",
                    "done": "done",
                    "on_done": {"webhook": {"url": receiver.url}},
                    "on_failed": {"command": [sys.executable, str(recorder), "{source}", "{error}"]},
                },
                {
                    "folder": "down",
                    "output": "out-down",
                    "on_done": {"webhook": {"url": closed, "retries": 2, "retry_seconds": 0.2}},
                },
            ],
        },
        env={"RECORD": str(tmp_path / "record.json")},
    )
    try:
        daemon.start()
        good, data = tmp_path / "inbox" / "Rechnung März 1.png", page("hooked invoice 4711")
        good.write_bytes(data)
        bad = tmp_path / "inbox" / "notes é.jpg"
        bad.write_text("not a picture")
        dropped = {tmp_path / "down" / f"scan {n}.png": page(f"unheard receipt {n}") for n in range(4)}
        for path, content in dropped.items():
            path.write_bytes(content)

        wait_for(lambda: receiver.requests, "the POST for the good file")
        wait_for(lambda: (tmp_path / "record.json").exists(), "the command for the bad file")
        wait_for(lambda: daemon.settled(list(dropped)), "the files under the dead hook to be read")
        wait_for(
            lambda: daemon.log().count("gave up") == len(dropped), "the dead hook to give up on each file"
        )
        assert daemon.alive()
        for n in range(len(dropped)):
            found = subprocess.run(
                [sys.executable, "-m", "ocrwatch", "search", f'"unheard receipt {n}"', "--config",
                 str(daemon.config_path)],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert found.returncode == 0 and f"scan {n}.png" in found.stdout, found.stdout + found.stderr

        ((_, summary),) = receiver.requests
        assert summary["event"] == "done" and summary["source"] == str(good)
        assert summary["moved_to"] == str(tmp_path / "done" / good.name)
        assert summary["sha256"] == sha256(data) and not good.exists()
        assert summary["pages"] == 1 and summary["engine"] == "rapidocr"
        assert Path(summary["outputs"]["text"]).read_text() == "hooked invoice 4711\n"
        recorded = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
        assert recorded["argv"][0] == str(bad) and "not an image or PDF" in recorded["argv"][1]
        assert recorded["stdin"]["event"] == "failed"
        assert daemon.log().count("cannot connect: Connection refused") == 3 * len(dropped)
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.log()
    finally:
        daemon.kill()


def test_a_config_error_in_a_webhook_header_does_not_print_the_secret() -> None:
    headers = {"Authorization": "Bearer s3cret-token\nX-Injected: 1"}
    with pytest.raises(ConfigError) as error:
        load_settings(None, on_done={"webhook": {"url": "http://127.0.0.1:9/", "headers": headers}})
    assert "on_done.webhook.headers" in str(error.value)
    assert "s3cret" not in str(error.value)
