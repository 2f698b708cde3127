"""Segment driver effects with partial pooling, the calibrated first driver, and the segment playbook table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from insights.analyses.drivers import pooling
from insights.analyses.drivers import segment_playbooks as sp
from insights.analyses.playbooks import load_playbooks
from insights.errors import ParameterError
from insights.stats import partial_pooling

DRV = ["perceived_value", "satisfaction", "breadth"]
EFFECTS = {"Big": [-1.2, -0.5, -0.1], "Mid": [-0.3, -0.4, -1.1], "Small": [-0.2, -0.3, -0.9]}
SIZES = {"Big": 1500, "Mid": 1500, "Small": 250}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Analysis rows of three segments with known effects per SD; Small has few churns."""
    rng = np.random.default_rng(11)
    parts = []
    for seg, n in SIZES.items():
        z = rng.standard_normal((n, 3))
        tenure = rng.gamma(2.0, 1.0, n)
        first = (rng.random(n) < 0.3).astype(float)
        eta = -2.2 + z @ np.array(EFFECTS[seg]) - 0.1 * tenure + 0.4 * first
        parts.append(
            pd.DataFrame(
                {
                    **{f"z_{d}": z[:, j] for j, d in enumerate(DRV)},
                    "tenure_years": tenure,
                    "first_renewal": first,
                    "segment": seg,
                    "account_id": [f"{seg}{i // 2}" for i in range(n)],  # two renewals per account
                    "churned": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_segment_models_are_clustered_logits_per_segment(rows):
    est, covs, counts = pooling.segment_models(rows, DRV)
    sub = rows[rows["segment"] == "Mid"]
    X = sm.add_constant(sub[[f"z_{d}" for d in DRV] + ["tenure_years", "first_renewal"]])
    fit = sm.Logit(sub["churned"], X).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(sub["account_id"])[0]}
    )
    assert np.allclose(est.loc["Mid"], fit.params.iloc[1:4], atol=1e-6)
    assert np.allclose(covs["Mid"], fit.cov_params().iloc[1:4, 1:4], atol=1e-8)
    assert counts.loc["Small", "events"] == rows.loc[rows["segment"] == "Small", "churned"].sum()


def test_pooled_effects_are_the_generic_shrinkage(rows):
    est, covs, _ = pooling.segment_models(rows, DRV)
    pooled = pooling.pooled_effects(rows, DRV)
    direct = partial_pooling.shrink_effects(est, covs)
    assert np.allclose(pooled.shrunk, direct.shrunk) and np.allclose(pooled.shrunk_se, direct.shrunk_se)
    # the small segment leans most on the others: lowest weight on its own estimate, widest interval
    assert pooled.weight.idxmin().eq("Small").all()
    assert (pooled.shrunk_se.loc["Small"] < pooled.raw_se.loc["Small"]).all()


def test_first_drivers_recommend_only_at_the_calibrated_confidence(rows):
    pooled = pooling.pooled_effects(rows, DRV)
    identity = pooling.first_drivers(pooled, n_draws=4000, confidence_map=((0.0, 0.0), (1.0, 1.0)))
    assert identity.loc["Big", "first"] == "perceived_value" and identity.loc["Mid", "first"] == "breadth"
    assert identity.loc["Big", "recommended"] == "perceived_value" and identity.loc["Big", "confidence"] > 0.9
    assert np.allclose(identity["confidence"], identity["p_first"])
    # a map that says such statements are right only 60% of the time: nothing is recommended
    doubtful = pooling.first_drivers(pooled, n_draws=4000, confidence_map=((0.0, 0.0), (1.0, 0.6)))
    assert doubtful["recommended"].isna().all()
    assert all(len(c) >= 2 and c[0] == f for c, f in zip(doubtful["in_contention"], doubtful["first"]))
    assert "isotonic calibration" in doubtful["method"].iloc[0]


def test_a_segment_too_small_to_fit_borrows_the_common_effect(rows):
    few = rows[(rows["segment"] != "Small") | (rows["churned"] == 0) | (rows.index % 50 == 0)]
    est, _covs, counts = pooling.segment_models(few, DRV)
    assert (
        "Small" not in est.index and "Small" in counts.index and counts.loc["Small", "events"] < pooling.MIN_FIT_EVENTS
    )
    pooled = pooling.pooled_effects(few, DRV)
    common = pooled.pooled
    np.testing.assert_allclose(pooled.shrunk.loc["Small", DRV], common.loc[DRV, "mean"])
    np.testing.assert_allclose(
        pooled.shrunk_se.loc["Small", DRV], np.sqrt(common.loc[DRV, "tau2"] + common.loc[DRV, "se"] ** 2)
    )
    assert (pooled.weight.loc["Small"] == 0).all() and pooled.raw.loc["Small"].isna().all()
    # wider than any fitted segment's pooled uncertainty
    assert (pooled.shrunk_se.loc["Small", DRV] >= pooled.shrunk_se.drop(index="Small")[DRV].min() - 1e-12).all()
    first = pooling.first_drivers(pooled, seed=1)
    assert "Small" in first.index
    only_one = few[few["segment"].isin(["Small", few["segment"].iloc[0]])]
    with pytest.raises(ParameterError, match="at least 2 segments"):
        pooling.segment_models(only_one, DRV)
    with pytest.raises(ParameterError, match="lack column"):
        pooling.segment_models(rows.drop(columns="tenure_years"), DRV)


def _design():
    rows = []
    for seg, accounts, mdes in [
        ("SMB", [300, 700, 1000, 1400], [0.09, 0.06, 0.049, 0.04]),
        ("Ent", [10, 20, 30, 40], [0.4, 0.3, 0.25, 0.2]),
    ]:
        for q, (a, m) in enumerate(zip(accounts, mdes), start=1):
            rows.append(
                {
                    "segment": seg,
                    "quarters": q,
                    "window_end": pd.Timestamp("2026-12-31") + pd.offsets.QuarterEnd(q - 1),
                    "eligible": a,
                    "achievable_mde": m,
                    "enough": m <= 0.05,
                }
            )
    return pd.DataFrame(rows)


def test_segment_pilots_take_the_shortest_enough_window_else_the_longest():
    pilots = sp.segment_pilots(_design(), "2026-10-01")
    assert pilots.loc["SMB"].to_dict() == {
        "pilot_accounts": 1000,
        "pilot_quarters": 3,
        "pilot_weeks": 39,  # 2026-10-01 to 2027-06-30: 272 days
        "pilot_mde_points": pytest.approx(4.9),
        "enough": True,
    }
    assert pilots.loc["Ent", "pilot_quarters"] == 4 and not pilots.loc["Ent", "enough"]
    assert pilots.loc["Ent", "pilot_mde_points"] == pytest.approx(20.0)


def test_segment_playbooks_say_what_to_do_or_what_is_in_contention():
    first = pd.DataFrame(
        {
            "first": ["perceived_value", "satisfaction"],
            "effect": [-1.1, -0.6],
            "effect_low": [-1.4, -1.0],
            "effect_high": [-0.8, -0.2],
            "p_first": [0.99, 0.7],
            "confidence": [0.97, 0.55],
            "recommended": ["perceived_value", None],
            "in_contention": [["perceived_value"], ["satisfaction", "breadth"]],
        },
        index=pd.Index(["SMB", "Ent"], name="segment"),
    )
    book = load_playbooks()
    table = sp.segment_playbooks(first, book, sp.segment_pilots(_design(), "2026-10-01"))
    smb, ent = table.loc["SMB"], table.loc["Ent"]
    assert (smb["work_on"], smb["play"], smb["in_contention"]) == ("perceived value", "Value review", "")
    assert smb["sentence"] == (
        "In SMB, work on perceived value: Value review (confidence 97%); a pilot of 1,000 renewing accounts "
        "over 39 weeks detects +4.9 points of renewal rate."
    )
    assert (ent["work_on"], ent["play"]) == ("", "")
    assert ent["in_contention"] == "satisfaction and feature breadth"
    assert ent["sentence"].startswith("In Ent no driver is confidently first: satisfaction and feature breadth")
    assert "short of the target" in ent["sentence"]
    assert set(sp.HEADLINE_COLUMNS) <= set(table.columns)


def test_pooled_effects_figure_has_a_panel_per_segment(rows):
    import matplotlib.pyplot as plt

    from insights.analyses.drivers import figures

    fig = figures.pooled_segment_effects(pooling.pooled_effects(rows, DRV), {"breadth": "feature breadth"})
    axes = fig.get_axes()
    assert [a.get_title() for a in axes] == ["Big", "Mid", "Small"]
    assert "feature breadth" in [t.get_text() for t in axes[0].get_yticklabels()]
    plt.close(fig)


def test_small_segments_take_their_own_confidence_map():
    p = np.array([0.95, 0.95])
    conf = pooling.segment_confidence(p, [pooling.SMALL_SEGMENT_EVENTS - 1, pooling.SMALL_SEGMENT_EVENTS])
    x_small, y_small = zip(*pooling.SMALL_SEGMENT_MAP)
    x_all, y_all = zip(*pooling.CONFIDENCE_MAP)
    assert conf[0] == pytest.approx(np.interp(0.95, x_small, y_small))
    assert conf[1] == pytest.approx(np.interp(0.95, x_all, y_all))
    assert all(np.diff([y for _, y in m]).min() >= 0 for m in (pooling.SMALL_SEGMENT_MAP, pooling.CONFIDENCE_MAP))


def test_segment_effects_table_matches_the_pooled_fit(rows):
    pooled = pooling.pooled_effects(rows, DRV)
    table = pooling.segment_effects_table(pooled, n_draws=4000).set_index(["segment", "driver"])
    assert len(table) == 9
    assert table.loc[("Small", "breadth"), "effect_pooled"] == pytest.approx(pooled.shrunk.loc["Small", "breadth"])
    half = table["pooled_high"] - table["effect_pooled"]
    se = [pooled.shrunk_se.loc[s, d] for s, d in table.index]
    assert np.allclose(half, 1.959964 * np.array(se))
    assert np.allclose(table.groupby(level="segment")["p_first"].sum(), 1.0)
    first = pooling.first_drivers(pooled, n_draws=4000, confidence_map=((0, 0), (1, 1)))
    assert table.loc[("Mid", "breadth"), "p_first"] == pytest.approx(first.loc["Mid", "p_first"])
