"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster of its own in a
temporary folder, reached through a unix socket in that folder only (no TCP port, so parallel runs
never collide).

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to `nobody`.
fsync is off: a test cluster never has to survive a power cut, and commits need not wait for the disk.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
ROLE = "ocrwatch"
"""The role the index connects as: it owns its databases and is not a superuser, as in the README."""
UNPRIVILEGED = "nobody"
SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are not installed (Debian's `postgresql` package)."""


def bindir() -> Path:
    """The folder of `initdb` and `pg_ctl`: `pg_config --bindir`, else Debian's newest version."""
    candidates: list[str] = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(debian, key=lambda path: int(Path(path).parent.name), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise PostgresUnavailable("PostgreSQL is not installed: apt-get install postgresql postgresql-contrib")


class PostgresServer:
    """One cluster, started by `start` and removed by `stop`; `create_database` gives each test its own."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="ocrwatch-pg-"))
        self.data = self.folder / "data"
        self._names = itertools.count(1)

    def _run(self, *command: str) -> None:
        """Run a PostgreSQL program as the cluster's owner."""
        prefix = ["runuser", "-u", UNPRIVILEGED, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, cwd=self.folder, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> PostgresServer:
        """initdb and start; a cluster that fails to come up is removed again."""
        try:
            self._create()
            self.resume()
            self.admin(f"CREATE ROLE {ROLE} LOGIN")
        except BaseException:
            with suppress(RuntimeError):  # it may not have started
                self.pause()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        return self

    def _create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, UNPRIVILEGED)
        self._run(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",  # a UTF-8 locale: the index refuses one whose letters are ASCII only
            "--no-sync",
        )
        settings = {**SETTINGS, "unix_socket_directories": str(self.folder)}
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())

    def stop(self) -> None:
        """Stop the server (fast: open connections are cut) and remove its folder."""
        try:
            self.pause()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server but keep its cluster, for `resume`: the index loses its database."""
        self._run(str(self.bin / "pg_ctl"), "--pgdata", str(self.data), "--mode", "fast", "--wait", "stop")

    def resume(self) -> None:
        log = str(self.folder / "log")
        self._run(str(self.bin / "pg_ctl"), "--pgdata", str(self.data), "--log", log, "--wait", "start")

    def admin(self, statement: str) -> None:
        """Run one statement as the superuser, outside a transaction (CREATE DATABASE needs that)."""
        with psycopg.connect(host=str(self.folder), user=SUPERUSER, dbname="postgres", autocommit=True) as db:
            db.execute(statement)  # type: ignore[arg-type]

    def create_database(self, locale: str = "C.UTF-8") -> str:
        """A new, empty database owned by `ROLE`; returns its name."""
        name = f"test_{next(self._names)}"
        self.admin(
            f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0 STRATEGY file_copy LOCALE '{locale}'"
        )
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database`, as a user would write it in `database:`."""
        return f"postgresql+psycopg://{ROLE}@/{database}?host={self.folder}"
