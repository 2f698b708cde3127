"""One report run at a time per reports folder, and no residue of runs that were killed.

``report_lock`` holds an exclusive ``flock`` on ``<reports>/.insights-report.lock`` for a run
and removes the file when the run ends. A second run into the same folder is refused at once
with a message naming the process that holds it. The operating system releases a ``flock`` when
its process ends, however it ends (SIGKILL included), so the file a killed run leaves behind
is stale by construction: the next run takes it over (and says so), then removes it.

``remove_residue`` runs under the lock. A run builds its report in ``.<quarter>.tmp-<pid>`` and
swaps it in through ``.<quarter>.backup-<pid>``; a run killed on the way leaves one of them.
Those of dead processes are removed, except that a backup whose report is missing (a kill
between the two renames of the swap) is put back as the report.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from insights.data.output_files import process_alive, stale_temporary
from insights.errors import ParameterError, ReportLockedError

LOCK_FILE = ".insights-report.lock"
_BACKUP = re.compile(r"^\.(?P<name>.+)\.backup-(?P<pid>\d+)$")


def _holder(text: str) -> dict[str, str]:
    """The ``key=value`` lines a lock holder wrote (pid, host, started)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@contextlib.contextmanager
def report_lock(root: str | os.PathLike) -> Iterator[Path]:
    """Hold the reports folder's lock for the length of a ``with`` block.

    Parameters
    ----------
    root : str or os.PathLike
        The reports folder (created if missing).

    Yields
    ------
    pathlib.Path
        The lock file.

    Raises
    ------
    ReportLockedError
        If another process holds the lock (another report is being written into ``root``).
    ParameterError
        If the folder cannot be created or written to.
    """
    root = Path(root)
    path = root / LOCK_FILE
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = _acquire(path, root)
    except OSError as exc:
        raise ParameterError(
            f"cannot write into the reports folder {root} ({exc.strerror or exc}); choose a folder you can "
            "write to (INSIGHTS_REPORTS_DIR) or fix its permissions."
        ) from None
    try:
        previous = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        if previous.get("pid", "").isdigit() and previous.get("host") == socket.gethostname():
            pid = int(previous["pid"])
            if pid != os.getpid() and not process_alive(pid):
                print(
                    f"Taking over the lock of {root} from process {pid}, which ended without releasing it.",
                    file=sys.stderr,
                    flush=True,
                )
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={started}\n".encode(), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still locked: a waiting run then retries on a new file
        os.close(fd)  # releases the lock


def _acquire(path: Path, root: Path) -> int:
    """Open and lock ``path``; the descriptor of a file that is still ``path`` once locked."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            os.close(fd)
            who = f"process {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"
            raise ReportLockedError(
                f"another report is being written into {root} ({who}); wait until it has finished and run "
                f"again. (The lock is {path}; it is released when that process ends.)"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:  # its holder finished and removed it between our open and lock
            same = False
        if same:
            return fd
        os.close(fd)


def remove_residue(root: str | os.PathLike) -> list[str]:
    """Remove what killed runs left in a reports folder (call it while holding ``report_lock``).

    Parameters
    ----------
    root : str or os.PathLike
        The reports folder.

    Returns
    -------
    list of str
        What was done, one line per item (``"removed .2026Q3.tmp-4242"``,
        ``"restored 2026Q3 from .2026Q3.backup-4242"``); empty when there was nothing.
    """
    root = Path(root)
    done: list[str] = []
    if not root.is_dir():
        return done
    for item in sorted(root.iterdir()):
        backup = _BACKUP.match(item.name)
        if backup and not process_alive(int(backup["pid"])):
            report = root / backup["name"]
            if report.exists():
                shutil.rmtree(item, ignore_errors=True)
                done.append(f"removed {item.name}")
            else:  # killed between the two renames of the swap: the backup is the last report
                os.replace(item, report)
                done.append(f"restored {report.name} from {item.name}")
        elif stale_temporary(item):
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
            done.append(f"removed {item.name}")
    return done
