"""Refusals: every request the API turns down gets a status code and a reason a person can act on."""

from __future__ import annotations

import json

from ocrwatch.errors import (
    CorruptImage,
    DecompressionBomb,
    EmptyFile,
    EngineError,
    InputError,
    NotAnImage,
    OutputError,
    QueryError,
)


class Refused(Exception):
    """A request the API will not serve, with the HTTP status that says why."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def status_for(error: Exception) -> int:
    """The HTTP status for one of ocrwatch's typed errors."""
    match error:
        case EmptyFile():
            return 400
        case NotAnImage():
            return 415
        case DecompressionBomb():
            return 413
        case CorruptImage() | InputError():
            return 422
        case QueryError():
            return 400
        case EngineError() | OutputError():
            return 500
        case _:
            return 500


def problem_body(detail: str) -> bytes:
    return json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")


async def send_problem(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """Answer a raw ASGI request with a JSON problem (for middleware, which runs outside FastAPI)."""
    body = problem_body(detail)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [
        (key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in (headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
