"""One entry for both engines: build ``usage_monthly`` or check the events, on DuckDB or on Spark.

The command line (``insights usage-monthly``, ``insights validate``), the ``spark-submit`` job
(``insights.cli.spark_submit``) and the report runner call these, with the engine chosen by
``--engine`` or the ``usage.engine`` setting (``config/settings.yaml``; DuckDB by default).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING

from insights.data.settings import USAGE_ENGINES, load_settings
from insights.errors import ParameterError
from insights.metrics.usage import sources
from insights.metrics.usage.duckdb_engine import (
    DEFAULT_MEMORY_LIMIT,
    build_usage_monthly,
    event_problems,
    existing_folder,
    output_target,
)
from insights.metrics.usage.window import UsageSummary

if TYPE_CHECKING:
    import pandas as pd

    from insights.data.validation import Violation


def chosen_engine(engine: str | None = None, master: str | None = None) -> tuple[str, str | None]:
    """The engine and Spark master of a run: as given, else the ``usage`` settings.

    Parameters
    ----------
    engine : str, optional
        ``"duckdb"`` or ``"spark"`` (default: ``usage.engine`` of ``config/settings.yaml``).
    master : str, optional
        Spark master URL (default: ``usage.master``; None lets ``spark-submit`` or ``local[2]`` decide).

    Returns
    -------
    engine : str
    master : str or None

    Raises
    ------
    ParameterError
        If the engine is unknown, a master is given with the DuckDB engine, or the Spark engine is
        chosen without pyspark and sqlglot installed (one line naming the ``spark`` extra).
    ConfigError
        If the settings file is invalid.
    """
    settings = load_settings() if engine is None or master is None else None
    engine = engine or (settings.usage_engine if settings else "duckdb")
    if engine not in USAGE_ENGINES:
        raise ParameterError(f"unknown engine {engine!r}; use one of {', '.join(USAGE_ENGINES)}.")
    if engine == "duckdb" and master is not None:
        raise ParameterError(f"--master {master} applies to the Spark engine only: add --engine spark.")
    if master is None and settings is not None:
        master = settings.usage_master
    if engine == "spark":
        from insights.metrics.usage.spark_engine import require_spark

        require_spark()
    return engine, master


def build(
    data_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    *,
    engine: str | None = None,
    events: str | None = None,
    master: str | None = None,
    start=None,
    end=None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    now: pd.Timestamp | None = None,
) -> UsageSummary:
    """Check ``usage_events`` and write ``usage_monthly`` as Parquet, on the chosen engine.

    Parameters
    ----------
    data_dir : path, optional
        Folder of the reference tables (and of the events unless ``events`` is given); default
        ``insights.data.paths.raw_dir()``. A source mapping is prepared into such a folder first
        (``insights.data.sources.locate``).
    out : path, optional
        Output file (default ``<processed>/usage_monthly.parquet``), written atomically.
    engine : str, optional
        ``"duckdb"`` or ``"spark"`` (``chosen_engine``).
    events : str, optional
        A path, glob or URI, or (Spark only) a table of the Spark catalog (``sources.locate_events``).
    master : str, optional
        Spark master URL (Spark only).
    start, end : date-like, optional
        The data window, both or neither.
    memory_limit : str
        DuckDB's memory budget.
    now : pandas.Timestamp, optional
        Later timestamps are an error (default: now, UTC).

    Returns
    -------
    UsageSummary
        Counts, timings and the output path.

    Raises
    ------
    ParameterError
        If a parameter, the folder or the events are wrong, or the engine is not installed.
    ContractError
        With every problem of the events and of the reference tables.
    """
    engine, master = chosen_engine(engine, master)
    if engine == "duckdb":
        return build_usage_monthly(
            data_dir, out, start=start, end=end, memory_limit=memory_limit, now=now, events=events
        )
    from insights.data.output_files import output_folder, write_atomic
    from insights.metrics.usage.spark_engine import spark_session, usage_monthly_spark

    folder = existing_folder(data_dir)
    target = output_target(out, folder)
    frame, summary = usage_monthly_spark(
        folder, start=start, end=end, spark=spark_session(master), now=now, events=events
    )
    with output_folder(target.parent):
        # month as a Parquet DATE, as DuckDB writes it: the same file whatever the engine
        table = frame.assign(month=frame["month"].dt.date)
        write_atomic(target, table.to_parquet(index=False, compression="zstd"))
    summary.output = str(target)
    return summary


def event_violations(
    data_dir: Path,
    ref: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    *,
    engine: str | None = None,
    events: str | None = None,
    master: str | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> tuple[list[Violation], int]:
    """Check the events against the contract out of core (never in pandas), on the chosen engine.

    The checks of ``usage-monthly`` (``insights.metrics.usage.checks``): missing columns and values,
    unknown accounts and users, users of another account, unreadable timestamps and timestamps
    after the as-of day.

    Parameters
    ----------
    data_dir : pathlib.Path
        The data folder (its ``usage_events`` files are checked unless ``events`` is given).
    ref : dict of pandas.DataFrame
        Typed ``accounts`` and ``users`` (from the validation of the other tables).
    as_of : pandas.Timestamp
        Timestamps after the end of this day (UTC) are violations.
    engine, events, master, memory_limit
        As for ``build``.

    Returns
    -------
    violations : list of Violation
        Empty when the events meet the contract.
    rows : int
        Event rows read.

    Raises
    ------
    ParameterError
        If the events cannot be found or the engine is not installed.
    """
    engine, master = chosen_engine(engine, master)
    location = sources.locate_events(events, data_dir)
    day_end = datetime.datetime.combine(as_of.date(), datetime.time.max)
    if engine == "duckdb":
        return event_problems(location, ref, day_end, memory_limit)
    from insights.metrics.usage.spark_engine import event_problems_spark, spark_session

    return event_problems_spark(spark_session(master), location, ref, day_end)


#: Folder (under the processed folder) of the data folders completed with a built ``usage_monthly``.
DERIVED_FOLDER = "with_usage_monthly"


def with_usage_monthly(
    folder: Path, engine: str | None = None, master: str | None = None
) -> tuple[Path, dict[str, object] | None]:
    """``folder``, or a copy of it with ``usage_monthly`` built from its events when it has none.

    A folder with ``usage_events`` but no ``usage_monthly`` is copied (every file but the events)
    into ``<processed>/with_usage_monthly/<sha256 of the copy>/``, with ``usage_monthly.parquet``
    built by ``build`` on the configured engine; the raw folder is never written. An identical
    earlier copy is reused.

    Parameters
    ----------
    folder : pathlib.Path
        A folder of contract tables.
    engine, master : str, optional
        As for ``build`` (default: the ``usage`` settings, DuckDB).

    Returns
    -------
    folder : pathlib.Path
        ``folder`` itself, or the completed copy.
    record : dict or None
        None when nothing was built; else what the manifest records: ``engine``, ``events_read``,
        ``events_aggregated``, ``rows`` and ``events_sha256`` (SHA-256 of each event file).

    Raises
    ------
    ParameterError, ContractError
        As ``build``: the events or the reference tables break the contract, or the engine is missing.
    """
    import hashlib
    import json
    import shutil

    from insights.data import paths
    from insights.data.output_files import temporary_name
    from insights.data.raw_files import table_files
    from insights.data.table_cache import input_hashes

    events = table_files(folder, sources.EVENTS)
    if not events or table_files(folder, "usage_monthly"):
        return folder, None
    engine, master = chosen_engine(engine, master)
    root = paths.processed_dir() / DERIVED_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(root / "copy")
    tmp.mkdir()
    try:
        skipped = {sources.EVENTS, f"{sources.EVENTS}.csv", f"{sources.EVENTS}.parquet"}
        for item in sorted(folder.iterdir()):
            if item.name.startswith(".") or item.name in skipped:
                continue
            if item.is_dir():
                shutil.copytree(item, tmp / item.name)
            else:
                shutil.copy2(item, tmp / item.name)
        summary = build(folder, tmp / "usage_monthly.parquet", engine=engine, master=master)
        digest = hashlib.sha256(json.dumps(input_hashes(tmp), sort_keys=True).encode()).hexdigest()
        final = root / digest
        if final.is_dir():
            os.utime(final)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    hashes = input_hashes(folder)
    record: dict[str, object] = {
        "built_from": sources.EVENTS,
        "engine": engine,
        "events_read": summary.events_read,
        "events_aggregated": summary.events_aggregated,
        "rows": summary.rows,
        "events_sha256": {
            name: digest for name, digest in hashes.items() if name.split("/")[0].startswith(sources.EVENTS)
        },
    }
    return final, record
