"""``usage_events -> usage_monthly`` in DuckDB, out of core, with a memory limit.

The events are never loaded into pandas. DuckDB reads their ``feature`` column once for the tiny
table of distinct features (``insights.metrics.usage.definitions.FEATURES_SQL``), then scans the Parquet
or CSV files once, grouping them by account, month, zone and user with a bit mask of the
features used (``definitions.groups_sql``, keyed by 64-bit hashes of the IDs, which
``checks.register_keys`` maps back to the reference users; events that map to no reference user
are checked from a second scan keyed by the IDs); the contract checks (``insights.metrics.usage.checks``) and
the monthly metrics (``definitions.monthly_sql``) then read those small results. Beyond the
memory limit DuckDB spills to a temporary folder.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from insights.data import paths
from insights.data.output_files import output_folder, temporary_name
from insights.errors import ContractError, ParameterError
from insights.metrics.usage import checks, definitions, sources
from insights.metrics.usage.window import UsageSummary, Window

if TYPE_CHECKING:
    import pandas as pd

    from insights.data.validation import Violation

# pandas is imported where it is used, after the scan has started: the reference tables are read
# (with pandas and pandera) in a thread while DuckDB scans, so the two imports overlap the scan.

log = logging.getLogger(__name__)

#: Default memory budget of the DuckDB engine (the whole process stays near it).
DEFAULT_MEMORY_LIMIT = "4GB"
#: Share of the budget given to DuckDB's buffer manager; the rest is for Python, pandas and DuckDB's
#: own allocations outside the buffer pool (measured: ~0.5 GB at 100M events).
DUCKDB_SHARE = 0.8
_UNITS = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
OUTPUT_FILE = "usage_monthly.parquet"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)


def _sql_text(value: str | os.PathLike) -> str:
    """``value`` as a SQL string literal (quotes doubled), for paths DuckDB takes only as literals."""
    return "'" + str(value).replace("'", "''") + "'"


def _sql_list(files: list[Path]) -> str:
    return "[" + ", ".join(_sql_text(f) for f in files) + "]"


def memory_bytes(size: str) -> int:
    """Bytes in a size such as ``4GB`` (powers of 1000) or ``4GiB`` (powers of 1024).

    Parameters
    ----------
    size : str
        A number and a unit (KB, MB, GB, TB or KiB, MiB, GiB, TiB; case-insensitive).

    Returns
    -------
    int
        The size in bytes (rounded down).

    Raises
    ------
    ParameterError
        If ``size`` is not a size.
    """
    match = _MEMORY.match(str(size))
    if not match:
        raise ParameterError(f"memory limit must be a size like 4GB or 512MB, got {size!r}.")
    return int(float(str(size).strip()[: match.start(2)].strip()) * _UNITS[match.group(2).lower()])


@contextmanager
def connect(
    memory_limit: str = DEFAULT_MEMORY_LIMIT, temp_dir: str | os.PathLike | None = None, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection set up for out-of-core work (UTC, memory limit, spill folder).

    Parameters
    ----------
    memory_limit : str
        Memory budget such as ``4GB`` or ``512MB``; DuckDB's own limit is ``DUCKDB_SHARE`` of it,
        so the whole process stays near the budget.
    temp_dir : path, optional
        Parent of the spill folder (a fresh subfolder, removed afterwards); default the system
        temporary folder.
    threads : int, optional
        Worker threads (default: every core).

    Yields
    ------
    duckdb.DuckDBPyConnection
        Closed, and its spill folder removed, when the ``with`` block ends.

    Raises
    ------
    ParameterError
        If ``memory_limit`` is not a size like ``4GB``.
    """
    duckdb_limit = f"{int(memory_bytes(memory_limit) * DUCKDB_SHARE / 2**20)}MiB"
    with tempfile.TemporaryDirectory(prefix="insights-duckdb-", dir=temp_dir) as spill:
        con = duckdb.connect(
            config={
                "memory_limit": duckdb_limit,
                "temp_directory": spill,
                "preserve_insertion_order": False,
                **({"threads": int(threads)} if threads else {}),
            }
        )
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            yield con
        finally:
            con.close()


def register_events(con: duckdb.DuckDBPyConnection, files: list[Path], name: str = "raw_events") -> list[str]:
    """Create the view ``name`` over the event files; return its column names.

    CSV is read as text (the checks parse it); Parquet keeps its types.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection that gets the view.
    files : list of pathlib.Path
        Event files, all CSV or all Parquet (columns united by name).
    name : str
        Name of the view.

    Returns
    -------
    list of str
        The view's column names.

    Raises
    ------
    ContractError
        If the files cannot be read.
    """
    if files[0].suffix == ".csv":
        reader = f"read_csv({_sql_list(files)}, header = true, all_varchar = true, union_by_name = true)"
    else:
        reader = f"read_parquet({_sql_list(files)}, union_by_name = true)"
    try:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {reader}")
        described = con.execute(f"DESCRIBE {name}").fetchall()
    except duckdb.Error as exc:
        raise ContractError(
            [checks.violation("—", "unreadable file", len(files), (str(exc).splitlines()[0][:200],))]
        ) from None
    return [row[0] for row in described]


def register_reference(con: duckdb.DuckDBPyConnection, ref: dict[str, pd.DataFrame]) -> None:
    """Copy the validated ``accounts``, ``users`` and ``contracts`` into DuckDB.

    Creates ``ref_accounts``, ``ref_users`` (and the view ``users``) and, if given, ``contracts``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection that gets the tables.
    ref : dict of pandas.DataFrame
        Validated ``accounts`` and ``users`` and, for the monthly table, ``contracts``
        (``sources.reference_tables``).
    """
    accounts = ref["accounts"][["account_id"]].astype({"account_id": "str"})
    users = ref["users"][["user_id", "account_id", "activated_at"]].astype({"user_id": "str", "account_id": "str"})
    con.register("accounts_df", accounts)
    con.register("users_df", users)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_accounts AS SELECT DISTINCT CAST(account_id AS VARCHAR) "
        "AS account_id FROM accounts_df"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_users AS SELECT CAST(user_id AS VARCHAR) AS user_id, "
        "CAST(account_id AS VARCHAR) AS account_id, CAST(activated_at AS DATE) AS activated_at FROM users_df"
    )
    con.execute("CREATE OR REPLACE VIEW users AS SELECT * FROM ref_users")
    registered = ["accounts_df", "users_df"]
    if "contracts" in ref:  # only the monthly table needs them, not the checks
        contracts = ref["contracts"][["contract_id", "account_id", "start_date", "end_date", "seats"]].astype(
            {"contract_id": "str", "account_id": "str", "seats": "int64"}
        )
        con.register("contracts_df", contracts)
        registered.append("contracts_df")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE contracts AS SELECT CAST(contract_id AS VARCHAR) AS contract_id, "
            "CAST(account_id AS VARCHAR) AS account_id, CAST(start_date AS DATE) AS start_date, "
            "CAST(end_date AS DATE) AS end_date, CAST(seats AS BIGINT) AS seats FROM contracts_df"
        )
    for name in registered:
        con.unregister(name)


def _months_table(con: duckdb.DuckDBPyConnection, window: Window) -> None:
    months = window.months()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE months AS SELECT CAST(unnest(?) AS DATE) AS month, "
        "CAST(unnest(?) AS INTEGER) AS month_key",
        [[m.date() for m in months], [int(m.year * 12 + m.month - 1) for m in months]],
    )


def build_groups(con: duckdb.DuckDBPyConnection, keys: str = "text") -> int:
    """Create ``event_features``, ``feature_codes`` and ``event_groups`` from the view ``usage_events``.

    Parameters
    ----------
    keys : str
        How ``event_groups`` keys accounts and users (``definitions.KEY_KINDS``).

    Returns
    -------
    int
        Mask words per group (``definitions.mask_words``), the argument of ``definitions.monthly_sql``.

    Raises
    ------
    ContractError
        If a value of the events cannot be read.
    """
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE event_features AS {definitions.FEATURES_SQL}")
        words = definitions.mask_words(checks.one_row(con, definitions.MAX_CODE_SQL)[0])
        con.execute(f"CREATE OR REPLACE TEMP TABLE feature_codes AS {definitions.feature_codes_sql(words)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE event_groups AS {definitions.groups_sql(words, keys)}")
    except duckdb.ConversionException as exc:
        raise ContractError(
            [checks.violation("—", "unreadable values", 1, (str(exc).splitlines()[0][:200],))]
        ) from None
    return words


def _resolved(ref: dict[str, pd.DataFrame] | Future) -> dict[str, pd.DataFrame]:
    """The reference tables, waiting for them if they are still being read (re-raising their errors)."""
    return ref.result() if isinstance(ref, Future) else ref


def scan_and_check(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    ref: dict[str, pd.DataFrame] | Future,
    given: Window | None,
    now: datetime.datetime,
) -> tuple[checks.CheckResult, int, str, dict[str, float]]:
    """Scan the event files once and count every contract problem (``checks.check_groups``).

    Builds ``event_features`` and ``feature_codes`` (``definitions.FEATURES_SQL``, reading the
    feature column only) and ``event_groups`` (``definitions.groups_sql``, hash keys; the only
    pass over all columns), registers the reference tables and checks the groups; events whose
    keys map to no reference user send it to a second scan keyed by the IDs.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        From ``connect``.
    files : list of pathlib.Path
        Event files (all Parquet or all CSV).
    ref : dict of pandas.DataFrame, or a Future of it
        ``accounts`` and ``users`` (and ``contracts`` for the monthly table), typed
        (``sources.reference_tables``). A ``concurrent.futures.Future`` lets them be read while
        DuckDB scans the events; their errors are raised first, as if read before the events.
    given : Window or None
        The data window fixed by the caller, or None (every readable past event is inside).
    now : datetime.datetime
        Naive UTC time after which a timestamp is in the future (``checks.reference_now``).

    Returns
    -------
    result : checks.CheckResult
        Every problem and the counts (not raised).
    words : int
        Mask words of ``event_groups`` (the argument of ``definitions.monthly_sql``).
    keys : str
        How ``event_groups`` is keyed in the end (``"hash"`` or ``"text"``).
    seconds : dict
        Wall time of the scan, of a second scan (``rescan``) if there was one, and of the checks.

    Raises
    ------
    ContractError
        If the files cannot be read or lack contract columns.
    """
    t0 = time.perf_counter()
    try:
        columns = register_events(con, files)
        missing = checks.missing_columns(columns)
        if missing:
            raise ContractError(missing)
        ts_type = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE raw_events)").fetchall())["ts"]
        con.execute(
            "CREATE OR REPLACE VIEW usage_events AS "
            + checks.events_view_sql(
                "raw_events", ts_type, now, given.start if given else None, given.end_exclusive if given else None
            )
        )
        words = build_groups(con, "hash")
    except ContractError:
        _resolved(ref)  # problems of the reference tables come first
        raise
    seconds = {"scan": time.perf_counter() - t0}
    register_reference(con, _resolved(ref))
    t1 = time.perf_counter()

    def check(keys: str) -> checks.CheckResult:
        return checks.check_groups(
            checks.duckdb_query(con),
            "event_groups",
            "raw_events",
            checks.ts_expression(ts_type),
            now,
            features="event_features",
            keys=keys,
        )

    keys = "hash" if checks.register_keys(con) else "text"
    result = None if keys == "text" else check(keys)
    if result is None or result.unmapped:
        # the hash keys cannot say what is wrong with the IDs (or do not identify the reference exactly):
        # scan again keyed by the IDs themselves, which counts and shows every problem
        log.info(
            "usage_events: %s; scanning again keyed by the IDs.",
            "hash keys of the reference tables collide"
            if result is None
            else f"{result.unmapped:,} events match no reference user",
        )
        t2 = time.perf_counter()
        keys = "text"
        build_groups(con, keys)
        seconds["rescan"] = time.perf_counter() - t2
        result = check(keys)
    seconds["check"] = time.perf_counter() - t1 - seconds.get("rescan", 0.0)
    return result, words, keys, seconds


def monthly_relation(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    ref: dict[str, pd.DataFrame] | Future,
    start=None,
    end=None,
    now: pd.Timestamp | None = None,
) -> tuple[str, UsageSummary]:
    """Scan and check the events once (``scan_and_check``), then return the query of the monthly table.

    Parameters
    ----------
    con, files, ref
        As for ``scan_and_check`` (``ref`` with ``contracts`` too).
    start, end : date-like, optional
        The data window (first and last day, inclusive). Default: from the first day of the
        month of the earliest event to the last day of the month of the latest event.
    now : pandas.Timestamp, optional
        Timestamps after it are an error (default: the current UTC time).

    Returns
    -------
    query : str
        SQL selecting the monthly table (``definitions.monthly_sql``).
    summary : UsageSummary
        Counts of the events read, by window and activation, and the check timings.

    Raises
    ------
    ContractError
        With every problem of the events, counted over all rows.
    ParameterError
        If only one end of the window is given.
    """
    given = Window.given(start, end)
    result, words, keys, seconds = scan_and_check(con, files, ref, given, checks.reference_now(now))
    summary = checks.accepted(result, given, "duckdb")
    summary.seconds.update(seconds)
    summary.keys = keys
    _months_table(con, summary.window)
    return definitions.monthly_sql(words, keys), summary


def existing_folder(data_dir: str | os.PathLike | None) -> Path:
    """The data folder of a run (default ``insights.data.paths.raw_dir()``), which must exist.

    Parameters
    ----------
    data_dir : path, optional
        The folder.

    Returns
    -------
    pathlib.Path
        Absolute.

    Raises
    ------
    ParameterError
        If it does not exist.
    """
    folder = paths.resolve_data_dir(data_dir)
    if not folder.is_dir():
        raise ParameterError(f"data folder {folder} does not exist.")
    return folder


def output_target(out: str | os.PathLike | None, folder: Path) -> Path:
    """The file ``usage_monthly`` is written to, checked: never in a raw folder, not a folder, writable.

    Parameters
    ----------
    out : path, optional
        The file; default ``<processed>/usage_monthly.parquet``.
    folder : pathlib.Path
        The raw data folder of the run.

    Returns
    -------
    pathlib.Path
        The absolute target.

    Raises
    ------
    ParameterError
        If it lies in the raw data folder, is a folder or its folder cannot be written.
    """
    target = Path(out).expanduser().resolve() if out is not None else paths.processed_dir() / OUTPUT_FILE
    for raw in {folder, paths.raw_dir()}:
        if target.is_relative_to(raw):
            raise ParameterError(
                f"output {target} is inside the raw data folder {raw}, which is never written; "
                f"write it under the processed folder ({paths.processed_dir()}) instead."
            )
    if target.is_dir():
        raise ParameterError(f"output {target} is a folder; give a file name such as {target / OUTPUT_FILE}.")
    paths.writable_folder(target.parent, "output folder")
    return target


def build_usage_monthly(
    data_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    *,
    start=None,
    end=None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_dir: str | os.PathLike | None = None,
    threads: int | None = None,
    now: pd.Timestamp | None = None,
    events: str | None = None,
) -> UsageSummary:
    """Aggregate ``usage_events`` into ``usage_monthly`` with DuckDB and write it as Parquet.

    Parameters
    ----------
    data_dir : path, optional
        Raw data folder holding ``usage_events`` (one file or a folder of files) and
        ``accounts``, ``contracts``, ``users``. Default ``insights.data.paths.raw_dir()``.
    out : path, optional
        Output file; default ``<processed>/usage_monthly.parquet`` (``insights.data.paths.processed_dir()``).
        Written atomically (a temporary file in the same folder, then renamed).
    start, end : date-like, optional
        Data window, first and last day inclusive (see ``monthly_relation``).
    memory_limit : str
        Memory budget (default ``4GB``); DuckDB gets ``DUCKDB_SHARE`` of it and spills to
        ``temp_dir`` beyond that.
    temp_dir : path, optional
        Parent of the spill folder (default the processed folder).
    threads : int, optional
        DuckDB threads (default: all cores).
    now : pandas.Timestamp, optional
        Reference time for the future-timestamp check (default: now, UTC).
    events : str, optional
        The events: a local path, glob or ``file://`` URI (``sources.locate_events``); default the
        ``usage_events`` files of ``data_dir``.

    Returns
    -------
    UsageSummary
        Counts (including events outside the window), timings and the output path.

    Raises
    ------
    ParameterError
        If the folder or the event files are missing (or ``events`` is not local), a parameter is
        invalid, or ``out`` lies in the raw data folder, is a folder or cannot be written.
    ContractError
        If the events or the reference tables break the data contract.
    """
    folder = existing_folder(data_dir)
    target = output_target(out, folder)
    files = sources.locate_events(events, folder).local_files()
    spill_parent = Path(temp_dir) if temp_dir is not None else target.parent
    with (
        output_folder(target.parent),  # removed again if the run fails and they stay empty
        output_folder(spill_parent) as spill,
        ThreadPoolExecutor(1, thread_name_prefix="usage-reference") as pool,
        connect(memory_limit, spill, threads) as con,
    ):
        ref = pool.submit(sources.reference_tables, folder)  # read while DuckDB scans the events
        query, summary = monthly_relation(con, files, ref, start=start, end=end, now=now)
        t0 = time.perf_counter()
        con.execute(f"CREATE TEMP TABLE usage_monthly AS {query}")
        summary.seconds["aggregate"] = time.perf_counter() - t0
        summary.rows = int(checks.one_row(con, "SELECT count(*) FROM usage_monthly")[0])
        summary.events_outside_contract = int(checks.one_row(con, definitions.outside_contract_sql())[0])
        tmp = temporary_name(target)  # DuckDB creates it, with the usual permissions (not mkstemp's 0600)
        try:
            con.execute(
                f"COPY (SELECT * FROM usage_monthly ORDER BY account_id, month) TO "
                f"{_sql_text(tmp)} (FORMAT parquet, COMPRESSION zstd)"
            )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    summary.output = str(target)
    log.info(summary.describe())
    return summary


def usage_monthly_frame(
    data_dir: str | os.PathLike | None = None,
    *,
    start=None,
    end=None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    now: pd.Timestamp | None = None,
    events: str | None = None,
) -> tuple[pd.DataFrame, UsageSummary]:
    """Like ``build_usage_monthly`` but return the (small) monthly table as a DataFrame, writing nothing.

    Parameters
    ----------
    data_dir : path, optional
        Raw data folder (default ``insights.data.paths.raw_dir()``).
    start, end : date-like, optional
        Data window, first and last day inclusive (see ``monthly_relation``); both or neither.
    memory_limit : str
        Memory budget such as ``4GB`` (see ``connect``).
    now : pandas.Timestamp, optional
        Reference time for the future-timestamp check (default: now, UTC).
    events : str, optional
        As for ``build_usage_monthly``.

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``insights.metrics.usage.definitions.MONTHLY_COLUMNS``, sorted by account_id, month.
    summary : UsageSummary
        Counts and timings of the run (``output`` is None).

    Raises
    ------
    ParameterError
        If the folder does not exist, has no event files, or the window or memory limit is invalid.
    ContractError
        With every problem of the events and reference tables.
    """
    folder = existing_folder(data_dir)
    files = sources.locate_events(events, folder).local_files()
    with ThreadPoolExecutor(1, thread_name_prefix="usage-reference") as pool, connect(memory_limit) as con:
        ref = pool.submit(sources.reference_tables, folder)  # read while DuckDB scans the events
        query, summary = monthly_relation(con, files, ref, start=start, end=end, now=now)
        frame = con.execute(query).df()
        summary.rows = len(frame)
    return definitions.monthly_frame(frame), summary


def event_problems(
    location: sources.EventsLocation,
    ref: dict[str, pd.DataFrame],
    now: datetime.datetime,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> tuple[list[Violation], int]:
    """Every contract problem of the events, counted out of core (the checks of ``scan_and_check``).

    Parameters
    ----------
    location : sources.EventsLocation
        The events (local files).
    ref : dict of pandas.DataFrame
        Typed ``accounts`` and ``users``.
    now : datetime.datetime
        Naive UTC time after which a timestamp is in the future.
    memory_limit : str
        Memory budget (see ``connect``).

    Returns
    -------
    violations : list of Violation
        Empty when the events meet the contract.
    rows : int
        Event rows read (0 when the files could not be read).

    Raises
    ------
    ParameterError
        If the location is not local or matches no file, or the memory limit is not a size.
    """
    files = location.local_files()
    with connect(memory_limit) as con:
        try:
            result = scan_and_check(con, files, ref, None, now)[0]
        except ContractError as exc:
            return list(exc.violations), 0
    return result.violations, result.rows
