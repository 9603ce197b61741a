"""The `ocrwatch` command: parse, call, print. Behaviour lives in the modules it calls."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ocrwatch import __version__
from ocrwatch.config import Settings, load_settings
from ocrwatch.documents import SUFFIXES
from ocrwatch.engines import create_engine
from ocrwatch.errors import ConfigError, OcrwatchError
from ocrwatch.export import ExportFormat
from ocrwatch.export import export as export_document
from ocrwatch.export import find as find_document
from ocrwatch.index import FileStatus, Filters, Index, Sort, StoredDocument, database
from ocrwatch.index.daemons import DaemonState
from ocrwatch.index.search.filters import moment
from ocrwatch.monitoring.logs import ENVIRONMENT, LogFormat, log_to_stderr
from ocrwatch.outputs.atomic import write_atomic
from ocrwatch.pipeline import Pipeline, Status
from ocrwatch.places import Places
from ocrwatch.web.security import is_loopback

app = typer.Typer(
    help="An OCR hot folder: read scans and photos into text, word boxes and a searchable index.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("ocrwatch")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (see config.example.yaml).")
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Output folder (config key: output).")
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Index: an SQLite file or an SQLAlchemy URL (config key: database)."),
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format", envvar=ENVIRONMENT, help="Log lines as text, or as JSON objects, one a line."
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"ocrwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """ocrwatch: scan, search and show; run watches folders."""


def _settings(config: Path | None, output: Path | None = None, db: str | None = None) -> Settings:
    try:
        return load_settings(config, output=output, database=db)
    except ConfigError as error:
        err.print(f"[red]config error:[/] {escape(str(error))}")
        raise typer.Exit(2) from None


def _open_index(settings: Settings) -> Index:
    try:
        return Index(settings.database_url)
    except OcrwatchError as error:
        err.print(f"[red]cannot open the index:[/] {escape(str(error))}")
        raise typer.Exit(2) from None


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (read recursively).", exists=True)],
    config: ConfigOption = None,
    output: OutputOption = None,
    db: DbOption = None,
    force: Annotated[bool, typer.Option(help="Read files again even when their content is indexed.")] = False,
) -> None:
    """Read files into text, word boxes, annotated copies and the index."""
    settings = _settings(config, output, db)
    targets = list(_inputs(paths, settings))
    try:
        engine = create_engine(settings.engine, settings.engines)  # a wrong engine fails before any work
        with _open_index(settings) as index:
            pipeline = Pipeline(settings, index, engine)
            counts: Counter[Status] = Counter()
            pages = 0
            with _progress() as progress:
                task = progress.add_task("reading", total=len(targets))
                for source, root in targets:
                    progress.update(task, description=escape(source.name))
                    outcome = pipeline.process(source, root, force=force)
                    counts[outcome.status] += 1
                    pages += outcome.pages
                    if outcome.status is Status.FAILED:
                        progress.console.print(
                            f"[red]failed:[/] {escape(str(source))}: {escape(outcome.error or '')}"
                        )
                    progress.advance(task)
    except OcrwatchError as error:
        err.print(f"[red]error:[/] {escape(str(error))}")
        raise typer.Exit(2) from None
    summary = ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status])
    err.print(f"{len(targets)} files: {summary or 'nothing to do'}; {pages} pages read → {settings.output}")
    if counts[Status.FAILED]:
        raise typer.Exit(1)


@app.command()
def run(
    config: ConfigOption = None, db: DbOption = None, log_format: LogFormatOption = LogFormat.TEXT
) -> None:
    """Watch the config's folders and read every file dropped into them, until SIGTERM or Ctrl-C."""
    from ocrwatch.watch.daemon import Daemon  # watchdog and the process pool only for this command

    log_to_stderr(log_format)
    with _logged_errors():
        settings = load_settings(config, database=db)
        with Index(settings.database_url) as index, _web_beside(settings, index):
            Daemon(settings, index).run()


@contextmanager
def _logged_errors() -> Iterator[None]:
    """For the commands whose stderr is a log (run, serve): an error that stops them is a log line too,
    a JSON object under `--log-format json`, and exit status 2."""
    try:
        yield
    except ConfigError as error:
        log.error("config error: %s", error)
        raise typer.Exit(2) from None
    except OcrwatchError as error:
        log.error("error: %s", error)
        raise typer.Exit(2) from None


@contextmanager
def _web_beside(settings: Settings, index: Index) -> Iterator[None]:
    """With `web.enabled`, serve the page and the API from a thread while the daemon runs."""
    if not settings.web.enabled:
        yield
        return
    from ocrwatch.web import make_server

    server = make_server(settings, index, create_engine(settings.engine, settings.engines))
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@app.command()
def status(
    config: ConfigOption = None,
    db: DbOption = None,
    failures: Annotated[int, typer.Option(min=0, help="How many of the latest failures to list.")] = 10,
) -> None:
    """Print the daemons, the queue, the files in hand, the count in each state and the latest failures."""
    settings = _settings(config, db=db)
    places = Places(settings.profiles())
    with _open_index(settings) as index:
        counts = index.counts()
        retrying = index.queue.waiting_to_retry()
        oldest = index.queue.oldest_queued()
        in_hand = index.queue.in_processing()
        latest = index.recent_failures(failures)
        daemons = index.daemons.all()
        now = index.now()  # every stored time is the index's clock, whichever host wrote it
    for daemon in daemons:
        folders = ", ".join(daemon.folders)
        out.print(
            f"daemon {escape(daemon.node)}: {escape(_daemon_state(daemon, now))}; "
            f"{daemon.in_hand} files in hand; folders {escape(folders)} "
            f"(last heartbeat {_age(now, daemon.heartbeat_at)} ago)"
        )
    table = Table.grid(padding=(0, 2))
    table.add_column()
    table.add_column(justify="right")
    for state in FileStatus:
        table.add_row(state.value, str(counts[state]))
    out.print(table)
    queue = counts[FileStatus.QUEUED] + counts[FileStatus.PROCESSING]
    waited = f", the oldest queued {_age(now, oldest)} ago" if oldest else ""
    out.print(f"queue: {queue} files ({retrying} waiting to retry{waited})")
    for record in in_hand:
        holder = f" by {record.claimed_by}" if record.claimed_by else ""
        out.print(
            f"  in hand{escape(holder)} for {_age(now, record.updated_at)}: {escape(places.shown(record))}"
        )
    if latest:
        out.print("latest failures:")
    for record in latest:
        when = record.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        out.print(f"  {when}  {escape(places.shown(record))}: {escape(record.error or '')}")


def _daemon_state(daemon: DaemonState, now: datetime) -> str:
    """running, paused (and why), stopped, or stale: silent past its lease, its files going to the others."""
    if daemon.stopped_at:
        return f"stopped {_age(now, daemon.stopped_at)} ago"
    if daemon.stale(now):
        return "stale: no heartbeat within its lease; the other daemons take its files"
    if daemon.paused:
        since = f" for {_age(now, daemon.paused_since)}" if daemon.paused_since else ""
        return f"paused{since}: {daemon.paused}"
    return "running"


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


@app.command()
def retry(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files that failed; none: every failed file.")
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every failed file still where it was found.")
    ] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Put failed files back in the queue once their cause is fixed; the daemon reads them again."""
    if not paths and not failed:
        err.print("[red]error:[/] name the files to retry, or pass --failed for every failed file")
        raise typer.Exit(2)
    settings = _settings(config, db=db)
    places = Places(settings.profiles())
    wanted = None if failed and not paths else [places.target(path) for path in paths or ()]
    with _open_index(settings) as index:
        queued = index.queue.retry_failed(wanted)
    for record in queued:
        out.print(f"queued again: {escape(places.shown(record))}")
    found = {record.place or record.path for record in queued}
    missing = [target for target in wanted or () if target not in found]
    for target in missing:
        err.print(f"{escape(str(target))}: no failed file at this path")
    err.print(f"{len(queued)} files queued again")
    if missing:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Words, "a phrase", a prefix*; after:DATE before:DATE folder:NAME type:pdf too. '
            "Filters alone (no words) list what passes, newest read first."
        ),
    ] = "",
    config: ConfigOption = None,
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many hits to show.")] = 20,
    exact: Annotated[bool, typer.Option(help="Only words as typed, not their misreadings.")] = False,
    after: Annotated[
        str | None, typer.Option(help="Read on or after this ISO date (or date and time).")
    ] = None,
    before: Annotated[str | None, typer.Option(help="Read before this ISO date (or date and time).")] = None,
    folder: Annotated[
        str | None, typer.Option(help="Found in this watched folder (its path or name).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--type", help="image, pdf, an extension (png) or a media type.")
    ] = None,
    sort: Annotated[
        Sort, typer.Option(help="relevance (best first) or date (newest first).")
    ] = Sort.RELEVANCE,
) -> None:
    """Search the index; hits are ranked best first with the matching words highlighted. Pages found
    only through misreadings of a word (`totai` for `total`) come last, marked with ~. With filters
    and no words, the pages that pass them, newest read first."""
    settings = _settings(config, db=db)
    with _open_index(settings) as index:
        try:
            filters = Filters(
                after=None if after is None else moment(after, "--after"),
                before=None if before is None else moment(before, "--before"),
                folder=folder or None,
                type=kind or None,
            )
            hits = index.search(query, limit=limit, filters=filters, sort=sort, exact=exact)
        except OcrwatchError as error:
            err.print(f"[red]error:[/] {escape(str(error))}")
            raise typer.Exit(2) from None
    if not hits:
        err.print(f"no document matches {query!r}" if query.strip() else "no document passes the filters")
        raise typer.Exit(1)
    for hit in hits:
        snippet = "".join(
            f"[bold yellow]{escape(t)}[/]" if marked else escape(t) for t, marked in hit.snippet
        )
        close = " · ~ a close match" if hit.fuzzy else ""
        out.print(f"[bold]{escape(hit.path)}[/] [dim]page {hit.page} · id {hit.document_id}{close}[/]")
        out.print(f"  {' '.join(snippet.split())}")


@app.command()
def show(
    target: Annotated[str, typer.Argument(help="A document id or the path of a file that was read.")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Print a document's text and metadata."""
    settings = _settings(config, db=db)
    places = Places(settings.profiles())
    with _open_index(settings) as index:
        document = find_document(index, target, places)
        record = None if document else index.file(places.target(target))
    if document is None:
        if record is not None:
            err.print(f"{target}: {record.status.value}" + (f": {record.error}" if record.error else ""))
        else:
            err.print(f"{target}: not in the index")
        raise typer.Exit(1)
    out.print(_metadata(document, settings))
    out.print(escape(document.content.text))


@app.command()
def export(
    target: Annotated[str, typer.Argument(help="A document id or the path of a file that was read.")],
    output_format: Annotated[ExportFormat, typer.Option("--format", "-f", help="The output to rebuild.")],
    out_file: Annotated[
        str | None,
        typer.Option("--out", help="Write to FILE; '-' or none: standard output (pdf needs --out)."),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Rebuild a document's output from the index, without OCR (the PDF also needs the original)."""
    if output_format is ExportFormat.PDF and out_file is None:
        err.print("[red]error:[/] --format pdf needs --out FILE (or --out - for standard output)")
        raise typer.Exit(2)
    settings = _settings(config, db=db)
    with _open_index(settings) as index:
        document = find_document(index, target, Places(settings.profiles()))
    if document is None:
        err.print(f"{target}: not in the index (or it failed: see ocrwatch show)")
        raise typer.Exit(1)
    try:
        data = export_document(document, output_format)
        if out_file in (None, "-"):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            write_atomic(Path(out_file), data)
    except OcrwatchError as error:
        err.print(f"[red]error:[/] {escape(str(error))}")
        raise typer.Exit(1) from None


@app.command()
def serve(
    config: ConfigOption = None,
    output: OutputOption = None,
    db: DbOption = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (config key: web.host; default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on (config key: web.port; default 5000)."),
    ] = None,
    log_format: LogFormatOption = LogFormat.TEXT,
) -> None:
    """Serve the web page and the HTTP API: upload images, see their words, search the index."""
    from ocrwatch.web import serve as serve_web

    log_to_stderr(log_format)
    with _logged_errors():
        settings = load_settings(config, output=output, database=db)
        web = settings.web.model_copy(
            update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        )
        settings = settings.model_copy(update={"web": web})
        engine = create_engine(settings.engine, settings.engines)
        if web.token is None and not is_loopback(web.host):
            log.warning("no web.token is set: only loopback clients will be answered on %s", web.host)
        shown = f"[{web.host}]" if ":" in web.host else web.host
        shown_url = database.shown(settings.database_url)
        log.info("serving http://%s:%d/ (index: %s); Ctrl-C stops", shown, web.port, shown_url)
        with Index(settings.database_url) as index:
            serve_web(settings, index, engine)


def _metadata(document: StoredDocument, settings: Settings) -> Table:
    content = document.content
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column(overflow="fold")  # a long path is folded onto more lines, never cut short
    rows = {
        "id": str(document.id),
        "paths": "\n".join(
            path if original == path else f"{path} → {original}"
            for path, original in zip(document.paths, document.originals, strict=True)
        ),
        "sha256": content.sha256,
        "engine": f"{content.engine} {content.engine_version}",
        "pages": str(len(content.pages)),
        "words": str(sum(len(page.words) for page in content.pages)),
        "ocr": f"{content.ocr_seconds:.2f} s",
        "read": document.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "outputs": str(settings.output / (document.output_stem or "")) + ".*",
    }
    for key, value in rows.items():
        table.add_row(key, escape(value))
    return table


def _inputs(paths: list[Path], settings: Settings) -> Iterator[tuple[Path, Path]]:
    """Each file to read with the folder it was found in; folders are walked in a stable order."""
    skip = settings.output.absolute()
    for path in paths:
        if path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(
                    name
                    for name in subfolders
                    if not name.startswith(".") and Path(folder, name).absolute() != skip
                )
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES:
                        yield Path(folder, name), path
        else:
            yield path, path.parent


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}", style="cyan"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
