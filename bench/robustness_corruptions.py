"""Count what `insights validate` does on N random corruptions of the 50-account demo.

The corruptions are those of tests/test_hostile_input.py (Hypothesis strategies, fixed seed);
each is written to a fresh folder and validated in-process. Printed as a table: exit 0, exit 2,
any other exit or an exception (a traceback for a user), and exit 2 with the validator's safety
net ("could not be checked") in its output. Recorded in docs/robustness.md.

Usage::

    PYTHONPATH=src python bench/robustness_corruptions.py [N] [SEED]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_hostile_input as corruptions
from insights.demo import DemoSpec, write_demo


def main(n: int, random_seed: int) -> None:
    """Run ``n`` corruptions with ``random_seed`` and print the outcome counts."""
    with tempfile.TemporaryDirectory(prefix="insights-robustness-") as tmp:
        demo = Path(tmp) / "demo"
        write_demo(demo, DemoSpec(n_accounts=50, seed=11))
        base = {
            p.relative_to(demo).as_posix(): pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in [*demo.glob("*.csv"), *(demo / "pilots").glob("*.csv")]
        }
        outcomes: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        first_crash: list[str] = []

        @seed(random_seed)
        @settings(
            max_examples=n,
            deadline=None,
            phases=[Phase.generate],
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(changes=corruptions.CORRUPTIONS)
        def run(changes):
            files = dict(base)
            for kind, apply in changes:
                kinds[kind] += 1
                apply(files)
            with tempfile.TemporaryDirectory(dir=tmp) as case:
                folder = Path(case) / "raw"
                corruptions.write(files, folder)
                try:
                    code, output = corruptions.validate_in_process(folder)
                except Exception as exc:  # noqa: BLE001 - counted: a user would see a traceback
                    outcomes["exception (traceback)"] += 1
                    first_crash.append(f"{[k for k, _ in changes]}: {type(exc).__name__}: {exc}"[:300])
                    return
                if code not in (0, 2):
                    outcomes[f"exit {code} (traceback)"] += 1
                elif any(net in output for net in corruptions.SAFETY_NET):
                    outcomes["exit 2, safety net fired"] += 1
                else:
                    outcomes[f"exit {code}"] += 1

        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    total = sum(outcomes.values())
    print(f"{total} corruptions (seed {random_seed}) in {seconds:.0f} s ({seconds / max(total, 1):.2f} s each)")
    print(f"{'outcome':32} {'count':>6}")
    for outcome, count in sorted(outcomes.items()):
        print(f"{outcome:32} {count:>6}")
    print(f"\n{'corruption applied':32} {'count':>6}")
    for kind, count in kinds.most_common():
        print(f"{kind:32} {count:>6}")
    for line in first_crash[:5]:
        print("crash:", line)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 13)
