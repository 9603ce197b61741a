"""A webhook receiver for the hook tests: a real HTTP server on loopback, scripted replies."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread. It records every POST (headers, the body's bytes,
    when it came) and answers each from `replies`, in turn, as (status, seconds to wait before
    answering); then 200 at once."""

    def __init__(self, replies: list[tuple[int, float]] | None = None, port: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        script = list(replies or [])
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body, time.monotonic()))
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

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def summaries(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
