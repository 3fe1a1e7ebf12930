"""PostgreSQL from Debian's package, run from its own data directory as a plain process.

Closed: every connection, over TCP or the socket, authenticates with SCRAM-SHA-256 as the one
role `tradetrace`, whose password is the stack secret `postgres` (tradetrace/stack/secrets.py).
A data directory made by an earlier release with `trust` is converted on its next start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError
from tradetrace.stack.ports import HOST
from tradetrace.stack.process import Launch
from tradetrace.stack.secrets import stack_secret

DATABASE = "tradetrace"
USER = "tradetrace"


def password() -> str:
    return stack_secret("postgres")


def database_url(port: int = 5432, database: str = DATABASE) -> str:
    """The SQLAlchemy URL of a database on the native stack (the application's by default)."""
    return f"postgresql+psycopg://{USER}:{password()}@{HOST}:{port}/{database}"


def _bin_dir() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<major>/bin, off PATH."""
    majors = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                    key=lambda p: int(p.parent.parent.name)
                    if p.parent.parent.name.isdigit() else 0)
    return majors[-1].parent if majors else None


def _server_program(name: str) -> str:
    """A server program of the installed PostgreSQL (installed before it is prepared)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise StackError("postgres: no server in /usr/lib/postgresql/*/bin (apt-get install "
                         "postgresql)")
    return str(bin_dir / name)


class Postgres(Component):
    name = "postgres"
    debian_package = "postgresql"
    # After an unclean stop the server first syncs its data directory (one file at a time: a
    # minute here with a few hundred databases), then replays its WAL; it accepts no client
    # until both are done.
    startup_timeout = 180.0
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for every client

    def missing_debian_package(self) -> str | None:
        return None if _bin_dir() else self.debian_package

    @property
    def run_as(self) -> str | None:
        """PostgreSQL refuses to run as root; as root we run it as Debian's `postgres` user."""
        return "postgres" if os.geteuid() == 0 else None

    def prepare(self) -> None:
        socket_dir = self.state / "run"
        for directory in (self.state, self.data_dir, socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
            if self.run_as:
                shutil.chown(directory, self.run_as, self.run_as)
        self.data_dir.chmod(0o700)
        if (self.data_dir / "PG_VERSION").exists():
            return
        password_file = self.state / "initdb-password"      # read by initdb, then removed
        password_file.write_text(password())
        password_file.chmod(0o600)
        if self.run_as:
            shutil.chown(password_file, self.run_as, self.run_as)
        try:
            result = subprocess.run(
                [_server_program("initdb"), "-D", str(self.data_dir), "-U", USER,
                 "--auth=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8",
                 "--locale=C.UTF-8"],
                user=self.run_as, group=self.run_as, capture_output=True, text=True,
                timeout=120)
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"postgres: initdb failed:\n{result.stdout}{result.stderr}\n"
                             f"(as root the state directory {self.state} must be reachable "
                             f"by the postgres user)")

    def launch(self) -> Launch:
        return Launch(
            [_server_program("postgres"), "-D", str(self.data_dir), "-h", HOST,
             "-p", str(self.port), "-k", str(self.state / "run"),
             # Sync the data directory's file system in one call before crash recovery,
             # not each file in turn (PostgreSQL 14+, Linux).
             "-c", "recovery_init_sync_method=syncfs"],
            user=self.run_as,
        )

    def _connect(self, dbname: str):
        import psycopg

        return psycopg.connect(host=HOST, port=self.port, user=USER, password=password(),
                               dbname=dbname, connect_timeout=2, autocommit=True)

    def healthy(self) -> bool:
        try:
            with self._connect("postgres") as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # psycopg raises several kinds while the server starts
            return False

    def after_healthy(self) -> None:
        self._close_trust()
        with self._connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def _close_trust(self) -> None:
        """A data directory initialised with `trust` (an earlier release): set the password,
        then require it (pg_hba.conf rewritten, configuration reloaded)."""
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        if not any(line.split()[-1:] == ["trust"] for line in lines if not line.startswith("#")):
            return
        from psycopg import sql

        with self._connect("postgres") as conn:       # trust lets this one in
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(USER), sql.Literal(password())))
            hba.write_text("".join(
                (line.rsplit(None, 1)[0] + " scram-sha-256" if line.split()[-1:] == ["trust"]
                 and not line.startswith("#") else line) + "\n" for line in lines))
            conn.execute("SELECT pg_reload_conf()")
