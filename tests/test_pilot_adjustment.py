"""insights.stats.adjustment (ANCOVA / CUPED) against statsmodels and scipy."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from insights.errors import ParameterError
from insights.stats.adjustment import ancova

TOL = 1e-6


def _pilot(seed, n=240):
    rng = np.random.default_rng(seed)
    pre = rng.lognormal(np.log(40), 0.5, n)
    treated = rng.random(n) < 0.5
    post = 8 + 0.8 * pre + 2.0 * treated + rng.normal(size=n) * (2 + 0.15 * pre)
    return post, treated, pre


@pytest.mark.parametrize("seed,level", [(1, 0.95), (2, 0.9), (3, 0.99)])
def test_matches_statsmodels_ols_hc2(seed, level):
    y, d, x = _pilot(seed)
    res = ancova(y, d, x, level)
    design = sm.add_constant(np.column_stack([d.astype(float), x - x.mean()]))
    fit = sm.OLS(y, design).fit(cov_type="HC2", use_t=True)
    low, high = fit.conf_int(alpha=1 - level)[1]
    assert res.adjusted.estimate == pytest.approx(fit.params[1], abs=TOL)
    assert (res.adjusted.low, res.adjusted.high) == pytest.approx((low, high), abs=TOL)
    assert res.p_value == pytest.approx(fit.pvalues[1], abs=TOL)
    assert "ANCOVA" in res.adjusted.method and "HC2" in res.adjusted.method

    # unadjusted: Welch t; variance reduction from the HC2 variances of both regressions
    welch = stats.ttest_ind(y[d], y[~d], equal_var=False).confidence_interval(level)
    assert (res.unadjusted.low, res.unadjusted.high) == pytest.approx((welch.low, welch.high), abs=TOL)
    plain = sm.OLS(y, sm.add_constant(d.astype(float))).fit(cov_type="HC2")
    assert res.variance_reduction == pytest.approx(1 - fit.bse[1] ** 2 / plain.bse[1] ** 2, abs=TOL)
    assert res.variance_reduction > 0.3  # the covariate explains much of the outcome here

    # theta: CUPED coefficient = slope of the simple regression of y on x over all accounts
    assert res.theta == pytest.approx(stats.linregress(x, y).slope, abs=TOL)


def test_cuped_equals_ancova_when_covariate_balanced():
    # Both arms hold the same covariate values, so the covariate means are equal and the CUPED
    # estimate (difference in means of y - theta (x - mean x)) equals the ANCOVA coefficient exactly,
    # whatever theta is (the theta * (mean x1 - mean x0) correction is zero in both).
    rng = np.random.default_rng(7)
    x_arm = rng.gamma(3, 10, 80)
    x = np.concatenate([x_arm, rng.permutation(x_arm)])
    d = np.repeat([1, 0], 80)
    y = 5 + 0.7 * x + 1.5 * d + rng.normal(0, 4, 160)
    res = ancova(y, d, x)
    assert res.cuped_estimate == pytest.approx(res.adjusted.estimate, abs=1e-10)
    manual = y - res.theta * (x - x.mean())
    assert res.cuped_estimate == pytest.approx(manual[d == 1].mean() - manual[d == 0].mean(), abs=1e-12)


def test_cuped_and_ancova_agree_in_randomised_pilots():
    # With random assignment the two estimators differ by (beta_within - theta) * (mean x1 - mean x0),
    # of order 1/n: well below a hundredth of a standard error for 5,000 accounts.
    y, d, x = _pilot(11, n=5000)
    res = ancova(y, d, x)
    se = (res.adjusted.high - res.adjusted.low) / (2 * stats.t.ppf(0.975, 4997))
    assert abs(res.cuped_estimate - res.adjusted.estimate) < 0.01 * se


@pytest.mark.parametrize(
    "args,match",
    [
        (([1.0, 2, 3, 4], [1, 0, 1], [1.0, 2, 3, 4]), "same length"),
        (([1.0, 2, 3, 4, 5], [1, 0, 2, 0, 1], [1.0, 2, 3, 4, 5]), "0/1"),
        (([1.0, 2, 3, 4, 5], [1, 0, 0, 0, 0], [1.0, 2, 3, 4, 5]), "at least 2 accounts"),
        (([1.0, 2, 3, 4], [1, 0, 1, 0], [3.0, 3, 3, 3]), "constant"),
        (([1.0, np.nan, 3, 4], [1, 0, 1, 0], [1.0, 2, 3, 4]), "missing"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ParameterError, match=match):
        ancova(*args)
