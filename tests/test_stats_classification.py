"""Classifier metrics (insights.stats.classification) and the cluster bootstrap vs sklearn, scipy, hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from insights.errors import ParameterError
from insights.stats import classification as clf
from insights.stats.bootstrap import cluster_bootstrap_counts, cluster_bootstrap_draws


def _scores(seed, n=200, per_cluster=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.round(rng.normal(y * 0.6, 1.0), 1), np.arange(n) // per_cluster  # rounding makes ties


def test_auc_equals_sklearn_and_mann_whitney():
    y, risk, _ = _scores(5, 300)
    r = clf.auc_delong(y, risk)
    u = stats.mannwhitneyu(risk[y == 1], risk[y == 0]).statistic
    assert r["auc"] == pytest.approx(roc_auc_score(y, risk), abs=1e-12)
    assert r["auc"] == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)
    assert r["method"] == "DeLong 95% CI" and r["low"] < r["auc"] < r["high"]
    assert (r["n"], r["events"]) == (300, int(y.sum()))
    assert np.isnan(clf.auc_delong(np.ones(5), risk[:5])["auc"])


def test_delong_variance_matches_its_definition():
    y, risk, _ = _scores(6, 80)
    pos, neg = risk[y == 1], risk[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    assert clf.auc_delong(y, risk)["se"] == pytest.approx(se, rel=1e-10)


def test_cluster_bootstrap_draws_whole_clusters_reproducibly():
    clusters = np.array(["b", "a", "c", "a", "b", "b"])
    w = cluster_bootstrap_counts(clusters, 50, seed=3)
    # the draws: one multinomial over the sorted distinct clusters per replicate (a, b, c)
    expected = np.random.default_rng(3).multinomial(3, [1 / 3] * 3, size=50)[:, [1, 0, 2, 0, 1, 1]]
    np.testing.assert_array_equal(w, expected)
    assert (w[:, 1] == w[:, 3]).all() and (w[:, 0] == w[:, 4]).all()  # rows of a cluster move together
    with pytest.raises(ParameterError, match="missing value"):
        cluster_bootstrap_counts(pd.Series(["a", None]), 10, 0)


def test_weighted_auc_equals_sklearn_on_repeated_rows():
    y, risk, clusters = _scores(7, 60)
    w = cluster_bootstrap_counts(clusters, 5, seed=1)
    reps = clf.weighted_auc(y, risk, w)
    for b in range(5):
        keep = np.repeat(np.arange(60), w[b])
        assert reps[b] == pytest.approx(roc_auc_score(y[keep], risk[keep]), abs=1e-12)
    assert clf.weighted_auc(y, risk, np.ones(60)) == pytest.approx(roc_auc_score(y, risk), abs=1e-12)


def test_auc_bootstrap_is_the_percentile_interval_of_cluster_resamples():
    y, a, acc = _scores(8)
    b = a + np.random.default_rng(9).normal(0, 0.5, 200)
    t = clf.auc_bootstrap(y, {"a": a, "b": b}, acc, n_boot=300, seed=1, cluster_name="account")
    w = cluster_bootstrap_counts(acc, 300, seed=1)
    reps = {
        k: np.array([roc_auc_score(y[np.repeat(np.arange(200), r)], s[np.repeat(np.arange(200), r)]) for r in w])
        for k, s in {"a": a, "b": b}.items()
    }
    assert t.loc["a", ["low", "high"]].tolist() == pytest.approx(np.quantile(reps["a"], [0.025, 0.975]), abs=1e-12)
    diff = np.quantile(reps["b"] - reps["a"], [0.025, 0.975])
    assert t.loc["b - a", ["low", "high"]].tolist() == pytest.approx(diff, abs=1e-12)
    assert t.loc["b - a", "auc"] == pytest.approx(roc_auc_score(y, b) - roc_auc_score(y, a))
    assert t["method"].iloc[0] == "bootstrap by account (300 resamples, percentile) 95% CI"
    assert (t["n"].iloc[0], t["events"].iloc[0], t["clusters"].iloc[0]) == (200, int(y.sum()), 100)
    same = clf.auc_bootstrap(y, {"a": a, "a2": a.copy()}, acc, n_boot=300)
    assert same.loc["a2 - a", ["auc", "low", "high"]].tolist() == [0, 0, 0]  # paired: identical scores
    with pytest.raises(ParameterError, match="n_boot"):
        clf.auc_bootstrap(y, {"a": a}, acc, n_boot=50)
    with pytest.raises(ParameterError, match="level"):
        clf.auc_bootstrap(y, {"a": a}, acc, level=95)


def test_held_out_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400).astype(float)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 400), 0, 1)
    clusters = np.arange(400) // 2
    m = clf.held_out_metrics(y, p, clusters, n_boot=200, cluster_name="account")
    assert m["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert m["auc_low"] < m["auc"] < m["auc_high"] and "bootstrap by account" in m["auc_method"]
    assert m["auc_delong_low"] < m["auc"] < m["auc_delong_high"] and m["clusters"] == 200
    plain = clf.held_out_metrics(y, p)
    delong = clf.auc_delong(y, p)
    assert (plain["auc_low"], plain["auc_high"], plain["auc_method"]) == (
        delong["low"],
        delong["high"],
        "DeLong 95% CI",
    )
    assert plain["clusters"] == 400


def test_calibration_table_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400).astype(float)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 400), 0, 1)
    tab = clf.calibration_table(y, p, n_bins=10)
    true, pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(tab["observed"], true, atol=1e-12)
    np.testing.assert_allclose(tab["mean_predicted"], pred, atol=1e-12)
    assert tab["rows"].sum() == len(y) and (tab["method"] == "Wilson score 95% CI").all()
    assert tab["events"].sum() == y.sum()


def test_lift_by_hand():
    y = [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]  # base rate 0.2
    p = [0.9, 0.8, 0.1, 0.2, 0.3, 0.05, 0.04, 0.03, 0.02, 0.01]
    assert clf.top_lift(y, p, 0.1) == pytest.approx(1 / 0.2)  # top row has the event
    assert clf.top_lift(y, p, 0.2) == pytest.approx(0.5 / 0.2)  # 0.9 (event), 0.8 (none)
    assert clf.top_lift(y, p, 0.5) == pytest.approx(0.4 / 0.2)  # 0.9 .8 .3 .2 .1 -> 2 events of 5
    tab = clf.lift_table(y, p, n_bins=5)
    assert tab["events"].tolist() == [1, 1, 0, 0, 0] and tab["rows"].tolist() == [2] * 5
    assert tab["lift"].tolist() == pytest.approx([2.5, 2.5, 0, 0, 0])
    assert tab["cum_share_events"].iloc[-1] == 1 and tab["cum_lift"].iloc[0] == pytest.approx(2.5)
    with pytest.raises(ParameterError, match="no row has the event"):
        clf.top_lift([0, 0], [0.1, 0.2])
    with pytest.raises(ParameterError, match="frac"):
        clf.top_lift(y, p, 0)


def _per_replicate_auc(y, risk, weights):
    """The per-replicate loop ``weighted_auc`` replaced: one ranking and two bincounts per replicate."""
    codes, _ = pd.factorize(pd.Series(np.asarray(risk, dtype=float)), sort=True)
    return np.array([clf._weighted_auc_codes(np.asarray(y, float), codes, codes.max() + 1, w) for w in weights])


@pytest.mark.parametrize("seed, event_share", [(11, 0.3), (12, 0.8)])  # 0.8: events have more distinct scores
def test_cluster_weighted_auc_is_exactly_the_per_replicate_auc(seed, event_share):
    rng = np.random.default_rng(seed)
    n = 400
    y = (rng.random(n) < event_share).astype(int)
    risk = np.round(rng.normal(y * 0.5, 1.0), 1)  # many ties, within and across classes
    clusters = rng.integers(0, 150, n)
    codes, counts = cluster_bootstrap_draws(clusters, 120, seed=seed)
    fast = clf.cluster_weighted_auc(y, risk, codes, counts)
    np.testing.assert_array_equal(fast, _per_replicate_auc(y, risk, counts[:, codes]))
    np.testing.assert_array_equal(clf.weighted_auc(y, risk, counts[:, codes]), fast)
    # a replicate that draws one class only has no AUC
    only_events = clf.cluster_weighted_auc([1, 1, 0], [0.2, 0.4, 0.1], [0, 0, 1], [[2, 0], [1, 1]])
    assert np.isnan(only_events[0]) and only_events[1] == 1.0
    with pytest.raises(ParameterError, match="codes"):
        clf.cluster_weighted_auc(y, risk, codes[:-1], counts)
    with pytest.raises(ParameterError, match="missing"):
        clf.cluster_weighted_auc(y, np.r_[np.nan, risk[1:]], codes, counts)


def test_cluster_bootstrap_draws_are_the_counts_and_a_shorter_draw_is_a_prefix():
    clusters = np.array(["b", "a", "c", "a", "b", "b", "d"])
    codes, counts = cluster_bootstrap_draws(clusters, 40, seed=4)
    np.testing.assert_array_equal(codes, [1, 0, 2, 0, 1, 1, 3])
    expected = np.random.default_rng(4).multinomial(4, [1 / 4] * 4, size=40)
    np.testing.assert_array_equal(counts, expected)
    assert not counts.flags.writeable  # shared between calls: nobody may change it
    np.testing.assert_array_equal(cluster_bootstrap_draws(clusters, 15, seed=4)[1], expected[:15])
    longer = cluster_bootstrap_draws(clusters, 60, seed=4)[1]  # more than kept: drawn afresh, same start
    np.testing.assert_array_equal(longer[:40], expected)
    np.testing.assert_array_equal(cluster_bootstrap_counts(clusters, 40, seed=4), expected[:, codes])
    assert not np.array_equal(cluster_bootstrap_draws(clusters, 40, seed=5)[1], expected)


def test_cluster_bootstrap_draws_keep_counts_above_255(monkeypatch):
    from insights.stats import bootstrap

    class Heavy:  # a generator whose draws put 300 in the first cluster of every replicate after the first
        def __init__(self, seed):
            self.calls = 0

        def multinomial(self, n, pvals, size):
            out = np.zeros((size, len(pvals)), dtype=np.int64)
            out[:, 0] = 300 if self.calls else 1
            self.calls += 1
            return out

    monkeypatch.setattr(bootstrap, "_BLOCK", 2)  # one replicate per block
    monkeypatch.setattr(bootstrap.np.random, "default_rng", Heavy)
    bootstrap._DRAWS.clear()
    counts = bootstrap.cluster_bootstrap_draws(["a", "b"], 3, seed=123)[1]
    bootstrap._DRAWS.clear()
    np.testing.assert_array_equal(counts[:, 0], [1, 300, 300])
