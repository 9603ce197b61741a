"""Notifications: per watched folder, `on_done` and `on_failed` hooks, a webhook and/or a command.

The daemon calls `Hooks.notify` once per finished file, after its after-action, so that the summary
can say where the original went. The summary is built in the daemon's thread; delivery happens on
the dispatcher's threads (`dispatcher.py`), so the queue never waits for a receiver.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from ocrwatch.config import Hook, Profile
from ocrwatch.errors import ConfigError
from ocrwatch.hooks.dispatcher import Delivery, Dispatcher
from ocrwatch.hooks.send import post, redacted, run
from ocrwatch.hooks.summary import summarize
from ocrwatch.index import Index
from ocrwatch.pipeline import Outcome, Status
from ocrwatch.watch import printable

__all__ = ["Hooks"]

log = logging.getLogger(__name__)


class Hooks:
    def __init__(self, index: Index, profiles: Iterable[Profile]) -> None:
        """Raises `ConfigError` when a hook's program cannot be found: better at start than per file."""
        for profile in profiles:
            for key in ("on_done", "on_failed"):
                hook: Hook | None = getattr(profile.settings, key)
                if hook and hook.command and shutil.which(hook.command[0]) is None:
                    raise ConfigError(
                        f"watch {profile.name}: {key}.command: no executable program {hook.command[0]!r}"
                    )
        self._index = index
        self._dispatcher = Dispatcher()

    def notify(self, profile: Profile, outcome: Outcome, moved: Path | None) -> None:
        """Queue the profile's hook for this outcome, if it has one; returns at once."""
        key = "on_failed" if outcome.status is Status.FAILED else "on_done"
        hook: Hook | None = getattr(profile.settings, key)
        if hook is None or (hook.webhook is None and hook.command is None):
            return
        try:
            summary = summarize(self._index, profile, outcome, moved)
            # ASCII, other letters as \u escapes: no receiver need guess the encoding.
            body = json.dumps(summary).encode("ascii")
        except Exception:  # a notification must never stop the daemon
            log.exception("%s for %s: cannot make its summary", key, printable(outcome.path))
            return
        subject = printable(outcome.path)
        if hook.webhook:
            webhook = hook.webhook
            self._dispatcher.submit(
                Delivery(
                    f"{key} webhook {redacted(webhook.url)}",
                    subject,
                    partial(post, webhook, body),
                    attempts=webhook.retries + 1,
                    retry_seconds=webhook.retry_seconds,
                )
            )
        if hook.command:
            send = partial(run, hook.command, hook.command_timeout_seconds, summary, body)
            self._dispatcher.submit(Delivery(f"{key} command {hook.command[0]}", subject, send))

    def close(self, deadline: float, hurry: threading.Event | None = None) -> None:
        """At shutdown: let pending deliveries finish until `deadline`, then drop the rest, logged."""
        self._dispatcher.close(deadline, hurry)
