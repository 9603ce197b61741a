"""What happens to an original once it is read: kept, moved to a done folder, or deleted; a failed one
kept, or moved to a failed folder beside a `NAME.error.txt` that says why.

Moves keep the path relative to the watched folder and never overwrite: a second `a.jpg` becomes
`a (2).jpg`. Both raise `OSError` (or `NoSpace` for a full disk) when the action fails: the daemon
records why, keeps the original where it is and tries again later.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from ocrwatch.config import OnFailure, OnSuccess, Profile
from ocrwatch.errors import NO_SPACE, NoSpace
from ocrwatch.outputs.atomic import write_atomic


def has_after_action(profile: Profile, failed: bool) -> bool:
    """Whether an outcome (failed or not) in this folder moves or deletes the original."""
    settings = profile.settings
    if failed:
        return settings.on_failure is OnFailure.MOVE
    return settings.on_success is not OnSuccess.KEEP


def after_success(profile: Profile, source: Path) -> Path | None:
    """Apply `on_success` to `source`; return where it went when it was moved."""
    settings = profile.settings
    if settings.on_success is OnSuccess.DELETE:
        source.unlink(missing_ok=True)
    elif settings.on_success is OnSuccess.MOVE and settings.done is not None:
        return _move(source, profile.folder, settings.done)
    return None


def after_failure(profile: Profile, source: Path, reason: str) -> Path | None:
    """Apply `on_failure` to `source`; when moved, write the reason next to it as NAME.error.txt."""
    settings = profile.settings
    if settings.on_failure is not OnFailure.MOVE or settings.failed is None:
        return None
    moved = _move(source, profile.folder, settings.failed)
    if moved is not None:
        write_atomic(moved.with_name(f"{moved.name}.error.txt"), f"{source}: {reason}\n".encode())
    return moved


def _move(source: Path, root: Path, folder: Path) -> Path | None:
    if not source.exists():
        return None
    target = _free(folder.absolute() / source.relative_to(root))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(shutil.move(source, target))
    except OSError as error:
        if source.exists():  # a copy across file systems that broke off: no half copy stays behind
            target.unlink(missing_ok=True)
        if error.errno in NO_SPACE:
            raise NoSpace(f"no space left to move {source} to {folder}: {error.strerror}", folder) from error
        raise


def _free(target: Path) -> Path:
    """`target`, or `name (2).ext`, `name (3).ext`... whichever does not exist yet."""
    if not target.exists() and not target.with_name(f"{target.name}.error.txt").exists():
        return target
    for number in itertools.count(2):
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")
