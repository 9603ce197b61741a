"""Typed failures. Each says what went wrong in words a user can act on.

The pipeline records `str(error)` in the index as the file's failure reason, so messages name the
file's problem, not the code path that found it.
"""

from __future__ import annotations

import errno
from pathlib import Path

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
"""The errors of a full disk or an exhausted quota: a fault of the place, never of the file."""


class OcrwatchError(Exception):
    """Base class for every failure ocrwatch reports to its user."""

    transient = False
    """True when trying again later may succeed; the daemon retries those with backoff."""


class ConfigError(OcrwatchError):
    """The configuration file or command-line options are wrong."""


class InputError(OcrwatchError):
    """An input file cannot be turned into page images. Permanent unless a subclass says `transient`."""


class EmptyFile(InputError):
    """The file has zero bytes (often: a copy that has not started yet)."""


class UnreadableFile(InputError):
    """The operating system refused to open or read the file (permissions, vanished file).

    Transient: a scanner may still hold the file locked, or a sync tool may be renaming it.
    """

    transient = True


class LinkOutside(InputError):
    """A symbolic link the folder's `follow_symlinks` does not let ocrwatch follow: a file dropped in the
    watched folder must not make the service read whatever else it may read (its config, its keys)."""


class FileChanged(InputError):
    """The file changed while it was being read: it is read again once it holds still."""

    transient = True


class OriginalChanged(FileChanged):
    """An output that needs the original file (the searchable PDF's page images) found it gone, or no
    longer holding the content that was read: the PDF would lay one file's text over another's pages."""


class NotAnImage(InputError):
    """The content is neither an image format we read nor a PDF."""


class CorruptImage(InputError):
    """The file starts like an image or PDF but cannot be decoded (truncated, damaged)."""


class DecompressionBomb(InputError):
    """The image would decode to more pixels than the configured limit allows."""


class EngineError(OcrwatchError):
    """The OCR engine could not be created or failed on a page."""


class QueryError(OcrwatchError):
    """A search query that the full-text index cannot parse."""


class OutputError(OcrwatchError):
    """An output path would leave the output folder, or cannot be written."""


class Unexpected(OcrwatchError):
    """A bug or a crash (of an engine, or of a worker process): recorded, so that the queue goes on."""


class WorkerCrashed(OcrwatchError):
    """A worker process died while it held the file (an engine crash, the OOM killer).

    Retried a bounded number of times: the crash may have had nothing to do with this file.
    """

    transient = True


class TimedOut(OcrwatchError):
    """Reading the file took longer than its time limit (a hung decoder or engine): its worker was killed.

    Permanent: the same file would hang again.
    """


class ClaimLost(OcrwatchError):
    """The arrival is no longer `processing` under the claim it was read under (requeued at a
    shutdown, taken by another daemon): its result is dropped, never recorded twice."""


class Fault(OcrwatchError):
    """A problem outside the file: a full disk, a database that is locked or down. The queue pauses
    and the file goes back to it, without an attempt counted; nothing fails for it."""

    transient = True


class NoSpace(Fault, OutputError):
    """No space or quota left where ocrwatch writes (outputs, the done or failed folder).

    `where` is the folder that is full: the daemon writes a probe there to learn when it has room.
    """

    def __init__(self, message: str, where: Path) -> None:
        super().__init__(message)
        self.where = where

    def __reduce__(self) -> tuple[type[NoSpace], tuple[str, Path]]:
        return type(self), (str(self), self.where)  # from a worker process, with `where`


class IndexUnavailable(Fault):
    """The index cannot be written or reached (locked past the busy timeout, full, down)."""
