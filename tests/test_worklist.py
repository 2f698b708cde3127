"""The CSM worklist: window, order by expected ARR at risk, reasons, plays, due dates and signals."""

import numpy as np
import pandas as pd
import pytest

from insights.analyses.playbooks import Factor, Play, Playbooks, load_playbooks
from insights.analyses.renewals import worklist
from insights.errors import ParameterError

AS_OF = pd.Timestamp("2026-09-30")
BANDS = ["red", "amber", "green"]


@pytest.fixture
def playbooks():
    plays = {
        "executive_save": Play("executive_save", "Executive save call", "", 30, 4),
        "value_review": Play("value_review", "Value review", "", 90, 3),
        "ebr": Play("ebr", "Executive business review", "", 120, 6),
        "nudge": Play("nudge", "Digital nudge", "", 60, 0.25),
        "support": Play("support", "Support escalation review", "", 45, 2),
        "renewal_check_in": Play("renewal_check_in", "Renewal check-in", "", 60, 1),
    }
    factors = {
        "perceived_value": Factor(
            "perceived_value",
            "It rates the product as poor value.",
            True,
            {"default": "value_review", "Enterprise": "ebr"},
        ),
        "utilisation": Factor("utilisation", "Few {segment} seats are in use.", True, {"default": "nudge"}),
        "support_burden": Factor("support_burden", "It files many tickets.", True, {"default": "support"}),
        "cancellation_requested": Factor(
            "cancellation_requested", "It has asked to cancel.", False, {"default": "executive_save"}
        ),
        "arr": Factor("arr", "Contract value.", False),
        "segment": Factor("segment", "Its segment.", False),
    }
    return Playbooks(plays, factors)


@pytest.fixture
def accounts():
    n = 7
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e", "f", "g"],
            "name": ["Alpha", "Beta", "Gamma", "Delta", "Eps", "Far", "Good"],
            "segment": ["SMB", "SMB", "Enterprise", "Enterprise", "SMB", "Enterprise", "SMB"],
            "arr": [10_000.0, 20_000.0, 500_000.0, 300_000.0, 30_000.0, 900_000.0, 5_000.0],
            "renewal_date": AS_OF + pd.to_timedelta([10, 80, 60, 150, 89, 200, 300], unit="D"),
            "days_to_renewal": [10, 80, 60, 150, 89, 200, 300],
            "health": [20.0, 50.0, 30.0, 80.0, 60.0, 10.0, 90.0],
            "band": pd.Categorical(["red", "amber", "red", "green", "amber", "red", "green"], BANDS),
            "p_churn": [0.9, 0.5, 0.1, 0.2, 0.3, 0.9, 0.1],
            "cancellation_requested": [1.0, 0, 0, 0, 0, 0, 0],
            "save_play_active": [1.0, 0, 1, 0, 0, 0, 0],
            # values: low perceived value / utilisation and high support burden are the bad side
            "perceived_value": [2.0, 9.0, 2.0, 9.0, 5.0, 8.0, 9.0],
            "utilisation": [0.2, 0.9, 0.95, 0.3, 0.5, 0.1, 0.9],
            "support_burden": [5.0, 0.0, 0.5, 0.1, np.nan, 0.2, 0.0],
            "seats": [10.0, 20.0, 400.0, 300.0, 25.0, 800.0, 5.0],
            "admins": [0.0, 1.0, 2.0, np.nan, 1.0, 0.0, 1.0],
            "breadth": [0.1, 0.5, 0.3, 0.6, 0.2, 0.1, 0.9],
            "onboarding_engagement": [0.0, 3.0, 1.0, 2.0, 0.0, 0.0, 4.0],
            "revenue_growth": [-0.1, 0.2, np.nan, 0.0, 0.05, -0.3, 0.1],
        },
        index=range(10, 10 + n),
    )


@pytest.fixture
def contributions(accounts):
    # positive = towards churn; arr and segment push up but are not actionable
    return pd.DataFrame(
        {
            "perceived_value": [0.8, -0.5, 0.4, -0.3, 0.2, 1.0, -0.5],
            "utilisation": [0.5, -0.2, 0.6, 0.3, 0.1, 0.2, -0.5],
            "support_burden": [0.9, -0.1, 0.1, -0.1, 0.5, 0.3, -0.5],
            "cancellation_requested": [3.0, 0, 0, 0, 0, 0, 0],
            "arr": [1.0] * 7,
            "segment": [2.0] * 7,
        },
        index=accounts.index,
    )


def test_worklist_keeps_the_window_and_sorts_by_expected_arr_at_risk(accounts, contributions, playbooks):
    work = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=90)
    # in the window: a, b, c, e (d renews in 150 days, f in 200); expected = p x ARR
    # a 9,000; b 10,000; c 50,000; e 9,000 -> c, b, a, e (a before e on the id tie)
    assert work["account_id"].tolist() == ["c", "b", "a", "e"]
    assert work["expected_arr_at_risk"].tolist() == [50_000.0, 10_000.0, 9_000.0, 9_000.0]
    assert work["rank"].tolist() == [1, 2, 3, 4]
    assert work["cancellation_requested"].tolist() == [False, False, True, False]
    assert work["in_save_play"].tolist() == [True, False, True, False]
    assert work["band"].tolist() == ["red", "amber", "red", "amber"]
    everyone = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None)
    assert everyone["account_id"].tolist() == ["f", "d", "c", "b", "a", "e", "g"]


def test_reasons_are_actionable_upward_and_true_of_the_account(accounts, contributions, playbooks):
    work = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None).set_index("account_id")
    # a: support 0.9 > pv 0.8 > util 0.5, all on the bad side of the SMB medians (pv 7, util 0.7, support 0)
    assert work.loc["a", "reason_factors"] == "support_burden, perceived_value, utilisation"
    assert work.loc["a", "reasons"] == (
        "It files many tickets. It rates the product as poor value. Few SMB seats are in use."
    )
    assert work.loc["a", "top_reason"] == "It files many tickets."
    # b: no factor pushes up (arr and segment do, but a CSM cannot act on them): no reason
    assert work.loc["b", "reasons"] == "" and work.loc["b", "reason_factors"] == ""
    # c: utilisation pushes up the most but 0.95 is above the Enterprise median (0.3): not a reason
    assert work.loc["c", "reason_factors"] == "perceived_value, support_burden"
    # e: support burden unknown: never a reason
    assert work.loc["e", "reason_factors"] == "perceived_value, utilisation"
    # f: perceived value 8 and support 0.2 are the Enterprise medians, not worse: utilisation only
    assert work.loc["f", "reason_factors"] == "utilisation"
    assert not work["reasons"].str.contains("cancel|segment|Contract value").any()


def test_next_action_and_due_date(accounts, contributions, playbooks):
    work = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None).set_index("account_id")
    # a asked to cancel: executive save (30 days) whatever its reasons; renewal in 10 days -> due now
    assert work.loc["a", "next_action"] == "Executive save call" and work.loc["a", "lead_time_days"] == 30
    assert work.loc["a", "due_date"] == AS_OF and work.loc["a", "due_now"]
    # c: Enterprise value problem -> executive business review, 120 days before a renewal 60 days away: now
    assert work.loc["c", "next_action"] == "Executive business review" and work.loc["c", "due_now"]
    # e: SMB value review 90 days before a renewal 89 days away: now (due = as_of), not a day earlier
    assert work.loc["e", "next_action"] == "Value review" and work.loc["e", "due_date"] == AS_OF
    # b: no reason -> the default play, due 60 days before its renewal in 80 days
    assert work.loc["b", "next_action"] == "Renewal check-in"
    assert work.loc["b", "due_date"] == AS_OF + pd.Timedelta(days=20) and not work.loc["b", "due_now"]
    # f: low utilisation -> digital nudge, 60 days before a renewal 200 days away
    assert work.loc["f", "next_action"] == "Digital nudge"
    assert work.loc["f", "due_date"] == AS_OF + pd.Timedelta(days=140) and not work.loc["f", "due_now"]
    assert (pd.to_datetime(work["due_date"]) <= pd.to_datetime(work["renewal_date"])).all()
    assert (pd.to_datetime(work["due_date"]) >= AS_OF).all()


def test_signals_in_plain_units(accounts, contributions, playbooks):
    work = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None).set_index("account_id")
    assert work.loc["c", "activated_seats"] == 380 and work.loc["c", "purchased_seats"] == 400
    assert work.loc["a", "support_tickets_90d"] == 5  # 5 tickets per 10 seats x 10 seats
    assert not work.loc["a", "has_admin"] and work.loc["c", "has_admin"] and pd.isna(work.loc["d", "has_admin"])
    assert pd.isna(work.loc["e", "support_tickets_90d"])
    assert work.loc["b", "onboarding_sessions"] == 3 and work.loc["b", "feature_utilisation"] == 0.5
    assert work.loc["f", "revenue_growth"] == -0.3


def test_headline_table_has_the_front_page_columns(accounts, contributions, playbooks):
    work = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None)
    table = worklist.headline_table(work.assign(csm=["x", "y", None, "z", "x", "y", "z"]), n=3)
    assert list(table.reset_index().columns) == [
        "account",
        "owner",
        "segment",
        "arr",
        "renewal_date",
        "expected_arr_at_risk",
        "reason",
        "next_action",
        "due_date",
    ]
    assert table.index.tolist() == ["Far", "Delta", "Gamma"]
    assert "owner" not in worklist.headline_table(work).columns


def test_rounded_for_a_file(tmp_path):
    from insights.data.output_files import write_csv

    frame = pd.DataFrame({"arr": [1_685_827.054], "p_churn": [0.412573703], "seats": [3.14159]})
    out = worklist.rounded(frame)
    assert out.iloc[0].tolist() == [1_685_827.05, 0.4126, 3.14159]
    text = write_csv(out, tmp_path / "w.csv", float_format="%.12g").read_text()
    assert text.splitlines()[1] == "1685827.05,0.4126,3.14159" and frame["arr"].iloc[0] == 1_685_827.054


def test_bad_input_is_named(accounts, contributions, playbooks):
    with pytest.raises(ParameterError, match="health"):
        worklist.build(accounts.drop(columns="health"), contributions, playbooks, AS_OF)
    with pytest.raises(ParameterError, match="index"):
        worklist.reasons(accounts, contributions.reset_index(drop=True), playbooks)
    with pytest.raises(ParameterError, match="default play"):
        worklist.next_actions(accounts, pd.Series([[]] * 7, index=accounts.index), playbooks, AS_OF, "nope")
    with pytest.raises(ParameterError, match="window_days"):
        worklist.build(accounts, contributions, playbooks, AS_OF, window_days=-5)


def test_the_repository_playbooks_have_the_default_play():
    assert worklist.DEFAULT_PLAY in load_playbooks().plays


@pytest.mark.slow
def test_the_demo_worklist(tmp_path):
    from insights.analyses.risk import model as risk
    from insights.analyses.segments import rules as segments
    from insights.data.loading import load_tables
    from insights.demo import DemoSpec, write_demo
    from insights.metrics import snapshots

    write_demo(tmp_path / "raw", DemoSpec())  # the default demo, as the report runs it
    tables = load_tables(tmp_path / "raw")
    snap = snapshots.build(tables)
    snap = pd.concat([snap, segments.rule_segments(snap, tables.accounts)], axis=1)
    as_of = snap["obs_date"].max()
    models = risk.fit_current(snap, as_of, purge_days=30, seed=7)
    accounts, contrib = worklist.score_accounts(models, snap, as_of)
    playbooks = load_playbooks()
    work = worklist.build(accounts, contrib, playbooks, as_of, window_days=90)
    assert len(work) > 100
    assert (np.diff(work["expected_arr_at_risk"]) <= 0).all()
    assert work["days_to_renewal"].between(0, 90).all()
    factors = {f for keys in work["reason_factors"] for f in keys.split(", ") if f}
    assert factors and all(playbooks.reason(f) is not None for f in factors)
    assert not factors & {"segment", "cancellation_requested", "save_play_active", "arr", "seats", "tenure_years"}
    assert not work["reasons"].str.contains("cancel", case=False).any()
    assert (work["due_date"] <= work["renewal_date"]).all() and (work["due_date"] >= as_of).all()
    asked = work["cancellation_requested"]
    assert asked.any() and (work.loc[asked, "next_action"] == "Executive save call").all()


def test_a_pilot_play_replaces_the_next_action_with_its_source_and_lead_time(accounts, contributions, playbooks):
    plain = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None)
    assert "action_source" not in plain.columns
    empty = pd.DataFrame(columns=list(worklist.PILOT_PLAY_COLUMNS))
    pd.testing.assert_frame_equal(
        worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None, pilot_plays=empty), plain
    )
    recs = pd.DataFrame(
        {
            "account_id": ["b", "d"],
            "play": "value_review",
            "action_source": "pilot p1",
            "evidence": ["In pilot p1, accounts like b ...", "In pilot p1, accounts like d ..."],
        }
    )
    work = worklist.build(accounts, contributions, playbooks, AS_OF, window_days=None, pilot_plays=recs)
    columns = list(plain.columns)
    at = columns.index("next_action") + 1
    assert list(work.columns) == [*columns[:at], "action_source", "action_evidence", *columns[at:]]
    row = work.set_index("account_id")
    # b renews in 80 days: the value review's 90-day lead time has run out, so it is due now
    assert row.loc["b", "next_action"] == "Value review" and row.loc["b", "lead_time_days"] == 90
    assert row.loc["b", "due_date"] == AS_OF and row.loc["b", "due_now"]
    # d renews in 150 days: due 90 days before
    assert row.loc["d", "due_date"] == AS_OF + pd.Timedelta(days=60) and not row.loc["d", "due_now"]
    assert row.loc["d", "action_source"] == "pilot p1" and row.loc["d", "action_evidence"].startswith("In pilot p1")
    others = work[~work["account_id"].isin(["b", "d"])]
    assert (others["action_source"] == "playbook").all() and (others["action_evidence"] == "").all()
    pd.testing.assert_frame_equal(
        others[columns].reset_index(drop=True),
        plain[~plain["account_id"].isin(["b", "d"])][columns].reset_index(drop=True),
        check_index_type=False,
    )
    table = worklist.headline_table(work, n=7)
    assert table.loc["Beta", "action_source"] == "pilot p1" and table.loc["Far", "action_source"] == "playbook"
    with pytest.raises(ParameterError, match="twice"):
        worklist.build(accounts, contributions, playbooks, AS_OF, pilot_plays=pd.concat([recs, recs]))
    with pytest.raises(ParameterError, match="does not define"):
        worklist.build(accounts, contributions, playbooks, AS_OF, pilot_plays=recs.assign(play="nope"))
