"""Segment figures are reproducible: the same data draws the same picture."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from insights.analyses.segments import benchmarks as bm
from insights.analyses.segments.figures import benchmark_strips


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def test_benchmark_strips_are_the_same_picture_twice_and_leave_numpy_alone():
    rng = np.random.default_rng(1)
    long = pd.DataFrame(
        {
            "metric": np.repeat(["depth", "breadth"], 50),
            "standing": rng.uniform(0, 100, 100),
            "flag": rng.choice([bm.CONCERN, bm.TYPICAL, bm.OPPORTUNITY], 100),
        }
    )
    # the legacy global generator is seeded on purpose: the test proves the figure leaves it untouched
    np.random.seed(123)  # noqa: NPY002 - the global state is what is under test
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state is what is under test
    first, second = _png(benchmark_strips(long)), _png(benchmark_strips(long))
    assert first == second
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002 - the global state is what is under test
    assert _png(benchmark_strips(long, seed=1)) != first


def test_segment_signals_and_moves():
    import pandas as pd

    from insights.analyses.segments import signals

    now = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "seg": ["x", "x", "y"],
            "seats": [10, 20, 5],
            "utilisation": [0.5, 0.7, 0.9],
            "admins": [1, 3, 0],
            "support_burden": [0.1, 0.3, 0.0],
            "breadth": [0.2, 0.4, 0.5],
            "onboarding_engagement": [0, 2, 1],
            "revenue_growth": [0.1, -0.1, 0.0],
        }
    )
    accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "employees": [100, 100, 50], "industry": ["i", "j", "i"]})
    out = signals.segment_signals(now, accounts, "seg")
    row = out.set_index("segment").loc["x"]
    assert row["activated / purchased seats (median, last month)"] == "60%"
    assert row["share with onboarding sessions (first 90 days)"] == "50%"
    assert row["seats per 100 employees (median; headroom at the next renewal)"] == "15.0"
    assert out["segment"].iloc[-1] == "All accounts"
    mix = signals.firmographic_mix(now, accounts, "seg", "industry").set_index("segment")
    assert mix.loc["x", "i"] == "50%" and mix.loc["All accounts", "i"] == "67%"
    growth = now.assign(
        growth_potential=["likely within 6 months", "unlikely within 24 months", "likely within 6 months"]
    )
    mix = signals.firmographic_mix(growth, accounts, "seg", "growth_potential").set_index("segment")
    assert mix.loc["y", "likely within 6 months"] == "100%"
    counts = pd.DataFrame([[5, 2, 1], [3, 4, 6], [0, 1, 7]], index=list("pqr"), columns=list("pqr"))
    assert signals.moved_to_lower_engagement(counts, ["p", "q", "r"]) == 2 + 1 + 6
