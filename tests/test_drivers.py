"""Retention-driver ranking: dominance analysis, odds ratios, bootstrap, groups, segments, recovery."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import spearmanr

from insights.analyses.drivers import ranking as drivers
from insights.analyses.segments import rules as segments
from insights.data import loading
from insights.errors import ParameterError
from insights.metrics import snapshots
from insights.metrics.snapshots import DRIVERS
from insights.stats import dominance as dom

# --------------------------------------------------------------------------- dominance machinery


def _r2(X, y, cols):
    A = np.column_stack([np.ones(len(y))] + [X[:, j] for j in cols])
    b = np.linalg.lstsq(A, y, rcond=None)[0]
    return 1 - np.sum((y - A @ b) ** 2) / np.sum((y - y.mean()) ** 2)


def _correlated(n, k, seed):
    rng = np.random.default_rng(seed)
    L = np.linalg.cholesky(0.4 * np.ones((k, k)) + 0.6 * np.eye(k))
    return rng.standard_normal((n, k)) @ L.T, rng


def test_shapley_from_values_matches_brute_force():
    rng = np.random.default_rng(0)
    masks = dom.subset_masks(4)
    values = rng.random(len(masks))
    values[0] = 0.0
    lookup = {frozenset(np.flatnonzero(m)): v for m, v in zip(masks, values)}
    expected = dom.shapley_brute_force(lambda s: lookup[frozenset(s)], 4)
    got = dom.shapley_from_values(values, masks)
    assert np.allclose(got, expected)
    assert np.isclose(got.sum(), values[-1] - values[0])  # efficiency


def test_linear_dominance_is_lmg_shapley_brute_force():
    X, rng = _correlated(400, 4, 1)
    y = X @ np.array([1.0, 0.5, 0.0, -0.7]) + rng.standard_normal(400)
    res = dom.dominance(X, y, model="ols")
    expected = dom.shapley_brute_force(lambda s: _r2(X, y, sorted(s)) if s else 0.0, 4)
    assert np.allclose(res.general, expected, atol=1e-10)
    assert np.isclose(res.general.sum(), _r2(X, y, range(4)))
    assert res.statistic == "R2"


def test_lmg_closed_forms():
    """Two predictors: LMG_1 = (R2_1 + R2_12 - R2_2) / 2; orthogonal predictors: LMG_j = r_jy^2."""
    X, rng = _correlated(300, 2, 2)
    y = X @ np.array([0.8, 0.3]) + rng.standard_normal(300)
    res = dom.dominance(X, y, model="ols")
    r1, r2, r12 = _r2(X, y, [0]), _r2(X, y, [1]), _r2(X, y, [0, 1])
    assert np.isclose(res.general[0], (r1 + r12 - r2) / 2)
    assert np.isclose(res.general[1], (r2 + r12 - r1) / 2)
    # exactly orthogonal, centred predictors
    Q = np.linalg.qr(rng.standard_normal((200, 3)) - 0)[0]
    Q = Q - Q.mean(axis=0)
    Q = np.linalg.qr(np.column_stack([np.ones(200), Q]))[0][:, 1:]
    yo = Q @ np.array([3.0, 1.0, 0.5]) + 0.1 * rng.standard_normal(200)
    res_o = dom.dominance(Q, yo, model="ols")
    r_sq = [np.corrcoef(Q[:, j], yo)[0, 1] ** 2 for j in range(3)]
    assert np.allclose(res_o.general, r_sq, atol=1e-10)


def test_controls_are_always_in_and_blocks_enter_together():
    X, rng = _correlated(300, 4, 3)
    y = X @ np.array([1.0, 0.5, 0.5, 0.2]) + rng.standard_normal(300)
    res = dom.dominance(X[:, 1:], y, controls=X[:, :1], blocks=[[0, 1], [2]], model="ols")
    base = _r2(X, y, [0])
    full = _r2(X, y, range(4))
    v = {
        frozenset(): base,
        frozenset({0}): _r2(X, y, [0, 1, 2]),
        frozenset({1}): _r2(X, y, [0, 3]),
        frozenset({0, 1}): full,
    }
    expected = dom.shapley_brute_force(lambda s: v[frozenset(s)] - base, 2)
    assert np.allclose(res.general, expected)
    assert res.names[0].count("+") == 1
    assert np.isclose(res.share.sum(), 1.0)


def test_batched_logit_matches_statsmodels_on_subsets():
    X, rng = _correlated(800, 4, 4)
    eta = -1.0 + X @ np.array([0.8, -0.5, 0.3, 0.0])
    y = (rng.random(800) < 1 / (1 + np.exp(-eta))).astype(float)
    A = np.column_stack([np.ones(800), X])
    masks = np.array([[1, 1, 0, 0, 0], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 1]], bool)
    beta, ll, ok = dom.fit_logit_subsets(A, y, masks)
    assert ok
    for s, m in enumerate(masks):
        ref = sm.Logit(y, A[:, m]).fit(disp=0)
        assert np.allclose(beta[s, m], ref.params, atol=1e-6)
        assert np.isclose(ll[s], ref.llf)
        assert np.allclose(beta[s, ~m], 0.0)
    r2 = dom.mcfadden(ll, y)
    assert np.isclose(r2[2], sm.Logit(y, A).fit(disp=0).prsquared)


def test_frequency_weights_equal_replicated_rows_and_warm_start():
    X, rng = _correlated(300, 3, 5)
    y = (rng.random(300) < 1 / (1 + np.exp(1.5 - X[:, 0]))).astype(float)
    w = rng.integers(0, 3, 300).astype(float)
    rep = np.repeat(np.arange(300), w.astype(int))
    a = dom.dominance(X, y, weights=w)
    b = dom.dominance(X[rep], y[rep])
    c = dom.dominance(X, y, weights=w, beta0=dom.dominance(X, y).beta_subsets)
    assert np.allclose(a.general, b.general, atol=1e-8)
    assert np.allclose(a.general, c.general, atol=1e-8)


def test_replicates_in_threads_equal_one_by_one_and_statsmodels():
    X, rng = _correlated(400, 3, 9)
    C = rng.normal(size=(400, 1))
    y = (rng.random(400) < 1 / (1 + np.exp(1.0 - X[:, 0] + 0.5 * X[:, 2]))).astype(float)
    acc = np.arange(400) // 2
    W = np.stack([np.bincount(rng.integers(0, 200, 200), minlength=200)[acc] for _ in range(6)]).astype(float)
    warm = dom.dominance(X, y, C).beta_subsets
    threaded = dom.dominance_replicates(X, y, W, C, beta0=warm, n_jobs=2)
    for w, res in zip(W, threaded):
        alone = dom.dominance(X, y, C, weights=w)  # cold start, one at a time
        assert np.allclose(res.general, alone.general, atol=1e-9)
        ref = sm.GLM(y, np.column_stack([np.ones(400), C, X]), family=sm.families.Binomial(), freq_weights=w).fit()
        assert np.allclose(res.beta_full, ref.params, atol=1e-6)
        keep = w > 0
        ll0 = sm.GLM(y[keep], np.ones(keep.sum()), family=sm.families.Binomial(), freq_weights=w[keep]).fit().llf
        assert np.isclose(res.fit_full, 1 - ref.llf / ll0, atol=1e-9)


def test_loglik_is_exact_for_extreme_linear_predictors():
    X = np.column_stack([np.ones(4), [-3000.0, -40.0, 40.0, 900.0]])  # h = 1500: cosh overflows
    y = np.array([1.0, 0.0, 1.0, 0.0])
    beta = np.array([[0.0, 1.0], [0.0, 0.5]])
    eta = X @ beta.T
    expected = (y[:, None] * eta - np.logaddexp(0.0, eta)).sum(axis=0)
    assert np.allclose(dom._logit_loglik(X, y, np.ones(4), beta), expected, rtol=1e-12)


def test_dominance_rejects_bad_input():
    with pytest.raises(ParameterError, match="0/1"):
        dom.dominance(np.ones((10, 2)), np.arange(10.0))
    with pytest.raises(ParameterError, match="model"):
        dom.dominance(np.ones((10, 2)), np.zeros(10), model="probit")
    with pytest.raises(ParameterError, match="blocks"):
        dom.dominance(np.ones((10, 2)), np.zeros(10), blocks=[[0]])


# --------------------------------------------------------------------------- on the test demo


@pytest.fixture(scope="module")
def snap(demo_dir):
    tables = loading.load_tables(demo_dir)
    s = snapshots.build(tables)
    return s.join(segments.rule_segments(s, tables.accounts)[["segment"]])


@pytest.fixture(scope="module")
def rows(snap):
    return drivers.analysis_rows(snap)


@pytest.fixture(scope="module")
def ranking(rows):
    return drivers.rank_drivers(rows, n_boot=60, seed=3)


def test_analysis_rows_one_per_renewal_no_leakage(snap, rows):
    assert rows["contract_id"].is_unique
    days = (rows["renewal_date"] - rows["obs_date"]).dt.days
    assert days.between(0, drivers.WINDOW_DAYS).all()
    assert rows["churned"].isin([0.0, 1.0]).all()
    # the last look before each renewal
    eligible = snap[snap["churned"].notna() & ((snap["renewal_date"] - snap["obs_date"]).dt.days.between(0, 92))]
    last = eligible.groupby("contract_id")["obs_date"].max()
    assert (rows.set_index("contract_id")["obs_date"] == last.reindex(rows["contract_id"]).to_numpy()).all()
    for d in DRIVERS:
        assert abs(rows[f"z_{d}"].mean()) < 1e-9 and abs(rows[f"z_{d}"].std(ddof=0) - 1) < 1e-9
    assert np.allclose(
        rows["z_depth"],
        (np.log1p(rows["depth"]) - np.log1p(rows["depth"]).mean()) / np.log1p(rows["depth"]).std(ddof=0),
    )
    tenure_at_renewal = rows["tenure_years"] + rows["days_to_renewal"] / 365.25
    assert (rows["first_renewal"] == (tenure_at_renewal < drivers.FIRST_RENEWAL_YEARS)).all()


def test_analysis_rows_errors(snap):
    with pytest.raises(ParameterError, match="lacks column"):
        drivers.analysis_rows(snap.drop(columns="depth"))
    with pytest.raises(ParameterError, match="window"):
        drivers.analysis_rows(snap, window_days=-1)


def test_odds_ratios_cluster_robust(rows):
    ors = drivers.odds_ratios(rows)
    assert list(ors.index[:5]) == list(DRIVERS)
    assert (ors["or_low"] < ors["odds_ratio"]).all() and (ors["odds_ratio"] < ors["or_high"]).all()
    assert ors["method"].str.contains("clustered by account").all()
    X = sm.add_constant(pd.concat([rows[[f"z_{d}" for d in DRIVERS]], drivers.control_matrix(rows)], axis=1))
    naive = sm.Logit(rows["churned"], X).fit(disp=0)
    assert np.allclose(ors["coef"].to_numpy(), naive.params.drop("const").to_numpy())


def test_rank_drivers_structure(ranking):
    imp = ranking.importance
    assert len(imp) == len(ranking.groups)
    assert np.isclose(imp["share"].sum(), 1.0)
    assert (imp["share"].diff().dropna() <= 1e-12).all()  # ordered by share
    assert np.allclose(ranking.rank_probability.sum(axis=1), 1.0)
    assert np.allclose(ranking.rank_probability.sum(axis=0), 1.0)
    assert (imp["share_low"] <= imp["share_high"]).all()
    assert imp["method"].str.contains("general dominance").all()
    assert imp["method"].str.contains("bootstrap").all()
    assert ranking.n_boot == 60
    assert 0 < ranking.fit_base < ranking.fit_full < 1
    # tie flags follow the definition
    p = imp["p_above_next"].iloc[:-1]
    assert (imp["tied_with_next"].iloc[:-1] == (p < drivers.TIE_PROBABILITY)).all()
    assert imp["rank"].iloc[0].startswith("1")
    assert ranking.headline().count(">") + ranking.headline().count("=") == len(imp) - 1
    labelled = ranking.headline({"perceived_value": "perceived value", "switching_cost": "switching cost"})
    assert "_" not in labelled and labelled.replace(" value", "_value").replace(" cost", "_cost") == ranking.headline()


def test_rank_drivers_deterministic(rows, ranking):
    again = drivers.rank_drivers(rows, n_boot=60, seed=3)
    pd.testing.assert_frame_equal(again.importance, ranking.importance)
    other = drivers.rank_drivers(rows, n_boot=60, seed=4)
    assert not other.boot_shares.equals(ranking.boot_shares)


def test_rank_drivers_errors(rows):
    with pytest.raises(ParameterError, match="n_boot"):
        drivers.rank_drivers(rows, n_boot=5)
    with pytest.raises(ParameterError, match="both churned and renewed"):
        drivers.rank_drivers(rows.assign(churned=0.0), n_boot=20)


def test_correlation_groups_form_when_drivers_are_collinear():
    rng = np.random.default_rng(9)
    a = rng.standard_normal(500)
    frame = pd.DataFrame({"a": a, "b": a + 0.1 * rng.standard_normal(500), "c": rng.standard_normal(500)})
    corr, groups = drivers.correlation_groups(frame, ["a", "b", "c"])
    assert groups == [["a", "b"], ["c"]]
    assert corr.loc["a", "b"] > 0.9


def test_grouped_drivers_are_ranked_as_one_block(rows):
    r = drivers.rank_drivers(
        rows,
        n_boot=20,
        seed=1,
        groups=[["satisfaction", "perceived_value"], ["switching_cost"], ["depth"], ["breadth"]],
    )
    assert "satisfaction + perceived_value" in r.importance.index
    assert np.isnan(r.importance.loc["satisfaction + perceived_value", "odds_ratio"])


def test_segments_with_few_events_are_warned(rows):
    by_seg = drivers.rank_by_segment(rows, n_boot=20, seed=1, min_events=10_000)
    assert all(isinstance(v, str) and "too few" in v for v in by_seg.values())
    summary = drivers.segment_summary(by_seg, rows)
    assert summary["warning"].notna().all()
    assert summary["renewals"].sum() == len(rows) and summary["events"].sum() == rows["churned"].sum()
    forced = drivers.rank_by_segment(rows, n_boot=20, seed=1, min_events=10_000, rank_anyway=True)
    ranked = [v for v in forced.values() if not isinstance(v, str)]
    assert ranked and all(v.warning and "too few" in v.warning for v in ranked)
    with pytest.raises(ParameterError, match="segment"):
        drivers.rank_by_segment(rows.drop(columns="segment"))


# --------------------------------------------------------------------------- recovery of the truth


@pytest.mark.slow
def test_ranking_recovers_true_order_on_default_demo(tmp_path):
    from insights.demo import DemoSpec, write_demo

    write_demo(tmp_path, DemoSpec(seed=7))
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    tables = loading.load_tables(tmp_path)
    snap = snapshots.build(tables)
    snap = snap.join(segments.rule_segments(snap, tables.accounts)[["segment"]])
    rows = drivers.analysis_rows(snap)
    r = drivers.rank_drivers(rows, n_boot=30, seed=7)
    true_abs = pd.Series(truth["effects"]["overall"]).abs()
    share = r.importance["share"].reindex(true_abs.index)
    assert spearmanr(share, true_abs).statistic >= 0.9
    assert r.order[0] == truth["ranking"]["overall"][0]


def test_constant_driver_does_not_stop_the_other_fits():
    X, rng = _correlated(300, 2, 13)
    X = np.column_stack([X, np.zeros(300)])  # a driver constant in this group (standardised to 0)
    y = (rng.random(300) < 1 / (1 + np.exp(1.0 - X[:, 0]))).astype(float)
    res = dom.dominance(X, y)
    assert res.converged and np.isfinite(res.general).all()
    assert abs(res.general[2]) < 1e-9
    ref = sm.Logit(y, np.column_stack([np.ones(300), X[:, :2]])).fit(disp=0)
    assert np.isclose(res.fit_full, ref.prsquared)


def test_domain_ranking_is_general_dominance_over_the_renewal_controls(rows, ranking):
    """Independent check of the domain's numbers: statsmodels fits of every subset, brute-force Shapley."""
    assert all(len(g) == 1 for g in ranking.groups)
    controls = drivers.control_matrix(rows)
    Z = rows[[f"z_{d}" for d in DRIVERS]].set_axis(list(DRIVERS), axis=1)

    def r2(subset):
        X = sm.add_constant(pd.concat([controls, Z[[DRIVERS[j] for j in sorted(subset)]]], axis=1))
        return sm.Logit(rows["churned"], X).fit(disp=0).prsquared

    base = r2(())
    expected = dom.shapley_brute_force(lambda s: r2(s) - base, len(DRIVERS))
    got = ranking.importance["general_dominance"].reindex(list(DRIVERS)).to_numpy()
    assert np.allclose(got, expected, atol=1e-8)
    assert ranking.n_clusters == rows["account_id"].nunique()
