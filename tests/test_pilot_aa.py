"""A/A simulation: every pilot test rejects about 5% of the time when nothing differs.

The simulation lives in bench/bench_pilot_aa.py (also the source of docs/pilot_aa_simulation.md);
this module loads it from there.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from insights.stats.adjustment import ancova
from insights.stats.intervals import (
    _newcombe,
    _pearson_chi2,
    _welch,
    compare_proportions,
    mean_difference,
    risk_difference,
)
from insights.stats.stratified import _cmh, _cmh_z, stratified_proportions

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_pilot_aa.py"


def _bench(name: str = "bench_pilot_aa"):
    spec = importlib.util.spec_from_file_location(name, BENCH.with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectorised_kernels_equal_public_functions():
    """The simulation's array kernels give the same numbers as the public functions."""
    import pandas as pd

    bench = _bench()
    sim = bench.simulate_pilots(5, seed=1)
    a, n1, c, n0 = bench._stratum_counts(sim)
    x1, m1, x0, m0 = a.sum(1), n1.sum(1), c.sum(1), n0.sum(1)
    _, p_chi2, _ = _pearson_chi2(x1, m1, x0, m0)
    _, low, high = _newcombe(x1, m1, x0, m0, 1.959963984540054)
    _, p_cmh = _cmh(a, n1, c, n0)
    z_cmh = _cmh_z(a, n1, c, n0)
    for i in range(5):
        assert p_chi2[i] == pytest.approx(compare_proportions(int(x1[i]), int(m1[i]), int(x0[i]), int(m0[i])).p_value)
        ci = risk_difference(int(x1[i]), int(m1[i]), int(x0[i]), int(m0[i]))
        assert (low[i], high[i]) == pytest.approx((ci.low, ci.high))
        rows = [
            {"stratum": k, "arm": arm, "successes": int(s[i, k]), "n": int(n[i, k])}
            for k in range(3)
            for arm, s, n in (("treatment", a, n1), ("control", c, n0))
        ]
        cmh = stratified_proportions(pd.DataFrame(rows)).cmh
        assert p_cmh[i] == pytest.approx(cmh.p_value)
        assert z_cmh[i] ** 2 == pytest.approx(cmh.statistic)
        t = sim["treated"][i]
        y = sim["post"][i]
        _, test = mean_difference(y[t], y[~t])
        d, se, _ = _welch(y[t].mean(), y[t].var(ddof=1), t.sum(), y[~t].mean(), y[~t].var(ddof=1), (~t).sum())
        assert d / se == pytest.approx(test.statistic)
        assert np.isfinite(ancova(y, t, sim["pre"][i]).p_value)


@pytest.mark.slow
def test_aa_rejection_rates_within_band():
    """1,000 seeded A/A pilots: each procedure rejects within 5% +/- 1.5% at alpha = 0.05."""
    table = _bench().rejection_table(n_sims=1000, seed=20261123)
    assert len(table) == 7
    outside = table[(table["rejection_rate"] - 0.05).abs() > 0.015]
    assert outside.empty, f"rejection rates outside 3.5%-6.5%:\n{outside}"


def test_monitoring_kernel_equals_public_functions():
    """The weekly-look arrays give the numbers of compare_proportions' z and confidence_sequence."""
    from insights.stats.sequential import confidence_sequence

    bench = _bench("bench_pilot_monitoring")
    rng = np.random.default_rng(3)
    treated, renewed = rng.random((2, 200)) < 0.5, rng.random((2, 200)) < 0.8
    x1, n1, x0, n0 = bench._counts_at(treated, renewed, [50, 200])
    z, diff, se = bench._z_and_se(x1, n1, x0, n0)
    for s in range(2):
        t, r = treated[s, :50], renewed[s, :50]
        assert (x1[s, 0], n1[s, 0], x0[s, 0], n0[s, 0]) == ((t & r).sum(), t.sum(), (~t & r).sum(), (~t).sum())
        chi2 = compare_proportions(int(x1[s, 0]), int(n1[s, 0]), int(x0[s, 0]), int(n0[s, 0]), min_expected=0)
        assert z[s, 0] ** 2 == pytest.approx(chi2.statistic, abs=1e-9)
        cs = confidence_sequence(diff[s, 1], se[s, 1], 200, planned_n=200)
        half = bench.cs_half_width(se[s, 1], 200, 0.05, planned_n=200)
        assert cs.high - diff[s, 1] == pytest.approx(half, abs=1e-12)


def test_weekly_monitoring_a_a_rates():
    """10,000 A/A pilots, 26 weekly looks: 3 planned O'Brien-Fleming looks keep 5% +/- 0.5%, peeking does not.

    The confidence sequence is always valid, hence at most 5% (it is conservative with 26 discrete
    looks: about 1.2%, see docs/pilot_aa_simulation.md).
    """
    rates = {k: v.mean() for k, v in _bench("bench_pilot_monitoring").simulate(10_000, 1000, seed=20261205).items()}
    assert abs(rates["obf"] - 0.05) <= 0.005
    assert rates["peeking"] > 0.15
    assert rates["cs"] <= 0.05
