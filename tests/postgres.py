"""A throwaway PostgreSQL cluster for tests: Debian's postgresql package, started in a
temporary folder on a loopback port and removed afterwards. No mock of the database.

initdb and the server refuse to run as root (tests in CI do): there they run as the
``postgres`` user the package creates, through runuser. A test that needs the server
skips, with the reason, where the package is missing, unless EVPLANT_REQUIRE_POSTGRES
is set (CI sets it): then it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def bindir() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def need_postgres() -> Path:
    where = bindir()
    why = ""
    if where is None:
        why = "needs Debian's postgresql package (initdb, pg_ctl)"
    elif os.geteuid() == 0 and _uid("postgres") is None:
        why = "runs as root and needs the 'postgres' user (Debian's package makes it)"
    if why:
        if os.environ.get("EVPLANT_REQUIRE_POSTGRES"):
            pytest.fail(f"EVPLANT_REQUIRE_POSTGRES is set but the test {why}")
        pytest.skip(why)
    assert where is not None
    return where


def _uid(user: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    port: int
    user: str
    password: str
    database: str

    def url(self, password: str | None = None) -> str:
        from urllib.parse import quote

        pw = quote(self.password, safe="") if password is None else password
        return f"postgresql+psycopg://{self.user}:{pw}@127.0.0.1:{self.port}/{self.database}"

    def dsn(self) -> str:
        """For psycopg itself (the tests' independent reader)."""
        return (f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} "
                f"dbname={self.database}")


@contextmanager
def cluster(user: str = "planner", password: str = "s3cr3t-P@ss", database: str = "plant"
            ) -> Iterator[Cluster]:
    """A running server with a login role (password auth over TCP) owning a database."""
    bins = need_postgres()
    root = Path(tempfile.mkdtemp(prefix="evplant-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        uid = _uid("postgres")
        assert uid is not None
        os.chown(root, uid, -1)
        os.chown(sock, uid, -1)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
        "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C")
    run(str(bins / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sock} "
        "-c fsync=off", "start")
    try:
        psql = [str(bins / "psql"), "-h", str(sock), "-p", str(port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres", "-c"]
        run(*psql, f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
        run(*psql, f"CREATE DATABASE {database} OWNER {user}")
        yield Cluster(port, user, password, database)
    finally:
        subprocess.run([*as_user, str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
