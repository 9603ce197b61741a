"""The API's response shapes. Words, lines and boxes are the JSON output's (`outputs/jsonfile.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Box = list[list[float]]
"""Four [x, y] corners in page pixels, clockwise from top-left."""


class Problem(BaseModel):
    """Every 4xx and 5xx answer: why the request was refused, in words a person can act on."""

    detail: str = Field(examples=["not an image or PDF: the content matches none of JPEG, PNG, ..."])


class ImageIn(BaseModel):
    """The seed's request: one image as a data URL (`data:image/png;base64,...`) or bare base64."""

    image: str = Field(examples=["data:image/png;base64,iVBORw0KGgo..."])


class WordOut(BaseModel):
    text: str
    score: float = Field(description="the engine's confidence, 0 to 1")
    box: Box


class LineOut(BaseModel):
    text: str
    score: float
    box: Box
    words: list[int] = Field(description="indices into the page's words")


class PageOut(BaseModel):
    page: int = Field(description="1-based page number")
    width: int
    height: int
    rotation: int = Field(
        0, description="degrees clockwise the page was turned to be read; boxes are on the page as stored"
    )
    engine: str = Field("", description="what read the page: an OCR engine, or text-layer")
    source: str = Field("ocr", description="where the text came from: ocr, or text-layer (the PDF's own)")
    reason: str = Field("", description="why that engine or source was chosen for this page")
    words: list[WordOut]
    lines: list[LineOut]


class OcrOut(BaseModel):
    """What the engine read from an upload, page by page."""

    engine: str
    engine_version: str
    seconds: float = Field(description="time spent reading, OCR included")
    pages: list[PageOut]
    text: str = Field(description="all pages' text in reading order; pages are split by a form feed")
    document_id: int | None = Field(None, description="the document in the index, when indexed")
    document_url: str | None = None
    status: str | None = Field(None, description="done, or skipped/duplicate when the content was known")


class StoredPageOut(PageOut):
    text: str
    image_url: str = Field(description="the page as read (the original file, rendered)")
    annotated_url: str = Field(description="the annotated copy in the output folder")
    thumbnail_url: str


class DocumentOut(BaseModel):
    id: int
    paths: list[str] = Field(description="every file path with this content, first-recorded first")
    sha256: str
    engine: str
    engine_version: str
    ocr_seconds: float
    created_at: datetime
    outputs: str | None = Field(None, description="the outputs' stem, relative to the output folder")
    text: str
    pages: list[StoredPageOut]


class SnippetSegment(BaseModel):
    text: str
    match: bool = Field(description="true for a matched term; the text is plain, never HTML")


class HitWord(WordOut):
    index: int = Field(description="the word's index in the page's words")


class HitOut(BaseModel):
    document_id: int
    page: int
    path: str
    rank: float = Field(description="bm25: lower is better")
    fuzzy: bool = Field(
        False, description="it matched only through misreadings of the query's words, after every exact hit"
    )
    snippet: list[SnippetSegment]
    words: list[HitWord] = Field(description="the page's words that match a query term or its misreadings")
    width: int
    height: int
    document_url: str
    image_url: str
    annotated_url: str
    thumbnail_url: str


class SearchOut(BaseModel):
    query: str
    limit: int
    offset: int
    hits: list[HitOut]


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])
    version: str
    engine: str
    engine_version: str
    schema_version: str


class FailureOut(BaseModel):
    id: int = Field(description="the arrival (a row of the index's files), for its retry")
    path: str
    folder: str | None = Field(description="the watched folder it was found in; null: scanned or uploaded")
    error: str | None
    attempts: int
    updated_at: datetime
    moved_to: str | None = Field(description="where on_failure: move put the original, when it did")
    retry_url: str | None = Field(
        description="POST here to read it again; null when the original is gone from where it was found, "
        "or it was not found by the daemon (scanned or uploaded: read it again that way)"
    )


class StatsOut(BaseModel):
    counts: dict[str, int] = Field(description="paths in each state: queued, processing, done, failed, ...")
    queue: int = Field(description="paths waiting or being read (queued + processing)")
    recent_failures: list[FailureOut]


class FolderCounts(BaseModel):
    queued: int = Field(description="waiting in the queue, settling or waiting to retry included")
    processing: int = Field(description="in hand: claimed by a worker, being read")
    done: int
    failed: int
    duplicate: int


class FolderOut(BaseModel):
    folder: str | None = Field(description="a watched folder; null: files scanned or uploaded")
    counts: FolderCounts
    daemons: list[str] = Field(description="the nodes of the daemons that watch it")


class DaemonOut(BaseModel):
    node: str
    pid: int
    folders: list[str]
    state: Literal["running", "paused", "stopped"]
    reason: str | None = Field(description="why it paused (a full disk, the database), while paused")
    since: datetime | None = Field(description="when it paused, or stopped")
    started_at: datetime
    heartbeat_at: datetime = Field(description="its last sign of life: a running daemon's comes every 10 s")


class RecentDocumentOut(BaseModel):
    id: int
    path: str | None = Field(description="its first-recorded file")
    pages: int
    created_at: datetime
    document_url: str
    thumbnail_url: str = Field(description="the first page's thumbnail")


class DashboardOut(BaseModel):
    """The hot folder at a glance. Poll it with If-None-Match: 304 while nothing changed."""

    now: datetime = Field(description="the server's clock, to tell ages by")
    folders: list[FolderOut]
    daemons: list[DaemonOut]
    failures: list[FailureOut] = Field(description="the latest failures, latest first")
    recent: list[RecentDocumentOut] = Field(description="the documents read last, latest first")


class RetryOut(BaseModel):
    id: int
    path: str
    status: str = Field(examples=["queued"])
