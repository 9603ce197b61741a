"""The SQLite library ocrwatch's index runs on.

`pysqlite3` where its wheel exists (Linux on x86-64): Python's `sqlite3` module built against a
current SQLite (3.51 in 0.5.4), which ranks full-text matches 1.3-1.5 times faster
(`bench/search.py`) than the SQLite that Debian builds Python's own module against (3.40, without
lookaside memory). Elsewhere, Python's `sqlite3`. Anything else that opens an index in an ocrwatch
process (the tests, the benchmarks) uses this module too: two copies of SQLite in one process do
not see each other's POSIX locks on a file, and closing one copy's handle drops the other's locks.
"""

from __future__ import annotations

try:
    from pysqlite3 import dbapi2 as sqlite3
except ImportError:  # no wheel for this platform
    import sqlite3

__all__ = ["sqlite3"]
