"""Playbook targeting on pilots: configuration, refusals, the wiring on demo data, and truth recovery.

The estimators themselves are checked against independent computations in test_stats_uplift.py;
the many-seed calibration and coverage runs are in bench/eval_targeting.py (docs/playbook_targeting.md).
"""

import numpy as np
import pandas as pd
import pytest

from insights import context
from insights.analyses.pilots import targeting
from insights.analyses.pilots.readout import latest_pilot
from insights.demo.targeting import estimation_frame, simulate_targeting_pilot, true_policy_value
from insights.errors import ConfigError, ParameterError
from insights.stats.heterogeneity import gates, uplift_groups
from insights.stats.policy_value import policy_value
from insights.stats.uplift import dr_learner

LOW = targeting.TargetingConfig(min_accounts=20, min_per_arm=8, bootstrap=50)


@pytest.fixture(scope="module")
def small(demo_dir):
    tables = context.load(demo_dir)
    return tables, latest_pilot(tables)


def test_config_file_matches_the_defaults(tmp_path):
    assert targeting.load_config() == targeting.TargetingConfig()
    assert targeting.load_config(tmp_path / "absent.yaml") == targeting.TargetingConfig()
    assert targeting.TargetingConfig().cost_per_play == 600.0


@pytest.mark.parametrize(
    "text,match",
    [
        ("cost: 3\n", "must be a mapping"),
        ("policies:\n  top_shares: [0, 0.5]\n", "top_shares"),
        ("policies:\n  current_rule_band: purple\n", "current_rule_band"),
        ("estimation:\n  folds: x\n", "wrong type"),
    ],
)
def test_bad_config_is_refused(tmp_path, text, match):
    path = tmp_path / "targeting.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        targeting.load_config(path)


def test_a_small_pilot_is_refused_with_the_fix(small):
    tables, pid = small
    with pytest.raises(ParameterError, match=r"too small for targeting.*insights pilot readout"):
        targeting.analyse(tables, pid, 30)
    assert "too small" in targeting.refusal(tables, pid, 30)
    assert "no pilot" in targeting.refusal(tables, None, 30)
    assert targeting.refusal(tables, pid, 30, LOW) is None


def test_a_pilot_without_pre_period_behaviour_is_refused(small, monkeypatch):
    tables, pid = small
    real = targeting._snapshot_with_band

    def without_behaviour(t, as_of):
        snap = real(t, as_of)
        behaviour = [c for c in targeting.COVARIATES if c not in ("arr", "tenure_years")]
        return snap.assign(**dict.fromkeys(behaviour, np.nan))

    monkeypatch.setattr(targeting, "_snapshot_with_band", without_behaviour)
    with pytest.raises(ParameterError, match="no pre-period covariates"):
        targeting.pilot_frame(tables, pid, 30, config=LOW)


def test_design_matrix_imputes_and_flags():
    f = pd.DataFrame({c: [1.0, np.nan, 3.0] for c in targeting.COVARIATES} | {"segment": ["SMB", "Mid-Market", "SMB"]})
    design, cols = targeting.design_matrix(f)
    assert not design.isna().any().any()
    assert design.loc[1, "utilisation"] == 2.0 and design.loc[1, "utilisation_missing"] == 1.0
    assert design.loc[0, "arr"] == pytest.approx(np.log1p(1.0))
    assert "segment_SMB" in cols and "segment_Mid-Market" not in cols  # first segment is the reference


def test_analyse_and_ranked_list_on_the_small_demo(small):
    tables, pid = small
    r = targeting.analyse(tables, pid, 30, config=LOW)
    n = len(r.frame)
    assert r.gates["n"].sum() == n and r.frame["treated"].isin([0, 1]).all()
    pol = r.policies.set_index("policy")
    assert pol.loc["treat no one", "renewal_gain"] == 0 and pol.loc["treat everyone", "plays"] == n
    assert pol.loc["treat everyone", "play_cost"] == pytest.approx(n * 600.0)
    assert pol.loc["treat everyone", "renewal_gain"] == pytest.approx(r.frame["score"].mean())
    assert r.average.estimate == pytest.approx(r.frame["score"].mean())
    assert ("No heterogeneity found" in r.verdict) != r.heterogeneous
    ranked = targeting.ranked_accounts(tables, r)
    assert ranked["expected_arr"].is_monotonic_decreasing and ranked["days_to_renewal"].between(0, 90).all()
    assert ranked.attrs["caveat"] == targeting.CAVEAT
    if not r.heterogeneous:  # without heterogeneity everyone gets the average effect
        assert np.allclose(ranked["expected_uplift"], r.average.estimate)


@pytest.mark.slow
def test_gates_ordering_and_policy_values_recover_the_truth():
    """Three simulated pilots of the sized design (3,000 accounts): the full runs are in bench/eval_targeting.py."""
    for seed in range(3):
        pilot = simulate_targeting_pilot(seed=seed)
        frame, covariates = estimation_frame(pilot)
        s = dr_learner(frame, "renewed", "treated", covariates, propensity=0.5, strata="segment", seed=seed)
        g = gates(s, n_boot=200, seed=seed)
        true_by_group = pilot["true_uplift"].groupby(uplift_groups(s["cate"], 5)).mean()
        assert true_by_group.iloc[-1] > 0.1 > true_by_group.iloc[0]  # the top group holds the responders
        assert g.attrs["difference"].low > 0  # and the estimate shows it
        assert np.corrcoef(g["estimate"], true_by_group)[0, 1] > 0.8
        rule = (frame["perceived_value"] < 0).astype(int).to_numpy()
        v = policy_value(s, {"rule": rule}).iloc[0]
        assert v["value_low"] <= true_policy_value(pilot, rule) <= v["value_high"]


def test_simulated_pilot_truth():
    pilot = simulate_targeting_pilot(400, seed=3)
    low = pilot["latent_perceived_value"] < 0
    assert (pilot.loc[~low, "true_uplift"] == 0).all() and (pilot.loc[low, "true_uplift"] > 0).all()
    assert (
        pilot.groupby("segment")["arm"].apply(lambda a: abs((a == "treatment").sum() - (a == "control").sum())).max()
        <= 1
    )
    null = simulate_targeting_pilot(400, seed=3, heterogeneous=False)
    assert np.allclose(null["true_uplift"], 0.02)
    assert null[["segment", "arr", "perceived_value"]].equals(pilot[["segment", "arr", "perceived_value"]])
    assert true_policy_value(pilot, np.ones(400)) == pytest.approx(pilot["p_renew_treatment"].mean())
    with pytest.raises(ParameterError, match="at least 40"):
        simulate_targeting_pilot(39)


def test_ground_truth_records_the_targeting_effect_and_power(small_demo):
    _, truth = small_demo
    section = truth["playbook_targeting"]
    assert section["truth"]["uplift_other"] == 0 and section["truth"]["uplift_low_perceived_value"] > 0.1
    assert section["sized_accounts"] == 3000 and section["power_blp_test_5pct"]["3000"] >= 0.8
    assert section["demo_pilot_accounts"] == len(small_demo[0]["pilot_assignments"])


def test_policy_summary_puts_each_estimate_with_its_interval():
    import pandas as pd

    from insights.analyses.pilots.targeting import policy_summary

    row = {"policy": "treat everyone", "plays": 427, "csm_hours": 2562.0, "net_arr_gain": 1_650_000.0}
    for col, (v, lo, hi) in {
        "renewal_rate": (0.861, 0.8153, 0.9067),
        "renewal_gain": (0.026, -0.0384, 0.0906),
        "arr_gain": (1_904_598.0, -1_226_330.0, 5_000_000.0),
    }.items():
        row.update({col: v, col + "_low": lo, col + "_high": hi})
    row["method"] = "DR, clustered"
    out = policy_summary(pd.DataFrame([row]))
    got = out.loc["treat everyone"]
    assert got["renewal rate"] == "86.1% (81.5% to 90.7%)"
    assert got["gain in renewal (points)"] == "+2.6 (-3.8 to +9.1)"
    assert got["ARR gain"] == "$1.90M (-$1.23M to $5.00M)"
    assert got["plays"] == "427" and got["CSM hours"] == "2,562" and out.attrs["method"] == "DR, clustered"
