"""Empirical-Bayes partial pooling, P(first) and the isotonic recalibration map, against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.isotonic import IsotonicRegression
from statsmodels.stats.meta_analysis import combine_effects

from insights.errors import ParameterError
from insights.stats import partial_pooling as pp
from insights.stats import recalibration

B = np.array([-1.0, -0.5, -0.2, -0.9])
V = np.array([0.04, 0.09, 0.30, 0.05])


def test_dersimonian_laird_matches_statsmodels():
    mean, var, tau2, q = pp.dersimonian_laird(B, V)
    ref = combine_effects(B, V, method_re="dl")
    assert tau2 == pytest.approx(ref.tau2, rel=1e-10)
    assert mean == pytest.approx(ref.mean_effect_re, rel=1e-10)
    assert var == pytest.approx(ref.var_eff_w_re, rel=1e-10)
    assert q == pytest.approx(ref.q, rel=1e-10)


def test_dersimonian_laird_homogeneous_groups_give_zero_tau2():
    _, _, tau2, _ = pp.dersimonian_laird([0.10, 0.11, 0.09], [0.5, 0.5, 0.5])
    assert tau2 == 0.0


def test_one_term_shrinkage_is_the_scalar_closed_form():
    est = pd.DataFrame({"x": B}, index=list("ABCD"))
    res = pp.shrink_effects(est, {g: np.array([[v]]) for g, v in zip("ABCD", V)})
    mu, var_mu, tau2, _ = pp.dersimonian_laird(B, V)
    w = tau2 / (tau2 + V)
    expected = mu + w * (B - mu)
    post_var = w * V + (1 - w) ** 2 * var_mu  # (1 - w) tau2 = w V
    assert np.allclose(res.shrunk["x"], expected, rtol=1e-12)
    assert np.allclose(res.shrunk_se["x"], np.sqrt(post_var), rtol=1e-12)
    assert np.allclose(res.weight["x"], w)
    # the noisiest group moves most toward the pooled effect and keeps the widest interval
    moved = np.abs(res.shrunk["x"] - B)
    assert moved.idxmax() == "C" and res.shrunk_se["x"].idxmax() == "C"
    assert (res.shrunk_se["x"] < np.sqrt(V)).all()


def test_diagonal_covariances_shrink_each_term_on_its_own():
    rng = np.random.default_rng(1)
    est = pd.DataFrame(rng.normal(-0.5, 0.4, (4, 3)), index=list("ABCD"), columns=["p", "q", "r"])
    var = rng.uniform(0.02, 0.2, (4, 3))
    res = pp.shrink_effects(est, {g: np.diag(var[i]) for i, g in enumerate("ABCD")})
    for j, t in enumerate(est.columns):
        one = pp.shrink_effects(est[[t]], {g: np.array([[var[i, j]]]) for i, g in enumerate("ABCD")})
        assert np.allclose(res.shrunk[t], one.shrunk[t]) and np.allclose(res.shrunk_se[t], one.shrunk_se[t])


def test_zero_between_group_variance_pools_fully():
    est = pd.DataFrame({"x": [0.1, 0.1001, 0.0999]}, index=list("ABC"))
    res = pp.shrink_effects(est, {g: np.array([[0.3]]) for g in "ABC"})
    assert res.pooled.loc["x", "tau2"] == 0
    assert np.allclose(res.shrunk["x"], res.pooled.loc["x", "mean"])
    assert np.allclose(res.shrunk_se["x"], res.pooled.loc["x", "se"])


def test_shrink_effects_rejects_bad_input():
    est = pd.DataFrame({"x": [0.1, 0.2]}, index=["A", "B"])
    with pytest.raises(ParameterError, match="no covariance"):
        pp.shrink_effects(est, {"A": np.array([[0.1]])})
    with pytest.raises(ParameterError, match="positive variances"):
        pp.shrink_effects(est, {"A": np.array([[0.1]]), "B": np.array([[0.0]])})
    with pytest.raises(ParameterError, match="at least 2 groups"):
        pp.shrink_effects(est.iloc[:1], {"A": np.array([[0.1]])})


def test_first_probability_two_terms_is_the_normal_closed_form():
    mean = pd.Series({"a": -0.3, "b": -0.1})
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    p = pp.first_probability(mean, cov, largest=False, n_draws=200_000, seed=3)
    exact = stats.norm.cdf((-0.1 - -0.3) / np.sqrt(0.04 + 0.09 - 2 * 0.01))  # P(a < b)
    assert p["a"] == pytest.approx(exact, abs=0.004)
    assert p.sum() == pytest.approx(1.0)
    assert pp.first_probability(mean, cov, largest=True, n_draws=200_000, seed=3)["b"] == pytest.approx(
        exact, abs=0.004
    )


def test_recalibration_map_is_sklearns_isotonic_fit():
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 300)
    y = (rng.uniform(0, 1, 300) < p**2).astype(int)  # overconfident statements
    x, yk = recalibration.fit_map(p, y)
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    grid = np.linspace(0, 1, 101)
    assert np.allclose(recalibration.apply_map(grid, x, yk), ref.predict(grid))
    assert (np.diff(yk) >= 0).all()
    with pytest.raises(ParameterError, match="0/1"):
        recalibration.fit_map([0.2, 0.4], [0, 2])
