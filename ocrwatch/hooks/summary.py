"""The JSON summary of one finished file, which webhooks receive as their body and commands on stdin.

Built in the daemon's thread, right after the file's outcome is recorded and its after-action
applied: it reads the index, which the delivery threads never touch.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocrwatch.config import Profile
from ocrwatch.index import Index
from ocrwatch.outputs import OutputPaths
from ocrwatch.pipeline import Outcome, Status


def summarize(index: Index, profile: Profile, outcome: Outcome, moved: Path | None) -> dict[str, Any]:
    """The file's summary: what happened, where the original and its outputs are, and how long it took."""
    failed = outcome.status is Status.FAILED
    brief = None if failed or outcome.document_id is None else index.document_brief(outcome.document_id)
    if brief is None:
        record = index.file(os.path.abspath(outcome.path))
        sha256, engine, pages = (record.sha256 if record else None), profile.settings.engine, None
    else:
        sha256, engine, pages = brief.sha256, brief.engine, brief.page_count
    stem = brief.output_stem if brief else None
    return {
        "id": uuid.uuid4().hex,
        "event": "failed" if failed else "done",
        "status": outcome.status.value,
        "profile": profile.name,
        "folder": str(profile.folder),
        "source": str(outcome.path),
        "moved_to": None if moved is None else str(moved),
        "sha256": sha256,
        "document_id": None if failed else outcome.document_id,
        "pages": pages,
        "outputs": _outputs(OutputPaths(profile.settings.output, stem), pages or 0) if stem else {},
        "seconds": round(outcome.seconds, 3),
        "engine": engine,
        "error": outcome.error,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def _outputs(paths: OutputPaths, pages: int) -> dict[str, Any]:
    """The output files that exist: a duplicate's are those its content was first read into, which
    another watched folder may have written elsewhere."""
    named = {"text": paths.text, "json": paths.json, "pdf": paths.pdf, "hocr": paths.hocr, "alto": paths.alto}
    found: dict[str, Any] = {kind: str(path) for kind, path in named.items() if path.exists()}
    annotated = (paths.annotated(page) for page in range(1, pages + 1))
    found["annotated"] = [str(path) for path in annotated if path.exists()]
    return found
