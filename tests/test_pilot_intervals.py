"""insights.stats.intervals against scipy/statsmodels and published values."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from insights.errors import ParameterError
from insights.stats import intervals
from insights.stats.intervals import (
    Interval,
    compare_proportions,
    difference_of_proportions,
    log_lift_test,
    mean_ci,
    mean_difference,
    proportion_ci,
    relative_lift,
    relative_lift_means,
    risk_difference,
    sample_ratio_mismatch,
)

TOL = 1e-6
COUNTS = [(0, 1), (0, 10), (1, 10), (5, 10), (10, 10), (81, 263), (15, 148), (3, 40), (170, 200), (999, 1000)]


# ------------------------------------------------------------------ proportion_ci


@pytest.mark.parametrize("x,n", COUNTS)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(x, n, level):
    ci = proportion_ci(x, n, level)
    low, high = proportion_confint(x, n, alpha=1 - level, method="wilson")
    assert ci.estimate == pytest.approx(x / n)
    assert ci.low == pytest.approx(low, abs=TOL) and ci.high == pytest.approx(high, abs=TOL)
    assert ci.method.startswith("Wilson score") and f"{level * 100:g}% CI" in ci.method


def test_wilson_published_upper_bounds_for_zero_successes():
    # Newcombe (1998), Stat Med 17:873-890, Table II examples (e) and (f): the method-10 limits for
    # 0/10 - 0/20 are -0.1611 and +0.2775, i.e. the Wilson upper limits of 0/20 and 0/10.
    assert proportion_ci(0, 10).high == pytest.approx(0.2775, abs=5e-5)
    assert proportion_ci(0, 20).high == pytest.approx(0.1611, abs=5e-5)
    assert proportion_ci(0, 20).low == 0.0


def test_wilson_bounds_hold_the_observed_share_exactly():
    # found on the default demo: 0 of 7 gave a lower bound of 2.8e-17, a negative error bar in
    # notebook 04's calibration figure; in closed form the bound is 0 at x = 0 and 1 at x = n
    for n in range(1, 400):
        for x in (0, 1, n // 2, n - 1, n):
            ci = proportion_ci(max(0, min(x, n)), n)
            assert ci.low <= ci.estimate <= ci.high
        assert proportion_ci(0, n).low == 0.0 and proportion_ci(n, n).high == 1.0


# ------------------------------------------------------------------ mean_ci


def test_mean_ci_matches_scipy_t_interval():
    y = np.random.default_rng(3).gamma(2.0, 5.0, 37)
    ci = mean_ci(y, 0.9)
    low, high = stats.t.interval(0.9, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
    assert (ci.estimate, ci.low, ci.high) == pytest.approx((y.mean(), low, high), abs=TOL)
    assert "Student t" in ci.method


# ------------------------------------------------------------------ risk_difference


@pytest.mark.parametrize(
    "x1,n1,x0,n0,low,high",
    [
        # Newcombe (1998) Table II, method 10, as reproduced in the propint R package tests
        # (tests/testthat: "ci.two.indep.props produces the results reported in Newcombe1998").
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        # Newcombe (1998) Table II (e): 0/10 - 0/20
        (0, 10, 0, 20, -0.1611, 0.2775),
    ],
)
def test_newcombe_published_examples(x1, n1, x0, n0, low, high):
    ci = risk_difference(x1, n1, x0, n0)
    assert ci.estimate == pytest.approx(x1 / n1 - x0 / n0)
    assert ci.low == pytest.approx(low, abs=5e-5) and ci.high == pytest.approx(high, abs=5e-5)
    assert "Newcombe hybrid score 95% CI" in ci.method


@pytest.mark.parametrize(
    "x1,n1,x0,n0",
    [(56, 70, 48, 80), (0, 12, 3, 15), (20, 20, 17, 20), (88, 100, 170, 200), (1, 7, 0, 9), (33, 40, 30, 41)],
)
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_newcombe_matches_statsmodels(x1, n1, x0, n0, level):
    ci = risk_difference(x1, n1, x0, n0, level)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff", alpha=1 - level)
    assert ci.low == pytest.approx(low, abs=TOL) and ci.high == pytest.approx(high, abs=TOL)


# ------------------------------------------------------------------ mean_difference


def test_welch_matches_scipy():
    rng = np.random.default_rng(11)
    y1, y0 = rng.lognormal(3, 0.6, 45), rng.lognormal(2.9, 0.9, 70)
    ci, test = mean_difference(y1, y0, 0.95)
    ref = stats.ttest_ind(y1, y0, equal_var=False)
    ref_ci = ref.confidence_interval(0.95)
    assert test.statistic == pytest.approx(ref.statistic, abs=TOL)
    assert test.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert (ci.low, ci.high) == pytest.approx((ref_ci.low, ref_ci.high), abs=TOL)
    assert ci.estimate == pytest.approx(y1.mean() - y0.mean())
    assert "Welch" in ci.method and "Welch" in test.method


# ------------------------------------------------------------------ relative lifts


@pytest.mark.parametrize("x1,n1,x0,n0", [(56, 70, 48, 80), (90, 100, 80, 100), (3, 20, 7, 25)])
def test_relative_lift_matches_statsmodels_log_ratio(x1, n1, x0, n0):
    ci = relative_lift(x1, n1, x0, n0)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="log", compare="ratio")
    assert ci.estimate == pytest.approx((x1 / n1) / (x0 / n0) - 1)
    assert ci.low == pytest.approx(low - 1, abs=TOL) and ci.high == pytest.approx(high - 1, abs=TOL)
    assert "log risk-ratio scale" in ci.method


def test_relative_lift_means_matches_numerical_delta_method_on_the_log_scale():
    rng = np.random.default_rng(5)
    y1, y0 = rng.gamma(3.0, 12.0, 60), rng.gamma(3.0, 10.0, 80)
    ci = relative_lift_means(y1, y0, 0.95)
    # independent delta method: numerical gradient of g(m1, m0) = log(m1/m0) at the sample means,
    # with the covariance diag(s1^2/n1, s0^2/n0) of the two independent means; back by exp(.) - 1.
    m = np.array([y1.mean(), y0.mean()])
    cov = np.diag([y1.var(ddof=1) / y1.size, y0.var(ddof=1) / y0.size])
    g = lambda v: math.log(v[0] / v[1])  # noqa: E731
    h = 1e-6
    grad = np.array([(g(m + h * e) - g(m - h * e)) / (2 * h) for e in np.eye(2)])
    se = math.sqrt(grad @ cov @ grad)
    z = stats.norm.ppf(0.975)
    assert ci.estimate == pytest.approx(math.exp(g(m)) - 1, abs=TOL)
    assert (ci.low, ci.high) == pytest.approx((math.exp(g(m) - z * se) - 1, math.exp(g(m) + z * se) - 1), abs=TOL)
    assert "log" in ci.method
    test = log_lift_test(ci)
    assert test.statistic == pytest.approx(g(m) / se, abs=TOL)
    assert test.p_value == pytest.approx(2 * stats.norm.sf(abs(g(m) / se)), abs=TOL)


def test_log_lift_test_of_proportions_matches_statsmodels():
    ref = sm_test_2indep(30, 100, 20, 110, compare="ratio", method="log")
    low, high = confint_proportions_2indep(30, 100, 20, 110, compare="ratio", method="log")
    lift = relative_lift(30, 100, 20, 110)
    assert (lift.low, lift.high) == pytest.approx((low - 1, high - 1), abs=TOL)
    res = log_lift_test(lift)
    assert (res.statistic, res.p_value) == pytest.approx((ref.statistic, ref.pvalue), abs=TOL)
    with pytest.raises(ParameterError, match="finite"):
        log_lift_test(Interval(math.nan, math.nan, math.nan, 0.95, "undefined"))


def test_wald_difference_and_yates_match_statsmodels_and_scipy():
    low, high = confint_proportions_2indep(30, 100, 20, 110, compare="diff", method="wald")
    wald = difference_of_proportions(30, 100, 20, 110, 0.95, "wald")
    assert (wald.low, wald.high) == pytest.approx((low, high), abs=TOL) and "Wald" in wald.method
    assert difference_of_proportions(30, 100, 20, 110) == risk_difference(30, 100, 20, 110)
    ref = stats.chi2_contingency([[30, 70], [20, 90]], correction=True)
    yates = compare_proportions(30, 100, 20, 110, correction=True)
    assert (yates.statistic, yates.p_value) == pytest.approx((ref.statistic, ref.pvalue), abs=TOL)
    assert "Yates" in yates.method
    with pytest.raises(ParameterError, match="newcombe"):
        difference_of_proportions(30, 100, 20, 110, method="exact")


def test_relative_lift_needs_successes_and_nonzero_mean():
    with pytest.raises(ParameterError, match="at least one success"):
        relative_lift(0, 10, 3, 10)
    with pytest.raises(ParameterError, match="control mean is 0"):
        relative_lift_means([1.0, 2.0], [-1.0, 1.0])
    with pytest.raises(ParameterError, match="different signs"):
        relative_lift_means([-1.0, -2.0], [1.0, 2.0])


# ------------------------------------------------------------------ compare_proportions


def test_chi_square_branch_matches_scipy_and_published_value():
    # R, summary(xtabs(y ~ smoker + dead, femsmoke)) (Faraway 2006, sec. 4.4): Pearson X^2 without
    # continuity correction = 9.121, p = 0.002527. Alive: smokers 443/582, non-smokers 502/732.
    res = compare_proportions(443, 582, 502, 732)
    assert res.statistic == pytest.approx(9.121, abs=5e-4)
    assert res.p_value == pytest.approx(0.002527, abs=5e-7)
    ref = stats.chi2_contingency([[443, 139], [502, 230]], correction=False)
    assert res.statistic == pytest.approx(ref.statistic, abs=TOL) and res.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert "Pearson chi-square" in res.method and ">= 5" in res.method


@pytest.mark.parametrize("x1,n1,x0,n0", [(3, 4, 1, 4), (18, 20, 13, 20), (38, 40, 33, 41), (1, 15, 6, 14)])
def test_small_samples_use_barnard(x1, n1, x0, n0):
    res = compare_proportions(x1, n1, x0, n0)
    # scipy.stats.barnard_exact compares the table's columns: one column per sample (arm)
    ref = stats.barnard_exact([[x1, x0], [n1 - x1, n0 - x0]], alternative="two-sided")
    assert res.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert "Barnard" in res.method and "< 5" in res.method


@pytest.mark.parametrize(
    "x1,n1,x0,n0,published",
    [
        # R's Barnard test vectors quoted in issue 14: [[5, 0], [1, 4]] -> 0.013671875
        (5, 6, 0, 4, 0.013671875),
        # and [[2, 7], [8, 2]] -> 0.0192108154 (two-sided, pooled Wald statistic)
        (2, 10, 7, 9, 0.0192108154),
    ],
)
def test_barnard_matches_published_r_values(x1, n1, x0, n0, published):
    # the R vectors are the tables [[5, 0], [1, 4]] and [[2, 7], [8, 2]], samples in columns
    res = compare_proportions(x1, n1, x0, n0, min_expected=1e9)
    assert "Barnard" in res.method
    assert res.p_value == pytest.approx(published, abs=5e-10)


def test_barnard_orientation_on_the_issue_repro():
    # 13/47 vs 19/53: Barnard with the arms as samples gives 0.5306, the transposed table 0.4146
    res = compare_proportions(13, 47, 19, 53, min_expected=1e9)
    assert res.p_value == pytest.approx(0.5306, abs=5e-5)


def test_large_sparse_tables_use_fisher():
    res = compare_proportions(1, 600, 6, 600)
    ref = stats.fisher_exact([[1, 599], [6, 594]])
    assert res.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert "Fisher" in res.method and "too large for Barnard" in res.method


def test_fisher_published_tea_tasting(monkeypatch):
    # Fisher's lady tasting tea (Agresti 2002, sec. 3.5.1): [[3, 1], [1, 3]], two-sided p = 17/35 = 0.486.
    monkeypatch.setattr(intervals, "BARNARD_MAX_N", 0)
    res = compare_proportions(3, 4, 1, 4)
    assert res.p_value == pytest.approx(17 / 35, abs=TOL)
    assert "Fisher" in res.method


def test_identical_outcomes_give_p_one():
    res = compare_proportions(10, 10, 7, 7)
    assert res.p_value == 1.0 and "same outcome" in res.method


# ------------------------------------------------------------------ sample_ratio_mismatch


def test_srm_binomial_below_1000():
    res = sample_ratio_mismatch({"treatment": 212, "control": 168}, {"treatment": 0.5, "control": 0.5})
    assert res.p_value == pytest.approx(stats.binomtest(212, 380, 0.5).pvalue, abs=TOL)
    assert "exact binomial" in res.method


def test_srm_chi_square_from_1000_and_unequal_shares():
    obs = {"treatment": 640, "control": 410}
    res = sample_ratio_mismatch(obs, {"treatment": 0.6, "control": 0.4})
    ref = stats.chisquare([640, 410], [630, 420])
    assert res.statistic == pytest.approx(ref.statistic, abs=TOL) and res.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert "chi-square goodness-of-fit" in res.method


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: proportion_ci(-1, 10), "non-negative"),
        (lambda: proportion_ci(11, 10), "cannot exceed"),
        (lambda: proportion_ci(0, 0), "empty"),
        (lambda: proportion_ci(2.5, 10), "whole number"),
        (lambda: proportion_ci(2, 10, level=95), "level"),
        (lambda: risk_difference(3, 10, 0, 0), "empty"),
        (lambda: risk_difference(3, 10, -2, 5), "non-negative"),
        (lambda: compare_proportions(12, 10, 2, 5), "cannot exceed"),
        (lambda: compare_proportions(1, 10, 0, 0), "empty"),
        (lambda: mean_ci([1.0]), "at least 2"),
        (lambda: mean_difference([1.0, np.nan, 2.0], [1.0, 2.0]), "missing"),
        (lambda: mean_difference([1.0, 1.0], [2.0, 2.0]), "constant"),
        (lambda: sample_ratio_mismatch({"a": 5, "b": 5}, {"a": 0.5, "c": 0.5}), "must be the same"),
        (lambda: sample_ratio_mismatch({"a": 5, "b": 5}, {"a": 0.7, "b": 0.7}), "sum to 1"),
        (lambda: sample_ratio_mismatch({"a": -5, "b": 5}, {"a": 0.5, "b": 0.5}), "non-negative"),
        (lambda: sample_ratio_mismatch({"a": 0, "b": 0}, {"a": 0.5, "b": 0.5}), "no accounts"),
    ],
)
def test_bad_input_raises_parameter_error(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
