"""Forecast vs realised loss: no leakage, and the realised loss recounted from the contract terms."""

from __future__ import annotations

import pandas as pd
import pytest

import insights
from insights.analyses.risk import model as risk
from insights.analyses.risk import reconciliation
from insights.metrics import churn


@pytest.mark.slow
def test_backtest_uses_only_the_past_and_recounts_the_loss(demo_dir, monkeypatch):
    ctx = insights.setup("2026Q3", demo_dir)
    snap = ctx.snapshots
    seen = []
    real_fit = risk.fit_models

    def recording_fit(train, *args, **kwargs):
        seen.append(train)
        return real_fit(train, *args, **kwargs)

    monkeypatch.setattr(risk, "fit_models", recording_fit)
    quarters = reconciliation.settled_quarters(snap, ctx.quarter)
    table = reconciliation.forecast_vs_realised(snap, quarters, ctx.settings.grace_days, seed=1)
    assert len(table) + len(table.attrs["skipped"]) == len(quarters) and len(table) >= 1
    fitted = [q for q in quarters if str(q) not in table.attrs["skipped"]]
    for q, train in zip(fitted, seen[-len(fitted) :]):
        assert (train["obs_date"] < q.start).all()
        assert (train["renewal_date"] + pd.Timedelta(days=ctx.settings.grace_days) < q.start).all()
    outcomes = churn.contract_outcomes(ctx.tables.contracts, ctx.settings.grace_days, ctx.tables.as_of)
    lost = outcomes[outcomes["outcome"] == churn.CHURNED].set_index("contract_id")
    for row in table.itertuples():
        q = next(q for q in quarters if str(q) == row.quarter)
        due = snap[(snap["obs_date"] == q.shift(-1).end) & snap["renewal_date"].between(q.start, q.end)]
        expected = float(lost.reindex(due["contract_id"])["arr"].dropna().sum())
        assert row.realised_loss == pytest.approx(expected)
        assert row.difference == pytest.approx(row.realised_loss - row.forecast_loss)
        assert 0 < row.forecast_loss < row.arr_due
