"""What the API works with: settings, the index, one engine and the pipeline, shared by every request.

The engine is loaded once per process and is not assumed to be thread-safe: every read (and every
pipeline run, which reads) holds `engine_lock`. Endpoints that read are plain functions, which the
framework runs in its thread pool, so the event loop keeps serving searches and pages meanwhile.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from ocrwatch.config import Settings
from ocrwatch.documents import open_pages
from ocrwatch.engines import Engine, PageText
from ocrwatch.index import Index
from ocrwatch.pipeline import Outcome, Pipeline
from ocrwatch.web.dashboard import Dashboard

UPLOADS = "uploads"
"""Folder under the output folder where indexed uploads are kept, each with its outputs beside it."""


@dataclass
class Services:
    settings: Settings
    index: Index
    engine: Engine
    engine_lock: threading.Lock = field(default_factory=threading.Lock)
    pipeline: Pipeline = field(init=False)
    dashboard: Dashboard = field(init=False)

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(self.settings, self.index, self.engine)
        self.dashboard = Dashboard(self.index)

    @property
    def uploads(self) -> Path:
        return self.settings.output / UPLOADS

    def read(self, path: Path) -> tuple[list[PageText], float]:
        """OCR every page of `path`; raises ocrwatch's typed `InputError`s for bad files."""
        started = perf_counter()
        pages: list[PageText] = []
        with self.engine_lock:
            for image in open_pages(path, self.settings.documents):
                pages.append(self.engine.read(image))
        return pages, perf_counter() - started

    def check_opens(self, path: Path) -> None:
        """Open (and so check) the first page, as the pipeline will; raises the same typed errors."""
        pages = open_pages(path, self.settings.documents)
        try:
            next(pages)
        finally:
            pages.close()

    def index_file(self, path: Path) -> Outcome:
        """Read a file kept under the uploads folder through the pipeline, like any hot-folder file."""
        with self.engine_lock:
            return self.pipeline.process(path, self.settings.output)
