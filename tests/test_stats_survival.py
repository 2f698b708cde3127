"""Generic survival statistics (insights.stats.survival) against hand computations, scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.optimize import minimize_scalar
from statsmodels.duration.hazard_regression import PHReg

from insights.errors import ParameterError
from insights.stats import survival

Z = sps.norm.ppf(0.975)

# five subjects, one entering late: (entry, time, event)
TRUNCATED = pd.DataFrame(
    {"entry": [0.0, 0.0, 1.0, 3.0, 0.0], "time": [2.0, 4.0, 3.0, 5.0, 5.0], "event": [1, 0, 1, 1, 0]}
)


def _hand_km(rows):
    """Product-limit S(t) and Greenwood sum at each event time; risk set: entry < t <= time."""
    out, s, g = {}, 1.0, 0.0
    for t in sorted(rows.loc[rows["event"] == 1, "time"].unique()):
        n = ((rows["entry"] < t) & (rows["time"] >= t)).sum()
        d = ((rows["time"] == t) & (rows["event"] == 1)).sum()
        s *= 1 - d / n
        g += d / (n * (n - d)) if n > d else np.inf
        out[t] = (s, g, n)
    return out


def test_kaplan_meier_with_entry_matches_hand_computation():
    # at t=2 the late entrant (entry 3) is not at risk: 4 at risk; t=3: 3 at risk; t=5: 2 at risk
    km = survival.kaplan_meier(TRUNCATED, "time", "event", entry="entry", horizons=[2.5, 5])
    hand = _hand_km(TRUNCATED)
    assert [v[2] for v in hand.values()] == [4, 3, 2]
    curve = km.curves.set_index("time")
    for t, (s, g, n) in hand.items():
        assert curve.loc[t, "survival"] == pytest.approx(s, abs=1e-12)
        assert curve.loc[t, "at_risk"] == n
        # log-log interval written the other way round: exp(-exp(log(-log S) +- z se / |log S|))
        se_theta = np.sqrt(g) / abs(np.log(s))
        low, high = np.exp(-np.exp(np.log(-np.log(s)) + np.array([Z, -Z]) * se_theta))
        assert (curve.loc[t, "low"], curve.loc[t, "high"]) == pytest.approx((low, high), abs=1e-12)
    assert curve.loc[5.0, "survival"] == pytest.approx(3 / 4 * 2 / 3 * 1 / 2)
    row = km.summary.loc["all"]
    assert row["survival_2.5"] == pytest.approx(3 / 4) and row["survival_5"] == pytest.approx(1 / 4)
    assert row["median_time"] == 3.0 and (row["n"], row["events"]) == (5, 3)
    assert km.method == "Kaplan-Meier with left truncation; pointwise 95% CI, log-log, Greenwood SE"


def test_kaplan_meier_without_entry_handles_time_zero():
    life = pd.DataFrame({"time": [0.0, 0.0, 1.0, 2.0, 3.0], "event": [1, 0, 1, 0, 1]})
    km = survival.kaplan_meier(life, "time", "event", horizons=[0, 1, 3, 4], level=0.9)
    curve = km.curves
    assert curve["time"].tolist() == [0.0, 0.0, 1.0, 3.0]
    assert curve["survival"].tolist() == pytest.approx([1.0, 4 / 5, 4 / 5 * 2 / 3, 0.0])
    row = km.summary.loc["all"]
    assert row["survival_0"] == pytest.approx(0.8) and row["survival_1"] == pytest.approx(8 / 15)
    assert row["median_time"] == 3.0 and np.isnan(row["survival_4"])  # beyond the last observed time
    assert "90% CI" in km.method and "left truncation" not in km.method


def test_kaplan_meier_groups_are_separate_curves():
    frame = pd.concat([TRUNCATED.assign(arm="b"), TRUNCATED.assign(arm="a", event=0)], ignore_index=True)
    km = survival.kaplan_meier(frame, "time", "event", entry="entry", group="arm", horizons=[5])
    assert list(km.summary.index) == ["a", "b"] and km.summary.index.name == "arm"
    assert km.summary.loc["a", "survival_5"] == 1.0 and km.summary.loc["b", "survival_5"] == pytest.approx(0.25)
    assert set(km.curves["arm"]) == {"a", "b"}


def test_log_rank_matches_scipy():
    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(np.r_[np.ones(40), 2 * np.ones(40)]), 1) + 0.1
    e = (rng.random(80) < 0.8).astype(int)
    g = np.r_[np.zeros(40), np.ones(40)]
    frame = pd.DataFrame({"t": t, "e": e, "g": g})
    res = survival.log_rank(frame, "t", "e", "g")
    x = sps.CensoredData.right_censored(t[g == 0], e[g == 0] == 0)
    y = sps.CensoredData.right_censored(t[g == 1], e[g == 1] == 0)
    ref = sps.logrank(x, y)
    assert res["statistic"] == pytest.approx(ref.statistic**2, rel=1e-9)
    assert res["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert res["df"] == 1 and res["method"] == "log-rank chi-square test (statsmodels survdiff)"


def test_log_rank_with_entry_matches_hand_computation():
    frame = pd.concat([TRUNCATED.assign(g=0), TRUNCATED.assign(g=1, time=TRUNCATED["time"] + 0.5)], ignore_index=True)
    o1 = e1 = v = 0.0
    for t in sorted(frame.loc[frame["event"] == 1, "time"].unique()):
        risk = (frame["entry"] < t) & (frame["time"] >= t)
        died = (frame["time"] == t) & (frame["event"] == 1)
        n, n1, d = risk.sum(), (risk & (frame["g"] == 1)).sum(), died.sum()
        o1 += (died & (frame["g"] == 1)).sum()
        e1 += d * n1 / n
        v += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1) if n > 1 else 0.0
    res = survival.log_rank(frame, "time", "event", "g", entry="entry")
    assert res["statistic"] == pytest.approx((o1 - e1) ** 2 / v, rel=1e-9)
    assert res["method"].endswith("left-truncated")


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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_harrell_c_counts_exactly_the_brute_force_pairs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    time = rng.integers(1, 8, n).astype(float)  # ties in time, with and without events
    event = rng.random(n) < 0.5
    risk = rng.integers(0, 4, n) + 0.25 * rng.integers(0, 2, n)  # ties in risk
    assert survival.harrell_c(time, event, risk) == _brute_c(time, event, risk)  # whole counts: exact
    with pytest.raises(ParameterError, match="missing"):
        survival.harrell_c(time, event, np.r_[np.nan, risk[1:]])


def test_harrell_c_extremes():
    t = np.arange(1.0, 11.0)
    e = np.ones(10, bool)
    assert survival.harrell_c(t, e, -t) == 1.0
    assert survival.harrell_c(t, e, t) == 0.0
    assert survival.harrell_c(t, e, np.zeros(10)) == 0.5
    with pytest.raises(ParameterError, match="same length"):
        survival.harrell_c(t, e, t[:3])


def test_phreg_agrees_with_hand_cox_partial_likelihood():
    # four events at distinct times, one censored subject; one covariate
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([1, 1, 0, 1, 1])
    x = np.array([2.0, 0.0, 1.0, 1.0, 0.0])
    # at beta = 0 the partial log-likelihood is -sum(log(risk-set size)) = -log(5*4*2*1)
    assert np.isclose(survival.cox_partial_loglik(0.0, time, event, x), -np.log(40.0))
    model = PHReg(time, x[:, None], status=event)
    assert np.isclose(model.loglike(np.zeros(1)), -np.log(40.0))
    fit = model.fit()
    hand = minimize_scalar(
        lambda b: -survival.cox_partial_loglik(b, time, event, x),
        bounds=(-10, 10),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert np.isclose(fit.params[0], hand.x, atol=1e-5)
    assert np.isclose(fit.llf, -hand.fun, atol=1e-8)
    assert np.isclose(model.loglike(np.array([0.7])), survival.cox_partial_loglik(0.7, time, event, x))


def test_cox_ph_recovers_hazard_ratio_and_ph_check():
    rng = np.random.default_rng(1)
    n = 1500
    x = rng.standard_normal(n)
    t = rng.exponential(1 / np.exp(0.7 * x))
    c = rng.exponential(2.0, n)
    rows = pd.DataFrame({"x": x, "time": np.minimum(t, c), "dead": (t <= c).astype(int)})
    res = survival.cox_ph(rows, "time", "dead", ["x"])
    assert res.table.loc["x", "hr_low"] < np.exp(0.7) < res.table.loc["x", "hr_high"]
    assert res.table.loc["x", "method"] == "Cox PH (statsmodels PHReg, breslow ties), Wald 95% CI"
    assert 0.6 < res.c_index < 0.8
    assert res.c_index == survival.harrell_c(rows["time"], rows["dead"], x * res.table["coef"].iloc[0])
    assert res.ph_check.loc["x", "p"] > 0.001
    # non-proportional: the covariate matters only early on
    g = rng.random(n) < 0.5
    early = rng.exponential(np.where(g, 0.2, 5.0))
    late = 0.5 + rng.exponential(1.0, n)
    t2 = np.where(early < 0.5, early, late)
    rows2 = pd.DataFrame({"g": g.astype(float), "time": np.minimum(t2, 3.0), "dead": (t2 <= 3.0).astype(int)})
    res2 = survival.cox_ph(rows2, "time", "dead", ["g"])
    assert not res2.ph_check.loc["g", "ok"] and res2.ph_check.loc["g", "p"] < 1e-3
    assert res2.ph_check["method"].str.contains("Schoenfeld").all()


def test_cox_ph_with_entry_maximises_the_left_truncated_partial_likelihood():
    rng = np.random.default_rng(4)
    n = 60
    x = rng.standard_normal(n)
    entry = rng.uniform(0, 1, n)
    time = entry + rng.exponential(np.exp(-0.8 * x))
    event = (rng.random(n) < 0.8).astype(int)

    def loglik(b):  # risk set of an event at t: entry < t <= time
        eta = b * x
        return sum(
            eta[i] - np.log(np.exp(eta[(entry < time[i]) & (time >= time[i])]).sum()) for i in np.flatnonzero(event)
        )

    hand = minimize_scalar(lambda b: -loglik(b), bounds=(-5, 5), method="bounded", options={"xatol": 1e-10})
    frame = pd.DataFrame({"x": x, "entry": entry, "time": time, "event": event})
    res = survival.cox_ph(frame, "time", "event", ["x"], entry="entry", level=0.9)
    assert res.table.loc["x", "coef"] == pytest.approx(hand.x, abs=1e-5)
    assert res.result.llf == pytest.approx(-hand.fun, abs=1e-8)
    assert "left-truncated" in res.table.loc["x", "method"] and "Wald 90% CI" in res.table.loc["x", "method"]
    se = res.table.loc["x", "se"]
    assert res.table.loc["x", "hr_low"] == pytest.approx(np.exp(hand.x - sps.norm.ppf(0.95) * se), rel=1e-5)


@pytest.mark.parametrize(
    "change, call, message",
    [
        (lambda f: f.drop(columns="time"), "km", r"no column\(s\) \['time'\]"),
        (lambda f: f.assign(time=f["time"].astype(str)), "km", r"column\(s\) \['time'\] are not numeric"),
        (lambda f: f.assign(time=[np.nan, 4.0, 3.0, 5.0, 5.0]), "km", r"missing or infinite values in \{'time': 1\}"),
        (lambda f: f.assign(time=[-1.0, 4.0, 3.0, 5.0, 5.0]), "km", "negative time"),
        (lambda f: f.assign(entry=[0.0, 0.0, 3.0, 3.0, 0.0]), "km", r"'time' <= 'entry'"),
        (lambda f: f.assign(event=[1, 0, 2, 1, 0]), "km", r"must be 0/1"),
        (lambda f: f, "lr_single", "single group"),
        (lambda f: f.assign(event=0), "lr", "no row has the event"),
        (lambda f: f.assign(g=[0, 1, np.nan, 0, 1]), "lr", "missing value"),
        (lambda f: f, "cox_few", r"only 3 event\(s\) for 3 covariate"),
        (lambda f: f.assign(x=1.0), "cox", r"\['x'\] are constant"),
        (
            lambda f: f.assign(z=2 * f["x"] - 1),
            "cox_collinear",
            r"covariate\(s\) \['x', 'z'\] are exactly collinear: 1 of them",
        ),
    ],
)
def test_survival_errors_name_the_columns(change, call, message):
    frame = change(TRUNCATED.assign(g=[0, 1, 0, 0, 1], x=[0.5, 1.0, 2.0, 0.0, 3.0], y=[1.0, 0.0, 0.0, 2.0, 1.0]))
    with pytest.raises(ParameterError, match=message):
        if call == "km":
            survival.kaplan_meier(frame, "time", "event", entry="entry")
        elif call == "lr":
            survival.log_rank(frame, "time", "event", "g")
        elif call == "lr_single":
            survival.log_rank(frame.assign(g=1), "time", "event", "g")
        elif call == "cox_few":
            survival.cox_ph(frame, "time", "event", ["x", "y", "g"])
        elif call == "cox":
            survival.cox_ph(frame, "time", "event", ["x"])
        else:
            survival.cox_ph(frame, "time", "event", ["x", "z"])
