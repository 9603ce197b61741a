"""Readiness for systemd (`Type=notify`): the sd_notify protocol, without libsystemd.

systemd passes a datagram socket in $NOTIFY_SOCKET (a path, or an abstract name starting with "@");
the service sends "READY=1" once it watches, "STOPPING=1" when it begins to stop, "STATUS=..." for
`systemctl status`. Without the variable (a shell, a test) every call does nothing.
"""

from __future__ import annotations

import os
import socket


def notify(*states: str) -> bool:
    """Send `states` (e.g. "READY=1") to systemd; False when not run under a notify-aware manager."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as connection:
        connection.connect(address)
        connection.sendall("\n".join(states).encode())
    return True
