"""Where the usage inputs come from: the events, and the small reference tables.

Events stay where they are (an engine scans them): the ``usage_events`` files of the data folder,
or what ``--events`` names, a path, a glob or a URI (``file://``, ``hdfs://``, ``s3a://``...) that
the engine reads itself, or a table of the Spark catalog (``locate_events``). ``accounts``,
``contracts`` and ``users`` are small and are read and validated with the regular loader rules,
from the same folder or source mapping as every other table.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from insights.data import raw_files
from insights.errors import ContractError, ParameterError
from insights.metrics.usage.checks import violation

if TYPE_CHECKING:
    import pandas as pd

# ``insights.data.loading`` (pandas) and ``insights.data.validation`` (pandera) are imported in
# ``reference_tables``, which the DuckDB engine runs in a thread while it scans the events.

EVENTS = "usage_events"
#: Reference tables the monthly definitions and the event checks need.
REFERENCE_TABLES = ("accounts", "contracts", "users")


def event_files(data_dir: Path) -> list[Path]:
    """The files holding ``usage_events`` in ``data_dir``.

    ``usage_events.parquet``, ``usage_events.csv`` or a folder ``usage_events/`` of such files
    (searched recursively).

    Parameters
    ----------
    data_dir : pathlib.Path
        The raw data folder.

    Returns
    -------
    list of pathlib.Path
        The event files, all of one format.

    Raises
    ------
    ParameterError
        If there is no event file.
    ContractError
        If CSV and Parquet files are mixed (convert them to one format).
    """
    files = raw_files.table_files(data_dir, EVENTS)
    if not files:
        raise ParameterError(
            f"no usage_events in {data_dir}: expected usage_events.parquet, usage_events.csv "
            "or a folder usage_events/ of Parquet or CSV files."
        )
    suffixes = sorted({f.suffix for f in files})
    if len(suffixes) > 1:
        raise ContractError(
            [
                violation(
                    "—", "mixed CSV and Parquet files (use one format)", len(files), tuple(f.name for f in files[:5])
                )
            ]
        )
    return files


def reference_tables(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Read and validate ``accounts``, ``contracts`` and ``users`` from ``data_dir``.

    Parameters
    ----------
    data_dir : pathlib.Path
        The raw data folder.

    Returns
    -------
    dict of pandas.DataFrame
        Typed tables in contract columns.

    Raises
    ------
    ContractError
        With every violation of these three tables (including missing files).
    """
    from insights.data import loading
    from insights.data.validation import validate_tables

    raw, problems, _ = loading.read_raw(data_dir, include_events=False)
    subset = {name: raw.get(name) for name in REFERENCE_TABLES}
    typed, violations = validate_tables(subset, unreadable=loading.unreadable_tables(problems))
    problems = [p for p in problems if p.table in REFERENCE_TABLES]
    violations = [v for v in violations if v.table in REFERENCE_TABLES]
    if problems or violations:
        raise ContractError(problems + violations)
    return {name: typed[name] for name in REFERENCE_TABLES}


#: A table name of the Spark catalog: ``name``, ``database.name`` or ``catalog.database.name``.
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_GLOB = re.compile(r"[*?\[]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class EventsLocation:
    """Where the events are: paths an engine reads, or a table of the Spark catalog.

    Attributes
    ----------
    paths : tuple of str
        Local files, globs or URIs (empty for a table).
    table : str or None
        A table name of the Spark catalog.
    format : str
        ``"parquet"`` or ``"csv"`` (of the paths).
    """

    paths: tuple[str, ...] = ()
    table: str | None = None
    format: str = "parquet"

    def describe(self) -> str:
        """The location for messages and the manifest.

        Returns
        -------
        str
            ``table <name>`` or the paths (the first three, then how many more).
        """
        if self.table is not None:
            return f"table {self.table}"
        shown = ", ".join(self.paths[:3]) + (f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else "")
        return f"{self.format} {shown}"

    def local_files(self) -> list[Path]:
        """The local files of the location (``file://`` URIs and globs resolved), for DuckDB.

        Returns
        -------
        list of pathlib.Path
            Every file, sorted within each path.

        Raises
        ------
        ParameterError
            If the location is a catalog table or a remote URI (those need the Spark engine), or a
            path matches no file.
        """
        if self.table is not None:
            raise ParameterError(
                f"usage_events from the Spark catalog table {self.table} need --engine spark "
                "(DuckDB reads local files)."
            )
        files: list[Path] = []
        for given in self.paths:
            local = _local_path(given)
            if local is None:
                raise ParameterError(f"DuckDB reads local files only; read {given} with --engine spark.")
            found = (
                [Path(f) for f in sorted(glob.glob(local, recursive=True))] if _GLOB.search(local) else [Path(local)]
            )
            found = [f for f in found if f.is_file()]
            if not found:
                raise ParameterError(f"no usage_events file at {given}.")
            files += found
        return files


def _local_path(text: str) -> str | None:
    """The local path of ``text`` (a path or a ``file://`` URI), or None for another scheme."""
    if text.startswith("file://"):
        return text[len("file://") :]
    return None if _SCHEME.match(text) else text


def _format_of(text: str) -> str:
    return "csv" if text.rstrip("/").lower().endswith(".csv") else "parquet"


def locate_events(events: str | None, data_dir: Path | None = None) -> EventsLocation:
    """Where the events of a run are: ``events`` if given, else the ``usage_events`` files of ``data_dir``.

    ``events`` is a table of the Spark catalog when it is a dotted name (``usage_events``,
    ``db.usage_events``) that is not a local path; otherwise a path, glob or URI. Paths ending in
    ``.csv`` are CSV, others Parquet; a local folder is replaced by its Parquet or CSV files
    (searched recursively, one format).

    Parameters
    ----------
    events : str or None
        ``--events``: a path, glob, URI or table name.
    data_dir : pathlib.Path, optional
        The data folder whose ``usage_events`` files are used when ``events`` is None.

    Returns
    -------
    EventsLocation

    Raises
    ------
    ParameterError
        If neither is given, the data folder has no event files, or a folder holds none.
    ContractError
        If a folder mixes CSV and Parquet files.
    """
    if events is None or not str(events).strip():
        if data_dir is None:
            raise ParameterError("give the events: --events PATH_OR_TABLE, or a data folder with usage_events.")
        files = event_files(data_dir)
        return EventsLocation(tuple(str(f) for f in files), format=_format_of(files[0].name))
    text = str(events).strip()
    local = _local_path(text)
    if local is not None and Path(local).expanduser().is_dir():
        folder = Path(local).expanduser().resolve()
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".csv", ".parquet") and p.is_file())
        files = [f for f in files if not any(part.startswith(".") for part in f.relative_to(folder).parts)]
        if not files:
            raise ParameterError(f"no Parquet or CSV files in the events folder {folder}.")
        if len({f.suffix for f in files}) > 1:
            raise ContractError(
                [violation("—", "mixed CSV and Parquet files (use one format)", len(files), (str(folder),))]
            )
        return EventsLocation(tuple(str(f) for f in files), format=_format_of(files[0].name))
    if _TABLE_NAME.match(text) and not Path(text).exists() and not text.lower().endswith((".csv", ".parquet")):
        return EventsLocation(table=text)
    return EventsLocation((text,), format=_format_of(text))
