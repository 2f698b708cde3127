"""``insights usage-monthly``: usage_events -> usage_monthly on DuckDB or Spark.

The same command is the ``spark-submit`` job (``insights.cli.spark_submit``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from insights.cli.common import parse_date_option

ENGINE_HELP = "duckdb (one machine, out of core) or spark (default: usage.engine in config/settings.yaml, duckdb)."
MASTER_HELP = "Spark master: local[2], yarn, spark://host:7077 (default: spark-submit's --master, else local[2])."
EVENTS_HELP = (
    "The events: a path, glob or URI (file://, hdfs://, s3a://; .csv files are CSV, others Parquet) or, "
    "with --engine spark, a table of the Spark catalog (default: usage_events in the data folder)."
)


def usage_monthly(
    data: str | None = typer.Option(
        None,
        "--data",
        help="Folder of accounts, contracts and users (and usage_events), a source mapping file or a database "
        "URL (default: config/sources.yaml if it exists, else data/raw).",
    ),
    events: str | None = typer.Option(None, "--events", help=EVENTS_HELP),
    engine: str | None = typer.Option(None, "--engine", help=ENGINE_HELP),
    master: str | None = typer.Option(None, "--master", help=MASTER_HELP),
    memory_limit: str = typer.Option(
        "4GB", "--memory-limit", help="DuckDB's memory budget (it gets 80% of it and spills to disk beyond that)."
    ),
    start: str | None = typer.Option(
        None, "--start", help="First day of the data window (default: first month with events)."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last day of the data window (default: last month with events)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output file (default: data/processed/usage_monthly.parquet)."),
):
    """Check usage_events and aggregate them into usage_monthly, on DuckDB (out of core) or Spark.\f

    Parameters
    ----------
    data, events, engine, master, memory_limit, start, end, out
        As ``insights.metrics.usage.run.build``'s data_dir (a folder, mapping file or database URL),
        events, engine, master, memory_limit, start, end and out.
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    from insights.data.sources.locate import locate, prepare
    from insights.metrics.usage.run import build, chosen_engine

    first, last = parse_date_option(start, "--start"), parse_date_option(end, "--end")
    engine, master = chosen_engine(engine, master)  # refuses at once when the Spark extra is missing
    folder = prepare(locate(data))
    summary = build(
        folder, out, engine=engine, events=events, master=master, start=first, end=last, memory_limit=memory_limit
    )
    typer.echo(summary.describe())
