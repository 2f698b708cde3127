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
