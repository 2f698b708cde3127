"""The analyst's entry point to data: demo data when there is none, then validated tables."""

from __future__ import annotations

import os
from pathlib import Path

from insights.data import paths
from insights.errors import ParameterError
from insights.data.loading import Tables, cached_tables, has_data, load_tables
from insights.metrics.periods import Quarter, latest_complete_quarter, parse_quarter
from insights.data.raw_files import GROUND_TRUTH_FILE
from insights.data.settings import load_settings



def is_default_dir(data_dir: str | os.PathLike | None) -> bool:
    """Whether ``data_dir`` is the configured raw folder (``data/raw`` or ``$INSIGHTS_DATA_DIR``)."""
    return paths.resolve_data_dir(data_dir) == paths.raw_dir()


def is_demo(data_dir: str | os.PathLike | None = None) -> bool:
    """Whether the folder holds generated demo data (it carries ``ground_truth.json``)."""
    return (paths.resolve_data_dir(data_dir) / GROUND_TRUTH_FILE).exists()


def ensure_data(data_dir: str | os.PathLike | None = None, quiet: bool = False) -> Path:
    """Return the data folder, first writing demo data into it if it is the default and empty.

    Only the configured raw folder is filled automatically; an explicit folder
    without data is an error, so a typo never silently turns into demo numbers.

    Raises
    ------
    ParameterError
        If an explicitly given folder holds no raw tables.
    """
    folder = paths.resolve_data_dir(data_dir)
    if has_data(folder):
        return folder
    if not is_default_dir(folder):
        raise ParameterError(f"{folder} holds no raw tables (expected accounts.csv, contracts.csv, ...). "
                             "Point --data at your export, or leave it out to use the demo data.")
    from insights.demo import DemoSpec, write_demo

    settings = load_settings()
    spec = DemoSpec(n_accounts=settings.demo_accounts, seed=settings.demo_seed, end=settings.demo_end,
                    years=settings.demo_years)
    if not quiet:
        print(f"{folder} holds no data: writing DEMO DATA ({spec.n_accounts} accounts, seed {spec.seed}).")
    write_demo(folder, spec)
    return folder


def load(data_dir: str | os.PathLike | None = None, include_events: bool = False) -> Tables:
    """Validated raw tables of ``data_dir`` (demo data first if the default folder is empty).

    Tables validated before (same bytes, same checks) come from the typed-table cache
    that the report runner fills (``insights.data.table_cache``). See
    ``insights.data.loading.load_tables`` for the returned object and errors.
    """
    if not include_events:  # a cached dataset needs neither demo data nor validation
        cached = cached_tables(paths.resolve_data_dir(data_dir))
        if cached is not None:
            return cached
    return load_tables(ensure_data(data_dir, quiet=True), include_events=include_events, use_cache=False)


def resolve_quarter(quarter: str | None, tables: Tables) -> Quarter:
    """The quarter to report on: the one given (if the data covers it) or the latest complete one.

    Raises
    ------
    ParameterError
        If the quarter is malformed or not covered by the data.
    """
    data_start = tables.usage_monthly["month"].min()
    latest = latest_complete_quarter(tables.as_of)
    if quarter is None or str(quarter).strip() == "":
        return latest
    q = parse_quarter(quarter)
    if q > latest or q.start < data_start:
        raise ParameterError(f"quarter {q} is not covered by the data, which runs from {data_start:%Y-%m-%d} "
                             f"to {tables.as_of:%Y-%m-%d}; the latest complete quarter is {latest}.")
    return q


def output_folder(output_dir, quarter) -> Path:
    """Where a notebook writes its CSVs and headlines: ``output_dir`` (the report folder when run by
    the report) or ``data/processed/actions/<quarter>`` when run on its own."""
    if output_dir:
        return paths.resolve_data_dir(output_dir)
    return paths.processed_dir() / "actions" / str(quarter)
