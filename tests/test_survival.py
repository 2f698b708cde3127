"""Survival pieces: lifetimes, Kaplan-Meier, log-rank, Cox, C-index, proportional-hazards check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar
from statsmodels.duration.hazard_regression import PHReg

from insights.data import loading
from insights.analyses.segments import rules as segments
from insights.metrics import snapshots
from insights.analyses.drivers import survival
from insights.errors import ParameterError
from insights.metrics.snapshots import DRIVERS


def _brute_c(time, event, risk):
    num = den = 0.0
    n = len(time)
    for i in range(n):
        for j in range(n):
            if i == j or not event[i]:
                continue
            if time[i] < time[j] or (time[i] == time[j] and not event[j]):
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return num / den


def test_harrell_c_matches_brute_force_pair_count():
    rng = np.random.default_rng(0)
    time = rng.integers(1, 15, 150).astype(float)  # many tied times
    event = rng.random(150) < 0.6
    risk = rng.integers(0, 5, 150).astype(float)  # many tied risks
    assert np.isclose(survival.harrell_c(time, event, risk), _brute_c(time, event, risk))


def test_harrell_c_extremes():
    t = np.arange(1.0, 11.0)
    e = np.ones(10, bool)
    assert survival.harrell_c(t, e, -t) == 1.0
    assert survival.harrell_c(t, e, t) == 0.0
    assert survival.harrell_c(t, e, np.zeros(10)) == 0.5
    with pytest.raises(ParameterError, match="same length"):
        survival.harrell_c(t, e, t[:3])


def test_phreg_agrees_with_hand_cox_partial_likelihood():
    # four churns at distinct times, one censored account; one covariate
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([1, 1, 0, 1, 1])
    x = np.array([2.0, 0.0, 1.0, 1.0, 0.0])
    # at beta = 0 the partial log-likelihood is -sum(log(risk-set size)) = -log(5*4*2*1)
    assert np.isclose(survival.cox_partial_loglik(0.0, time, event, x), -np.log(40.0))
    model = PHReg(time, x[:, None], status=event)
    assert np.isclose(model.loglike(np.zeros(1)), -np.log(40.0))
    fit = model.fit()
    hand = minimize_scalar(lambda b: -survival.cox_partial_loglik(b, time, event, x), bounds=(-10, 10),
                           method="bounded", options={"xatol": 1e-10})
    assert np.isclose(fit.params[0], hand.x, atol=1e-5)
    assert np.isclose(fit.llf, -hand.fun, atol=1e-8)
    assert np.isclose(model.loglike(np.array([0.7])), survival.cox_partial_loglik(0.7, time, event, x))


def test_cox_fit_recovers_hazard_ratio_and_ph_check():
    rng = np.random.default_rng(1)
    n = 1500
    x = rng.standard_normal(n)
    t = rng.exponential(1 / np.exp(0.7 * x))
    c = rng.exponential(2.0, n)
    rows = pd.DataFrame({"x": x, "time": np.minimum(t, c), "churned": (t <= c).astype(int)})
    res = survival.cox_fit(rows, ["x"])
    assert res.table.loc["x", "hr_low"] < np.exp(0.7) < res.table.loc["x", "hr_high"]
    assert "PHReg" in res.table.loc["x", "method"]
    assert 0.6 < res.c_index < 0.8
    assert res.ph_check.loc["x", "p"] > 0.001
    # non-proportional: the covariate matters only early on
    g = rng.random(n) < 0.5
    early = rng.exponential(np.where(g, 0.2, 5.0))
    late = 0.5 + rng.exponential(1.0, n)
    t2 = np.where(early < 0.5, early, late)
    rows2 = pd.DataFrame({"g": g.astype(float), "time": np.minimum(t2, 3.0), "churned": (t2 <= 3.0).astype(int)})
    res2 = survival.cox_fit(rows2, ["g"])
    assert not res2.ph_check.loc["g", "ok"] and res2.ph_check.loc["g", "p"] < 1e-3
    assert res2.ph_check["method"].str.contains("Schoenfeld").all()


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    life = pd.DataFrame({"segment": ["A"] * 5 + ["B"] * 5, "entry": 0.0,
                         "time": [3, 6, 9, 14, 30, 20, 25, 26, 40, 50.0],
                         "churned": [1] * 10})
    km = survival.kaplan_meier(life)
    a = km.summary.loc["A"]
    assert np.isclose(a["retention_12m"], 2 / 5) and np.isclose(a["retention_24m"], 1 / 5)
    assert a["median_lifetime"] == 9.0
    assert a["retention_12m_low"] <= a["retention_12m"] <= a["retention_12m_high"]
    assert 0 <= km.log_rank["p"] <= 1 and "log-rank" in km.log_rank["method"]
    assert {"time", "retention", "low", "high"} <= set(km.curves.columns)


def test_left_truncation_is_used():
    # an account entering late must not count in the risk set before it enters
    life = pd.DataFrame({"segment": ["A", "A", "A"], "entry": [0.0, 0.0, 10.0], "time": [5.0, 12.0, 20.0],
                         "churned": [1, 1, 1]})
    km = survival.kaplan_meier(life)
    assert km.curves.iloc[0][["time", "retention"]].tolist() == [0.0, 1.0]
    first = km.curves.iloc[1]
    assert first["time"] == 5.0 and np.isclose(first["retention"], 1 / 2)  # 2 at risk at t = 5


@pytest.fixture(scope="module")
def demo(demo_dir):
    tables = loading.load_tables(demo_dir)
    snap = snapshots.build(tables)
    return tables, snap.join(segments.rule_segments(snap, tables.accounts)[["segment"]])


def test_lifetimes_and_km_on_demo(demo):
    tables, _ = demo
    life = survival.lifetimes(tables)
    assert life["account_id"].is_unique
    assert (life["time"] > life["entry"]).all() and (life["entry"] >= 0).all()
    assert life["churned"].isin([0, 1]).all() and life["churned"].sum() > 0
    km = survival.kaplan_meier(life)
    assert set(km.summary.index) == set(life["segment"])
    assert km.curves["retention"].between(0, 1).all()
    assert (km.curves["low"] <= km.curves["retention"] + 1e-12).all()
    assert (km.curves.groupby("segment")["retention"].diff().dropna() <= 1e-12).all()


def test_driver_cox_on_demo(demo):
    tables, snap = demo
    res = survival.driver_cox(snap, tables)
    assert list(res.table.index[:5]) == list(DRIVERS)
    assert (res.table["hr_low"] < res.table["hazard_ratio"]).all()
    assert 0.5 < res.c_index <= 1
    assert res.events > 0 and res.n > res.events
    assert set(res.ph_check.index) == set(res.table.index)
    rows = survival.cox_rows(snap, tables)
    assert rows["account_id"].is_unique and (rows["time"] > 0).all()
    with pytest.raises(ParameterError, match="lack column"):
        survival.cox_fit(rows, ["nope"])
