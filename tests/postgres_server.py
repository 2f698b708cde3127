"""A throwaway PostgreSQL cluster for tests: ``initdb`` + ``pg_ctl`` in a temporary folder, on a free port.

The server listens on a unix socket inside that folder only (no TCP), requires a password
(scram-sha-256), and is stopped and deleted at the end. As root (containers, CI), the server runs as
the ``postgres`` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "insights_test"
DATABASE = "cs"


def server_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None when there is no server."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running throwaway server."""

    folder: Path
    port: int
    password: str
    bin_dir: Path
    run_as: str | None

    @property
    def socket_dir(self) -> str:
        return str(self.folder / "socket")

    def url(self, with_password: bool = False) -> str:
        """SQLAlchemy URL of the test database (the password only if asked for)."""
        secret = f":{self.password}" if with_password else ""
        return f"postgresql://{USER}{secret}@/{DATABASE}?host={self.socket_dir}&port={self.port}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(password: str) -> Server:
    """Create a cluster with a password-protected superuser and a database ``cs``, and start it.

    Parameters
    ----------
    password : str
        The superuser's password (also the test's secret that must never appear in outputs).

    Returns
    -------
    Server
    """
    bin_dir = server_binaries()
    assert bin_dir is not None
    folder = Path(tempfile.mkdtemp(prefix="insights-pg-"))
    run_as = "postgres" if os.geteuid() == 0 else None
    (folder / "socket").mkdir()
    pwfile = folder / "pw"
    pwfile.write_text(password + "\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (folder, folder / "socket", pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    server = Server(folder, _free_port(), password, bin_dir, run_as)
    server._run(
        "initdb", "-D", str(folder / "data"), "-U", USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
        "-E", "UTF8", "--locale=C",
    )  # fmt: skip
    pwfile.unlink()
    options = f"-c listen_addresses='' -c unix_socket_directories={folder / 'socket'} -p {server.port} -c fsync=off"
    server._run("pg_ctl", "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w", "start")
    from sqlalchemy import create_engine, text

    admin = create_engine(
        f"postgresql+psycopg://{USER}:{password}@/postgres?host={server.socket_dir}&port={server.port}",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return server
