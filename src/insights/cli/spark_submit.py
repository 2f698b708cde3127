"""The ``spark-submit`` job: ``insights usage-monthly`` on Spark, with the same options.

Run it with ``spark-submit`` (README, "On a cluster")::

    PYSPARK_PYTHON=.venv/bin/python .venv/bin/spark-submit --master local[2] src/insights/cli/spark_submit.py
        --data data/raw --events 'data/raw/usage_events*.parquet' --out data/processed/usage_monthly.parquet

The engine is Spark unless ``--engine`` says otherwise, and the master is the one ``spark-submit``
was given (``--master`` of the job itself overrides it). The driver needs ``insights`` installed;
the executors run plain Spark SQL and need nothing but Spark.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a file: its folder (cli/) must not shadow top-level modules
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]


def main(argv: list[str] | None = None) -> None:
    """Run ``insights usage-monthly`` with ``argv`` (default the command line), on Spark by default.

    Parameters
    ----------
    argv : list of str, optional
        The options of ``insights usage-monthly`` (``--data``, ``--events``, ``--engine``, ``--master``,
        ``--start``, ``--end``, ``--out``, ``--memory-limit``).

    Raises
    ------
    SystemExit
        With 0 on success, 2 on a user error (the message is printed, no traceback).
    """
    import typer

    from insights.cli.common import user_errors
    from insights.cli.usage import usage_monthly

    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--engine" or a.startswith("--engine=") for a in args):
        args = ["--engine", "spark", *args]
    job = typer.Typer(add_completion=False, rich_markup_mode=None)
    job.command()(user_errors(usage_monthly))
    job(args=args, prog_name="spark-submit .../insights/cli/spark_submit.py")


if __name__ == "__main__":
    main()
