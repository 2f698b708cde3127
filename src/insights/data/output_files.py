"""Writing files: atomically, with ordinary permissions, and CSV cells a spreadsheet will not run.

Every file the package writes for people to open (the report's CSV action lists, its headlines,
pilot records and plans, ``usage_monthly``) goes through ``write_atomic`` or ``write_csv``:

- **Atomic.** The content goes to a temporary file next to the target, which is then renamed
  over it (or, for ``overwrite=False``, hard-linked to the name, which fails if it exists). A
  reader sees the old file or the new one, never half of one; a killed writer leaves at most a
  hidden ``.<name>.tmp-<pid>-<token>`` file (``stale_temporary`` tells when it may go).
- **Ordinary permissions.** Files are created with mode ``0666`` less the process umask (0644
  under the usual umask 022), as any program creates files, so a team share can read them.
  (``tempfile.mkstemp`` creates 0600 files, which a rename keeps: the cause of unreadable
  outputs.)
- **CSV cells.** ``write_csv`` passes every text cell through ``sanitise_cell``, OWASP's advice
  against formula injection (CSV injection): a text cell that starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a leading single quote, so a spreadsheet shows it as
  text and does not evaluate it. Numbers, and text that is just a number (``-3``, ``+1.5``), are
  kept as they are. A table with a carriage return in a cell is written with every field quoted
  (a bare one would end the row in most readers).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from insights.errors import ParameterError

if TYPE_CHECKING:  # pandas is imported where a frame is handled: the event-scale path runs without it
    import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: The prefix that makes such a cell text in Excel, LibreOffice and Google Sheets.
TEXT_PREFIX = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Marks the temporary files of ``write_atomic``: ``.<name>.tmp-<pid>-<token>``.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(-[0-9a-f]+)?$")


def sanitise_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text and never evaluates (OWASP CSV-injection advice).

    Parameters
    ----------
    value : object
        A cell. Only ``str`` values can be changed.

    Returns
    -------
    object
        ``"'" + value`` for text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
        (``"=HYPERLINK(...)"`` becomes ``"'=HYPERLINK(...)"``); any other value unchanged,
        including numbers and text that is only a number (``"-3"``, ``"+1.5e3"``).
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return TEXT_PREFIX + value
    return value


def sanitise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names went through ``sanitise_cell``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table. Numeric, boolean and date columns are left alone; object, string and
        categorical columns are sanitised cell by cell.

    Returns
    -------
    pandas.DataFrame
        The sanitised copy (same index; text columns keep their dtype, categorical ones become text).
    """
    import pandas as pd

    columns = [_sanitise_column(column) for _, column in frame.items()]
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = [sanitise_cell(c) for c in frame.columns]
    return out


def _sanitise_column(column: pd.Series) -> pd.Series:
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return column.astype(object).map(sanitise_cell)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return column.map(sanitise_cell)
    return column


def temporary_name(path: Path) -> Path:
    """A fresh hidden name next to ``path`` for content that will be renamed to it.

    Parameters
    ----------
    path : pathlib.Path
        The target file.

    Returns
    -------
    pathlib.Path
        ``<folder>/.<name>.tmp-<pid>-<token>`` (nothing is created).
    """
    return path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def write_atomic(
    path: str | os.PathLike,
    content: str | bytes | Callable[[IO[Any]], None],
    overwrite: bool = True,
    encoding: str = "utf-8",
) -> Path:
    """Write a file atomically, created ``0666`` less the umask.

    Parameters
    ----------
    path : str or os.PathLike
        The target file; its folder must exist.
    content : str, bytes or callable
        Text (written with ``encoding``, line ends as given), bytes, or a function that writes
        into the open text file.
    overwrite : bool
        Replace an existing file (default). With False the file must not exist.
    encoding : str
        Encoding of text content.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        If ``overwrite`` is False and the file exists (it is left untouched).
    """
    path = Path(path)
    tmp = temporary_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
    try:
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
        else:
            with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
                if isinstance(content, str):
                    fh.write(content)
                else:
                    content(fh)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic, and refuses an existing file
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_csv(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    force: bool = False,
    *,
    sanitise: bool = True,
    float_format: str = "%.6g",
) -> Path:
    """Write a table as CSV atomically, every text cell safe to open in a spreadsheet.

    Parameters
    ----------
    frame : pandas.DataFrame
        Written without its index, UTF-8, Unix line ends.
    path : str or os.PathLike
        Target file; its folder is created if needed.
    force : bool
        Replace an existing file.
    sanitise : bool
        Pass text cells and column names through ``sanitise_cell`` (default). Only data files
        that the package reads back as they are (the demo's raw tables) pass False.
    float_format : str
        Format of floats (default 6 significant digits).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ParameterError
        If the file exists and ``force`` is False.
    """
    path = Path(path)
    if path.exists() and not force:
        raise ParameterError(f"{path} already exists; pass force=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    table = sanitise_frame(frame) if sanitise else frame
    # A bare carriage return inside a cell ends the row for most readers, and the csv module quotes
    # only the line terminator's characters: such a table gets every field quoted.
    quoting: Literal[0, 1] = csv.QUOTE_ALL if _holds_carriage_return(table) else csv.QUOTE_MINIMAL
    return write_atomic(
        path,
        lambda fh: table.to_csv(fh, index=False, lineterminator="\n", float_format=float_format, quoting=quoting),
    )


def _holds_carriage_return(frame: pd.DataFrame) -> bool:
    import pandas as pd

    texts = [frame.columns.to_series(), *(c for _, c in frame.items() if not pd.api.types.is_numeric_dtype(c))]
    return any(t.map(lambda v: isinstance(v, str) and "\r" in v).any() for t in texts)


@contextlib.contextmanager
def output_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Create a folder for the outputs of a block; if the block fails, remove what it created.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (missing parents are created too).

    Yields
    ------
    pathlib.Path
        The folder.

    Raises
    ------
    BaseException
        Whatever the block raised, after the folders this call created were removed, deepest
        first, as long as they are empty (a failed run leaves no empty output folders).
    """
    folder = Path(folder)
    created = [f for f in (folder, *folder.parents) if not f.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for f in created:  # deepest first
            try:
                f.rmdir()
            except OSError:  # not empty (or already gone): keep it and its parents
                break
        raise


def stale_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file of ``write_atomic`` whose writer is no longer running.

    Parameters
    ----------
    path : pathlib.Path
        A file name, e.g. ``.worklist.csv.tmp-4242-9f3a01bc``.

    Returns
    -------
    bool
        True when the name has the temporary pattern and its process id is dead
        (``process_alive``).
    """
    match = _TEMPORARY.match(path.name)
    return match is not None and not process_alive(int(match["pid"]))


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as dead).

    Parameters
    ----------
    pid : int
        A process id.

    Returns
    -------
    bool
        False when no such process exists or it has exited and waits to be reaped.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux) or it just ended
        return True
    return stat[stat.rindex(")") + 2 :][:1] not in ("Z", "X")
