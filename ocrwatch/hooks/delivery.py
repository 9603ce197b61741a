"""One attempt at one notification: its summary built once and stored, sent under the row's id, and
what came of it recorded in the outbox (delivered, retry later, or given up), logged on one line.
Only the daemon holding the row's claim records it; times are the database's.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

from ocrwatch.config import Hook, Profile, Webhook
from ocrwatch.hooks.patience import Patience
from ocrwatch.hooks.send import Attempt, post, redacted, run
from ocrwatch.hooks.summary import summarize
from ocrwatch.index.outbox import Notification, Outbox
from ocrwatch.watch import printable

log = logging.getLogger(__name__)

DELIVERY_ID = "OCRWATCH_DELIVERY_ID"
"""The environment variable that gives a command the notification's id (the summary's `id`)."""
IDEMPOTENCY_KEY = "Idempotency-Key"
"""The header that gives a webhook the notification's id (the summary's `id`)."""


class Courier:
    """Makes attempts for the profiles it serves, keyed by watched folder (a file row's `root`)."""

    def __init__(
        self, outbox: Outbox, profiles: Mapping[str, Profile], patience: Patience, node: str
    ) -> None:
        """`node` is the daemon's name, under which the dispatcher claims the rows it hands in."""
        self._outbox = outbox
        self._node = node
        self._profiles = profiles
        self._patience = patience

    def deliver(self, notification: Notification) -> float | None:
        """Make one attempt and record it; return in how many seconds the next attempt is due, if there is
        to be one (and this daemon still held the row).

        Raises `Stopped` when the hooks stop while the index cannot be written: the row stays pending.
        """
        profile = self._profiles[notification.root or ""]
        target = _target(getattr(profile.settings, notification.event), notification.target)
        subject = printable(Path(notification.path))
        if target is None:
            where = f"{notification.event} {notification.target} for {subject}"
            log.error("%s: no longer in the config, not delivered", where)
            return self._give_up(notification, "no longer in the config")
        where = f"{notification.event} {target.what} for {subject}"
        body = notification.body
        if body is None:
            try:
                # ASCII, other letters as \u escapes: no receiver need guess the encoding.
                body = json.dumps(summarize(profile, notification), ensure_ascii=True)
            except Exception as error:  # a notification must never stop the daemon
                log.exception("%s: cannot make its summary, not delivered", where)
                return self._give_up(notification, f"cannot make its summary: {error}")
            if not self._patience.run(partial(self._outbox.store_body, notification.id, self._node, body)):
                return self._lost(where)
        try:
            attempt = target.send(str(notification.id), body)
        except Exception as error:  # a bug here must not end the thread and strand the rest
            log.exception("%s: unexpected error", where)
            attempt = Attempt(False, False, f"unexpected error: {error}")
        return self._record(notification, target, where, attempt)

    def _record(
        self, notification: Notification, target: _Target, where: str, attempt: Attempt
    ) -> float | None:
        """Log the attempt on one line and record it; return in how many seconds the next one is due, if
        it is to be made."""
        made = notification.attempts + 1
        count = f" (attempt {made} of {target.attempts})" if target.attempts > 1 else ""
        line = f"{where}: {attempt.detail}{count}"
        if attempt.ok:
            log.info("%s", line)
            recorded = self._patience.run(partial(self._outbox.delivered, notification.id, self._node))
            return None if recorded else self._lost(where)
        if attempt.retry and made < target.attempts:
            delay = target.retry_seconds * 2 ** (made - 1) * random.uniform(0.8, 1.2)
            log.warning("%s; retry in %.1f s", line, delay)
            retry = partial(self._outbox.retry, notification.id, self._node, attempt.detail, delay)
            return delay if self._patience.run(retry) else self._lost(where)
        log.error("%s; %s", line, "gave up" if attempt.retry else "not retried")
        give_up = partial(self._outbox.give_up, notification.id, self._node, attempt.detail)
        return None if self._patience.run(give_up) else self._lost(where)

    def _give_up(self, notification: Notification, why: str) -> None:
        """Finish the notification without an attempt: none could be made."""
        give_up = partial(self._outbox.give_up, notification.id, self._node, why, attempted=False)
        if not self._patience.run(give_up):
            self._lost(f"{notification.event} {notification.target} {notification.id}")

    @staticmethod
    def _lost(where: str) -> None:
        """This attempt outlasted its claim and another daemon took the row over: it records it."""
        log.warning("%s: the claim on this notification was lost to another daemon; not recorded", where)


class _Target(NamedTuple):
    what: str
    """For the log: `webhook https://example.org/hook`, `command /usr/local/bin/after-ocr`."""
    send: Callable[[str, str], Attempt]
    """One attempt, given the notification's id and its body."""
    attempts: int
    """How many attempts to make at most."""
    retry_seconds: float
    """The wait before the first retry; doubled before each next one."""


def _target(hook: Hook | None, target: str) -> _Target | None:
    """What `target` of `hook` is, if the config still has it."""
    if hook is not None and target == "webhook" and hook.webhook is not None:
        webhook = hook.webhook
        send = partial(_post, webhook)
        return _Target(f"webhook {redacted(webhook.url)}", send, webhook.retries + 1, webhook.retry_seconds)
    if hook is not None and target == "command" and hook.command is not None:
        send = partial(_run, hook.command, hook.command_timeout_seconds)
        return _Target(f"command {hook.command[0]}", send, 1, 0.0)
    return None


def _post(webhook: Webhook, key: str, body: str) -> Attempt:
    headers = {**webhook.headers, IDEMPOTENCY_KEY: key}
    return post(webhook.model_copy(update={"headers": headers}), body.encode("ascii"))


def _run(command: Sequence[str], timeout: float, key: str, body: str) -> Attempt:
    return run(command, timeout, json.loads(body), body.encode("ascii"), {DELIVERY_ID: key})
