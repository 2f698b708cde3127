"""A three-arm pilot end to end: designed, assigned and read out (CLI, Python, notebook 07)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from insights.analyses.pilots import readout as ro
from insights.data.loading import load_tables
from insights.errors import ParameterError
from insights.stats.intervals import risk_difference
from insights.stats.sequential import spending_boundaries

# end to end through the CLI and papermill (about 15 s): in the full run, not the fast tier
pytestmark = pytest.mark.slow


def _cli(*args):
    res = subprocess.run(
        [sys.executable, "-m", "insights", *map(str, args)], capture_output=True, text=True, env=os.environ.copy()
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def three(tmp_path_factory, demo_dir):
    """The small demo with a three-arm pilot (control, email, call) assigned through the CLI."""
    import shutil

    folder = tmp_path_factory.mktemp("three") / "raw"
    shutil.copytree(demo_dir, folder)
    design = _cli("pilot", "design", "--treatments", "2", "--start", "2025-10-01", "--quarters", "3", "--data", folder)
    assigned = _cli(
        *("pilot", "assign", "three_arms", "--start", "2025-10-01", "--window-end", "2026-06-30"),
        *("--arm", "email", "--arm", "call", "--retrospective", "--max-smd", "0", "--data", folder),
    )
    return folder, design, assigned


def test_design_and_assignment(three):
    folder, design, assigned = three
    assert "split over 2 comparisons (Bonferroni, 0.025 each)" in design
    assert "arms control, email, call" in assigned and "ratio 1:1:1" in assigned
    plan = json.loads((folder / "pilots" / "three_arms.json").read_text())
    assert plan["control"] == "control" and plan["arms"] == ["control", "email", "call"]


def test_readout_compares_every_arm_with_control_under_holm(three):
    folder, _, _ = three
    r = ro.readout(load_tables(folder), "three_arms", grace_days=30)
    assert list(r.effects) == ["email", "call"] and "Holm" in r.adjust_method
    raw = [r.effects[t].test.p_value for t in ("email", "call")]
    holm = multipletests(raw, method="holm")[1]
    assert [r.effects[t].p_adjusted for t in ("email", "call")] == pytest.approx(holm, abs=1e-12)
    # the decision reads each difference at the final O'Brien-Fleming boundary of alpha / 2
    c = spending_boundaries([1 / 3, 2 / 3, 1.0], alpha=0.025)["z_boundary"].iloc[-1]
    level = 1 - 2 * stats.norm.sf(c)
    assert ro.decision_level(r.plan, 2) == pytest.approx(level, abs=1e-8)
    for t, e in r.effects.items():
        x1, n1 = r.per_arm.loc[t, ["renewed", "accounts"]]
        x0, n0 = r.per_arm.loc["control", ["renewed", "accounts"]]
        ref = risk_difference(int(x1), int(n1), int(x0), int(n0), level)
        assert (e.decision_interval.low, e.decision_interval.high) == pytest.approx((ref.low, ref.high), abs=1e-8)
        assert "split over 2 comparisons" in e.decision_interval.method
        assert e.looks["z_boundary"].iloc[-1] == pytest.approx(c, abs=1e-9)
        assert "NON-RANDOMISED" in e.reason
    # net ARR change: Dunnett's many-to-one test across the two arms
    res = r.data[r.data["status"] == "resolved"]
    dunnett = stats.dunnett(
        *(res.loc[res["arm"] == t, "arr_change"].to_numpy() for t in ("email", "call")),
        control=res.loc[res["arm"] == "control", "arr_change"].to_numpy(),
        rng=np.random.default_rng(1),  # another quasi-Monte Carlo stream: equal to its integration error
    )
    assert [r.effects[t].arr_p_adjusted for t in ("email", "call")] == pytest.approx(dunnett.pvalue, abs=1e-4)
    assert r.comparisons()["arr_change_p_adjusted"].tolist() == pytest.approx(dunnett.pvalue, abs=1e-4)
    with pytest.raises(ParameterError, match="2 treatment arms"):
        _ = r.difference  # a two-arm shortcut: with several arms, name the arm
    assert "NON-RANDOMISED" in r.headline()["pilot"]


def test_cli_readout_prints_every_comparison(three):
    folder, _, _ = three
    out = _cli("pilot", "readout", "three_arms", "--data", folder)
    assert "NON-RANDOMISED" in out and "Every arm vs 'control'" in out and "Holm" in out
    assert "[email vs control]" in out and "[call vs control]" in out
    assert out.count("Cochran-Mantel-Haenszel") == 2 and out.count("Mantel-Haenszel common odds ratio") == 2
    out = _cli("pilot", "readout", "three_arms", "--data", folder, "--adjust", "bonferroni", "--interval", "wald")
    assert "Bonferroni across 2" in out and "Wald (unpooled) 95% CI" in out


def test_notebook_07_reads_out_the_three_arms(three, tmp_path, project_root):
    import papermill as pm

    folder, _, _ = three
    out = tmp_path / "07.ipynb"
    pm.execute_notebook(
        str(project_root / "notebooks" / "07_pilot_readout.ipynb"),
        str(out),
        parameters={"data_dir": str(folder), "pilot_id": "three_arms", "output_dir": str(tmp_path / "actions")},
        kernel_name="python3",
        cwd=str(project_root),
        progress_bar=False,
    )
    # the outputs' text with the Markdown escapes of insights.markup removed
    text = out.read_text().replace("\\\\", "")
    assert "NON-RANDOMISED" in text and "email" in text and "call" in text and "Holm step-down" in text
