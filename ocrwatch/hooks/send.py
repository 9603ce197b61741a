"""One attempt at each kind of hook: POST the summary to a webhook, or run a command with it.

Neither raises: each returns an `Attempt` that says how it went and whether another try could help,
so that retries are decided in one place (`delivery.py`).
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ocrwatch import __version__
from ocrwatch.config import HOOK_PLACEHOLDERS, Webhook


class Attempt(NamedTuple):
    ok: bool
    retry: bool
    """Worth another try: the receiver was unreachable, too slow, busy (429) or failing (5xx)."""
    detail: str
    """What happened, for the log line: `HTTP 200`, `exit 3: no such document`, ..."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would turn a redirected POST into a GET without the summary; a 3xx is reported instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(webhook: Webhook, body: bytes) -> Attempt:
    """POST `body` (the JSON summary) to the webhook, with its headers, within its timeout."""
    headers = {"Content-Type": "application/json", "User-Agent": f"ocrwatch/{__version__}", **webhook.headers}
    request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=webhook.timeout_seconds) as response:
            return Attempt(True, False, f"HTTP {response.status}")
    except urllib.error.HTTPError as error:
        error.close()
        busy_or_failing = error.code == 429 or error.code >= 500
        return Attempt(False, busy_or_failing, f"HTTP {error.code} {error.reason}".rstrip())
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return Attempt(False, True, f"no answer within {webhook.timeout_seconds:g} s")
        return Attempt(False, True, f"cannot connect: {getattr(reason, 'strerror', None) or reason}")
    except TimeoutError:
        return Attempt(False, True, f"no answer within {webhook.timeout_seconds:g} s")
    except (OSError, http.client.HTTPException) as error:  # reset, or a reply that is not HTTP
        return Attempt(False, True, f"{type(error).__name__}: {error}")


def redacted(url: str) -> str:
    """The URL for a log line, without credentials or a query, which often carry secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def run(
    command: Sequence[str], timeout: float, summary: dict[str, Any], body: bytes, env: Mapping[str, str]
) -> Attempt:
    """Run `command` without a shell, its placeholders filled in from `summary`, with `body` on stdin
    and `env` added to the daemon's environment."""
    try:
        finished = subprocess.run(
            arguments(command, summary),
            input=body,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Attempt(False, False, f"killed after {timeout:g} s")
    except OSError as error:
        return Attempt(False, False, f"cannot run it: {error.strerror or error}")
    if finished.returncode == 0:
        return Attempt(True, False, "exit 0")
    if finished.returncode < 0:
        status = f"killed by {signal.Signals(-finished.returncode).name}"
    else:
        status = f"exit {finished.returncode}"
    said = finished.stderr.decode(errors="replace").strip().splitlines()
    return Attempt(False, False, f"{status}: {said[-1]!r}" if said else status)


def arguments(command: Sequence[str], summary: dict[str, Any]) -> list[str]:
    """Each argument with its placeholders filled in; a value is never split or interpreted further.

    `{text}` and `{json}` are the output files' paths; a field without a value (`{error}` of a file
    that was read) becomes an empty string.
    """
    values = {**summary, **summary["outputs"]}
    strings = {name: "" if values.get(name) is None else str(values[name]) for name in HOOK_PLACEHOLDERS}
    return [argument.format_map(strings) for argument in command]
