"""Log lines on stderr, one per event: text for people and journald, or JSON objects for log pipelines.

The JSON line has the text line's fields (time, level, message) and the logger's name, plus whatever
the call passed as `extra` (a file's path, folder, status, engine, seconds...), so a pipeline (Loki,
Elasticsearch, `jq`) can filter on them without parsing messages. A newline in a message stays inside
its JSON string: one line is always one event. The standard library's `logging` is all it takes: a
formatter of twenty lines, rather than a dependency (python-json-logger) for the same.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum

ENVIRONMENT = "OCRWATCH_LOG_FORMAT"
"""Where the format is passed on: the daemon's worker processes are spawned, not forked, and log as
their parent does (`like_parent`); it may also be set instead of `--log-format`."""

OWN_HANDLERS = ("RapidOCR",)
"""Libraries' loggers that print through a handler of their own and do not propagate (RapidOCR's, at
import): they are given ocrwatch's handler instead, before or after the import, so that their lines
come in the same format (the library adds its own handler only to a logger that has none)."""

_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
"""What every `LogRecord` has (and what formatters add); anything else came from the call's `extra`."""


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the call's extras,
    and a traceback, when there is one, as `exception`. ASCII only, as the notifications' JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def log_to_stderr(log_format: LogFormat) -> None:
    """ocrwatch's own lines (INFO and up) and every library's warnings on stderr, in `log_format`.

    Under systemd (JOURNAL_STREAM set) a text line leaves the time to journald; a JSON line keeps it,
    since whatever reads it may not be journald. The format goes into the environment, for the worker
    processes the daemon spawns.
    """
    handler = logging.StreamHandler(sys.stderr)
    if log_format is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        when = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
        handler.setFormatter(logging.Formatter(when + "%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OWN_HANDLERS:
        logging.getLogger(name).handlers = [handler]
    logging.getLogger("ocrwatch").setLevel(logging.INFO)
    os.environ[ENVIRONMENT] = log_format.value


def like_parent() -> None:
    """In a process the daemon spawned: log as the daemon does, when it said how (`ENVIRONMENT`)."""
    if value := os.environ.get(ENVIRONMENT):
        log_to_stderr(LogFormat(value))
