"""Benchmark: a warehouse table read through a source mapping, in chunks, against reading it whole.

Run: .venv/bin/python bench/bench_sources.py [--rows 1000000 3000000] [--chunk-rows 100000]

Starts a throwaway PostgreSQL server (tests/postgres_server.py), fills a ``usage_monthly`` table with
``generate_series`` (six columns), then in a fresh process per measurement either materialises it with
``insights.data.sources.snapshot.materialise`` (server-side cursor, ``chunk_rows`` at a time, each chunk
mapped and appended to Parquet) or reads it whole with ``pandas.read_sql_query``, and prints wall time
and peak memory (ru_maxrss). Results are recorded in docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = r"""
import json, os, resource, sys, tempfile, time
mode, url, chunk_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.environ["INSIGHTS_PROCESSED_DIR"] = tempfile.mkdtemp()
import pandas as pd
from insights.data.sources import warehouse
t0 = time.perf_counter()
if mode == "chunked":
    from insights.data.sources.snapshot import materialise
    from insights.data.sources.spec import SourceMapping, TableMapping
    table = TableMapping("usage_monthly", query="SELECT * FROM usage_monthly")
    folder = materialise(SourceMapping(None, url, {"usage_monthly": table}, chunk_rows))
    import pyarrow.parquet as pq
    rows = pq.ParquetFile(folder / "usage_monthly.parquet").metadata.num_rows
else:
    eng = warehouse.engine(url)
    frame = pd.read_sql_query("SELECT * FROM usage_monthly", eng)
    rows = len(frame)
seconds = time.perf_counter() - t0
print(json.dumps({"rows": rows, "s": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FILL = """
DROP TABLE IF EXISTS usage_monthly;
CREATE TABLE usage_monthly AS
SELECT 'A' || lpad((i % 50000)::text, 6, '0') AS account_id,
       (date '2020-01-01' + ((i / 50000) || ' month')::interval)::date AS month,
       (i % 40) AS active_users, (i % 45) AS activated_seats, (i % 997) * 3 AS events, (i % 24) AS distinct_features
FROM generate_series(0, {n} - 1) AS i;
"""


def main() -> None:
    """Print one line per table size and reading mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    import postgres_server

    server = postgres_server.start("bench-password")
    env = {**os.environ, "PGPASSWORD": "bench-password"}
    try:
        admin = create_engine(server.url(with_password=True).replace("postgresql://", "postgresql+psycopg://"))
        print(f"python {platform.python_version()}, {platform.machine()}, cores: {os.cpu_count()}")
        print(f"{'rows':>11} {'mode':>24} {'s':>7} {'peak MB':>8}")
        for n in args.rows:
            with admin.begin() as conn:
                for statement in FILL.format(n=n).split(";"):
                    if statement.strip():
                        conn.execute(text(statement))
            for mode in ("chunked", "whole"):
                res = subprocess.run(
                    [sys.executable, "-c", CHILD, mode, server.url(), str(args.chunk_rows)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                )
                r = json.loads(res.stdout.strip().splitlines()[-1])
                label = f"chunked ({args.chunk_rows:,})" if mode == "chunked" else "whole (read_sql)"
                print(f"{r['rows']:>11,} {label:>24} {r['s']:>7.1f} {r['peak_mb']:>8.0f}")
        admin.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
