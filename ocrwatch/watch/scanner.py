"""Catch-up and rescan: walk a watched folder for every candidate file, so that files dropped while
the daemon was down, folders moved in whole and events an observer missed are all found."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ocrwatch.index import FileStat
from ocrwatch.watch.patterns import Patterns


def walk(patterns: Patterns, start: Path | None = None) -> Iterator[FileStat]:
    """Every wanted file under `start` (default: the watched folder), with its size and mtime.

    Files that vanish while the walk runs are skipped; symlinked folders are not followed.
    """
    for folder, subfolders, names in os.walk(start or patterns.folder):
        subfolders[:] = [name for name in subfolders if patterns.wants_folder(Path(folder, name))]
        for name in names:
            if found := stat(patterns, Path(folder, name)):
                yield found


def stat(patterns: Patterns, path: Path) -> FileStat | None:
    """`path` as a candidate, or None when it is not wanted, not a regular file, or gone."""
    if not patterns.wants_file(path):
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return FileStat(str(path), info.st_size, info.st_mtime)
