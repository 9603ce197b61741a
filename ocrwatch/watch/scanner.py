"""Catch-up and rescan: walk a watched folder for every candidate file, so that files dropped while
the daemon was down, folders moved in whole and events an observer missed are all found."""

from __future__ import annotations

import os
import stat as modes
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from ocrwatch.index import FileStat
from ocrwatch.watch.patterns import Patterns


def walk(patterns: Patterns, start: Path | None = None) -> Iterator[FileStat]:
    """Every wanted file under `start` (default: the watched folder), with its size and mtime.

    Files that vanish while the walk runs are skipped; symlinked folders are not followed (`stat` has
    what is done with symlinked files).
    """
    for folder, subfolders, names in os.walk(start or patterns.folder):
        subfolders[:] = [name for name in subfolders if patterns.wants_folder(Path(folder, name))]
        for name in names:
            if found := stat(patterns, Path(folder, name)):
                yield found


def stat(patterns: Patterns, path: Path) -> FileStat | None:
    """`path` as a candidate, or None when it is not wanted, not a regular file nor a symlink, or gone.

    A wanted symlink is a candidate whatever it points to (outside the folder, nowhere, a loop), so that
    reading it records why it is refused (`ocrwatch.watch.links`) rather than ignoring it silently. Its
    size and mtime are its target's, as settling sees them, or the link's own when there is no target.
    """
    if not patterns.wants_file(path):
        return None
    try:
        info = path.lstat()
    except OSError:
        return None  # gone
    if modes.S_ISLNK(info.st_mode):
        with suppress(OSError):  # without a target (dangling, a loop) the link's own values
            info = path.stat()
    elif not modes.S_ISREG(info.st_mode):
        return None
    return FileStat(str(path), info.st_size, info.st_mtime)
