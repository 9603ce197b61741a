"""Notifications: per watched folder, `on_done` and `on_failed` hooks, a webhook and/or a command.

They go through the index's outbox (`ocrwatch.index.outbox`): the daemon writes one row per target
(`Hooks.targets`) in the transaction that records the file's outcome, held until its after-action is
done when there is one, and calls `Hooks.wake`. The delivery threads (`dispatcher.py`) send each row
at least once, after any crash or restart, under the row's id, so that receivers can drop repeats;
the queue never waits for a receiver. Daemons sharing the index claim each row before they send it,
so that only one of them does.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterable

from ocrwatch.config import Hook, Profile
from ocrwatch.errors import ConfigError
from ocrwatch.hooks.delivery import Courier
from ocrwatch.hooks.dispatcher import THREADS, Dispatcher
from ocrwatch.hooks.patience import Patience
from ocrwatch.index import Index
from ocrwatch.index.outbox import EVENTS
from ocrwatch.watch.nodes import node_name

__all__ = ["Hooks"]

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 30.0
"""A notification's claim lasts the longest attempt its folders' hooks allow plus this."""


class Hooks:
    def __init__(
        self, index: Index, profiles: Iterable[Profile], threads: int = THREADS, node: str | None = None
    ) -> None:
        """Start delivering what the outbox holds for these profiles' folders, from earlier runs too,
        claiming each row for the daemon's `node` (by default `host:pid`).

        Raises `ConfigError` when a hook's program cannot be found: better at start than per file.
        """
        served = {str(profile.folder): profile for profile in profiles}
        for profile in served.values():
            for event in EVENTS:
                hook: Hook | None = getattr(profile.settings, event)
                if hook and hook.command and shutil.which(hook.command[0]) is None:
                    raise ConfigError(
                        f"watch {profile.name}: {event}.command: no executable program {hook.command[0]!r}"
                    )
        name = node_name(node)
        patience = Patience()
        courier = Courier(index.outbox, served, patience, name)
        lease = _lease_seconds(served.values())
        self._dispatcher = Dispatcher(index.outbox, served, courier.deliver, patience, name, lease, threads)

    @staticmethod
    def targets(profile: Profile, event: str) -> list[str]:
        """The targets (`webhook`, `command`) the profile's `event` hook (`on_done`, `on_failed`) has:
        what the daemon passes to `outbox.add` as it records the outcome."""
        if event not in EVENTS:
            raise ValueError(f"unknown hook {event!r}; known: {', '.join(EVENTS)}")
        hook: Hook | None = getattr(profile.settings, event)
        if hook is None:
            return []
        return [target for target, given in (("webhook", hook.webhook), ("command", hook.command)) if given]

    def wake(self) -> None:
        """Look for due notifications now: call it after a record or release commits."""
        self._dispatcher.wake()

    def close(self, deadline: float, hurry: threading.Event | None = None) -> None:
        """At shutdown: deliver what is due until `deadline` (monotonic), or until `hurry` is set, then
        stop. What is still pending stays in the outbox for the next start (logged)."""
        self._dispatcher.close(deadline, hurry)


def _lease_seconds(profiles: Iterable[Profile]) -> float:
    """How long a claim on a notification lasts: longer than any one attempt may take (a webhook's or a
    command's timeout), so that another daemon takes the row over only from a daemon that died."""
    longest = 0.0
    for profile in profiles:
        for event in EVENTS:
            hook: Hook | None = getattr(profile.settings, event)
            if hook is not None:
                webhook = hook.webhook.timeout_seconds if hook.webhook else 0.0
                longest = max(longest, webhook, hook.command_timeout_seconds if hook.command else 0.0)
    return longest + LEASE_MARGIN_SECONDS
