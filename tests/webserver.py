"""A real uvicorn server for the web tests, on a loopback socket bound before it starts (no port race)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

START_DEADLINE = 60.0
"""Seconds to wait for the server to come up; generous, for a loaded machine."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerThread:
    """`with ServerThread(app) as server:` serves `app` at `server.url` until the block ends.

    `app` may also be a server configured as `ocrwatch serve` configures it (`make_server`): its own
    host and port are ignored. `host` is the address to listen on; `::` is IPv6 and IPv4 both.
    """

    def __init__(self, app, host: str = "127.0.0.1") -> None:
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ":" in host:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.socket.bind((host, 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if isinstance(app, uvicorn.Server):
            self.server = app
        else:
            config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
            self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + START_DEADLINE
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.socket.close()
