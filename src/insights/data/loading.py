"""Reads raw tables (CSV or Parquet) from a data folder and validates them.

``load_tables`` is the one entry point analyses use: it returns typed, validated
DataFrames or raises one ``ContractError`` listing every problem. Nothing is
half-loaded and nothing under the data folder is ever written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from insights.data import paths
from insights.data.raw_files import table_files
from insights.errors import ContractError, ParameterError

if TYPE_CHECKING:
    from insights.data.validation import Violation

# ``insights.data.contract`` and ``insights.data.validation`` are imported where they are used: they
# load pandera (and, with the Spark extra installed, pyspark.pandas), which a load served
# from the typed-table cache (``insights.data.table_cache``) does not need.


def has_data(data_dir: str | os.PathLike | None = None) -> bool:
    """Whether ``data_dir`` holds any raw table file (used to decide on demo data).

    Parameters
    ----------
    data_dir : str, os.PathLike or None
        Folder of raw tables; default ``insights.data.paths.raw_dir()``.

    Returns
    -------
    bool
        False if the folder is missing or holds no file of any contract table.
    """
    from insights.data import contract

    folder = paths.resolve_data_dir(data_dir)
    if not folder.is_dir():
        return False
    return any(table_files(folder, name) for name in contract.TABLES)


def _read_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    # Everything as text: the validator parses types itself and reports what fails.
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


#: The rule of a file that exists but cannot be read (``read_raw`` says why in its example).
UNREADABLE = "file cannot be read"


def unreadable_tables(problems: list[Violation]) -> set[str]:
    """Tables with a file that exists but cannot be read, so not to be reported again as missing.

    Parameters
    ----------
    problems : list of Violation
        File-level problems from ``read_raw``.

    Returns
    -------
    set of str
        Their table names.
    """
    return {p.table for p in problems if p.rule == UNREADABLE}


def unreadable_reason(exc: BaseException) -> str:
    """Why a raw file cannot be read, in one line that says what to do.

    Parameters
    ----------
    exc : BaseException
        What the reader raised.

    Returns
    -------
    str
        The cause (permission, encoding, empty file, damaged Parquet...) and the reader's own first line.
    """
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, PermissionError):
        return f"permission denied ({first}); let this user read it"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
    if isinstance(exc, pd.errors.EmptyDataError):
        return "the file is empty (not even a header line)"
    return f"{type(exc).__name__}: {first}"


def read_raw(
    data_dir: Path, include_events: bool = False
) -> tuple[dict[str, pd.DataFrame | None], list[Violation], set[str]]:
    """Read every contract table found in ``data_dir`` without typing it.

    Parameters
    ----------
    data_dir : pathlib.Path
        Absolute folder of raw tables.
    include_events : bool
        Also read ``usage_events`` (large).

    Returns
    -------
    raw : dict
        Table name to raw DataFrame (``None`` when no file was found).
    problems : list of Violation
        File-level problems (ambiguous or unreadable files, pilot file naming).
    skipped : set of str
        Optional tables present on disk but not loaded (``usage_events`` unless
        ``include_events``).
    """
    from insights.data import contract
    from insights.data.validation import Violation

    raw: dict[str, pd.DataFrame | None] = {}
    problems: list[Violation] = []
    skipped: set[str] = set()
    for name in contract.TABLES:
        files = table_files(data_dir, name)
        if not files:
            raw[name] = None
            continue
        if name == "usage_events" and not include_events:
            skipped.add(name)
            continue
        stems = {f.stem for f in files if f.parent == data_dir}
        if name != "pilot_assignments" and len(stems) == 1 and len([f for f in files if f.parent == data_dir]) > 1:
            problems.append(
                Violation(name, "—", "ambiguous: both CSV and Parquet present", 2, tuple(f.name for f in files))
            )
            continue
        frames = []
        for f in files:
            try:
                frame = _read_file(f)
            except Exception as exc:  # noqa: BLE001 - any reader error is a user file problem
                problems.append(Violation(name, "—", UNREADABLE, 1, (f"{f.name}: {unreadable_reason(exc)}"[:200],)))
                continue
            if name == "pilot_assignments" and "pilot_id" in frame.columns:
                wrong = frame["pilot_id"].astype("string") != f.stem
                if wrong.any():
                    problems.append(
                        Violation(name, "pilot_id", "pilot_id differs from file name", int(wrong.sum()), (f"{f.name}",))
                    )
            frames.append(frame)
        if frames:
            raw[name] = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for name, spec in contract.TABLES.items():  # an absent optional table (no pilot run yet, no surveys) is empty
        if raw.get(name) is None and not spec.required and name != "usage_events":
            raw[name] = pd.DataFrame({c: pd.Series(dtype="str") for c in spec.column_names})
    return raw, problems, skipped


@dataclass
class Tables:
    """Validated raw tables of one dataset.

    Attributes
    ----------
    data_dir : pathlib.Path
        Where the tables were read from.
    frames : dict of pandas.DataFrame
        Typed tables by name (see ``insights.data.contract.TABLES`` for their columns).
    as_of : pandas.Timestamp
        Last day covered by the data (end of the latest usage month).
    skipped : set of str
        Optional tables present but not loaded.
    """

    data_dir: Path
    frames: dict[str, pd.DataFrame]
    as_of: pd.Timestamp
    skipped: set[str] = field(default_factory=set)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            raise KeyError(f"table {name!r} was not loaded; loaded: {', '.join(self.frames)}")
        return self.frames[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    @property
    def names(self) -> list[str]:
        """Names of the loaded tables."""
        return list(self.frames)

    @property
    def without_rows(self) -> list[str]:
        """Loaded tables that hold no row (absent or header-only optional tables), in contract order."""
        return [name for name, frame in self.frames.items() if frame.empty]


#: Dated tables whose latest date bounds the data when there is no usage_monthly: columns the contract
#: marks ``recorded`` (not after the as-of date), so a contract booked ahead cannot move the data end.
ACTIVITY_DATES = {
    "users": "invited_at",
    "support_tickets": "created_at",
    "surveys": "responded_at",
    "cs_activities": "date",
}


def _usage_months(frames: dict[str, pd.DataFrame]) -> pd.Series | None:
    usage = frames.get("usage_monthly")
    return None if usage is None or usage.empty else usage["month"]


def data_start(frames: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """First month the data covers: the earliest usage month, else the month of the first contract start.

    Parameters
    ----------
    frames : dict of pandas.DataFrame
        Typed tables by name (``usage_monthly`` may be empty or absent).

    Returns
    -------
    pandas.Timestamp
        Midnight of the first day of that month.
    """
    months = _usage_months(frames)
    if months is not None:
        return months.min()
    return frames["contracts"]["start_date"].min().to_period("M").start_time


def data_end(frames: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """Last day the data covers: the end of the latest usage month.

    The contract's rules on ``usage_monthly.month`` (no month after the as-of date, no month
    without rows between the first and the last) keep one stray row from moving it.

    Without usage_monthly, the end of the month of the latest date recorded in the dated tables of
    ``ACTIVITY_DATES`` (invitations, tickets, survey responses, CS activities), which may not lie after
    the as-of date of the validation.

    Parameters
    ----------
    frames : dict of pandas.DataFrame
        Typed tables by name; ``usage_monthly`` with its ``month`` column is used when it has rows.

    Returns
    -------
    pandas.Timestamp
        Midnight of the last day of that month.
    """
    months = _usage_months(frames)
    if months is None:
        months = pd.Series(
            [frames[t][c].max() for t, c in ACTIVITY_DATES.items() if t in frames and not frames[t].empty]
        )
    return (months.max() + pd.offsets.MonthEnd(0)).normalize()


def _existing_folder(data_dir: str | os.PathLike | None) -> Path:
    """The resolved data folder; ParameterError if it does not exist or is not a folder."""
    folder = paths.resolve_data_dir(data_dir)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ParameterError(
            f"data folder {folder} {what}; run `insights demo-data` or point INSIGHTS_DATA_DIR at your data."
        )
    return folder


def _read_and_validate(
    folder: Path, include_events: bool, as_of: str | pd.Timestamp | None
) -> tuple[dict[str, pd.DataFrame], list[Violation], set[str]]:
    """Typed tables, every file problem and contract violation, and the skipped tables of ``folder``."""
    from insights.data.validation import validate_tables

    raw, problems, skipped = read_raw(folder, include_events=include_events)
    typed, violations = validate_tables(raw, as_of=as_of, unreadable=unreadable_tables(problems))
    return typed, problems + violations, skipped


def validate_dir(
    data_dir: str | os.PathLike | None = None,
    include_events: bool = True,
    use_cache: bool = True,
    as_of: str | pd.Timestamp | None = None,
) -> list[Violation]:
    """Return every contract violation of the tables in ``data_dir`` (empty list if clean).

    Parameters
    ----------
    data_dir : path, optional
        Folder of raw tables; default ``insights.data.paths.raw_dir()``.
    include_events : bool
        Also check ``usage_events`` (large).
    use_cache : bool
        Without events and without an explicit ``as_of``, answer "no violations" from the
        typed-table cache when these exact bytes already passed the same checks
        (``insights.data.table_cache``; a later as-of date only accepts more).
    as_of : str, pandas.Timestamp or None
        Recorded dates after this day are violations; default today.

    Returns
    -------
    list of Violation
        File-level problems followed by the contract violations; empty when the tables are clean.

    Raises
    ------
    ParameterError
        If the folder does not exist or ``as_of`` is not a date.
    """
    from insights.data import table_cache

    folder = _existing_folder(data_dir)
    if (
        use_cache
        and as_of is None
        and not include_events
        and table_cache.entry(table_cache.known_hashes(folder)) is not None
    ):
        return []
    return _read_and_validate(folder, include_events, as_of)[1]


def cached_tables(data_dir: Path, hashes: dict[str, str] | None = None) -> Tables | None:
    """The tables of ``data_dir`` from the typed-table cache (``usage_events`` not loaded), or None.

    Parameters
    ----------
    data_dir : pathlib.Path
        Absolute raw data folder.
    hashes : dict, optional
        Its ``insights.data.table_cache.input_hashes`` if already computed.

    Returns
    -------
    Tables or None
        The cached tables, or None when these exact inputs are not in the cache.
    """
    from insights.data import table_cache

    cached = table_cache.read(data_dir, hashes)
    if cached is None:
        return None
    frames, as_of, skipped = cached
    return Tables(data_dir=data_dir, frames=frames, as_of=as_of, skipped=skipped)


def cache_tables(
    tables: Tables, hashes: dict[str, str] | None = None, stats: dict[str, list[int]] | None = None
) -> Path:
    """Store validated tables (loaded without events) in the typed-table cache; return its entry.

    Parameters
    ----------
    tables : Tables
        From ``load_tables(..., include_events=False)``.
    hashes, stats : dict, optional
        ``insights.data.table_cache.hashes_and_stats`` of ``tables.data_dir`` if already
        computed (the stats let later loads skip re-hashing unchanged files).

    Returns
    -------
    pathlib.Path
        The cache entry folder written (or found) for these inputs.

    Raises
    ------
    ParameterError
        If ``tables`` holds ``usage_events``: only tables loaded without events are cached.
    """
    from insights.data import table_cache

    if "usage_events" in tables.frames:
        raise ParameterError("only tables loaded without usage_events are cached.")
    if hashes is None:
        hashes, stats = table_cache.hashes_and_stats(tables.data_dir)
    return table_cache.store(tables.frames, tables.as_of, tables.skipped, hashes, tables.data_dir, stats)


def load_tables(
    data_dir: str | os.PathLike | None = None,
    include_events: bool = False,
    use_cache: bool = True,
    as_of: str | pd.Timestamp | None = None,
) -> Tables:
    """Read and validate every raw table in ``data_dir``.

    Parameters
    ----------
    data_dir : path, optional
        Folder of raw tables; default ``insights.data.paths.raw_dir()``. A relative path
        is taken from the project root.
    include_events : bool
        Also load ``usage_events`` into memory (large; event-scale work belongs in
        DuckDB).
    use_cache : bool
        Without events, take the typed tables from ``insights.data.table_cache`` when the
        same bytes were validated before (the report runner stores them); the
        result is the same as reading and validating again. Not used with an explicit ``as_of``.
    as_of : str, pandas.Timestamp or None
        Recorded dates after this day are violations; default today.

    Returns
    -------
    Tables
        The typed, validated tables and the date the data covers.

    Raises
    ------
    ParameterError
        If the folder does not exist or ``as_of`` is not a date.
    ContractError
        With every violation, if any rule is broken.
    """
    folder = _existing_folder(data_dir)
    if use_cache and not include_events and as_of is None:
        cached = cached_tables(folder)
        if cached is not None:
            return cached
    typed, problems, skipped = _read_and_validate(folder, include_events, as_of)
    if problems:
        raise ContractError(problems)
    return Tables(data_dir=folder, frames=typed, as_of=data_end(typed), skipped=skipped)
