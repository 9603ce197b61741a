"""The daemon: watch folders, let files settle, queue them in the index, read them in worker processes."""

from pathlib import Path


def printable(path: Path) -> str:
    """The path for a log line; control characters in a name (a newline) could forge other lines."""
    text = str(path)
    return text if text.isprintable() else repr(text)
