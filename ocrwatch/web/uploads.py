"""Uploads: the body's size cap, data URLs, and staging an upload as a file that `documents` opens.

The size cap is checked three times, each before the next step's work: the declared Content-Length
before a byte is read, the bytes as they arrive (for bodies without a length), and the decoded file
before it is opened. Opening goes through `ocrwatch.documents`, so uploads get the same format checks
and pixel limit (checked from the header, before decoding) as files in the hot folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from ocrwatch.web.problems import Refused, send_problem

CHUNK = 1 << 20
BODY_OVERHEAD = 64 * 1024
"""Room in a request body for the multipart headers or the JSON around a data URL."""
_DATA_URL = re.compile(r"data:(?P<type>[^,;]*)(?P<params>(?:;[^,;]*)*),", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
ACCEPTED_TYPES = ("image/", "application/pdf", "application/octet-stream")


def body_limit(max_bytes: int) -> int:
    """The largest request body: a base64 data URL of a file at the cap, plus room for the envelope."""
    return math.ceil(max_bytes * 4 / 3) + BODY_OVERHEAD


def too_large(max_bytes: int) -> str:
    return f"the upload is larger than the limit of {max_bytes / 2**20:g} MB (web.max_upload_mb)"


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413, reading no more than that."""

    def __init__(self, app, limit: int, max_bytes: int) -> None:
        self.app = app
        self.limit = limit
        self.message = too_large(max_bytes)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await send_problem(send, 400, "the Content-Length header is not a number")
                return
            if length > self.limit:
                await send_problem(send, 413, self.message, {"Connection": "close"})
                return
        received = 0
        refused = started = False

        async def limited_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit and not refused:
                    refused = True
                    if not started:
                        await send_problem(send, 413, self.message, {"Connection": "close"})
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers to the cut-off body is dropped
            started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


def decode_data_url(value: str, max_bytes: int) -> bytes:
    """The bytes of a `data:image/...;base64,...` URL (or of bare base64), size-checked before decoding."""
    text = value.strip()
    match = _DATA_URL.match(text)
    if match:
        media_type = match["type"].strip().lower()
        params = [param.strip().lower() for param in match["params"].split(";") if param.strip()]
        if "base64" not in params:
            raise Refused(400, "the data URL is not base64-encoded: expected data:image/...;base64,...")
        if media_type and not media_type.startswith(ACCEPTED_TYPES):
            raise Refused(415, f"not an image: the data URL says its content is {media_type}")
        text = text[match.end() :]
    elif text.lower().startswith("data:"):
        raise Refused(400, "not a data URL: expected data:image/...;base64,...")
    payload = _WHITESPACE.sub("", text)
    if not payload:
        raise Refused(400, "the image is empty: no base64 data after the comma")
    if len(payload) * 3 // 4 > max_bytes:
        raise Refused(413, too_large(max_bytes))
    if len(payload) % 4:
        payload += "=" * (-len(payload) % 4)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(
            400, "bad base64: the image data has characters or padding base64 does not allow"
        ) from None
    if not data:
        raise Refused(400, "the image is empty (0 bytes)")
    return data


def safe_name(filename: str | None) -> str:
    """A file name from a client, reduced to one harmless path component."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable() and char not in '<>:"|?*')
    name = name.strip().lstrip(".-").strip()
    if len(name.encode("utf-8")) > 120:
        stem, dot, suffix = name.rpartition(".")
        suffix = suffix[:10] if dot else ""
        name = stem.encode("utf-8")[:100].decode("utf-8", "ignore") + (f".{suffix}" if suffix else "")
    return name or "upload"


class Staged:
    """An upload written to a hidden file in `folder`, with its sha256; removed unless kept."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
        self.path = Path(name)
        self._file = os.fdopen(descriptor, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, max_bytes: int) -> None:
        self.size += len(data)
        if self.size > max_bytes:
            raise Refused(413, too_large(max_bytes))
        self._hash.update(data)
        self._file.write(data)

    def copy_from(self, stream: BinaryIO, max_bytes: int) -> None:
        while chunk := stream.read(CHUNK):
            self.write(chunk, max_bytes)

    def finish(self) -> None:
        self._file.close()
        if self.size == 0:
            raise Refused(400, "the upload is empty (0 bytes)")

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def keep_as(self, path: Path) -> Path:
        """Move the upload to `path` (same folder tree, so the rename is atomic)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, path)
        self.path = path
        return path

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path.name.startswith(".upload-"):
            self.discard()
