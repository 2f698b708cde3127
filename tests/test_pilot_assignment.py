"""Pilot assignment: blocked randomisation, balance, re-randomisation and the write-once record."""

import json

import numpy as np
import pandas as pd
import pytest

from insights.analyses.pilots import assignment
from insights.analyses.pilots.covariates import COVARIATES, pre_period
from insights.data.loading import load_tables, validate_dir
from insights.errors import ParameterError


def _plan(**kw):
    base = {
        "pilot_id": "onboarding_test",
        "description": "tech-touch onboarding",
        "assigned_at": "2025-10-01",
        "window": ("2025-10-01", "2026-03-31"),
        "seed": 42,
    }
    return assignment.PilotPlan(**{**base, **kw})


def _accounts(n=103, strata=("SMB", "Mid-Market", "Enterprise"), seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"account_id": [f"A{i:04d}" for i in range(n)], "segment": rng.choice(strata, size=n, p=[0.6, 0.3, 0.1])}
    )


def test_blocks_balance_every_stratum():
    acc = _accounts()
    a = assignment.draw(_plan(max_abs_smd=0), acc)
    counts = a.record.groupby(["stratum", "arm"]).size().unstack(fill_value=0)
    assert (abs(counts["treatment"] - counts["control"]) <= 1).all()
    assert a.record["account_id"].is_unique and len(a.record) == len(acc)
    assert set(a.record.columns) == {"pilot_id", "account_id", "arm", "stratum", "assigned_at", "seed"}


def test_unequal_shares_follow_the_ratio():
    acc = _accounts(n=300)
    a = assignment.draw(_plan(shares=(1 / 3, 2 / 3), max_abs_smd=0), acc)
    counts = a.record.groupby(["stratum", "arm"]).size().unstack(fill_value=0)
    assert (abs(counts["treatment"] - 2 * counts["control"]) <= 2).all()


def test_same_seed_same_assignment_other_seed_other():
    acc = _accounts()
    a = assignment.draw(_plan(max_abs_smd=0), acc).record
    b = assignment.draw(_plan(max_abs_smd=0), acc.sample(frac=1, random_state=3)).record
    c = assignment.draw(_plan(seed=43, max_abs_smd=0), acc).record
    pd.testing.assert_frame_equal(a, b)
    assert not a["arm"].equals(c["arm"])


def test_arms_look_random():
    """Over many seeds each account is treated about half the time (no systematic pattern)."""
    acc = _accounts(n=40)
    treated = np.zeros(len(acc))
    for seed in range(400):
        rec = assignment.draw(_plan(seed=seed, max_abs_smd=0), acc).record.set_index("account_id")
        treated += (rec.loc[acc["account_id"], "arm"] == "treatment").to_numpy()
    share = treated / 400
    assert abs(share.mean() - 0.5) < 0.01 and share.min() > 0.38 and share.max() < 0.62


def test_standardized_difference_matches_a_hand_computation():
    x = pd.DataFrame({"m": [1.0, 2.0, 3.0, 4.0, 10.0, 12.0]})
    arm = pd.Series(["control"] * 3 + ["treatment"] * 3)
    t, c = np.array([4.0, 10, 12]), np.array([1.0, 2, 3])
    expected = (t.mean() - c.mean()) / np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    assert assignment.standardized_differences(x, arm, "control", "treatment")["m"] == pytest.approx(expected)


def test_no_variation_with_different_means_is_imbalance():
    x = pd.DataFrame({"flag": [1.0, 1.0, 0.0, 0.0], "same": [2.0] * 4})
    arm = pd.Series(["treatment", "treatment", "control", "control"])
    smd = assignment.standardized_differences(x, arm, "control", "treatment")
    assert np.isinf(smd["flag"]) and smd["same"] == 0.0


def test_rerandomisation_reaches_balance_reproducibly():
    acc = _accounts(n=60)
    rng = np.random.default_rng(5)
    cov = pd.DataFrame({"arr": rng.lognormal(10, 1, 60), "nps": rng.normal(7, 2, 60)}, index=acc["account_id"])
    a = assignment.draw(_plan(max_abs_smd=0.05), acc, cov)
    assert a.attempts > 1
    assert a.balance["smd"].abs().max() <= 0.05
    again = assignment.draw(_plan(max_abs_smd=0.05), acc, cov)
    assert again.attempts == a.attempts
    pd.testing.assert_frame_equal(a.record, again.record)


def test_bad_plans_and_inputs_are_refused():
    acc = _accounts()
    with pytest.raises(ParameterError, match="pilot id"):
        assignment.draw(_plan(pilot_id="Bad Id!"), acc)
    with pytest.raises(ParameterError, match="shares"):
        assignment.draw(_plan(shares=(0.7, 0.7)), acc)
    with pytest.raises(ParameterError, match="once"):
        assignment.draw(_plan(), pd.concat([acc, acc.head(1)]))
    with pytest.raises(ParameterError, match="too few"):
        assignment.draw(_plan(), acc.head(3))
    with pytest.raises(ParameterError, match="window"):
        assignment.draw(_plan(window=("2025-10-01", "2025-01-01")), acc)


def test_record_is_written_once_and_never_redrawn(demo_copy):
    tables = load_tables(demo_copy)
    start, end = "2025-10-01", "2026-03-31"
    acc = assignment.eligible_accounts(tables.contracts, start, end)
    cov = pre_period(tables, start, acc["account_id"])
    drawn = assignment.draw(_plan(), acc, cov)
    path = assignment.record(drawn, demo_copy)
    first = path.read_bytes()
    assert path.name == "onboarding_test.csv" and validate_dir(demo_copy) == []
    loaded = load_tables(demo_copy).pilot_assignments
    assert set(loaded["pilot_id"]) == {"onboarding_test", "value_review_2026q1"}
    plan = assignment.load_plan(demo_copy, "onboarding_test")
    assert plan.seed == 42 and plan.window == (start, end)
    assert set(json.loads(path.with_suffix(".json").read_text())["balance"]) == set(COVARIATES)
    with pytest.raises(assignment.PilotExistsError, match="never"):
        assignment.record(assignment.draw(_plan(seed=7), acc, cov), demo_copy)
    assert path.read_bytes() == first
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_eligible_accounts_renew_inside_the_window(demo_dir):
    tables = load_tables(demo_dir)
    acc = assignment.eligible_accounts(tables.contracts, "2025-10-01", "2026-03-31", ["SMB"])
    assert (acc["segment"] == "SMB").all() and len(acc) > 0
    assert acc["end_date"].between("2025-10-01", "2026-03-31").all()
    with pytest.raises(ParameterError, match="unknown segment"):
        assignment.eligible_accounts(tables.contracts, "2025-10-01", "2026-03-31", ["Whales"])


def test_pre_period_uses_nothing_on_or_after_the_date(demo_dir):
    tables = load_tables(demo_dir)
    as_of = pd.Timestamp("2025-10-15")
    before = pre_period(tables, as_of)
    # change everything dated on or after as_of: the covariates must not move
    t = tables.frames.copy()
    t["surveys"] = t["surveys"].assign(nps=np.where(t["surveys"]["responded_at"] >= as_of, 0, t["surveys"]["nps"]))
    t["usage_monthly"] = t["usage_monthly"].assign(
        events=np.where(t["usage_monthly"]["month"] >= "2025-10-01", 0, t["usage_monthly"]["events"])
    )
    later = t["support_tickets"][t["support_tickets"]["created_at"] >= as_of]
    t["support_tickets"] = pd.concat([t["support_tickets"], later.assign(ticket_id=later["ticket_id"] + "x")])
    from insights.data.loading import Tables

    after = pre_period(Tables(tables.data_dir, t, tables.as_of), as_of)
    pd.testing.assert_frame_equal(before, after)
    assert before["satisfaction"].notna().mean() > 0.8 and (before["utilisation"].dropna() >= 0).all()
