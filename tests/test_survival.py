"""Survival of accounts: lifetimes, retention curves (Kaplan-Meier by segment), the driver Cox model.

The generic estimators are tested in test_stats_survival.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.analyses.drivers import survival
from insights.analyses.segments import rules as segments
from insights.data import loading
from insights.errors import ParameterError
from insights.metrics import snapshots
from insights.metrics.snapshots import DRIVERS
from insights.stats.survival import cox_ph


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    life = pd.DataFrame(
        {
            "segment": ["A"] * 5 + ["B"] * 5,
            "entry": 0.0,
            "time": [3, 6, 9, 14, 30, 20, 25, 26, 40, 50.0],
            "churned": [1] * 10,
        }
    )
    km = survival.kaplan_meier(life)
    a = km.summary.loc["A"]
    assert np.isclose(a["retention_12m"], 2 / 5) and np.isclose(a["retention_24m"], 1 / 5)
    assert a["median_lifetime"] == 9.0
    assert a["retention_12m_low"] <= a["retention_12m"] <= a["retention_12m_high"]
    assert 0 <= km.log_rank["p"] <= 1 and "log-rank" in km.log_rank["method"]
    assert {"time", "retention", "low", "high"} <= set(km.curves.columns)
    assert km.summary["method"].iloc[0] == "Kaplan-Meier with left truncation; pointwise 95% CI, log-log, Greenwood SE"


def test_kaplan_meier_with_one_segment_has_no_log_rank():
    life = pd.DataFrame({"segment": "A", "entry": 0.0, "time": [3.0, 6.0, 9.0], "churned": [1, 0, 1]})
    km = survival.kaplan_meier(life)
    assert np.isnan(km.log_rank["p"]) and km.log_rank["df"] == 0
    with pytest.raises(ParameterError, match="group column 'tier'"):
        survival.kaplan_meier(life, group="tier")


def test_left_truncation_is_used():
    # an account entering late must not count in the risk set before it enters
    life = pd.DataFrame(
        {"segment": ["A", "A", "A"], "entry": [0.0, 0.0, 10.0], "time": [5.0, 12.0, 20.0], "churned": [1, 1, 1]}
    )
    km = survival.kaplan_meier(life)
    assert km.curves.iloc[0][["time", "retention"]].tolist() == [0.0, 1.0]
    first = km.curves.iloc[1]
    assert first["time"] == 5.0 and np.isclose(first["retention"], 1 / 2)  # 2 at risk at t = 5


@pytest.fixture(scope="module")
def demo(demo_dir):
    tables = loading.load_tables(demo_dir)
    snap = snapshots.build(tables)
    return tables, snap.join(segments.rule_segments(snap, tables.accounts)[["segment"]])


def test_lifetimes_and_km_on_demo(demo):
    tables, _ = demo
    life = survival.lifetimes(tables)
    assert life["account_id"].is_unique
    assert (life["time"] > life["entry"]).all() and (life["entry"] >= 0).all()
    assert life["churned"].isin([0, 1]).all() and life["churned"].sum() > 0
    km = survival.kaplan_meier(life)
    assert set(km.summary.index) == set(life["segment"])
    assert km.curves["retention"].between(0, 1).all()
    assert (km.curves["low"] <= km.curves["retention"] + 1e-12).all()
    assert (km.curves.groupby("segment")["retention"].diff().dropna() <= 1e-12).all()


def test_driver_cox_on_demo(demo):
    tables, snap = demo
    res = survival.driver_cox(snap, tables)
    assert list(res.table.index[:5]) == list(DRIVERS)
    assert (res.table["hr_low"] < res.table["hazard_ratio"]).all()
    assert 0.5 < res.c_index <= 1
    assert res.events > 0 and res.n > res.events
    assert set(res.ph_check.index) == set(res.table.index)
    rows = survival.cox_rows(snap, tables)
    assert rows["account_id"].is_unique and (rows["time"] > 0).all()
    with pytest.raises(ParameterError, match=r"no column\(s\) \['nope'\]"):
        cox_ph(rows, "time", "churned", ["nope"])


def test_retention_figures_draw(demo):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from insights.analyses.drivers import figures

    tables, snap = demo
    for fig in (
        figures.km_curves(survival.kaplan_meier(survival.lifetimes(tables))),
        figures.cox_forest(survival.driver_cox(snap, tables)),
    ):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
