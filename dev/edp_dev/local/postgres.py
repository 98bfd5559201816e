"""The embedded source database: a real PostgreSQL with logical replication, owned by the project.

It stands in for the RDS PostgreSQL that DMS reads on AWS.  The cluster lives
in `<state>/pg/data`, listens on a free loopback port only, authenticates with
a generated password (kept in a 0600 file, never in code) and runs with
`wal_level=logical` so the CDC reader can use a replication slot.  Every file
holding the password (connection.json, initdb's transient .pwfile) is created
0600 and renamed into place, never chmod-ed after being written; the folder is
0700 (0711 when the server runs as another account, which must traverse it).

PostgreSQL refuses to run as root; when we are root (CI, containers) the
server runs as the unprivileged `postgres` account if the system has one.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edp.settings import ConfigError, local_paths
from edp_dev.ports import free_port, port_is_free
from edp_dev.private_files import PRIVATE_DIR, open_private_append, private_dir, write_private

DATABASE = "shop"
USER = "edp"


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    dbname: str
    user: str
    password: str

    def dsn(self, **extra: str) -> str:
        parts = dict(host=self.host, port=str(self.port), dbname=self.dbname, user=self.user, password=self.password)
        parts.update(extra)
        return " ".join(f"{k}={v}" for k, v in parts.items())


def find_bindir() -> Path:
    """Locate initdb/pg_ctl: EDP_PG_BINDIR, then pg_config, then Debian's layout, then PATH."""
    candidates: list[Path] = []
    if os.environ.get("EDP_PG_BINDIR"):
        candidates.append(Path(os.environ["EDP_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates.extend(debian)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ConfigError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install them "
        "(Debian: apt-get install postgresql; macOS: brew install postgresql@16) "
        "or set EDP_PG_BINDIR to their folder"
    )


class EmbeddedPostgres:
    """Start, stop and describe the project's PostgreSQL cluster."""

    def __init__(self, root: Path | None = None):
        self.root = root or local_paths().pg
        self.data = self.root / "data"
        self.conn_file = self.root / "connection.json"
        self.log_file = self.root / "server.log"

    # -- running as an unprivileged account when we are root -------------------------
    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd

        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        raise ConfigError("running as root and no 'postgres' account exists to run the server as")

    def _cmd(self, argv: list[str]) -> list[str]:
        user = self._run_as()
        return ["runuser", "-u", user, "--", *argv] if user else argv

    def _chown(self, path: Path) -> None:
        user = self._run_as()
        if user:
            shutil.chown(path, user=user)

    def _folder_mode(self) -> int:
        """0700, or 0711 when the server runs as another account: it must reach data/, server.log and the
        .pwfile by name, while nobody else may list the folder."""
        return 0o711 if self._run_as() else PRIVATE_DIR

    # -- lifecycle -------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists() and self.conn_file.exists()

    def connection(self) -> Connection:
        """The connection file's settings; a missing or damaged file is named, with the way out."""
        if not self.conn_file.exists():
            if (self.data / "PG_VERSION").exists():
                raise ConfigError(f"{self.conn_file} is missing, but the cluster in {self.data} exists: its password "
                                  f"is not known any more; restore the file, or remove {self.root} (and the source "
                                  "data in it) to start afresh")
            raise ConfigError(f"no embedded PostgreSQL at {self.root}: run `edp pg start` first")
        try:
            return Connection(**json.loads(self.conn_file.read_text()))
        except (ValueError, TypeError) as exc:  # not JSON, or not the fields a connection has
            raise ConfigError(f"{self.conn_file} is damaged ({exc}); restore it, or remove {self.root} (and the "
                              "source data in it) to start afresh") from None

    def is_running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        result = subprocess.run(self._cmd([str(find_bindir() / "pg_ctl"), "-D", str(self.data), "status"]), capture_output=True)
        return result.returncode == 0

    def start(self) -> Connection:
        bindir = find_bindir()
        private_dir(self.root, self._folder_mode())  # also tightens a folder made before it was private
        if not (self.data / "PG_VERSION").exists():  # a cluster without its connection file is not made again
            self._initdb(bindir)
        conn = self.connection()
        if self.is_running():
            return conn
        port = conn.port if port_is_free(conn.port) else free_port()
        if port != conn.port:
            conn = Connection(**{**conn.__dict__, "port": port})
            self._write_connection(conn)
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
            "-c wal_level=logical -c max_replication_slots=8 -c max_wal_senders=8 "
            "-c fsync=on -c synchronous_commit=on"
        )
        os.close(open_private_append(self.log_file, folder_mode=None))
        self._chown(self.log_file)
        subprocess.run(
            self._cmd([str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_file), "-o", options, "-w", "-t", "60", "start"]),
            check=True,
            capture_output=True,
        )
        self._wait_ready(conn)
        return conn

    def stop(self) -> None:
        if self.is_running():
            subprocess.run(
                self._cmd([str(find_bindir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                check=True,
                capture_output=True,
            )

    def _initdb(self, bindir: Path) -> None:
        if self.data.exists() and any(self.data.iterdir()):
            raise ConfigError(f"{self.data} exists but holds no complete cluster; move it aside to re-create it")
        self.data.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.data, 0o700)  # initdb insists on exactly 0700 (or 0750)
        self._chown(self.data)
        password = secrets.token_urlsafe(24)
        pwfile = write_private(self.root / ".pwfile", password + "\n", folder_mode=None)
        self._chown(pwfile)  # the server's account reads it; chown keeps the mode 0600
        try:
            subprocess.run(
                self._cmd([str(bindir / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                           "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"]),
                check=True,
                capture_output=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conn = Connection(host="127.0.0.1", port=free_port(), dbname=DATABASE, user=USER, password=password)
        self._write_connection(conn)
        self.start()
        import psycopg2

        admin = psycopg2.connect(conn.dsn(dbname="postgres"))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
        admin.close()

    def _write_connection(self, conn: Connection) -> None:
        write_private(self.conn_file, json.dumps(conn.__dict__), folder_mode=self._folder_mode())

    def _wait_ready(self, conn: Connection, timeout: float = 30) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(conn.dsn(dbname="postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not accept connections; see {self.log_file}") from None
                time.sleep(0.2)
