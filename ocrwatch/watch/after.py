"""What happens to an original once it is read: kept, moved to a done folder, or deleted; a failed one
kept, or moved to a failed folder beside a `NAME.error.txt` that says why.

Moves keep the path relative to the watched folder and never overwrite: a second `a.jpg` becomes
`a (2).jpg`. A move that fails is logged and the original stays: the index already holds the result.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from pathlib import Path

from ocrwatch.config import OnFailure, OnSuccess, Profile
from ocrwatch.outputs.atomic import write_atomic

log = logging.getLogger(__name__)


def after_success(profile: Profile, source: Path) -> Path | None:
    """Apply `on_success` to `source`; return where it went when it was moved."""
    settings = profile.settings
    try:
        if settings.on_success is OnSuccess.DELETE:
            source.unlink(missing_ok=True)
        elif settings.on_success is OnSuccess.MOVE and settings.done is not None:
            return _move(source, profile.folder, settings.done)
    except OSError as error:
        log.warning("cannot %s %s: %s", settings.on_success.value, source, error)
    return None


def after_failure(profile: Profile, source: Path, reason: str) -> Path | None:
    """Apply `on_failure` to `source`; when moved, write the reason next to it as NAME.error.txt."""
    settings = profile.settings
    if settings.on_failure is not OnFailure.MOVE or settings.failed is None:
        return None
    try:
        moved = _move(source, profile.folder, settings.failed)
        if moved is not None:
            write_atomic(moved.with_name(f"{moved.name}.error.txt"), f"{source}: {reason}\n".encode())
        return moved
    except OSError as error:
        log.warning("cannot move %s to %s: %s", source, settings.failed, error)
    return None


def _move(source: Path, root: Path, folder: Path) -> Path | None:
    if not source.exists():
        return None
    target = _free(folder.absolute() / source.relative_to(root))
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.move(source, target))


def _free(target: Path) -> Path:
    """`target`, or `name (2).ext`, `name (3).ext`... whichever does not exist yet."""
    if not target.exists() and not target.with_name(f"{target.name}.error.txt").exists():
        return target
    for number in itertools.count(2):
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")
