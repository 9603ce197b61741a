"""Symbolic links in a watched folder: which are read, and why the others are refused.

The service may read more than the people who drop files (its config, its keys, other users'
scans): a link dropped in the folder must not make it read, OCR and index whatever the link names.
By default (`follow_symlinks: inside`) a link is read only when it leads to a file inside the same
watched folder; the decision is made on the fully resolved target, so `..` in a link, chains of
links and symlinked sub-folders are all judged by where they really end.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ocrwatch.config import FollowLinks
from ocrwatch.errors import LinkOutside, UnreadableFile


def readable_target(source: Path, root: Path, follow: FollowLinks) -> Path:
    """The path to read for `source`, found under the watched folder `root`: its resolved target.

    Raises `LinkOutside` (permanent) for a link that `follow` does not allow or that leads to no
    regular file, and `UnreadableFile` for a link to nothing, a link loop, or a file that is gone.
    """
    real_root = Path(os.path.realpath(root))
    unlinked = _unlinked(source, root, real_root)
    try:
        target = Path(os.path.realpath(source, strict=True))
        mode = target.stat().st_mode
    except OSError as error:
        raise _unresolvable(source, error, Path(os.path.realpath(source)) != unlinked) from None
    if target == unlinked:
        return target  # no link on the way: nothing to decide
    where = f"a symbolic link to {target}"
    if follow is FollowLinks.NEVER:
        raise LinkOutside(f"{where}, not followed (follow_symlinks: never)")
    if follow is FollowLinks.INSIDE and not target.is_relative_to(real_root):
        raise LinkOutside(f"{where}, outside the watched folder {real_root} (follow_symlinks: inside)")
    if not stat.S_ISREG(mode):
        raise LinkOutside(f"{where}, which is not a regular file")  # a folder, a device, a pipe
    return target


def _unlinked(source: Path, root: Path, real_root: Path) -> Path | None:
    """Where `source` would be if no part of it below `root` were a link (None: not below `root`)."""
    lexical, lexical_root = Path(os.path.abspath(source)), Path(os.path.abspath(root))
    if not lexical.is_relative_to(lexical_root):
        return None
    return real_root / lexical.relative_to(lexical_root)


def _unresolvable(source: Path, error: OSError, linked: bool) -> UnreadableFile:
    """Transient, as any unreadable file: a sync tool may create a link before its target."""
    if error.errno == errno.ELOOP:
        return UnreadableFile(f"a symbolic link loop: {source} never reaches a file")
    if isinstance(error, FileNotFoundError) and linked:
        return UnreadableFile(f"a symbolic link to a file that does not exist: {os.path.realpath(source)}")
    if isinstance(error, FileNotFoundError):
        return UnreadableFile("the file disappeared before it could be read")
    return UnreadableFile(f"cannot read the file: {error.strerror}")
