"""Leakage-safe snapshots: nothing after the observation date moves a feature; metrics recount; labels."""

import numpy as np
import pandas as pd
import pytest

from insights.data.loading import Tables, load_tables
from insights.metrics import churn, snapshots

T = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def tables(demo_dir):
    return load_tables(demo_dir)


def _scramble_after(tables: Tables, t: pd.Timestamp, seed: int = 0) -> Tables:
    """Change every row dated on or after ``t`` (values, additions), leaving the past alone."""
    rng = np.random.default_rng(seed)
    f = {k: v.copy() for k, v in tables.frames.items()}
    s = f["surveys"]
    late = s["responded_at"] >= t
    s.loc[late, "nps"] = rng.integers(0, 11, late.sum())
    s.loc[late, "value_score"] = rng.integers(0, 11, late.sum()).astype(float)
    u = f["usage_monthly"]
    late = u["month"] >= t.to_period("M").to_timestamp()
    for col in ("events", "active_users", "activated_seats", "distinct_features"):
        u.loc[late, col] = rng.integers(0, 50, late.sum())
    tk = f["support_tickets"]
    extra = tk[tk["created_at"] >= t].assign(ticket_id=lambda d: d["ticket_id"] + "b", priority="urgent")
    f["support_tickets"] = pd.concat([tk, extra], ignore_index=True)
    c = f["contracts"]
    late = c["start_date"] >= t
    c.loc[late, "arr"] = c.loc[late, "arr"] * 3
    c.loc[late, "seats"] = c.loc[late, "seats"] + 100
    i = f["integrations"]
    extra = i[i["connected_at"] >= t].assign(integration=lambda d: d["integration"] + "_2")
    i.loc[i["disconnected_at"] >= t, "disconnected_at"] = t + pd.Timedelta(days=400)
    f["integrations"] = pd.concat([i, extra], ignore_index=True)
    a = f["cs_activities"]
    extra = a[a["date"] >= t].assign(activity_id=lambda d: d["activity_id"] + "b", type="save_play")
    f["cs_activities"] = pd.concat([a, extra], ignore_index=True)
    us = f["users"]
    us.loc[us["invited_at"] >= t, "role"] = "admin"
    return Tables(tables.data_dir, f, tables.as_of)


def test_no_feature_moves_when_the_future_changes(tables):
    before = snapshots.features_at(tables, T, 24)
    after = snapshots.features_at(_scramble_after(tables, T), T, 24)
    pd.testing.assert_frame_equal(before, after)


def test_the_scramble_does_change_later_snapshots(tables):
    """Guard against a vacuous leakage test: the same scramble moves features observed later."""
    later = pd.Timestamp("2026-06-30")
    a = snapshots.features_at(tables, later, 24)
    b = snapshots.features_at(_scramble_after(tables, T), later, 24)
    assert not a["satisfaction"].equals(b["satisfaction"]) and not a["arr"].equals(b["arr"])


def test_metrics_recount_for_one_account(tables):
    feats = snapshots.features_at(tables, T, 24)
    acc = feats.index[len(feats) // 2]
    row = feats.loc[acc]
    c = tables.contracts
    term = c[(c["account_id"] == acc) & (c["start_date"] < T) & (c["end_date"] >= T - pd.Timedelta(days=1))].iloc[-1]
    assert row["arr"] == pytest.approx(term["arr"]) and row["renewal_date"] == term["end_date"]
    u = tables.usage_monthly
    u = u[(u["account_id"] == acc) & (u["month"] >= "2025-09-01") & (u["month"] <= "2025-11-01")]
    assert row["depth"] == pytest.approx(u["events"].sum() / u["active_users"].sum())
    assert row["breadth"] == pytest.approx(u["distinct_features"].mean() / 24)
    assert row["utilisation"] == pytest.approx(u.sort_values("month")["activated_seats"].iloc[-1] / term["seats"])
    s = tables.surveys
    s = s[(s["account_id"] == acc) & (s["responded_at"] < T) & (s["responded_at"] >= T - pd.Timedelta(days=180))]
    assert row["satisfaction"] == pytest.approx(s["nps"].mean()) if len(s) else np.isnan(row["satisfaction"])
    i = tables.integrations
    live = i[
        (i["account_id"] == acc) & (i["connected_at"] < T) & (i["disconnected_at"].isna() | (i["disconnected_at"] >= T))
    ]
    assert row["integrations"] == len(live)


def test_labels_follow_the_next_renewal(tables):
    snap = snapshots.build(tables, dates=["2025-03-31", "2025-06-30"], horizon_days=180)
    out = churn.contract_outcomes(tables.contracts, 30, tables.as_of).set_index("contract_id")["outcome"]
    labelled = snap[snap["churned"].notna()]
    assert len(labelled) > 50
    expected = labelled["contract_id"].map(out).map({"churned": 1.0, "renewed": 0.0})
    assert (labelled["churned"] == expected).all()
    days = (snap["renewal_date"] - snap["obs_date"]).dt.days
    assert snap.loc[days > 180, "churned"].isna().all()
    assert snap.groupby("obs_date")["account_id"].apply(lambda s: s.is_unique).all()


def test_observation_dates_after_the_data_are_refused(tables):
    from insights.errors import ParameterError

    with pytest.raises(ParameterError, match="after the data end"):
        snapshots.build(tables, dates=["2027-03-31"])


@pytest.mark.slow
def test_metrics_measure_the_true_drivers(tmp_path):
    """On default demo data each driver's metric tracks the generator's latent driver."""
    from insights.demo import DemoSpec, write_demo

    truth = write_demo(tmp_path / "raw", DemoSpec())
    tables = load_tables(tmp_path / "raw")
    snap = snapshots.build(tables)
    r = pd.DataFrame(truth["renewals"]["data"], columns=truth["renewals"]["columns"])
    m = snap.merge(r, on="contract_id")
    m = m[(m["renewal_date"] - m["obs_date"]).dt.days.between(0, 92)]
    assert len(m) > 1000
    for d in snapshots.DRIVERS:
        metric = np.log(m[d]) if d == "depth" else m[d]
        rho = pd.concat([metric, m[f"x_{d}"]], axis=1).dropna().corr(method="spearman").iloc[0, 1]
        assert rho > 0.4, (d, rho)


def test_a_date_before_any_activity_gives_empty_counts_not_an_error(tables):
    first = tables.usage_monthly["month"].min()
    feats = snapshots.features_at(tables, first, 24)
    assert (feats["onboarding_engagement"] == 0).all() and feats["depth"].isna().all()


def test_only_settled_renewals_carry_a_label(tables):
    """An early renewal is known before its grace period ends, a churn only after it: labelling
    unsettled renewals would make the latest observation dates look safer than they are."""
    snap = snapshots.build(tables, grace_days=30)
    outcomes = churn.contract_outcomes(tables.contracts, 30, tables.as_of).set_index("contract_id")
    early = snap["renewal_in_horizon"] & ~snap["settled"]
    assert (snap.loc[early, "contract_id"].map(outcomes["outcome"]) == churn.RENEWED).any()
    assert snap.loc[early, "churned"].isna().all()
    settled = snap["renewal_in_horizon"] & snap["settled"]
    assert snap.loc[settled, "churned"].notna().all()
