"""Benchmark: demo-data generation and loading, wall time and peak memory.

Run: .venv/bin/python bench/bench_demo.py [--sizes 2000 20000]
Each size runs in a fresh process so peak memory (ru_maxrss) is its own.
Results are recorded in docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
from insights.demo import DemoSpec, write_demo
from insights.data.loading import load_tables
n = int(sys.argv[1])
out = Path(tempfile.mkdtemp()) / "raw"
t0 = time.perf_counter()
write_demo(out, DemoSpec(n_accounts=n, seed=7))
t1 = time.perf_counter()
tables = load_tables(out)
t2 = time.perf_counter()
size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
rows = sum(len(f) for f in tables.frames.values())
print(json.dumps({"accounts": n, "generate_s": t1 - t0, "load_validate_s": t2 - t1, "rows": rows,
                  "mb_on_disk": size / 1e6, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, cores: {__import__('os').cpu_count()}")
    print(
        f"{'accounts':>9} {'generate+write s':>17} {'load+validate s':>16} {'rows':>11} {'MB on disk':>11} "
        f"{'peak MB':>8}"
    )
    for n in args.sizes:
        res = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"{r['accounts']:>9,} {r['generate_s']:>17.1f} {r['load_validate_s']:>16.1f} {r['rows']:>11,} "
            f"{r['mb_on_disk']:>11.1f} {r['peak_mb']:>8.0f}"
        )


if __name__ == "__main__":
    main()
