"""The demo generator: deterministic, relationally sound, realistic, and true to its ground truth."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from insights.data.loading import load_tables
from insights.demo import DemoSpec, generate, write_demo
from insights.demo.spec import DRIVERS, SEGMENT_EFFECTS, SEGMENTS
from insights.errors import ParameterError
from insights.metrics import churn


def _digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, monkeypatch):
    spec = DemoSpec(n_accounts=120, seed=3)
    write_demo(tmp_path / "a", spec)

    # the calendar comes from parameters, never from the clock
    def no_clock(*_, **__):
        raise AssertionError("the generator must not read today's date")

    monkeypatch.setattr(pd.Timestamp, "now", no_clock)
    monkeypatch.setattr(pd.Timestamp, "today", no_clock)
    write_demo(tmp_path / "b", spec)
    write_demo(tmp_path / "c", DemoSpec(n_accounts=120, seed=4))
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a.keys() == c.keys() and a["contracts.csv"] != c["contracts.csv"]
    assert "ground_truth.json" in a and "pilots/value_review_2026q1.csv" in a


def test_refuses_to_write_over_data(tmp_path):
    write_demo(tmp_path, DemoSpec(n_accounts=60, seed=1))
    with pytest.raises(ParameterError, match="never overwritten"):
        write_demo(tmp_path, DemoSpec(n_accounts=60, seed=2))


@pytest.mark.parametrize("kwargs", [{"n_accounts": 10}, {"end": "2026-08-31"}, {"years": 1}])
def test_bad_spec_is_refused(kwargs):
    with pytest.raises(ParameterError):
        DemoSpec(**kwargs)


def test_calendar_comes_from_parameters():
    tables, truth = generate(DemoSpec(n_accounts=150, seed=2, end="2025-12-31", years=2))
    assert pd.to_datetime(tables["usage_monthly"]["month"]).max() == pd.Timestamp("2025-12-01")
    assert truth["pilot"]["renewal_window"] == ["2025-04-01", "2025-09-30"]
    assert truth["pilot"]["assigned_at"] == "2025-01-13"
    assert tables["pilot_assignments"]["pilot_id"].unique().tolist() == ["value_review_2025q2"]
    assert len(tables["pilot_assignments"]) > 20


def test_history_respects_the_calendar(small_demo):
    tables, truth = small_demo
    end = pd.Timestamp(truth["generator"]["history_end"])
    start = pd.Timestamp(truth["generator"]["history_start"])
    for name, col in [
        ("usage_monthly", "month"),
        ("support_tickets", "created_at"),
        ("surveys", "responded_at"),
        ("cs_activities", "date"),
    ]:
        dates = pd.to_datetime(tables[name][col])
        assert dates.min() >= start and dates.max() <= end, name
    assert pd.to_datetime(tables["contracts"]["start_date"]).max() <= end
    assert tables["usage_monthly"]["month"].nunique() == 36


def test_relational_integrity(demo_dir):
    tables = load_tables(demo_dir)  # raises on any contract violation
    acc = set(tables.accounts["account_id"])
    for name in (
        "contracts",
        "users",
        "usage_monthly",
        "support_tickets",
        "surveys",
        "cs_activities",
        "integrations",
        "pilot_assignments",
    ):
        assert set(tables[name]["account_id"]) <= acc, name
    # every account has a contract, and usage only where it has a contract
    assert set(tables.contracts["account_id"]) == acc
    usage = tables.usage_monthly.merge(tables.contracts, on="account_id")
    inside = (usage["month"] >= usage["start_date"].dt.to_period("M").dt.to_timestamp()) & (
        usage["month"] <= usage["end_date"]
    )
    assert inside.groupby([usage["account_id"], usage["month"]]).any().all()
    assert (tables.usage_monthly["active_users"] <= tables.usage_monthly["activated_seats"]).all()


def _decided(tables, truth):
    contracts = tables["contracts"].copy()
    for col in ("start_date", "end_date"):
        contracts[col] = pd.to_datetime(contracts[col])
    out = churn.contract_outcomes(contracts, 30, pd.Timestamp(truth["generator"]["history_end"]))
    return out[out["outcome"] != "open"]


@pytest.mark.slow
def test_realistic_marginals(default_demo):
    tables, truth = default_demo
    decided = _decided(tables, truth)
    # logo churn per calendar year of renewal: 5% to 25%
    by_year = decided.groupby(decided["end_date"].dt.year)["outcome"].apply(lambda s: (s == "churned").mean())
    assert by_year.between(0.05, 0.25).all(), by_year
    # ARR is right-skewed (lognormal-like) and ordered by segment
    arr = tables["contracts"]["arr"]
    assert stats.skew(np.log(arr)) > -1 and stats.skew(arr) > 2 and arr.mean() > 1.5 * arr.median()
    # renewals are seasonal: more in Q4 than a uniform spread gives (chi-square against uniform quarters)
    q = pd.to_datetime(tables["contracts"]["end_date"]).dt.quarter.value_counts().sort_index()
    assert stats.chisquare(q).pvalue < 0.01 and q[4] == q.max()
    # segments: mostly SMB, fewest Enterprise; churn highest in SMB
    counts = truth["segments"]["counts"]
    assert counts["SMB"] > counts["Mid-Market"] > counts["Enterprise"] > 0.05 * sum(counts.values())


def _truth_renewals(truth):
    return pd.DataFrame(truth["renewals"]["data"], columns=truth["renewals"]["columns"])


@pytest.mark.slow
def test_true_churn_model_is_what_the_data_shows(default_demo):
    """Fitting the true specification to the generated renewals recovers the true effects."""
    _, truth = default_demo
    r = _truth_renewals(truth)
    X = r[[f"x_{d}" for d in DRIVERS]].astype(float)
    X["first_renewal"] = r["first_renewal"]
    X = pd.concat([X, pd.get_dummies(r["segment"], drop_first=True, dtype=float)], axis=1)
    fit = sm.Logit(r["churned"].astype(float), sm.add_constant(X)).fit(disp=0)
    overall = truth["effects"]["overall"]
    for d in DRIVERS:
        if abs(overall[d]) >= 0.2:  # a small true effect may come out either side of 0
            assert fit.params[f"x_{d}"] < 0, d
        # non-behavioural churn attenuates the logistic slopes a little; allow 3 SE plus 20%
        assert abs(fit.params[f"x_{d}"] - overall[d]) < 3 * fit.bse[f"x_{d}"] + 0.2 * abs(overall[d]), d
    order = sorted(DRIVERS, key=lambda d: fit.params[f"x_{d}"])
    assert order[0] == truth["ranking"]["overall"][0]
    assert stats.spearmanr([fit.params[f"x_{d}"] for d in DRIVERS], [overall[d] for d in DRIVERS])[0] >= 0.9


@pytest.mark.slow
def test_segments_have_their_own_top_driver(default_demo):
    _, truth = default_demo
    tops = {s: truth["ranking"]["by_segment"][s][0] for s in SEGMENTS}
    assert len(set(tops.values())) == 3
    r = _truth_renewals(truth)
    for seg in SEGMENTS:
        part = r[r["segment"] == seg]
        X = sm.add_constant(part[[f"x_{d}" for d in DRIVERS]].astype(float).assign(first=part["first_renewal"]))
        fit = sm.Logit(part["churned"].astype(float), X).fit(disp=0)
        # What a logistic fit estimates here: non-behavioural churn flattens the slopes, so the target
        # is the logistic projection of the true churn probabilities (fractional logit on p_churn).
        target = sm.GLM(part["p_churn"].astype(float), X, family=sm.families.Binomial()).fit().params
        top = tops[seg]
        assert target.filter(like="x_").idxmin() == f"x_{top}", seg
        assert abs(target[f"x_{top}"]) <= abs(SEGMENT_EFFECTS[seg][top]), seg  # flattened, never steeper
        # the true top driver's estimate is negative and its CI covers the target
        lo, hi = fit.conf_int().loc[f"x_{top}"]
        assert fit.params[f"x_{top}"] < 0 and lo - 0.15 < target[f"x_{top}"] < hi + 0.15, seg


@pytest.mark.slow
def test_observed_metrics_carry_the_drivers(default_demo):
    """Raw tables reflect the latent drivers: churners had lower NPS, value and breadth before leaving."""
    tables, truth = default_demo
    decided = _decided(tables, truth)
    decided = decided[decided["end_date"] >= pd.Timestamp(truth["generator"]["history_start"]) + pd.Timedelta(days=200)]
    surveys = tables["surveys"].assign(responded_at=pd.to_datetime(tables["surveys"]["responded_at"]))
    s = decided[["contract_id", "account_id", "end_date", "outcome"]].merge(surveys, on="account_id")
    s = s[(s["responded_at"] < s["end_date"]) & (s["responded_at"] >= s["end_date"] - pd.Timedelta(days=180))]
    means = s.groupby("outcome")[["nps", "value_score"]].mean()
    assert means.loc["churned", "nps"] < means.loc["renewed", "nps"] - 0.5
    assert means.loc["churned", "value_score"] < means.loc["renewed", "value_score"] - 0.5
    usage = tables["usage_monthly"].assign(month=pd.to_datetime(tables["usage_monthly"]["month"]))
    u = decided[["account_id", "end_date", "outcome"]].merge(usage, on="account_id")
    u = u[(u["month"] < u["end_date"]) & (u["month"] >= u["end_date"] - pd.Timedelta(days=120))]
    breadth = u.groupby("outcome")["distinct_features"].mean()
    assert breadth["churned"] < breadth["renewed"]


@pytest.mark.slow
def test_personas_shape_usage(default_demo):
    tables, truth = default_demo
    persona = pd.DataFrame(truth["accounts"]["data"], columns=truth["accounts"]["columns"])
    u = tables["usage_monthly"].merge(persona, on="account_id")
    u = u[u["active_users"] > 0]
    depth = (u["events"] / u["active_users"]).groupby(u["persona"]).median()
    breadth = u.groupby("persona")["distinct_features"].mean()
    assert depth["power_users"] > depth["broad_explorers"] and depth["focused_specialists"] > depth["light_adopters"]
    assert (
        breadth["broad_explorers"] > breadth["focused_specialists"]
        and breadth["power_users"] > breadth["light_adopters"]
    )


def test_pilot_record_and_truth(small_demo):
    tables, truth = small_demo
    pilot = tables["pilot_assignments"]
    p = truth["pilot"]
    assert pilot["pilot_id"].unique().tolist() == [p["pilot_id"]]
    assert pilot["account_id"].is_unique
    arms = pilot.groupby("stratum")["arm"].value_counts().unstack()
    assert (abs(arms["treatment"] - arms["control"]) <= 1).all()  # blocked within stratum
    # every enrolled account renews (or not) inside the pilot window
    ends = pd.to_datetime(tables["contracts"]["end_date"])
    lo, hi = (pd.Timestamp(d) for d in p["renewal_window"])
    renewing = set(tables["contracts"].loc[(ends >= lo) & (ends <= hi), "account_id"])
    assert set(pilot["account_id"]) <= renewing
    effects = {s: v["log_odds_effect"] for s, v in p["by_segment"].items()}
    assert len(set(effects.values())) == 3  # the effect differs by segment
    assert p["expected_churn_difference"] < 0
    json.dumps(truth)  # serialisable
