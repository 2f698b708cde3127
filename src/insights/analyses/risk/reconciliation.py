"""Forecast vs realised loss: a backtest of the expected loss in dollars, quarter by quarter.

For each past quarter Q: the risk model is fitted as it would have been on Q's first day
(``model.fit_current`` with ``as_of`` = Q's start: only renewals decided before then), scores the
accounts of the snapshot at the previous quarter end whose renewal falls in Q, and their expected
loss (calibrated churn probability x ARR) is compared with the ARR those renewals actually lost.
Only quarters whose renewals are all settled at the data end are backtested.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.analyses.risk import model as risk
from insights.analyses.risk.exposure import expected_arr_at_risk
from insights.errors import ParameterError
from insights.metrics.periods import Quarter

COLUMNS = (
    "quarter",
    "renewals",
    "arr_due",
    "forecast_loss",
    "realised_loss",
    "difference",
    "churned",
    "expected_churns",
)


def forecast_vs_realised(
    snap: pd.DataFrame, quarters: list[Quarter], purge_days: int, seed: int = 0, model: str = "logistic"
) -> pd.DataFrame:
    """Expected loss forecast at the start of each quarter vs the churned ARR of its renewals.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots with segment, renewal_date, churned and settled (``insights.metrics.snapshots``).
    quarters : list of Quarter
        The quarters to backtest; each needs a snapshot at the previous quarter end.
    purge_days : int
        Purge of the training rows (the grace period), as in ``model.fit_current``.
    seed : int
        Seed of the models.
    model : str
        Model whose probability is the forecast (``"logistic"`` by default, as on page 04).

    Returns
    -------
    pandas.DataFrame
        One row per quarter, no index: quarter, renewals (accounts renewing in it, from the
        snapshot at the previous quarter end), arr_due, forecast_loss (sum of p x ARR),
        realised_loss (ARR of those that churned), difference (realised - forecast), churned,
        expected_churns (sum of p). ``attrs["skipped"]``: quarters with too little history
        before them to fit the model (left out).

    Raises
    ------
    ParameterError
        If a quarter has no snapshot at its previous quarter end, or some of its renewals are
        not settled yet.
    """
    rows, skipped = [], []
    for q in quarters:
        obs = q.shift(-1).end
        due = snap[(snap["obs_date"] == obs) & snap["renewal_date"].between(q.start, q.end)]
        if due.empty:
            raise ParameterError(f"no snapshot rows at {obs:%Y-%m-%d} renewing in {q}; pass quarters inside the data.")
        if not due["settled"].all():
            raise ParameterError(f"renewals due in {q} are not all settled yet; backtest settled quarters only.")
        try:
            models = risk.fit_current(snap, q.start, purge_days=purge_days, seed=seed)
        except ParameterError:  # too little history before the quarter to fit the model
            skipped.append(str(q))
            continue
        p = risk.score_rows(models, due, model=model)["p_churn"]
        forecast = float(expected_arr_at_risk(due.assign(p_churn=np.asarray(p, dtype=float)), "p_churn", "arr").sum())
        realised = float(due.loc[due["churned"] == 1, "arr"].astype(float).sum())
        rows.append(
            {
                "quarter": str(q),
                "renewals": len(due),
                "arr_due": float(due["arr"].sum()),
                "forecast_loss": forecast,
                "realised_loss": realised,
                "difference": realised - forecast,
                "churned": int((due["churned"] == 1).sum()),
                "expected_churns": float(np.sum(p)),
            }
        )
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.attrs["skipped"] = skipped
    return out


def settled_quarters(snap: pd.DataFrame, last: Quarter, n: int = 4) -> list[Quarter]:
    """The latest ``n`` quarters up to ``last`` whose renewals (seen from the previous quarter end) are all settled.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots with obs_date, renewal_date and settled.
    last : Quarter
        The latest quarter considered (the report quarter).
    n : int
        Quarters wanted.

    Returns
    -------
    list of Quarter
        Oldest first; fewer than ``n`` when the data is shorter.
    """
    out: list[Quarter] = []
    q = last
    first_obs = snap["obs_date"].min()
    while len(out) < n and q.shift(-1).end >= first_obs:
        due = snap[(snap["obs_date"] == q.shift(-1).end) & snap["renewal_date"].between(q.start, q.end)]
        if len(due) and due["settled"].all():
            out.append(q)
        q = q.shift(-1)
    return out[::-1]
