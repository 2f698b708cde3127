"""Published test vectors of peer A/B-testing projects, each through the matching option of insights.

Expectations are the published numbers (cited per row), at 1e-6 or at the precision they are
printed with; nothing is recomputed here with the peers' code.
"""

import numpy as np
import pandas as pd
import pytest

from insights.analyses.pilots import design
from insights.stats.experiments import compare_arms
from insights.stats.intervals import (
    compare_proportions,
    difference_of_proportions,
    mean_difference_from_stats,
    sample_ratio_mismatch,
)
from insights.stats.stratified import stratified_proportions


def _units(counts: dict) -> pd.DataFrame:
    """One row per unit from {arm: (successes, n)}."""
    rows = [(a, 1 if i < x else 0) for a, (x, n) in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["arm", "success"])


# --------------------------------------------------------------- tea-tasting (SRM)
# e10v/tea-tasting, tests/metrics/test_proportion.py: 53 control vs 47 treatment, ratio 1:
# method="binom" -> p = 0.6172994135892521; method="norm", correction=False -> p = 0.5485062355001472.


@pytest.mark.parametrize("method,published", [("binomial", 0.6172994135892521), ("chi-square", 0.5485062355001472)])
def test_tea_tasting_sample_ratio(method, published):
    res = sample_ratio_mismatch({"control": 53, "treatment": 47}, {"control": 0.5, "treatment": 0.5}, method)
    assert res.p_value == pytest.approx(published, abs=1e-9)
    assert ("binomial" if method == "binomial" else "chi-square") in res.method


# --------------------------------------------------------------- spotify-confidence (chi-square, Bonferroni)
# spotify/confidence, tests/frequentist/test_chisquared.py (ChiSquared, Wald intervals):
# us control 42/104 vs us test 500/1009: difference 0.091694, 95% CI (-0.0075254411815593725, 0.190913),
# 99% CI (-0.0387024, 0.22209), p = 0.074866.


def test_spotify_confidence_chi_square_and_wald():
    test = compare_proportions(500, 1009, 42, 104)
    assert test.p_value == pytest.approx(0.074866, abs=5e-7) and "without continuity correction" in test.method
    ci = difference_of_proportions(500, 1009, 42, 104, 0.95, "wald")
    assert (ci.estimate, ci.low, ci.high) == pytest.approx((0.091694, -0.0075254411815593725, 0.190913), abs=5e-7)
    ci99 = difference_of_proportions(500, 1009, 42, 104, 0.99, "wald")
    assert (ci99.low, ci99.high) == pytest.approx((-0.0387024, 0.22209), abs=5e-6)


# Same file, multiple_difference(("us", "control")), Bonferroni over 5 comparisons: p-values
# [9.553332e-01, 1.67668440e-01, 3.34742700e-05, 7.48661891e-02, 3.97715314e-08], adjusted
# [1, 8.38342202e-01, 1.67371350e-04, 3.74330946e-01, 1.98857657e-07]; adjusted (99%) intervals of
# control - treatment: lower [-0.173024, -0.27489017, -0.42153065, -0.22209041, -0.39307973],
# upper [0.180717, 0.08258247, -0.10411038, 0.03870244, -0.13744367].
SPOTIFY_ARMS = {
    "us control": (42, 104),
    "gb control": (40, 100),
    "gb test": (50, 100),
    "gb test2": (100, 150),
    "us test": (500, 1009),
    "us test2": (1005, 1502),
}


def test_spotify_confidence_bonferroni():
    treatments = [a for a in SPOTIFY_ARMS if a != "us control"]
    res = compare_arms(
        _units(SPOTIFY_ARMS),
        "arm",
        "success",
        "us control",
        treatments,
        adjust="bonferroni",
        interval="wald",
        level=0.99,
    )
    rows = res.comparisons[res.comparisons["quantity"] == "test"].set_index("treatment").loc[treatments]
    published_p = [9.553332e-01, 1.67668440e-01, 3.34742700e-05, 7.48661891e-02, 3.97715314e-08]
    published_adj = [1.0, 8.38342202e-01, 1.67371350e-04, 3.74330946e-01, 1.98857657e-07]
    np.testing.assert_allclose(rows["p_value"], published_p, rtol=1e-6)
    np.testing.assert_allclose(rows["p_adjusted"], published_adj, rtol=1e-6)
    assert res.adjust_method.startswith("Bonferroni across 5")
    lower = [-0.173024, -0.27489017, -0.42153065, -0.22209041, -0.39307973]
    upper = [0.180717, 0.08258247, -0.10411038, 0.03870244, -0.13744367]
    diff = res.comparisons[res.comparisons["quantity"] == "difference"].set_index("treatment").loc[treatments]
    # theirs is control - treatment: our treatment - control interval mirrored
    np.testing.assert_allclose(-diff["high"], lower, atol=5e-7)
    np.testing.assert_allclose(-diff["low"], upper, atol=5e-7)
    assert diff["method"].str.contains("Wald").all()


# --------------------------------------------------------------- GrowthBook (Welch from sums)
# growthbook/growthbook, packages/stats/tests/frequentist/test_tests.py, TwoSidedTTest: control mean
# 0.41, sd 3.9, n 3407; treatment mean 0.7, sd 6.2, n 3461 -> effect 0.29, CI [0.04538, 0.53462],
# p = 0.02016 (rounded to 5 decimals).


def test_growthbook_welch_from_sums():
    ci, test = mean_difference_from_stats(0.7, 6.2, 3461, 0.41, 3.9, 3407)
    assert round(ci.estimate, 5) == 0.29
    assert (round(ci.low, 5), round(ci.high, 5)) == (0.04538, 0.53462)
    assert round(test.p_value, 5) == 0.02016 and "Welch" in test.method


# --------------------------------------------------------------- R power cases (as statsmodels checks)
# R stats::power.prop.test help page: power.prop.test(n = 50, p1 = .50, p2 = .75) -> power = 0.7401659;
# power.prop.test(p1 = .50, p2 = .75, power = .90) -> n = 76.7.
# R stats::power.t.test(power = .80, delta = .5) -> n = 63.76576 (two-sample, sd 1), and
# pwr::pwr.t.test(d = 0.3, power = 0.80) -> n = 175.3847 (printed in R output).


def test_r_power_cases():
    assert design.power_proportions(50, 0.5, 0.75) == pytest.approx(0.7401659, abs=5e-8)
    assert round(design.sample_size_proportions(0.5, 0.75, 0.05, 0.9), 1) == 76.7
    # R solves for n with uniroot(tol = .Machine$double.eps^0.25 = 1.2e-4), so its n carries that error
    assert design.sample_size_means(0.5, 1.0) == pytest.approx(63.76576, abs=2e-4)
    assert design.sample_size_means(0.3, 1.0) == pytest.approx(175.3847, abs=5e-5)


# --------------------------------------------------------------- CMH with continuity correction
# R stats::mantelhaen.test help page, Rabbits (penicillin) data, default correct = TRUE:
# Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747; common odds ratio 7,
# 95 percent confidence interval 1.026713 47.725133.
RABBITS = [  # stratum, (cured, n) with no delay, (cured, n) with a 1.5 h delay
    ("1/8", (0, 6), (0, 5)),
    ("1/4", (3, 6), (0, 6)),
    ("1/2", (6, 6), (2, 6)),
    ("1", (5, 6), (6, 6)),
    ("4", (2, 2), (5, 5)),
]


def test_r_mantelhaen_rabbits_with_continuity_correction():
    counts = pd.DataFrame(
        [
            {"stratum": s, "arm": arm, "successes": x, "n": n}
            for s, none, delay in RABBITS
            for arm, (x, n) in (("treatment", none), ("control", delay))
        ]
    )
    res = stratified_proportions(counts, correction=True)
    assert round(res.cmh.statistic, 4) == 3.9286 and round(res.cmh.p_value, 5) == 0.04747
    assert "with continuity correction" in res.cmh.method
    assert res.odds_ratio.estimate == pytest.approx(7.0, abs=1e-12)
    assert (round(res.odds_ratio.low, 6), round(res.odds_ratio.high, 6)) == (1.026713, 47.725133)
