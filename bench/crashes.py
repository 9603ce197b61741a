"""The crash benchmark of issue 11: a burst into a running daemon that is SIGKILLed again and again.

    python bench/crashes.py [--files 10000] [--service-kills 20] [--main-kills 5] [--workers 2]
                            [--engine rapidocr] [--seed 0] [--waves 4] [--json OUT]

N small PNG pages, each with its own text ("crash bench 00042 harbour"), are rendered outside the
watched folder, then copied into it in `--waves` waves: the first into the running daemon, the others
spread over the run, every other one while the daemon is down (found by the catch-up walk). The real
`ocrwatch run` runs in its own process group, as systemd runs a service, with `rescan_seconds` 5.
Between restarts it is killed at seeded random moments, spread over the burst's progress: a service
kill is SIGKILL to the process group (daemon and workers), a main kill is SIGKILL to the daemon
process alone. After each kill the daemon's descendants and its process group are watched: whatever
still runs after 10 s is an orphan (and is killed, so that the run can go on). The daemon's RSS is
sampled every second. Once every file has a final record the daemon gets SIGTERM, and the index and
logs are checked:

- every file one record (rows per path), `done`, its document once in `documents`;
- its page text holds its number (an OCR misread is counted apart: the file was read, not lost);
- no path logged again (any outcome or retry) once a run logged it `done`: read again after done;
- no orphan process after any kill; the main process's RSS flat from the first run to the last.

Exits 1 when a check fails (misreads aside), so that a test can run it as it is.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, ImageDraw, ImageFont

from ocrwatch.index.dialects.sqlite_driver import sqlite3

REPO = Path(__file__).resolve().parents[1]
WORDS = ("harbour", "invoice", "ledger", "meadow", "copper", "violet", "granite", "lantern", "orchard")
WORDS += ("pepper", "quartz", "saddle", "timber", "walnut", "yellow", "zephyr", "basket", "candle")
FINAL = ("done", "duplicate", "failed")
ORPHAN_SECONDS = 10.0
"""A process of a killed daemon still running this long after the kill is an orphan."""
RSS_EVERY = 1.0
WARM_UP = 2.0
"""Seconds after a run starts watching before its RSS counts: imports and the first claims."""
FLAT = 1.25
"""The main process's RSS is flat when the last run's peak is at most this times the first run's, and
no run's peak this times its own first sample."""
OUTCOME = re.compile(r" (done|duplicate|failed|skipped|retry) (.+?) (?:\d+\.\d\d s|in \d+ s)")
"""An outcome (or retry) line of `Daemon._log`: `... INFO done /inbox/x.png 0.42 s`."""


@dataclass(slots=True)
class Kill:
    kind: str
    """`service` (SIGKILL to the process group) or `main` (SIGKILL to the daemon alone)."""
    run: int
    at: float
    """Seconds since the first drop."""
    settled: int
    """Files with a final record when the kill was sent."""
    survivors: int = 0
    """Processes of the killed daemon still running just after the kill."""
    lived: float = 0.0
    """Seconds until the last of them was gone (or until they were counted as orphans)."""
    orphans: int = 0
    orphan_commands: list[str] = field(default_factory=list)
    """What the orphans were: the start of each one's command line."""


@dataclass(slots=True)
class Run:
    number: int
    pid: int
    started: float
    watching: float = 0.0
    """Seconds from start to its "watching" line (imports, migrations, requeue)."""
    requeued: int = 0
    rss_mb: list[float] = field(default_factory=list)
    ended: str = ""
    log: str = ""

    @property
    def rss_first(self) -> float | None:
        return self.rss_mb[0] if self.rss_mb else None

    @property
    def rss_max(self) -> float | None:
        return max(self.rss_mb) if self.rss_mb else None


def main(argv: list[str] | None = None) -> int:
    args = _arguments().parse_args(argv)
    print(f"$ {shlex.join(['python', 'bench/crashes.py', *sys.argv[1:]])}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ocrwatch-crashes-") as folder:
        report = Bench(Path(folder), args).run()
    print(summary(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--service-kills", type=int, default=20, help="SIGKILLs of the process group")
    parser.add_argument("--main-kills", type=int, default=5, help="SIGKILLs of the daemon process alone")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="rapidocr")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--waves", type=int, default=4, help="the burst is copied in this many waves")
    parser.add_argument("--timeout", type=float, default=8 * 3600, help="give up after this many seconds")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--logs", help="copy the daemon's log of each run into this folder")
    return parser


def render(number: int, word: str) -> bytes:
    """A 300 x 60 page with one short line: distinct per file, and quick to read."""
    image = Image.new("L", (300, 60), 255)
    ImageDraw.Draw(image).text((10, 16), f"crash bench {number:05d} {word}", fill=0, font=_font())
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


_fonts: list[ImageFont.FreeTypeFont | ImageFont.ImageFont] = []


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if not _fonts:
        _fonts.append(ImageFont.load_default(size=22))
    return _fonts[0]


class Bench:
    """One benchmark in `root`: the staged pages, the daemon's runs, its kills and what they left."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        self.root = root
        self.args = args
        self.rng = random.Random(args.seed)
        self.inbox = root / "inbox"
        self.database = root / "out" / "index.db"
        self.config = root / "ocrwatch.yaml"
        self.runs: list[Run] = []
        self.kills: list[Kill] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.numbers: dict[str, int] = {}
        """Inbox path → the number printed on its page."""

    def run(self) -> dict[str, Any]:
        staged = self._stage()
        self.inbox.mkdir()
        config = {
            "output": "out",
            "workers": self.args.workers,
            "engine": self.args.engine,
            "settle_seconds": 0.5,
            "rescan_seconds": 5,
            "engines": {"rapidocr": {"threads": 1}, "tesseract": {"threads": 1}},
            "watch": [{"folder": "inbox"}],
        }
        self.config.write_text(yaml.safe_dump(config))
        waves = [staged[wave :: self.args.waves] for wave in range(self.args.waves)]
        kinds = ["service"] * self.args.service_kills + ["main"] * self.args.main_kills
        self.rng.shuffle(kinds)
        # Kill i once about (i + 1) / (K + 1) of the burst is settled, give or take a third of a step.
        step = self.args.files / (len(kinds) + 1)
        thresholds = [
            min(self.args.files - 1, max(1, round((i + 1 + self.rng.uniform(-0.33, 0.33)) * step)))
            for i in range(len(kinds))
        ]
        self.waves, self.dropped, self.drops = waves, 0, []
        deadline = time.monotonic() + self.args.timeout
        self.t0 = time.monotonic()
        self.load = [os.getloadavg()[0]]
        ok = True
        try:
            self._start()
            self._drop_for(thresholds[0] if thresholds else self.args.files, running=True)
            for number, kind in enumerate(kinds):
                threshold = thresholds[number]
                self._until(lambda t=threshold: self._settled() >= t and self._progress(), deadline)
                time.sleep(self.rng.uniform(0, 1.0))  # a random moment: mid-read, mid-commit, mid-claim
                self._kill(kind)
                needed = thresholds[number + 1] if number + 1 < len(kinds) else self.args.files
                self._drop_for(needed, running=False)
                self._start()
                # Work for the new run to do, so that it can settle a file of its own before its kill:
                # a fast engine may have read every file copied in so far.
                self._drop_for(max(needed, self._settled_at_start + 2 * self.args.workers), running=True)
            self._drop_for(self.args.files, running=True)
            self._until(lambda: self._settled() >= self.args.files, deadline)
            self.elapsed = time.monotonic() - self.t0
            self.load.append(os.getloadavg()[0])
            self._stop()
        except TimeoutError as error:
            print(f"gave up: {error}", file=sys.stderr)
            self.elapsed = time.monotonic() - self.t0
            ok = False
        finally:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
            for run in self.runs:
                run.log = (self.root / f"run-{run.number}.log").read_text(errors="replace")
                if self.args.logs:
                    Path(self.args.logs).mkdir(parents=True, exist_ok=True)
                    shutil.copy(self.root / f"run-{run.number}.log", self.args.logs)
        return self._report(ok)

    # The burst

    def _stage(self) -> list[Path]:
        staging = self.root / "staging"
        staging.mkdir()
        paths = []
        for number in range(self.args.files):
            name = f"page {number:05d}.png"
            (staging / name).write_bytes(render(number, self.rng.choice(WORDS)))
            self.numbers[str(self.root / "inbox" / name)] = number
            paths.append(staging / name)
        return paths

    def _drop_for(self, needed: int, running: bool) -> None:
        """Copy in the next waves until `needed` settled files are possible with work still queued.
        Odd waves needed at a kill go in while the daemon is down (for its catch-up walk to find)."""
        slack = 2 * self.args.workers
        while self.dropped < len(self.waves) and (
            needed + slack > sum(len(wave) for wave in self.waves[: self.dropped])
            or needed >= self.args.files
        ):
            if not running and self.dropped % 2 == 0:
                return
            for path in self.waves[self.dropped]:
                shutil.copy(path, self.inbox / path.name)
            state = "running" if running else "down"
            self.drops.append(
                {
                    "wave": self.dropped + 1,
                    "files": len(self.waves[self.dropped]),
                    "at": round(time.monotonic() - self.t0, 1),
                    "daemon": state,
                }
            )
            print(
                f"{self._clock()} wave {self.dropped + 1}: {len(self.waves[self.dropped])} files "
                f"copied in (daemon {state})",
                flush=True,
            )
            self.dropped += 1

    # The daemon

    def _start(self) -> None:
        number = len(self.runs) + 1
        log = self.root / f"run-{number}.log"
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ocrwatch", "run", "--config", str(self.config)],
                cwd=self.root,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                start_new_session=True,
            )
        run = Run(number, self.process.pid, time.monotonic())
        self.runs.append(run)
        self._settled_at_start = self._settled()
        self._until(lambda: "watching" in log.read_text(errors="replace"), time.monotonic() + 300)
        run.watching = time.monotonic() - run.started
        text = log.read_text(errors="replace")
        if found := re.search(r"(\d+) files an earlier run held are queued again", text):
            run.requeued = int(found[1])
        print(
            f"{self._clock()} run {number} (pid {run.pid}) watching after {run.watching:.1f} s, "
            f"{run.requeued} requeued",
            flush=True,
        )

    def _kill(self, kind: str) -> None:
        """SIGKILL the service or its main process; then wait for what it leaves to go, up to 10 s."""
        assert self.process is not None
        run = self.runs[-1]
        pid = self.process.pid
        family = _descendants(pid)
        kill = Kill(kind, run.number, time.monotonic() - self.t0, self._settled())
        if kind == "service":
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        self.process.wait(30)
        run.ended = f"SIGKILL ({kind})"
        alive = _alive(family, pid)
        kill.survivors = len(alive)
        while alive and time.monotonic() - killed < ORPHAN_SECONDS:
            time.sleep(0.05)
            alive = _alive(family, pid)
        kill.lived = time.monotonic() - killed if kill.survivors else 0.0
        kill.orphans = len(alive)
        kill.orphan_commands = [_command(orphan) for orphan in alive]
        for orphan in alive:  # processes of ours, left by the daemon we started: they must not pile up
            with suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGKILL)
        self.kills.append(kill)
        print(
            f"{self._clock()} {kind} kill {len(self.kills)} at {kill.settled} settled: "
            f"{kill.survivors} left running, gone after {kill.lived:.1f} s, {kill.orphans} orphans",
            flush=True,
        )
        for command in kill.orphan_commands:
            print(f"  orphan: {command}", flush=True)

    def _stop(self) -> None:
        assert self.process is not None
        family = _descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(120)
        self.runs[-1].ended = f"SIGTERM (exit {code})"
        time.sleep(1)
        self.left_after_stop = len(_alive(family, self.process.pid))

    def _until(self, condition: Any, deadline: float) -> None:
        """Poll `condition`, sampling the daemon's RSS on the way; the daemon dying early is an error."""
        next_sample = time.monotonic()
        while not condition():
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"{self._settled()} of {self.args.files} files settled")
            if self.process is not None and self.process.poll() is not None:
                raise TimeoutError(f"the daemon exited by itself ({self.process.returncode})")
            if now >= next_sample:
                run = self.runs[-1]
                warm = run.watching and now - run.started - run.watching >= WARM_UP
                if warm and (rss := _rss_mb(run.pid)) is not None:
                    run.rss_mb.append(rss)
                next_sample = now + RSS_EVERY
            time.sleep(0.25)

    # The index

    def _latest(self) -> dict[str, str]:
        """Each path's latest row's status: a path can hold several rows, one per arrival."""
        rows = self._query("SELECT path, status FROM files ORDER BY id")
        return {path: status for path, status in rows}

    def _settled(self) -> int:
        return sum(1 for status in self._latest().values() if status in FINAL)

    def _progress(self) -> bool:
        """The run being killed has settled a file of its own: every restart gets somewhere."""
        return self._settled() > self._settled_at_start

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.database.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30) as connection:
                return connection.execute(sql).fetchall()
        except sqlite3.OperationalError:  # still being created and migrated
            return []

    # The checks

    def _report(self, finished: bool) -> dict[str, Any]:
        rows = Counter(path for (path,) in self._query("SELECT path FROM files"))
        latest = {
            path: (status, sha256, text)
            for path, status, sha256, text in self._query(
                "SELECT f.path, f.status, f.sha256, "
                "(SELECT group_concat(p.text, ' ') FROM pages p WHERE p.document_id = f.document_id) "
                "FROM files f ORDER BY f.id"
            )
        }
        documents = Counter(sha for (sha,) in self._query("SELECT sha256 FROM documents"))
        lost, not_done, misreads, exact = [], [], [], 0
        for path, number in self.numbers.items():
            status, sha256, text = latest.get(path, (None, None, None))
            if status is None or (status == "done" and (documents.get(sha256) != 1 or text is None)):
                lost.append(path)  # no record, or recorded done without its document and pages
                continue
            if status != "done":
                not_done.append(path)
                continue
            if f"{number:05d}" in text:
                exact += 1
            else:
                misreads.append(f"{Path(path).name}: {text!r}")
        reread = self._read_again()
        orphans = sum(kill.orphans for kill in self.kills)
        sampled = [run.rss_max for run in self.runs if run.rss_max]
        rss_first, rss_last = (sampled[0], sampled[-1]) if len(sampled) >= 2 else (None, None)
        rss_ratio = rss_last / rss_first if rss_first and rss_last else None
        # Restarts reset the memory, so also each run's own growth: its peak over its first sample.
        growth = max((run.rss_max / run.rss_first for run in self.runs if run.rss_first), default=None)
        checks = {
            "finished": finished,
            "one record per file": max(rows.values(), default=0) == 1 and len(rows) == len(self.numbers),
            "every file done": not lost and not not_done,
            "no document lost": not lost,
            "no document twice": all(documents[sha] == 1 for sha in documents),
            "no file read again after done": not reread,
            "no orphan process": orphans == 0 and getattr(self, "left_after_stop", 0) == 0,
            "main RSS flat": None if rss_ratio is None or growth is None else max(rss_ratio, growth) <= FLAT,
        }  # None: not measured (fewer than two runs lived past their warm-up)
        service = [kill for kill in self.kills if kill.kind == "service"]
        main_kills = [kill for kill in self.kills if kill.kind == "main"]
        elapsed = getattr(self, "elapsed", 0.0)
        return {
            "command": shlex.join(["python", "bench/crashes.py", *sys.argv[1:]]),
            "files": self.args.files,
            "workers": self.args.workers,
            "engine": self.args.engine,
            "seed": self.args.seed,
            "service_kills": len(service),
            "main_kills": len(main_kills),
            "runs": len(self.runs),
            "seconds": round(elapsed, 1),
            "files_per_minute": round(self.args.files / elapsed * 60, 1) if elapsed else None,
            "load_average_start_end": [round(load, 2) for load in self.load],
            "cores": os.cpu_count(),
            "mean_seconds_to_watching": round(sum(r.watching for r in self.runs) / len(self.runs), 1),
            "orphans": orphans,
            "orphans_after_service_kills": sum(kill.orphans for kill in service),
            "orphans_after_main_kills": sum(kill.orphans for kill in main_kills),
            "orphans_after_sigterm": getattr(self, "left_after_stop", None),
            "max_orphan_lifetime": round(max((kill.lived for kill in self.kills), default=0.0), 2),
            "records_per_file_max": max(rows.values(), default=0),
            "files_with_several_records": sum(1 for count in rows.values() if count > 1),
            "files_without_record": len(set(self.numbers) - set(rows)),
            "lost": len(lost),
            "not_done": len(not_done),
            "not_done_statuses": dict(Counter(latest[path][0] for path in not_done)),
            "documents": sum(documents.values()),
            "duplicated": sum(count - 1 for count in documents.values()),
            "read_again_after_done": len(reread),
            "read_again_examples": reread[:5],
            "exact_text": exact,
            "misreads": len(misreads),
            "misread_examples": misreads[:5],
            "tracebacks": sum(run.log.count("Traceback") for run in self.runs),
            "mean_logged_seconds_per_file": _mean_seconds("".join(run.log for run in self.runs)),
            "rss_first_run_max_mb": rss_first,
            "rss_last_run_max_mb": rss_last,
            "rss_ratio": round(rss_ratio, 3) if rss_ratio else None,
            "rss_growth_within_a_run_max": round(growth, 3) if growth else None,
            "checks": checks,
            "ok": all(ok for ok in checks.values() if ok is not None),
            "waves": self.drops,
            "kills": [asdict(kill) for kill in self.kills],
            "per_run": [
                {
                    "run": run.number,
                    "watching_after": round(run.watching, 1),
                    "requeued": run.requeued,
                    "rss_first_mb": run.rss_first,
                    "rss_max_mb": run.rss_max,
                    "rss_samples": len(run.rss_mb),
                    "outcome_lines": len(OUTCOME.findall(run.log)),
                    "ended": run.ended,
                }
                for run in self.runs
            ],
        }

    def _read_again(self) -> list[str]:
        """Paths logged `done` in one run and then logged again (any outcome or retry), in it or later."""
        done_in: dict[str, int] = {}
        again: list[str] = []
        for run in self.runs:
            for line in run.log.splitlines():
                if not (found := OUTCOME.search(line)):
                    continue
                outcome, path = found[1], found[2]
                if path in done_in:
                    name = Path(path).name
                    again.append(f"{name}: done in run {done_in[path]}, {outcome} in run {run.number}")
                elif outcome == "done":
                    done_in[path] = run.number
        return again

    def _clock(self) -> str:
        return f"[{time.monotonic() - getattr(self, 't0', time.monotonic()):7.1f} s]"


def _processes() -> dict[int, tuple[int, int, str, int]]:
    """Every process now: pid → (ppid, pgid, state, start time in clock ticks), from /proc/*/stat."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after its closing one.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], int(fields[19]))
    return found


def _descendants(pid: int) -> dict[int, int]:
    """The daemon's children, theirs, and so on (pid → start time), before it is killed: once it is
    dead they belong to init, and their parent no longer says whose they were."""
    processes = _processes()
    family: dict[int, int] = {}
    parents = {pid}
    while parents:
        children = {child for child, (ppid, *_) in processes.items() if ppid in parents} - family.keys()
        family.update({child: processes[child][3] for child in children})
        parents = children
    return family


def _alive(family: dict[int, int], pgid: int) -> list[int]:
    """The members of `family` and of process group `pgid` still running (a zombie holds nothing)."""
    alive = []
    for pid, (_, group, state, started) in _processes().items():
        if state in "ZX":
            continue
        if family.get(pid) == started or group == pgid:
            alive.append(pid)
    return alive


def _mean_seconds(log: str) -> float | None:
    """The mean of the seconds on `done` lines: a file's time in hand, from claim to recorded."""
    seconds = [float(found) for found in re.findall(r" done .+? (\d+\.\d\d) s", log)]
    return round(sum(seconds) / len(seconds), 2) if seconds else None


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return round(int(found[1]) / 1024, 1) if found else None


def summary(report: dict[str, Any]) -> str:
    """The figures as a Markdown table, then RSS per run and each check."""
    rows = [
        ("files", report["files"]),
        ("workers, engine", f"{report['workers']}, {report['engine']}"),
        ("kills: service / main", f"{report['service_kills']} / {report['main_kills']}"),
        ("runs", report["runs"]),
        ("total time", f"{report['seconds']:.0f} s"),
        ("files/minute overall", report["files_per_minute"]),
        (
            f"1-min load average at start / end ({report['cores']} cores)",
            " / ".join(f"{load:.2f}" for load in report["load_average_start_end"]),
        ),
        ("seconds from start to watching (mean)", report["mean_seconds_to_watching"]),
        ("seconds a file is in hand (mean of done lines)", report["mean_logged_seconds_per_file"]),
        (
            "orphans after service / main kills / SIGTERM",
            f"{report['orphans_after_service_kills']} / {report['orphans_after_main_kills']}"
            f" / {report['orphans_after_sigterm']}",
        ),
        ("longest a killed daemon's process lived", f"{report['max_orphan_lifetime']:.1f} s"),
        ("records per file (max)", report["records_per_file_max"]),
        ("lost", report["lost"]),
        ("not done", f"{report['not_done']} {report['not_done_statuses'] or ''}".strip()),
        ("documents duplicated", report["duplicated"]),
        ("read again after done", report["read_again_after_done"]),
        ("text exact / misread", f"{report['exact_text']} / {report['misreads']}"),
        ("tracebacks in the logs", report["tracebacks"]),
        (
            "main RSS, max of first / last run",
            f"{report['rss_first_run_max_mb']} / "
            f"{report['rss_last_run_max_mb']} MB (x {report['rss_ratio']})",
        ),
        ("main RSS, largest peak / first sample in a run", f"x {report['rss_growth_within_a_run_max']}"),
    ]
    lines = ["", "| figure | value |", "|---|--:|", *(f"| {name} | {value} |" for name, value in rows), ""]
    lines.append("| run | watching after | requeued | RSS first | RSS max | outcome lines | ended |")
    lines.append("|--:|--:|--:|--:|--:|--:|---|")
    for run in report["per_run"]:
        lines.append(
            f"| {run['run']} | {run['watching_after']} s | {run['requeued']} | {run['rss_first_mb']} MB "
            f"| {run['rss_max_mb']} MB | {run['outcome_lines']} | {run['ended']} |"
        )
    lines.append("")
    marks = {True: "ok  ", False: "FAIL", None: "n/a "}
    lines.extend(f"{marks[ok]} {check}" for check, ok in report["checks"].items())
    for example in report["read_again_examples"] + report["misread_examples"]:
        lines.append(f"  {example}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
