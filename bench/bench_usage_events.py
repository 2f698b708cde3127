"""Benchmark: usage_events -> usage_monthly with DuckDB (out of core), pandas, and the floor.

Run: .venv/bin/python bench/bench_usage_events.py [--sizes 1000000 20000000 100000000]
                                                  [--memory-limit 4GB] [--pandas-max 100000000]
                                                  [--pandas-rss-cap-gb 16] [--workdir DIR] [--keep]
                                                  [--modes floor duckdb pandas] [--repeat 1]

With ``--workdir DIR`` the generated files are kept in ``DIR/n<N>`` and reused by later runs (the
generator is deterministic; delete the folder to regenerate); without it they go to a temporary
folder removed at the end (unless ``--keep``).

For each size N it generates realistic events (users nested in accounts, skewed account sizes,
skewed activity per user and per feature, one year of timestamps) as Parquet with DuckDB, plus
the small accounts/contracts/users tables, then times in separate processes (so a failure or an
out-of-memory of pandas cannot kill the benchmark, and peak memory, ru_maxrss, is per run):

- duckdb : ``insights.metrics.usage.build_usage_monthly`` (contract checks + definitions + Parquet write);
- pandas : the straightforward pandas version (read Parquet, the same checks with isin/map,
           ``insights.metrics.usage.reference.monthly_pandas``); stopped when its resident memory passes
           ``--pandas-rss-cap-gb`` (counted as "does not fit"), so the machine stays usable;
- floor  : a bare DuckDB grouped count of the same file by account and month.

Results go to stdout as a table; docs/benchmarks_usage_events.md records one run. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

EPOCH = "2025-01-01"


def _h01(expr: str, salt: int) -> str:
    """A deterministic uniform [0, 1) number from an integer expression (DuckDB SQL)."""
    return f"((hash({expr}, {salt}) % 1000003)::DOUBLE / 1000003.0)"


def generate(n: int, out: Path, threads: int | None = None) -> dict:
    """Write usage_events.parquet (N rows) and accounts/contracts/users CSVs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    n_acc = max(100, n // 4000)
    n_users = max(1000, n // 200)
    con = duckdb.connect(
        config={"preserve_insertion_order": False, "memory_limit": "4GB", **({"threads": threads} if threads else {})}
    )
    con.execute("SET enable_progress_bar = false")
    acc_of = lambda u: f"floor({n_acc} * pow({_h01(u, 1)}, 1.6))::BIGINT"  # noqa: E731 - skewed account sizes
    t0 = time.perf_counter()
    con.execute(f"""COPY (
        SELECT 'A' || lpad(a::VARCHAR, 6, '0') AS account_id, 'Account ' || a AS name,
               'software' AS industry, 'EMEA' AS region, 'DE' AS country, 'core' AS line_of_business,
               50 + a % 900 AS employees, DATE '2024-01-01' AS created_at
        FROM range({n_acc}) t(a)) TO '{out / "accounts.csv"}' (HEADER)""")
    con.execute(f"""CREATE TABLE users AS
        SELECT 'U' || lpad(u::VARCHAR, 8, '0') AS user_id, 'A' || lpad(({acc_of("u")})::VARCHAR, 6, '0') AS account_id,
               CASE WHEN u % 10 = 0 THEN 'admin' ELSE 'member' END AS role,
               DATE '2024-06-01' + (u % 150)::INTEGER AS invited_at,
               DATE '2024-06-01' + (u % 150 + 3)::INTEGER AS activated_at
        FROM range({n_users}) t(u)""")
    con.execute(f"COPY users TO '{out / 'users.csv'}' (HEADER)")
    con.execute(f"""COPY (
        SELECT 'C' || lpad(a::VARCHAR, 7, '0') AS contract_id, 'A' || lpad(a::VARCHAR, 6, '0') AS account_id,
               DATE '{EPOCH}' AS start_date, DATE '2025-12-31' AS end_date, 1000.0 * (1 + a % 50) AS arr,
               coalesce(s.n, 0) + 5 AS seats, 'pro' AS plan
        FROM range({n_acc}) t(a)
        LEFT JOIN (SELECT account_id, count(*) AS n FROM users GROUP BY 1) s
          ON s.account_id = 'A' || lpad(a::VARCHAR, 6, '0')) TO '{out / "contracts.csv"}' (HEADER)""")
    user_of = f"floor({n_users} * pow({_h01('i', 2)}, 2.0))::BIGINT"  # skewed activity per user
    con.execute(f"""COPY (
        WITH e AS (SELECT i, {user_of} AS u FROM range({n}) t(i))
        SELECT 'A' || lpad(({acc_of("u")})::VARCHAR, 6, '0') AS account_id,
               'U' || lpad(u::VARCHAR, 8, '0') AS user_id,
               TIMESTAMP '{EPOCH}' + to_seconds((hash(i, 3) % 31536000)::BIGINT) AS ts,
               'feature_' || lpad(floor(40 * pow({_h01("i", 4)}, 2.2))::INTEGER::VARCHAR, 2, '0') AS feature
        FROM e) TO '{out / "usage_events.parquet"}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)""")
    seconds = time.perf_counter() - t0
    con.close()
    info = {
        "n": n,
        "accounts": n_acc,
        "users": n_users,
        "generate_s": seconds,
        "mb": (out / "usage_events.parquet").stat().st_size / 1e6,
    }
    (out / "generated.json").write_text(json.dumps(info))
    return info


def generated(n: int, out: Path) -> dict:
    """The data of size ``n`` in ``out``: reused when a previous run wrote it completely, else generated."""
    marker = out / "generated.json"
    if marker.is_file() and (out / "usage_events.parquet").is_file():
        info = json.loads(marker.read_text())
        if info.get("n") == n:
            return {**info, "reused": True}
    return generate(n, out)


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, data, memory_limit = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
if mode == "duckdb":
    from insights.metrics.usage import build_usage_monthly
    s = build_usage_monthly(data, data / "out" / "usage_monthly.parquet", memory_limit=memory_limit,
                            temp_dir=data / "spill")
    rows, extra = s.rows, {"scan_s": s.seconds["scan"], "check_s": s.seconds["check"],
                           "aggregate_s": s.seconds["aggregate"]}
elif mode == "floor":
    import duckdb
    con = duckdb.connect(config={"memory_limit": memory_limit, "preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    rows = con.execute(f"SELECT count(*) FROM (SELECT account_id, date_trunc('month', ts) AS m, count(*) "
                       f"FROM read_parquet('{data / 'usage_events.parquet'}') GROUP BY ALL)").fetchone()[0]
    extra = {}
elif mode == "pandas":
    import pandas as pd
    from insights.metrics.usage.reference import monthly_pandas
    users = pd.read_csv(data / "users.csv", parse_dates=["activated_at"])
    contracts = pd.read_csv(data / "contracts.csv", parse_dates=["start_date", "end_date"])
    accounts = pd.read_csv(data / "accounts.csv")
    ev = pd.read_parquet(data / "usage_events.parquet")
    # the same contract checks, in pandas
    bad = {"unknown_account": int((~ev["account_id"].isin(accounts["account_id"])).sum()),
           "unknown_user": int((~ev["user_id"].isin(users["user_id"])).sum()),
           "other_account": int((ev["user_id"].map(users.set_index("user_id")["account_id"])
                                 != ev["account_id"]).sum()),
           "missing": int(ev.isna().sum().sum()),
           "future": int((ev["ts"] > pd.Timestamp.now()).sum())}
    assert not any(bad.values()), bad
    out = monthly_pandas(ev, users, contracts)
    out.to_parquet(data / "out" / "usage_monthly_pandas.parquet")
    rows, extra = len(out), {}
wall = time.perf_counter() - t0
print(json.dumps({"mode": mode, "wall_s": wall, "rows": int(rows),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))
"""


def run_child(mode: str, data: Path, memory_limit: str, rss_cap_gb: float | None, timeout: float) -> dict:
    """Run one measurement in a fresh process; stop it if its RSS passes ``rss_cap_gb``."""
    import psutil

    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(data), memory_limit],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    p = psutil.Process(proc.pid)
    start, peak, killed = time.perf_counter(), 0, None
    while proc.poll() is None:
        try:
            peak = max(peak, p.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        if rss_cap_gb and peak > rss_cap_gb * 1e9:
            proc.kill()
            killed = f"stopped at {rss_cap_gb:g} GB RSS"
        elif time.perf_counter() - start > timeout:
            proc.kill()
            killed = f"stopped after {timeout:.0f} s"
        time.sleep(0.05)
    out, err = proc.communicate()
    if killed or proc.returncode != 0:
        reason = killed or (err.strip().splitlines() or ["failed"])[-1][:120]
        return {"mode": mode, "failed": reason, "wall_s": time.perf_counter() - start, "peak_mb": peak / 2**20}
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 20_000_000, 100_000_000])
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--pandas-max", type=int, default=100_000_000, help="largest N tried with pandas")
    parser.add_argument("--pandas-rss-cap-gb", type=float, default=16.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["floor", "duckdb", "pandas"],
        choices=["floor", "duckdb", "pandas"],
        help="what to measure (floor is always run)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of floor and duckdb per size (the best is kept, the median reported)",
    )
    args = parser.parse_args()
    base = Path(args.workdir or tempfile.mkdtemp(prefix="bench-usage-"))
    print(
        f"python {platform.python_version()}, duckdb {duckdb.__version__}, {platform.machine()}, "
        f"cores: {os.cpu_count()}, memory limit {args.memory_limit}"
    )
    rows = []
    pandas_failed = False
    for n in args.sizes:
        data = base / f"n{n}"
        info = generated(n, data)
        (data / "out").mkdir(exist_ok=True)
        origin = "reused" if info.get("reused") else f"generated in {info['generate_s']:.1f} s"
        print(
            f"N={n:,}: {info['accounts']:,} accounts, {info['users']:,} users, {origin} ({info['mb']:.0f} MB Parquet)",
            flush=True,
        )
        res = {}
        for m in ("floor", "duckdb"):
            if m != "floor" and m not in args.modes:
                res[m] = {"mode": m, "failed": "not run (--modes)"}
                continue
            runs = []
            for _ in range(max(1, args.repeat)):
                load = os.getloadavg()[0]
                runs.append(
                    {**run_child(m, data, args.memory_limit, None, args.timeout), "load_before": round(load, 2)}
                )
                print(json.dumps({"n": n, **runs[-1]}), flush=True)
            ok = [r for r in runs if "failed" not in r]
            res[m] = (
                {**min(ok, key=lambda r: r["wall_s"]), "median_s": statistics.median(r["wall_s"] for r in ok)}
                if ok
                else runs[-1]
            )
        if "pandas" not in args.modes:
            res["pandas"] = {"mode": "pandas", "failed": "not run (--modes)"}
        elif n <= args.pandas_max and not pandas_failed:
            load = os.getloadavg()[0]
            res["pandas"] = {
                **run_child("pandas", data, args.memory_limit, args.pandas_rss_cap_gb, args.timeout),
                "load_before": round(load, 2),
            }
            pandas_failed = "failed" in res["pandas"]
        else:
            res["pandas"] = {
                "mode": "pandas",
                "failed": "not run (failed at a smaller size)" if pandas_failed else "not run (--pandas-max)",
            }
        for mode in ("duckdb", "pandas", "floor"):
            r = res[mode]
            rows.append({"n": n, **r})
            print(json.dumps({"n": n, **r}), flush=True)
        if args.workdir is None and not args.keep:
            shutil.rmtree(data, ignore_errors=True)
        else:
            shutil.rmtree(data / "out", ignore_errors=True)
            shutil.rmtree(data / "spill", ignore_errors=True)
    print()
    print(
        "| events | engine | wall s (best) | median s | peak MB | x floor | x pandas (time) | x pandas (memory) "
        "| load | note |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    by = {(r["n"], r["mode"]): r for r in rows}
    for r in rows:
        floor, pandas = by[(r["n"], "floor")], by[(r["n"], "pandas")]
        ok = "failed" not in r
        comparable = ok and "failed" not in pandas

        def f(a, b, comparable=comparable):
            return f"{a / b:.2f}" if comparable and a and b else "—"

        wall = f"{r['wall_s']:.2f}" if ok else "—"
        median = f"{r['median_s']:.2f}" if ok and "median_s" in r else "—"
        peak = f"{r['peak_mb']:.0f}" if r.get("peak_mb") is not None and ok else "—"
        x_floor = f"{r['wall_s'] / floor['wall_s']:.2f}" if ok and "failed" not in floor else "—"
        x_pt = f(r.get("wall_s"), pandas.get("wall_s"))
        x_pm = f(r.get("peak_mb"), pandas.get("peak_mb"))
        print(
            f"| {r['n']:,} | {r['mode']} | {wall} | {median} | {peak} | {x_floor} | {x_pt} | {x_pm} | "
            f"{r.get('load_before', '')} | {r.get('failed', '')} |"
        )
    if args.workdir is None and not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
