"""Writing a file so that readers see the old content or the new, never half of either."""

from __future__ import annotations

import os
import re
import secrets
import stat
from contextlib import suppress
from pathlib import Path

from ocrwatch.errors import NO_SPACE, NoSpace, OutputError

LEFTOVER = re.compile(r"\.[^/]{1,64}\.[0-9a-f]{8}\.tmp")
"""The name `write_atomic` gives its temporary files, and nothing else."""


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, creating its parent folders.

    The data goes to a temporary file in the same folder (so the final rename cannot cross file
    systems), is flushed to disk, then renamed over `path`. On any error the temporary file is
    removed and the old file, if any, is left as it was.
    """
    # A dot-file name, so a crash between create and rename leaves nothing that looks like an output.
    temporary = path.with_name(f".{path.name[:64]}.{secrets.token_hex(4)}.tmp")  # as LEFTOVER matches
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.open with 0o666 lets the umask decide the permissions, as for any file the user creates.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with open(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with suppress(OSError):
                temporary.unlink()
            raise
        _fsync_folder(path.parent)
    except OSError as error:
        if error.errno in NO_SPACE:
            raise NoSpace(f"no space left to write {path}: {error.strerror}", path.parent) from error
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error


def remove_leftovers(folder: Path) -> int:
    """Remove the temporary files of writes a crash or SIGKILL interrupted under `folder`; how many.

    Only regular files named exactly as `write_atomic` names them go; symlinked folders are not
    followed, so nothing outside `folder` is touched. Call it before anything writes there.
    """
    removed = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent, name)
            if not LEFTOVER.fullmatch(name):
                continue
            try:
                if stat.S_ISREG(path.lstat().st_mode):
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # gone meanwhile
            except OSError as error:
                raise OutputError(f"cannot remove the leftover {path}: {error.strerror}") from error
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable: it lives in the folder's entry list."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
