"""A daemon's node name, and which earlier daemons of this host are certainly gone.

A daemon without a configured `node` is `host:pid`. Such a name never comes back, so at start-up a
daemon also takes back the claims of the earlier unnamed daemons of its own host whose process no
longer exists (a crash, a power cut): a restart on one machine gets its files back at once rather than
once their leases run out. A configured name is taken back only by a daemon of that name. Hosts (or
containers) that share a host name but not their processes must set `node`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from ocrwatch.index.daemons import DaemonState


def node_name(configured: str | None) -> str:
    return configured or f"{socket.gethostname()}:{os.getpid()}"


def gone_from_this_host(daemons: Iterable[DaemonState], me: str) -> list[str]:
    """The unnamed daemons of this host, other than `me`, whose process has exited."""
    host = socket.gethostname()
    return [
        daemon.node
        for daemon in daemons
        if daemon.node != me
        and daemon.host == host
        and daemon.node == f"{host}:{daemon.pid}"
        and not _alive(daemon.pid)
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
