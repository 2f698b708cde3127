"""Peak resident memory of every Jupyter kernel while a report runs (helper of bench_report.py).

Run beside a report: ``python bench/kernel_memory.py OUT.tsv`` samples every second the peak
resident set (``VmHWM`` in ``/proc/<pid>/status``, Linux only) of each ``ipykernel_launcher``
process and writes, when stopped (Ctrl-C / SIGTERM) or when no kernel has been seen for
``--idle`` seconds after the first, one line per kernel: pid, first seen (s), last seen (s),
peak MB. Kernels start in the report's order, so the first-seen times say which notebook each
one ran. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path


def _kernels() -> dict[int, int]:
    """pid -> VmHWM in kB of every running ipykernel process."""
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"ipykernel_launcher" not in (proc / "cmdline").read_bytes():
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[int(proc.name)] = int(line.split()[1])
        except OSError:
            continue
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--idle", type=float, default=120.0, help="stop this long after the last kernel ended")
    args = parser.parse_args()
    t0 = time.monotonic()
    seen: dict[int, list[float]] = {}  # pid -> [first, last, peak kB]
    stop = False

    def finish(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    last_any = None
    while not stop:
        now = time.monotonic() - t0
        running = _kernels()
        for pid, hwm in running.items():
            rec = seen.setdefault(pid, [now, now, 0])
            rec[1], rec[2] = now, max(rec[2], hwm)
        if running:
            last_any = now
        elif last_any is not None and now - last_any > args.idle:
            break
        time.sleep(1.0)
    rows = sorted(seen.items(), key=lambda kv: kv[1][0])
    args.out.write_text(
        "pid\tfirst_s\tlast_s\tpeak_mb\n"
        + "".join(f"{pid}\t{a:.0f}\t{b:.0f}\t{kb / 1024:.0f}\n" for pid, (a, b, kb) in rows)
    )
    print(args.out.read_text(), file=sys.stderr)


if __name__ == "__main__":
    main()
