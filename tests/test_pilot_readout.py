"""Pilot readout on the demo pilot (known true effect), recounts, errors, the decision rule and the CLI."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from scipy import stats

from insights.analyses.pilots import readout as ro
from insights.analyses.pilots.assignment import PilotPlan
from insights.data.loading import Tables, load_tables
from insights.demo import GROUND_TRUTH_FILE, DemoSpec, write_demo
from insights.errors import ParameterError
from insights.metrics import churn
from insights.stats.bayes import BayesResult
from insights.stats.intervals import Interval, TestResult, risk_difference


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default-size demo (2,000 accounts), whose pilot is large enough to recover its true effect."""
    folder = tmp_path_factory.mktemp("default") / "raw"
    truth = write_demo(folder, DemoSpec())
    return load_tables(folder), truth


@pytest.fixture(scope="module")
def small(demo_dir):
    """The session's small demo (300 accounts) and its ground truth: enough for counts, shapes and errors."""
    return load_tables(demo_dir), json.loads((demo_dir / GROUND_TRUTH_FILE).read_text())


@pytest.mark.slow
def test_interval_covers_the_true_effect(demo):
    tables, truth = demo
    pid = truth["pilot"]["pilot_id"]
    r = ro.readout(tables, pid, grace_days=30)
    true_renewal_difference = -truth["pilot"]["expected_churn_difference"]
    assert r.difference.low <= true_renewal_difference <= r.difference.high
    assert "Newcombe" in r.difference.method and "Wilson" in r.per_arm["method"].iloc[0]
    assert r.srm.p_value > 0.05
    assert r.decision in ("ship", "extend", "stop") and r.reason
    # the stratified estimate and per-segment effects are there, one row per segment
    assert set(r.stratified.per_stratum["stratum"]) == set(truth["pilot"]["by_segment"])
    assert r.adjusted.variance_reduction >= 0
    # the numbers come from the generic toolkit, compared on the pilot's own arm names
    contrast = r.comparison.contrast("treatment")
    assert (contrast.difference, contrast.test, contrast.stratified) == (r.difference, r.test, r.stratified)
    assert r.comparison.arms.set_index("arm")["units"].to_dict() == r.per_arm["accounts"].to_dict()


def test_per_arm_counts_match_a_recount_from_raw_tables(small):
    tables, truth = small
    pid = truth["pilot"]["pilot_id"]
    r = ro.readout(tables, pid, grace_days=30)
    rec = tables.pilot_assignments[tables.pilot_assignments["pilot_id"] == pid]
    out = churn.contract_outcomes(tables.contracts, 30, tables.as_of)
    lo, hi = truth["pilot"]["renewal_window"]
    out = out[(out["end_date"] >= lo) & (out["end_date"] <= hi) & out["account_id"].isin(rec["account_id"])]
    out = out.merge(rec[["account_id", "arm"]], on="account_id")
    for arm in ("control", "treatment"):
        part = out[(out["arm"] == arm) & (out["outcome"] != "open")]
        assert r.per_arm.loc[arm, "accounts"] == len(part)
        assert r.per_arm.loc[arm, "renewed"] == (part["outcome"] == "renewed").sum()


def test_sequential_looks_are_well_formed(small):
    tables, truth = small
    r = ro.readout(tables, truth["pilot"]["pilot_id"], grace_days=30)
    looks = r.looks
    assert len(looks) == r.plan.looks == 3
    assert looks["information"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert looks["z_boundary"].is_monotonic_decreasing and looks["reached"].all()
    assert looks["outcomes"].iloc[-1] == r.per_arm["accounts"].sum()


def test_an_interim_readout_decides_only_on_the_boundary(small):
    """Mid-pilot, with most renewals still ahead, the fixed-sample rules are not used."""
    tables, truth = small
    as_of = pd.Timestamp("2026-04-15")
    frames = {**tables.frames, "contracts": tables.contracts[tables.contracts["start_date"] <= as_of]}
    early = Tables(tables.data_dir, frames, as_of)
    r = ro.readout(early, truth["pilot"]["pilot_id"], grace_days=30)
    statuses = set(r.data["status"])
    assert {"not_yet_due", "inside_grace", "resolved"} <= statuses
    # an outcome is counted only once its grace period is over, for renewals and churns alike
    counted = r.data[r.data["status"] == "resolved"]
    assert (counted["end_date"] + pd.Timedelta(days=30) <= as_of).all()
    assert not r.looks["reached"].all()
    # on this data only the first look is reached and it does not cross its boundary (z 0.98 < 3.71)
    assert r.looks["reached"].tolist() == [True, False, False] and not r.looks["crossed"].any()
    assert r.decision == "extend" and r.reason.startswith("Interim")


def test_an_interim_look_that_crosses_its_boundary_stops_early():
    looks = pd.DataFrame(
        {
            "look": [1, 2, 3],
            "information": [1 / 3, 2 / 3, 1.0],
            "outcomes": [40, 80, 120],
            "reached": [True, True, False],
            "z": [1.2, 2.8, float("nan")],
            "z_boundary": [3.71, 2.51, 1.99],
        }
    )
    looks["crossed"] = looks["reached"] & (looks["z"].abs() >= looks["z_boundary"])
    # a fixed-sample interval excluding 0 is not enough mid-pilot; the crossed boundary is
    decision, reason = ro.decide(_iv(0.02, -0.01, 0.05), OK_SRM, NO_GUARD, BAYES, PLAN, looks, final=False)
    assert decision == "ship" and "Interim look 2" in reason
    not_crossed = looks.assign(crossed=False)
    decision, _ = ro.decide(_iv(0.06, 0.01, 0.11), OK_SRM, NO_GUARD, BAYES, PLAN, not_crossed, final=False)
    assert decision == "extend"


def test_unknown_pilot_lists_the_known_ones(small):
    tables, truth = small
    with pytest.raises(ParameterError, match=truth["pilot"]["pilot_id"]):
        ro.readout(tables, "no_such_pilot", grace_days=30)


def test_a_pilot_with_one_arm_is_refused(small):
    tables, truth = small
    pilots = tables.pilot_assignments.assign(arm="treatment")
    one_arm = Tables(tables.data_dir, {**tables.frames, "pilot_assignments": pilots}, tables.as_of)
    with pytest.raises(ParameterError, match="two arms"):
        ro.readout(one_arm, truth["pilot"]["pilot_id"], grace_days=30)


def test_outcomes_for_unassigned_accounts_are_refused(small):
    tables, truth = small
    extra = pd.DataFrame({"account_id": ["A-NOT-IN-PILOT"], "score": [1.0]})
    with pytest.raises(ParameterError, match="not assigned"):
        ro.readout(tables, truth["pilot"]["pilot_id"], grace_days=30, outcomes=extra)


def _iv(est, lo, hi):
    return Interval(est, lo, hi, 0.95, "test interval")


PLAN = PilotPlan("p1", "x", "2025-01-01", ("2025-01-01", "2025-12-31"), min_worthwhile=0.02)
OK_SRM = TestResult(0.0, 0.8, "srm")
NO_GUARD = {"breached": False}
BAYES = BayesResult(0.5, 0.01, 0.01, (1, 1), (1, 1), "beta")


@pytest.mark.parametrize(
    "diff,srm,guard,expected",
    [
        (_iv(0.06, 0.01, 0.11), OK_SRM, NO_GUARD, "ship"),
        (_iv(-0.06, -0.11, -0.01), OK_SRM, NO_GUARD, "stop"),
        (_iv(0.00, -0.03, 0.015), OK_SRM, NO_GUARD, "stop"),  # even the best case is not worth having
        (_iv(0.03, -0.01, 0.07), OK_SRM, NO_GUARD, "extend"),
        (_iv(0.06, 0.01, 0.11), TestResult(9.0, 1e-5, "srm"), NO_GUARD, "stop"),
    ],
)
def test_decision_rule(diff, srm, guard, expected):
    decision, reason = ro.decide(diff, srm, guard, BAYES, PLAN, pd.DataFrame())
    assert decision == expected and len(reason) > 20


def test_guardrail_breach_stops():
    guard = {
        "breached": True,
        "metric": "tickets",
        "treatment": 3.0,
        "control": 1.0,
        "test": TestResult(4.0, 0.001, "Welch"),
    }
    decision, reason = ro.decide(_iv(0.06, 0.01, 0.11), OK_SRM, guard, BAYES, PLAN, pd.DataFrame())
    assert decision == "stop" and "Guardrail" in reason


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "insights", *map(str, args)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )


@pytest.mark.slow
def test_cli_design_assign_readout(demo_copy):
    res = _cli("pilot", "design", "--mde", "0.1", "--data", demo_copy)
    assert res.returncode == 0, res.stderr
    assert "Implied duration" in res.stdout and "power.prop.test" in res.stdout
    args = [
        "pilot",
        "assign",
        "qbr_cadence",
        "--window-end",
        "2026-12-31",
        "--description",
        "QBR cadence",
        "--start",
        "2026-10-01",  # after the data's end: a start before it is refused unless --retrospective
        "--data",
        demo_copy,
        "--max-smd",
        "0.3",
    ]
    res = _cli(*args)
    assert res.returncode == 0, res.stderr
    assert (demo_copy / "pilots" / "qbr_cadence.csv").exists()
    again = _cli(*args)
    assert again.returncode == 2 and "never re-drawn" in again.stderr and "Traceback" not in again.stderr
    res = _cli("pilot", "readout", "value_review_2026q1", "--data", demo_copy)
    assert res.returncode == 0, res.stderr
    assert "DECISION:" in res.stdout and "Newcombe" in res.stdout
    assert "Cochran-Mantel-Haenszel" in res.stdout and "Mantel-Haenszel common odds ratio" in res.stdout
    res = _cli("pilot", "readout", "nope", "--data", demo_copy)
    assert res.returncode == 2 and "unknown pilot" in res.stderr


def test_readout_without_any_ticket_does_not_fail(small):
    tables, truth = small
    quiet = Tables(
        tables.data_dir, {**tables.frames, "support_tickets": tables.support_tickets.iloc[0:0]}, tables.as_of
    )
    r = ro.readout(quiet, truth["pilot"]["pilot_id"], grace_days=30)
    assert r.guardrail["breached"] is False and "no variation" in r.guardrail["test"].method


def test_the_final_decision_reads_the_final_obrien_fleming_boundary(small):
    tables, truth = small
    r = ro.readout(tables, truth["pilot"]["pilot_id"], grace_days=30)
    c = r.looks["z_boundary"].iloc[-1]
    assert c == pytest.approx(1.993, abs=5e-4)
    level = 1 - 2 * stats.norm.sf(c)  # 95.37%, not 95%
    e = r.effect()
    assert e.decision_interval.level == pytest.approx(level, abs=1e-8) == ro.decision_level(r.plan)
    x1, n1 = r.per_arm.loc["treatment", ["renewed", "accounts"]]
    x0, n0 = r.per_arm.loc["control", ["renewed", "accounts"]]
    ref = risk_difference(int(x1), int(n1), int(x0), int(n0), level)
    assert (e.decision_interval.low, e.decision_interval.high) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert "|z| >= 1.993 of 3 look(s)" in r.reason
    # a single planned look keeps the fixed-sample 95%
    assert ro.decision_level(PilotPlan("p1", "x", "2025-01-01", ("2025-01-01", "2025-12-31"), looks=1)) == 0.95


def test_each_arm_has_its_confidence_sequence(small):
    tables, truth = small
    r = ro.readout(tables, truth["pilot"]["pilot_id"], grace_days=30)
    e = r.effect()
    cs = e.always_valid
    assert "confidence sequence" in cs.method and cs.estimate == pytest.approx(e.difference.estimate)
    # always valid costs width: wider than the fixed-sample 95% interval
    assert cs.low < e.difference.low and cs.high > e.difference.high
    assert r.comparisons().loc["treatment", "always_valid_low"] == cs.low


def test_the_headline_quotes_the_interval_the_decision_reads(small):
    """One interval per difference on the front page: the decision's, not also a plain 95% one."""
    tables, truth = small
    r = ro.readout(tables, truth["pilot"]["pilot_id"], grace_days=30)
    (effect,) = r.effects.values()
    item = r.headline()[f"renewal rate, {effect.treatment} - {effect.control}"]
    d = effect.decision_interval
    assert f"{100 * d.low:+.1f} to {100 * d.high:+.1f}" in item and d.method in item
    assert f"{100 * d.low:+.1f} points to {100 * d.high:+.1f} points" in r.reason
