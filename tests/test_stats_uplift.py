"""insights.stats.uplift / heterogeneity / policy_value against independent computations.

Closed forms (Horvitz-Thompson means, group means), statsmodels OLS (HC1 and cluster-robust) and
scipy's Welch test; the cross-fitting is checked by changing one fold's outcomes.
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.dummy import DummyRegressor

from insights.errors import ParameterError
from insights.stats.heterogeneity import best_linear_projection, clan, gates, uplift_groups
from insights.stats.policy_value import policy_value, qini_curve, top_share_policy
from insights.stats.uplift import cluster_folds, dr_learner


def _experiment(seed=0, n=400, effect=0.15):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < 0.5).astype(int)
    p0 = 1 / (1 + np.exp(-(1.0 + 0.5 * x2)))
    p1 = np.clip(p0 + effect * (x1 < 0), 0, 1)
    y = (rng.random(n) < np.where(t == 1, p1, p0)).astype(float)
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y, "acct": np.arange(n) // 2})


def test_zero_outcome_model_gives_horvitz_thompson_scores():
    d = _experiment(1).assign(y=lambda f: f["y"] * 3.0 + 0.5)  # numeric outcome: models use predict
    zero = DummyRegressor(strategy="constant", constant=0)
    f = dr_learner(d, "y", "t", ["x1", "x2"], propensity=0.4, outcome_model=zero)
    ht1 = d["t"] * d["y"] / 0.4
    ht0 = (1 - d["t"]) * d["y"] / 0.6
    np.testing.assert_allclose(f["gamma1"], ht1)
    np.testing.assert_allclose(f["gamma0"], ht0)
    assert f["score"].mean() == pytest.approx(ht1.mean() - ht0.mean())
    assert "known propensity" in f.attrs["method"]


def test_cross_fitting_never_uses_a_rows_own_outcome():
    d = _experiment(2)
    f = dr_learner(d, "y", "t", ["x1", "x2"], propensity=0.5, seed=3)
    fold0 = f["fold"] == 0
    changed = d.assign(y=np.where(fold0, 1 - d["y"], d["y"]))  # flip every outcome of fold 0
    g = dr_learner(changed, "y", "t", ["x1", "x2"], propensity=0.5, seed=3)
    # within the fold, the predictions are untouched; only the common level all rows share moves
    centred = [x.loc[fold0, "cate"] - x.loc[fold0, "cate"].mean() for x in (f, g)]
    np.testing.assert_allclose(centred[0], centred[1])
    np.testing.assert_allclose(g.loc[fold0, "mu1"], f.loc[fold0, "mu1"])
    assert not np.allclose(g.loc[~fold0, "cate"], f.loc[~fold0, "cate"])  # the others did learn from fold 0


def test_estimated_propensity_is_clipped_and_named():
    f = dr_learner(_experiment(3), "y", "t", ["x1", "x2"], folds=3)
    assert f["propensity"].between(0.02, 0.98).all()
    assert "estimated propensity" in f.attrs["method"]


def test_cluster_folds_keep_clusters_together():
    clusters = np.repeat(np.arange(30), 3)
    fold = cluster_folds(clusters, 4, seed=1)
    assert pd.Series(fold).groupby(clusters).nunique().max() == 1
    assert sorted(np.bincount(fold[::3])) == [7, 7, 8, 8]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"outcome": "nope"}, "no column"),
        ({"treatment": "x1"}, "0/1"),
        ({"propensity": 0.0}, "propensity must lie"),
        ({"covariates": []}, "at least one covariate"),
        ({"folds": 1}, "folds must be"),
    ],
)
def test_refusals_name_the_fix(kwargs, match):
    args = {"outcome": "y", "treatment": "t", "covariates": ["x1"], "propensity": 0.5} | kwargs
    with pytest.raises(ParameterError, match=match):
        dr_learner(_experiment(4), **args)


def test_too_few_rows_per_arm_is_refused():
    d = _experiment(5, n=40).assign(t=lambda f: (np.arange(40) < 3).astype(int))
    with pytest.raises(ParameterError, match="only 3 treated"):
        dr_learner(d, "y", "t", ["x1"], propensity=0.5)


@pytest.mark.parametrize("cluster", [None, "acct"])
def test_blp_matches_statsmodels(cluster):
    f = dr_learner(_experiment(6), "y", "t", ["x1", "x2"], propensity=0.5).assign(acct=_experiment(6)["acct"])
    res = best_linear_projection(f, cluster=cluster)
    design = sm.add_constant(f["cate"] - f["cate"].mean())
    kw = {"cov_type": "HC1"} if cluster is None else {"cov_type": "cluster", "cov_kwds": {"groups": f["acct"]}}
    ols = sm.OLS(f["score"], design).fit(**kw)
    low, high = ols.conf_int(alpha=0.05).to_numpy()[1]
    assert res.average.estimate == pytest.approx(ols.params.iloc[0])
    assert (res.loading.estimate, res.loading.low, res.loading.high) == pytest.approx((ols.params.iloc[1], low, high))
    assert res.test.p_value == pytest.approx(ols.pvalues.iloc[1])
    assert ("HC1" if cluster is None else "CR1") in res.loading.method


def test_blp_refuses_a_constant_prediction():
    f = pd.DataFrame({"score": [0.1, 0.2, 0.3], "cate": [1.0, 1.0, 1.0]})
    with pytest.raises(ParameterError, match="rank deficient"):
        best_linear_projection(f)


def test_gates_are_group_means_with_bootstrap_se_near_analytic():
    f = dr_learner(_experiment(7, n=1000), "y", "t", ["x1", "x2"], propensity=0.5)
    g = gates(f, groups=4, n_boot=2000, seed=1)
    grp = uplift_groups(f["cate"], 4)
    by = f["score"].groupby(grp)
    np.testing.assert_allclose(g["estimate"], by.mean().to_numpy())
    assert g["n"].tolist() == [250] * 4
    se_boot = (g["high"] - g["low"]) / (2 * 1.96)
    se_analytic = (by.std() / np.sqrt(by.size())).to_numpy()
    np.testing.assert_allclose(se_boot, se_analytic, rtol=0.15)
    assert g.attrs["difference"].estimate == pytest.approx(g["estimate"].iloc[-1] - g["estimate"].iloc[0])
    assert "row-bootstrap percentile 95% CI (B=2000)" in g["method"].iloc[0]


def test_uplift_groups_rank_the_prediction():
    assert uplift_groups([0.3, 0.1, 0.2, 0.4], 2).tolist() == [2, 1, 1, 2]


def test_clan_matches_scipy_welch():
    d = _experiment(8, n=300)
    d["cate"] = -d["x1"] + 0.1 * d["x2"]
    out = clan(d, ["x1", "x2"], groups=3).set_index("covariate")
    grp = uplift_groups(d["cate"], 3)
    top, bottom = d.loc[grp == 3, "x1"], d.loc[grp == 1, "x1"]
    welch = stats.ttest_ind(top, bottom, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert out.loc["x1", "difference"] == pytest.approx(top.mean() - bottom.mean())
    assert (out.loc["x1", "low"], out.loc["x1", "high"]) == pytest.approx((ci.low, ci.high))
    assert out.loc["x1", "p_value"] == pytest.approx(welch.pvalue)
    assert out.loc["x1", "difference"] < 0  # the most responsive have low x1


def _scored(seed=9, n=600):
    d = _experiment(seed, n)
    return dr_learner(d, "y", "t", ["x1", "x2"], propensity=0.5), d


def test_policy_value_ipw_closed_form_and_dr_treat_all():
    f, d = _scored()
    pol = (d["x1"] < 0).astype(int).to_numpy()
    out = policy_value(f, {"all": np.ones(len(f)), "none": np.zeros(len(f)), "rule": pol}, estimator="ipw")
    out = out.set_index("policy")
    y, t = d["y"].to_numpy(), d["t"].to_numpy()
    assert out.loc["all", "value"] == pytest.approx(np.mean(t * y / 0.5))
    assert out.loc["none", "value"] == pytest.approx(np.mean((1 - t) * y / 0.5))
    hand = np.mean(pol * t * y / 0.5 + (1 - pol) * (1 - t) * y / 0.5)
    assert out.loc["rule", "value"] == pytest.approx(hand)
    dr = policy_value(f, {"all": np.ones(len(f))}, cluster=None)
    assert dr["value"].iloc[0] == pytest.approx(f["gamma1"].mean())
    assert dr["gain"].iloc[0] == pytest.approx(f["score"].mean())


def test_policy_value_interval_matches_statsmodels_cluster_mean():
    f, d = _scored()
    f["acct"] = d["acct"]
    w = np.linspace(1, 3, len(f))
    f["w"] = w
    pol = top_share_policy(f["cate"], 0.3)
    out = policy_value(f, {"top": pol}, weight="w", cluster="acct", level=0.9).iloc[0]
    values = w * (pol * f["gamma1"] + (1 - pol) * f["gamma0"])
    ols = sm.OLS(values.to_numpy(), np.ones(len(f))).fit(cov_type="cluster", cov_kwds={"groups": f["acct"]})
    z = stats.norm.ppf(0.95)
    assert out["value"] == pytest.approx(ols.params[0])
    assert out["value_high"] - out["value"] == pytest.approx(z * ols.bse[0])
    assert "cluster-robust normal 90% CI" in out["method"]


def test_policy_refusals():
    f, _ = _scored()
    with pytest.raises(ParameterError, match="0/1"):
        policy_value(f, {"bad": np.full(len(f), 0.5)})
    with pytest.raises(ParameterError, match="estimator"):
        policy_value(f, {"all": np.ones(len(f))}, estimator="aipw2")


def test_top_share_policy():
    assert top_share_policy([0.1, 0.5, 0.3, 0.2], 0.5).tolist() == [0, 1, 1, 0]
    with pytest.raises(ParameterError):
        top_share_policy([0.1], 1.5)


def test_qini_curve_ends_and_hand_computed_point():
    f, _ = _scored()
    q = qini_curve(f, points=4, n_boot=50)
    assert q["gain"].iloc[0] == 0.0
    assert q["gain"].iloc[-1] == pytest.approx(f["score"].mean())
    top = top_share_policy(f["cate"], 0.25)
    assert q["gain"].iloc[1] == pytest.approx(np.mean(top * f["score"]))
    assert q["random"].iloc[2] == pytest.approx(0.5 * f["score"].mean())
    assert (q["low"] <= q["gain"] + 1e-12).all() and (q["gain"] <= q["high"] + 1e-12).all()
    area = np.trapezoid(q["gain"] - q["random"], q["share"])
    assert q.attrs["qini"].estimate == pytest.approx(area)
