"""Pilot integrity (issue 13 item 5): the readout refuses a record that is not the one drawn and recorded."""

import io
import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from insights.analyses.pilots import assignment
from insights.analyses.pilots import readout as ro
from insights.analyses.pilots.integrity import check_integrity
from insights.data.loading import load_tables
from insights.demo import GROUND_TRUTH_FILE
from insights.errors import ParameterError


def _drawn(arms=("control", "treatment"), n=120, seed=7):
    rng = np.random.default_rng(0)
    accounts = pd.DataFrame(
        {"account_id": [f"A{i:04d}" for i in range(n)], "segment": rng.choice(["SMB", "Mid-Market"], n)}
    )
    plan = assignment.PilotPlan(
        "integrity_test",
        "x",
        "2026-10-01",
        ("2026-10-01", "2027-06-30"),
        arms=arms,
        shares=tuple([1 / len(arms)] * len(arms)),
        seed=seed,
        max_abs_smd=0,
    )
    drawn = assignment.draw(plan, accounts)
    plan = replace(drawn.plan, assignment_sha256=assignment.canonical_record(drawn.record)[1])
    return plan, drawn.record


def _swap(record, k=3):
    """Swap the arms of k control and k treatment accounts (arm counts unchanged)."""
    out = record.copy()
    c = out.index[out["arm"] == "control"][:k]
    t = out.index[out["arm"] == "treatment"][:k]
    out.loc[c, "arm"], out.loc[t, "arm"] = "treatment", "control"
    return out, sorted(out.loc[c.append(t), "account_id"])


def test_an_untouched_record_is_verified():
    plan, record = _drawn()
    assert plan.draw == 0
    notes = check_integrity(record, plan)
    assert "re-derived from seed 7" in notes[0] and "SHA-256 matches" in notes[0]
    # the same record read back from its CSV text hashes the same (dates parsed, seeds as ints)
    back = pd.read_csv(io.StringIO(assignment.canonical_record(record)[0]), parse_dates=["assigned_at"])
    assert assignment.canonical_record(back)[1] == plan.assignment_sha256


def test_swapping_six_rows_is_refused_naming_the_accounts():
    plan, record = _drawn()
    swapped, ids = _swap(record)
    assert swapped["arm"].value_counts().sort_index().equals(record["arm"].value_counts().sort_index())
    with pytest.raises(ParameterError, match="6 account\\(s\\) are in another arm") as err:
        check_integrity(swapped, plan)
    assert all(a in str(err.value) for a in ids)
    # without the draw, the digest still refuses it
    with pytest.raises(ParameterError, match="SHA-256"):
        check_integrity(swapped, replace(plan, draw=None))


def test_other_seed_renamed_arm_and_changed_stratum_are_refused():
    plan, record = _drawn()
    with pytest.raises(ParameterError, match="another seed"):
        check_integrity(record.assign(seed=8), plan)
    renamed = record.assign(arm=record["arm"].replace({"treatment": "Treatment"}))
    with pytest.raises(
        ParameterError, match=r"expected arms \['control', 'treatment'\].*found \['Treatment', 'control'\]"
    ):
        check_integrity(renamed, plan)
    moved = record.copy()
    moved.loc[0, "assigned_at"] = "2026-09-01"
    with pytest.raises(ParameterError, match="another column"):
        check_integrity(moved, plan)
    # a plan that records neither the draw nor the digest: verified by nothing, and it says so
    notes = check_integrity(record, replace(plan, draw=None, assignment_sha256=""))
    assert "could not be verified" in notes[0]


def test_three_arms_rederive():
    plan, record = _drawn(arms=("control", "email", "call"))
    assert plan.treatments == ("email", "call")
    assert check_integrity(record, plan)[0].startswith("assignment verified")


# ------------------------------------------------------------------ on the demo pilot


@pytest.fixture
def demo_pilot(demo_copy):
    pid = json.loads((demo_copy / GROUND_TRUTH_FILE).read_text())["pilot"]["pilot_id"]
    return demo_copy, pid


def test_demo_pilot_is_verified_by_its_digest(demo_pilot):
    folder, pid = demo_pilot
    r = ro.readout(load_tables(folder), pid, grace_days=30)
    assert any("SHA-256 matches the plan" in n for n in r.notes)


def test_demo_pilot_with_six_rows_swapped_is_refused(demo_pilot):
    folder, pid = demo_pilot
    path = folder / "pilots" / f"{pid}.csv"
    swapped, _ = _swap(pd.read_csv(path))
    swapped.to_csv(path, index=False)
    with pytest.raises(ParameterError, match="is not the one recorded"):
        ro.readout(load_tables(folder), pid, grace_days=30)


def test_a_renamed_arm_names_expected_and_found_arms(demo_pilot):
    folder, pid = demo_pilot
    path = folder / "pilots" / f"{pid}.csv"
    rec = pd.read_csv(path)
    rec.assign(arm=rec["arm"].replace({"treatment": "Treatment"})).to_csv(path, index=False)
    with pytest.raises(ParameterError, match=r"expected arms \['control', 'treatment'\].*'Treatment'"):
        ro.readout(load_tables(folder), pid, grace_days=30)


def test_without_a_plan_the_control_is_not_guessed(demo_pilot):
    folder, pid = demo_pilot
    (folder / "pilots" / f"{pid}.json").unlink()
    tables = load_tables(folder)
    with pytest.raises(ParameterError, match=r"control arm is unknown.*'control', 'treatment'"):
        ro.readout(tables, pid, grace_days=30)
    r = ro.readout(tables, pid, grace_days=30, control="control")
    assert list(r.effects) == ["treatment"] and "could not be verified" in " ".join(r.notes)
    with pytest.raises(ParameterError, match="not an arm"):
        ro.readout(tables, pid, grace_days=30, control="Control")


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "insights", *map(str, args)], capture_output=True, text=True, env=os.environ.copy()
    )


def test_cli_refuses_a_back_dated_start_unless_retrospective(tiny_demo_copy):
    args = ["pilot", "assign", "late", "--window-end", "2026-12-31", "--start", "2026-01-01", "--data", tiny_demo_copy]
    res = _cli(*args)
    assert res.returncode == 2 and "--retrospective" in res.stderr and "Traceback" not in res.stderr
    assert not (tiny_demo_copy / "pilots" / "late.csv").exists()
    res = _cli(*args, "--retrospective", "--max-smd", "0")
    assert res.returncode == 0, res.stderr
    assert "NON-RANDOMISED" in res.stdout
    plan = json.loads((tiny_demo_copy / "pilots" / "late.json").read_text())
    assert plan["retrospective"] is True and "NON-RANDOMISED" in plan["label"]
    assert (
        plan["assignment_sha256"] == assignment.canonical_record(pd.read_csv(tiny_demo_copy / "pilots" / "late.csv"))[1]
    )
