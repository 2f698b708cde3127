"""From a pilot to the CSM worklist: rules a (targeted), b (average decision) and c (playbook rules).

Pilots are simulated with ``insights.demo.targeting.simulate_targeting_pilot`` (its accounts, covariates
and randomised arms) and given outcomes with a known, strong effect, so that each rule's condition
holds for the seed used; each test asserts that condition before it checks the rule.
"""

import numpy as np
import pandas as pd
import pytest

from insights import context
from insights.analyses.pilots import pilot_plays, targeting
from insights.analyses.playbooks import load_playbooks
from insights.analyses.renewals import worklist
from insights.demo.targeting import simulate_targeting_pilot
from insights.errors import ConfigError

CFG = targeting.TargetingConfig(min_accounts=20, min_per_arm=8, bootstrap=50)


def _snapshot_columns(sim: pd.DataFrame) -> pd.DataFrame:
    """The simulated accounts with the snapshot columns the targeting design reads."""
    return sim.assign(
        tenure_years=1 + 2 * (1 - sim["first_renewal"]), utilisation=np.nan, support_burden=np.nan, band="amber"
    )


def _analysed(p_control, p_treatment, seed: int, n: int = 400) -> tuple[targeting.Targeting, pd.DataFrame]:
    """A simulated pilot whose accounts renew with the given probabilities, analysed as page 08 does."""
    sim = simulate_targeting_pilot(n, seed=seed)
    low = (sim["latent_perceived_value"] < 0).to_numpy()
    p0 = p_control(low) if callable(p_control) else np.full(n, p_control)
    p1 = p_treatment(low) if callable(p_treatment) else np.full(n, p_treatment)
    treated = (sim["arm"] == "treatment").to_numpy()
    renewed = np.random.default_rng(seed).random(n) < np.where(treated, p1, p0)
    frame = _snapshot_columns(sim).assign(
        renewed=renewed.astype(int), treated=treated.astype(int), propensity=0.5, stratum=sim["segment"]
    )
    return targeting.analyse_frame(frame, "sim_pilot", "control", CFG, seed=seed), sim


@pytest.fixture(scope="module")
def renewing() -> pd.DataFrame:
    """Accounts of the next quarter: other simulated accounts, some outside the window, one asked to cancel."""
    sim = _snapshot_columns(simulate_targeting_pilot(120, seed=99))
    days = np.arange(len(sim)) * 2  # 0, 2, ..., 238: the first 46 renew within 90 days
    asked = np.zeros(len(sim))
    asked[3] = 1.0
    segment = sim["segment"].to_numpy(dtype=object)
    segment[5] = "Strategic"  # a segment the pilot never saw
    return sim.assign(
        account_id=[f"W{i:03d}" for i in range(len(sim))],
        days_to_renewal=days,
        cancellation_requested=asked,
        segment=segment,
    )


@pytest.fixture
def config_with_play(tmp_path):
    path = tmp_path / "targeting.yaml"
    path.write_text("pilot_plays:\n  sim_pilot: value_review\n")
    return path


def _eligible(accounts: pd.DataFrame) -> pd.DataFrame:
    keep = (accounts["days_to_renewal"] <= 90) & (accounts["cancellation_requested"] == 0)
    return accounts[keep & (accounts["segment"] != "Strategic")]


def test_rule_a_heterogeneity_found_gives_the_play_to_the_top_share_only(renewing, config_with_play):
    r, _ = _analysed(0.5, lambda low: np.where(low, 0.95, 0.5), seed=0)
    assert r.heterogeneous and r.policy.startswith("top ")  # the rule's condition on this seed
    plays = pilot_plays.recommend(r, renewing, 90, path=config_with_play)
    assert plays.rule == pilot_plays.TARGETED and plays.play.key == "value_review"
    eligible = _eligible(renewing)
    assert len(plays.accounts) == round(r.policy_share * len(eligible)) > 0
    # the chosen accounts are the eligible ones with the highest predicted uplift
    uplift = pd.Series(targeting.predicted_uplift(r, eligible), index=eligible["account_id"])
    chosen = uplift.index.isin(plays.accounts["account_id"])
    assert uplift[chosen].min() >= uplift[~chosen].max()
    # and they are mostly the accounts the play truly helps (latent perceived value below the mean)
    truly_low = eligible.set_index("account_id")["latent_perceived_value"] < 0
    assert truly_low[chosen].mean() > truly_low[~chosen].mean()
    assert set(plays.accounts["action_source"]) == {"pilot sim_pilot"}
    assert plays.accounts["policy"].str.startswith(r.policy).all()
    first = plays.accounts["evidence"].iloc[0]
    assert "accounts like this one" in first and "heterogeneity test p = " in first and "bootstrap" in first
    assert "W003" not in set(plays.accounts["account_id"]) and "W005" not in set(plays.accounts["account_id"])
    assert plays.sentence().startswith("The worklist (accounts renewing in the next 90 days) gives the play Value")
    assert "not a fact" in plays.sentence()


def test_rule_b_no_heterogeneity_but_a_clear_average_effect_gives_everyone_the_play(renewing, config_with_play):
    r, _ = _analysed(0.5, 0.8, seed=0)
    assert not r.heterogeneous and r.average.low > 0 and r.policy == "treat everyone"
    plays = pilot_plays.recommend(r, renewing, 90, path=config_with_play)
    assert plays.rule == pilot_plays.AVERAGE
    assert sorted(plays.accounts["account_id"]) == sorted(_eligible(renewing)["account_id"])
    assert plays.accounts["arr"].sum() == pytest.approx(_eligible(renewing)["arr"].sum())
    assert plays.accounts["evidence"].str.contains("no heterogeneity found, so the average decision applies").all()
    assert f"{100 * r.average.estimate:+.1f} points" in plays.sentence()


def test_rule_c_an_unclear_average_effect_keeps_the_playbook_rules(renewing, config_with_play):
    r, _ = _analysed(0.5, 0.5, seed=0)
    assert not r.heterogeneous and r.average.low < 0 < r.average.high and r.policy == ""
    plays = pilot_plays.recommend(r, renewing, 90, path=config_with_play)
    assert plays.rule == pilot_plays.NONE and plays.accounts.empty
    assert plays.sentence().startswith("The worklist keeps the playbook rules because pilot sim_pilot shows no")
    assert "is not clearly above zero" in plays.sentence()


def test_a_pilot_without_a_named_play_keeps_the_playbook_rules(renewing, tmp_path):
    r, _ = _analysed(0.5, 0.8, seed=0)
    plays = pilot_plays.recommend(r, renewing, 90, path=tmp_path / "absent.yaml")
    assert (
        plays.rule == pilot_plays.NONE and plays.accounts.empty and "names no play for pilot sim_pilot" in plays.reason
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("pilot_plays:\n  sim_pilot: no_such_play\n")
    with pytest.raises(ConfigError, match="no_such_play"):
        pilot_plays.recommend(r, renewing, 90, path=bad)


def test_the_project_config_names_a_defined_play_for_the_demo_pilot():
    play = pilot_plays.play_of_pilot("value_review_2026q1", load_playbooks())
    assert play is not None and play.key == "value_review"


def test_a_pilot_too_small_to_target_leaves_the_worklist_to_the_playbook(demo_dir):
    tables = context.load(demo_dir)
    plays = pilot_plays.for_worklist(tables, pd.DataFrame(), 30)
    assert plays.rule == pilot_plays.NONE and plays.accounts.empty
    assert "cannot be targeted" in plays.reason and "too small for targeting" in plays.reason


def test_data_without_a_pilot_leave_the_worklist_to_the_playbook(demo_copy):
    import shutil

    shutil.rmtree(demo_copy / "pilots")
    plays = pilot_plays.for_worklist(context.load(demo_copy), pd.DataFrame(), 30)
    assert plays.pilot_id is None and plays.accounts.empty
    assert plays.sentence() == "The worklist keeps the playbook rules because the data hold no pilot."


@pytest.mark.slow
def test_the_default_demo_worklist_is_unchanged_by_its_pilot(tmp_path):
    """The demo's pilot (427 accounts): no heterogeneity, average +2.6 points (-3.8 to +9.1): rule c."""
    import insights
    from insights.analyses.risk import model as risk
    from insights.demo import DemoSpec, write_demo

    write_demo(tmp_path / "raw", DemoSpec())
    ctx = insights.setup("2026Q3", tmp_path / "raw", tmp_path / "out", seed=7)
    models = risk.fit_current(ctx.snapshots, ctx.quarter.end, purge_days=ctx.settings.grace_days, seed=7)
    accounts, contrib = worklist.score_accounts(models, ctx.snapshots, ctx.quarter.end)
    plays = pilot_plays.for_worklist(ctx.tables, accounts, ctx.settings.grace_days, 90, seed=7)
    assert plays.rule == pilot_plays.NONE and plays.accounts.empty
    assert "+2.6 points (-3.8 points to +9.1 points" in plays.reason
    book = load_playbooks()
    alone = worklist.build(accounts, contrib, book, ctx.quarter.end, window_days=None)
    together = worklist.build(accounts, contrib, book, ctx.quarter.end, window_days=None, pilot_plays=plays.accounts)
    pd.testing.assert_frame_equal(alone, together)


@pytest.mark.slow
def test_a_pilot_that_supports_the_play_changes_the_written_worklist(demo_dir, tmp_path, config_with_play):
    """End to end on the small demo: a pilot of real accounts (a year earlier) with a clear average effect."""
    import insights
    from insights.analyses.risk import model as risk
    from insights.data.output_files import write_csv
    from insights.report import workbook

    ctx = insights.setup("2026Q3", demo_dir, tmp_path / "out", seed=7)
    snap = ctx.snapshots
    earlier = snap[snap["obs_date"] == ctx.quarter.shift(-4).end].reset_index(drop=True)
    treated = (np.arange(len(earlier)) % 2).astype(int)
    renewed = np.random.default_rng(1).random(len(earlier)) < np.where(treated == 1, 0.85, 0.5)
    frame = earlier.assign(
        arm=np.where(treated == 1, "treatment", "control"),
        treated=treated,
        propensity=0.5,
        stratum=earlier["segment"].astype(str),
        renewed=renewed.astype(int),
        band="amber",
    )
    r = targeting.analyse_frame(frame, "sim_pilot", "control", CFG, seed=0)
    assert not r.heterogeneous and r.policy == "treat everyone"  # rule b on this seed

    models = risk.fit_current(snap, ctx.quarter.end, purge_days=ctx.settings.grace_days, seed=7)
    accounts, contrib = worklist.score_accounts(models, snap, ctx.quarter.end)
    plays = pilot_plays.recommend(r, accounts, 90, path=config_with_play)
    book = load_playbooks()
    work = worklist.build(accounts, contrib, book, ctx.quarter.end, window_days=90, pilot_plays=plays.accounts)
    path = write_csv(worklist.rounded(work), tmp_path / "worklist.csv", float_format="%.12g")
    workbook.write_workbook([path], tmp_path / "book.xlsx")
    back = pd.read_csv(path, parse_dates=["renewal_date", "due_date"])
    piloted = back["action_source"] == "pilot sim_pilot"
    assert piloted.sum() == len(plays.accounts) > 0 and set(back.loc[~piloted, "action_source"]) <= {"playbook"}
    assert (back.loc[piloted, "next_action"] == "Value review").all()
    assert back.loc[piloted, "action_evidence"].str.startswith("In pilot sim_pilot").all()
    due = (back["renewal_date"] - pd.Timedelta(days=90)).clip(lower=ctx.quarter.end)
    assert (back.loc[piloted, "due_date"] == due[piloted]).all()
    asked = back["cancellation_requested"]
    assert asked.any() and not (asked & piloted).any()
    assert (back.loc[asked, "next_action"] == "Executive save call").all()
    assert "action_source" in worklist.headline_table(work).columns
