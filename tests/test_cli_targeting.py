"""`insights pilot target` as a user runs it: the answer on a pilot that supports it, one-line refusals otherwise."""

import shutil

import pandas as pd

from insights.data import paths
from test_cli import invoke, one_error_line


def _pilot_file(folder):
    return next((folder / "pilots").glob("*.csv"))


def test_a_pilot_of_40_accounts_is_refused_in_one_line(demo_copy):
    record = _pilot_file(demo_copy)
    pd.read_csv(record, dtype=str).head(40).to_csv(record, index=False)
    code, out = invoke("pilot", "target", record.stem, "--data", demo_copy)
    assert code == 2, out
    line = one_error_line(out)
    assert "too small for targeting" in line and "insights pilot readout" in line and "config/targeting.yaml" in line


def test_an_unknown_pilot_is_refused(demo_dir):
    code, out = invoke("pilot", "target", "no_such_pilot", "--data", demo_dir)
    assert code == 2 and "unknown pilot" in one_error_line(out)


def test_target_prints_the_verdict_policies_and_ranked_list(demo_dir, tmp_path):
    config = tmp_path / "config"
    shutil.copytree(paths.config_dir(), config)
    (config / "targeting.yaml").write_text("estimation:\n  min_accounts: 20\n  min_per_arm: 8\n  bootstrap: 50\n")
    out_csv = tmp_path / "ranked.csv"
    pid = _pilot_file(demo_dir).stem
    code, out = invoke(
        "pilot", "target", pid, "--data", demo_dir, "--out", out_csv, "--top", 3, env={"INSIGHTS_CONFIG_DIR": config}
    )
    assert code == 0, out
    for text in ("heterogeneity", "BLP heterogeneity loading = 0", "treat everyone", "current rule: red health"):
        assert text in out
    assert "not a measured fact" in out
    ranked = pd.read_csv(out_csv)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    code, out = invoke(
        "pilot", "target", pid, "--data", demo_dir, "--out", out_csv, env={"INSIGHTS_CONFIG_DIR": config}
    )
    assert code == 2 and "exists" in one_error_line(out)  # an export is never overwritten
