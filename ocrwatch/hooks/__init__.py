"""Notifications: per watched folder, `on_done` and `on_failed` hooks, a webhook and/or a command.

They go through the index's outbox (`ocrwatch.index.outbox`): the daemon writes one row per target
(`Hooks.targets`) in the transaction that records the file's outcome, held until its after-action is
done when there is one, and calls `Hooks.wake`. The delivery threads (`dispatcher.py`) send each row
at least once, after any crash or restart, under the row's id, so that receivers can drop repeats;
the queue never waits for a receiver.
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

__all__ = ["Hooks"]

log = logging.getLogger(__name__)


class Hooks:
    def __init__(self, index: Index, profiles: Iterable[Profile], threads: int = THREADS) -> None:
        """Start delivering what the outbox holds for these profiles' folders, from earlier runs too.

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
        patience = Patience()
        courier = Courier(index.outbox, served, patience)
        self._dispatcher = Dispatcher(index.outbox, served, courier.deliver, patience, threads)

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
