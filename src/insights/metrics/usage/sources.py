"""Where the usage inputs come from: the event files and the small reference tables.

Events stay on disk (DuckDB scans them); ``accounts``, ``contracts`` and ``users`` are small and
are read and validated with the regular loader rules.
"""

from __future__ import annotations

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
