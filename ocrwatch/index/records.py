"""What the index hands back: plain frozen records, so callers never hold a database row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Row

from ocrwatch.engines.base import Word
from ocrwatch.result import DocumentText


class FileStatus(StrEnum):
    """Where an arrival is in its life: the queue picks `queued`, and each ends in one of the others."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class Ranked(NamedTuple):
    """A page the full-text index found, as each dialect's search returns it."""

    page_id: int
    rank: float
    """The dialect's relevance: lower is better (bm25 on SQLite, minus ts_rank_cd on PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One arrival of a file in the hot folder, and what became of it."""

    id: int
    path: str
    size: int | None
    mtime: float | None
    sha256: str | None
    status: FileStatus
    error: str | None
    attempts: int
    document_id: int | None
    output_stem: str | None
    updated_at: datetime
    root: str | None = None
    """The watched folder the daemon found it in; None for files read by `ocrwatch scan`."""
    next_attempt_at: datetime | None = None
    """A queued path is not claimed before this (settling, or waiting to retry)."""
    moved_to: str | None = None
    """Where the after-action moved the original (a done or failed folder)."""
    claim_token: str | None = None
    """The claim that holds it while `processing`; a result is recorded only under the same claim."""
    after_due: datetime | None = None
    """Its after-action (move, delete) has not been done yet and is due then."""
    after_error: str | None = None
    """Why the after-action failed, when it did."""
    after_attempts: int = 0
    folder: str | None = None
    """The name of the watched folder it was found in: with `relpath`, its name on every host."""
    relpath: str | None = None
    """Its POSIX path inside that folder."""
    claimed_by: str | None = None
    """The node (daemon) that holds its claim."""
    lease_until: datetime | None = None
    """The claim lapses then (the database's clock) unless renewed; None for `ocrwatch scan`'s claims."""

    @property
    def place(self) -> Place | None:
        """Where it is on every host: its folder and path inside; None for files read by `ocrwatch scan`."""
        if self.folder is None or self.relpath is None:
            return None
        return Place(self.folder, self.relpath)

    @property
    def original(self) -> str:
        """Where the original file is now, as far as the index knows."""
        return self.moved_to or self.path


def file_record(row: Row[Any], **overrides: Any) -> FileRecord:
    """The record of a `files` row, with `overrides` for values changed in the same transaction."""
    values = {name: getattr(row, name) for name in FileRecord.__slots__}
    values["status"] = FileStatus(values["status"])
    return FileRecord(**{**values, **overrides})


class Place(NamedTuple):
    """A file by the watched folder's name and the POSIX path inside it: the same on every host."""

    folder: str
    relpath: str

    def __str__(self) -> str:
        return f"{self.folder}:{self.relpath}"


@dataclass(frozen=True, slots=True)
class Node:
    """A daemon as the queue sees it: its name, the folders it watches (name → this host's absolute path
    of the folder) and how long its claims last unless renewed."""

    name: str
    roots: Mapping[str, str]
    lease_seconds: float


@dataclass(frozen=True, slots=True)
class FileStat:
    """A file as found on disk: what tells whether it changed since it was read."""

    path: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Hit:
    """One page that matched a search."""

    document_id: int
    page: int
    """1-based page number."""
    path: str
    """The document's first-recorded file path."""
    snippet: list[tuple[str, bool]]
    """The matching passage as text segments; True marks a matched term. Plain text, never HTML."""
    rank: float
    """Lower is better: bm25 on SQLite, minus ts_rank_cd on PostgreSQL (not comparable between them)."""
    words: list[int]
    """Indices into the page's words that match a query term, so a UI can draw their boxes."""
    matched: list[Word]
    """The words that `words` points at, in the same order: a UI needs no second look-up to draw them."""
    width: int
    height: int
    """The page's size in pixels, which the boxes are measured in."""
    fuzzy: bool = False
    """It matched only through misreadings of the query's words, and comes after every exact hit."""


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document as the index keeps it: enough to write its outputs again without OCR."""

    id: int
    paths: list[str]
    """Every path with this content, first-recorded first."""
    originals: list[str]
    """Where each of those files is now (`moved_to` when the after-action moved it), in the same order."""
    output_stem: str | None
    """Where this content's outputs live: the stem of the first path recorded as done with it."""
    created_at: datetime
    content: DocumentText
    """Rebuilt from the stored pages, lines and words; `source` is the first path."""


@dataclass(frozen=True, slots=True)
class DocumentBrief:
    """A document's facts without its pages: what a notification tells, for one cheap query."""

    id: int
    sha256: str
    engine: str
    engine_version: str
    page_count: int
    output_stem: str | None
    """As in `StoredDocument`: the stem of the first path recorded as done with this content."""
