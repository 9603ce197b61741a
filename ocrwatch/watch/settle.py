"""Settling: a file is read only once its size and mtime held still for `settle_seconds` and it can be
opened, so a scanner that writes a 50 MB TIFF over 20 seconds gets one OCR run, of the whole file.

The queue does the waiting: a path is queued with its size and mtime and `next_attempt_at` set
`settle_seconds` ahead by the index's clock (which every host sharing it agrees on); when it is
claimed, `check` compares the file with what was queued. Unchanged means it held still for at least
that long; changed means it goes back for another round.
"""

from __future__ import annotations

import os
from pathlib import Path

from ocrwatch.documents import open_input
from ocrwatch.index import FileRecord, FileStat


def check(record: FileRecord) -> FileStat | None:
    """None when the file is still the one queued (it settled), else its new size and mtime.

    Raises `UnreadableFile` (transient) when it is gone or cannot be opened for reading yet, and
    `NotAnImage` for a folder.
    """
    with open_input(Path(record.path)) as stream:
        info = os.fstat(stream.fileno())
    if (info.st_size, info.st_mtime) == (record.size, record.mtime):
        return None
    return FileStat(record.path, info.st_size, info.st_mtime)
