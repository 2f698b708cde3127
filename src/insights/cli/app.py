"""Command-line interface: ``insights demo-data | validate | report``.

Errors a user can cause print a plain message (no traceback) and exit non-zero.
"""

from __future__ import annotations

from pathlib import Path

import typer

from insights.cli.common import parse_date_option
from insights.cli.common import user_errors as _user_errors
from insights.cli.usage import ENGINE_HELP, MASTER_HELP, usage_monthly

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain errors: a bad option value is one "Error: ..." line, not a box
    help="Customer-success analytics: demo data, data validation and the quarterly report.",
)


def _register_subcommands() -> None:
    from insights.cli.pilot import pilot_app
    from insights.cli.sources import sources_app

    app.add_typer(pilot_app, name="pilot")
    app.add_typer(sources_app, name="sources")


_register_subcommands()


@app.command("demo-data")
@_user_errors
def demo_data(
    accounts: int = typer.Option(2000, "--accounts", "-n", help="Number of accounts."),
    seed: int = typer.Option(7, "--seed", "-s", help="Random seed; the same seed gives the same bytes."),
    out: Path = typer.Option(None, "--out", "-o", help="Output folder (default: data/raw). Must hold no data."),
    end: str = typer.Option("2026-09-30", "--end", help="Last day of the history (a quarter end)."),
    years: int = typer.Option(3, "--years", help="Years of history."),
    events: bool = typer.Option(
        False,
        "--events",
        help="Also write raw product-usage events (usage_events.parquet, consistent with usage_monthly; large).",
    ),
):
    """Write a seeded demo dataset (all raw tables + ground_truth.json).\f

    Parameters
    ----------
    accounts, seed, end, years : int, int, str, int
        The ``insights.demo.DemoSpec``.
    out : pathlib.Path or None
        Output folder (default ``data/raw``); it must hold no data.
    events : bool
        Also write ``usage_events.parquet``.
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    import time

    from insights.data import paths
    from insights.demo import DemoSpec, write_demo

    parse_date_option(end, "--end")
    target = paths.resolve_data_dir(out)
    start = time.perf_counter()
    truth = write_demo(target, DemoSpec(n_accounts=accounts, seed=seed, end=end, years=years), events=events)
    typer.echo(
        f"Wrote demo data for {accounts} accounts (seed {seed}) to {target} "
        f"in {time.perf_counter() - start:.1f} s; true top driver: {truth['ranking']['overall'][0]}."
    )


SOURCES_HELP = "Source mapping file (default: config/sources.yaml if it exists; see docs/sources.md)."
SOURCE_HELP = "Database URL, e.g. postgresql://user@host/db (password from PGPASSWORD or ~/.pgpass)."


@app.command()
@_user_errors
def validate(
    data_dir: str | None = typer.Argument(
        None, help="Raw data folder, mapping file or database URL (default: data/raw)."
    ),
    sources: Path | None = typer.Option(None, "--sources", help=SOURCES_HELP),
    source: str | None = typer.Option(None, "--source", help=SOURCE_HELP),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Dates recorded after this day (YYYY-MM-DD) are violations (default: today)."
    ),
    engine: str | None = typer.Option(None, "--engine", help="Engine that checks usage_events: " + ENGINE_HELP),
    master: str | None = typer.Option(None, "--master", help=MASTER_HELP),
    memory_limit: str = typer.Option("4GB", "--memory-limit", help="DuckDB's memory budget for the events."),
):
    """Check raw tables (or a source mapping) against the data contract; print every problem (exit 2 if any).\f

    Parameters
    ----------
    data_dir : str or None
        Raw data folder, mapping file or database URL (default: the mapping ``config/sources.yaml`` if
        it exists, else ``data/raw``).
    sources : pathlib.Path or None
        A source mapping file.
    source : str or None
        A database URL.
    as_of : str or None
        Recorded dates after this day are violations (default today).
    engine, master, memory_limit : str or None, str or None, str
        How ``usage_events`` are checked: out of core on DuckDB or on Spark, never in pandas
        (``insights.metrics.usage.run.event_violations``).

    Raises
    ------
    typer.Exit
        With code 2 when there are violations (a mapping error exits 2 through ``user_errors``).
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    from insights.data.loading import validate_dir
    from insights.data.raw_files import table_files
    from insights.data.sources.locate import locate, prepare
    from insights.errors import ParameterError, format_violations

    day = parse_date_option(as_of, "--as-of")
    from insights.metrics.usage.run import chosen_engine

    engine, master = chosen_engine(engine, master)  # checked first, whether or not there are events
    from insights.metrics.usage.duckdb_engine import memory_bytes

    if memory_bytes(memory_limit) <= 0:
        raise ParameterError(f"--memory-limit must be more than 0, got {memory_limit}.")
    origin = locate(data_dir, sources, source)
    folder = prepare(origin)
    where = origin.describe() if origin.mapped else str(folder)
    violations = validate_dir(folder, include_events=False, as_of=day)
    if table_files(folder, "usage_events"):  # the events are checked out of core, never loaded into pandas
        violations += _event_violations(folder, day, engine, master, memory_limit)
    if violations:
        typer.echo(
            f"error: {where}: {len(violations)} contract violation(s)\n{format_violations(violations)}", err=True
        )
        raise typer.Exit(2)
    typer.echo(f"{where}: all tables meet the data contract.")


def _event_violations(folder: Path, day, engine: str | None, master: str | None, memory_limit: str) -> list:
    """The contract violations of ``usage_events`` in ``folder``, checked out of core against its accounts and users."""
    import pandas as pd

    from insights.data import loading
    from insights.data.validation import as_of_day, validate_tables
    from insights.metrics.usage.run import event_violations

    raw, _, _ = loading.read_raw(folder, include_events=False)
    typed, _ = validate_tables({name: raw.get(name) for name in ("accounts", "users")})
    empty = {
        "accounts": pd.DataFrame({"account_id": pd.Series([], dtype="str")}),
        "users": pd.DataFrame(
            {
                "user_id": pd.Series([], dtype="str"),
                "account_id": pd.Series([], dtype="str"),
                "activated_at": pd.Series([], dtype="datetime64[ns]"),
            }
        ),
    }
    # a reference table that is missing or lacks a key column has its own violation already;
    # the events are then checked against an empty one rather than crashing on the absent column
    ref = {
        name: typed[name] if name in typed and set(frame.columns) <= set(typed[name].columns) else frame
        for name, frame in empty.items()
    }
    return event_violations(folder, ref, as_of_day(day), engine=engine, master=master, memory_limit=memory_limit)[0]


@app.command()
@_user_errors
def report(
    quarter: str | None = typer.Option(
        None, "--quarter", "-q", help="Quarter like 2026Q3 (default: latest complete quarter in the data)."
    ),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Raw data folder, source mapping file or database URL (default: config/sources.yaml if it exists, "
        "else data/raw; demo data is generated there if it is empty).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing report of this quarter."),
    pilot: str | None = typer.Option(None, "--pilot", help="Pilot to read out (default: the latest one)."),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", help="Notebooks run at once (default: one per CPU, at most 4; 1 = one after the other)."
    ),
    sources: Path | None = typer.Option(None, "--sources", help=SOURCES_HELP),
    source: str | None = typer.Option(None, "--source", help=SOURCE_HELP),
):
    """Run every report notebook into reports/<quarter>/ (executed notebooks, HTML, manifest).\f

    Parameters
    ----------
    quarter, data, force, pilot, jobs, sources, source
        As ``insights.report.runner.run_report``'s quarter, data_dir, force, pilot, jobs, sources and source.

    Raises
    ------
    typer.Exit
        With code 1 when a notebook failed.
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    from insights.report.runner import run_report

    outcome = run_report(
        quarter=quarter, data_dir=data, force=force, pilot=pilot, jobs=jobs, sources=sources, source=source
    )
    typer.echo(outcome.summary())
    if not outcome.ok:
        failed = [r for r in outcome.results if r.status == "failed"]
        typer.echo(
            f"error: {len(failed)} notebook(s) failed: "
            + ", ".join(f"{r.file} (cell {r.failed_cell})" for r in failed),
            err=True,
        )
        raise typer.Exit(1)


app.command("usage-monthly")(_user_errors(usage_monthly))


def main() -> None:
    """Entry point of the ``insights`` command."""
    app(prog_name="insights")


if __name__ == "__main__":  # pragma: no cover
    main()
