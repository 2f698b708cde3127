"""Benchmark: Spark local[2] against DuckDB on the same events file, check and aggregate phases.

Run: .venv/bin/python bench/bench_usage_spark.py [--size 20000000] [--workdir DIR] [--driver-memory 4g]

The events are ``bench_usage_events.py``'s generated data (same generator, reused from
``DIR/n<N>`` when present). Each engine runs in its own process, once:

- duckdb : ``insights.metrics.usage.build_usage_monthly`` (2 threads, the machine's cores, 4GB budget);
- spark  : ``insights.metrics.usage.spark_engine.usage_monthly_spark`` in ``local[2]`` (session start
           timed apart), the same checks and definitions transpiled to Spark SQL.

Phases: ``scan`` (features + the one grouping pass over the events), ``check`` (the contract checks on
the grouped result), ``aggregate`` (the monthly metrics). Per-core throughput = events / (scan + check
+ aggregate) / 2 cores. Prints one JSON line per engine and the load average before and after.
Nothing here is a test; docs/benchmarks_usage_events.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_usage_events import generated

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import pandas as pd
mode, data = sys.argv[1], Path(sys.argv[2])
now = pd.Timestamp("2026-11-01")
t0 = time.perf_counter()
extra = {}
if mode == "duckdb":
    from insights.metrics.usage import build_usage_monthly
    out = data.parent / "out" / "usage_monthly.parquet"
    s = build_usage_monthly(data, out, temp_dir=data.parent / "spill", now=now)
else:
    from insights.metrics.usage.spark_engine import spark_session, usage_monthly_spark
    spark = spark_session("local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    extra["session_s"] = time.perf_counter() - t0
    frame, s = usage_monthly_spark(data, spark=spark, now=now)
    import psutil
    extra["jvm_rss_mb"] = sum(c.memory_info().rss for c in psutil.Process().children(recursive=True)) / 2**20
wall = time.perf_counter() - t0
print(json.dumps({"mode": mode, "wall_s": wall, "rows": s.rows, "events": s.events_read,
                  "scan_s": s.seconds["scan"], "check_s": s.seconds["check"],
                  "aggregate_s": s.seconds["aggregate"],
                  "python_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))
"""


def main() -> None:
    """Generate (or reuse) the events and time both engines, one process each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/insights-bench"))
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    data = args.workdir / f"n{args.size}"
    data.mkdir(parents=True, exist_ok=True)
    info = generated(args.size, data)
    (args.workdir / "out").mkdir(exist_ok=True)
    print(json.dumps({"generated": info.get("reused", False), "load_before": os.getloadavg()}), flush=True)
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": f"--driver-memory {args.driver_memory} pyspark-shell"}
    for mode in ("duckdb", "spark"):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(data)], capture_output=True, text=True, env=env)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            print(json.dumps({"mode": mode, "failed": done.stderr.strip().splitlines()[-3:]}), flush=True)
            continue
        result = json.loads(lines[-1])
        work = result["scan_s"] + result["check_s"] + result["aggregate_s"]
        result["events_per_core_s"] = result["events"] / work / 2
        result["process_s"] = time.perf_counter() - t0
        result["load_after"] = os.getloadavg()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
