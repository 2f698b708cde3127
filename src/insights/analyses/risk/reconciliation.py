"""Forecast vs realised loss: a backtest of the expected loss in dollars, quarter by quarter.

For each past quarter Q: the risk model is fitted as it would have been on Q's first day
(``model.fit_current`` with ``as_of`` = Q's start: only renewals decided before then), scores the
accounts of the snapshot at the previous quarter end whose renewal falls in Q, and their expected
loss (calibrated churn probability x ARR) is compared with the ARR those renewals actually lost.
Only quarters whose renewals are all settled at the data end are backtested.

The realised loss of a quarter is a sum of ARR x Bernoulli(p) over its renewals, so even a
perfect forecast misses it; ``forecast_vs_realised`` gives, beside each forecast, the central 90%
interval of that sum under the forecast probabilities (accounts independent; quantiles of a
seeded Monte Carlo simulation, ``insights.stats.weighted_bernoulli``, because a few large accounts
make the sum far from normal) and whether the realised loss fell inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.analyses.risk import model as risk
from insights.analyses.risk.exposure import expected_arr_at_risk
from insights.errors import ParameterError
from insights.metrics.periods import Quarter
from insights.stats import weighted_bernoulli

COLUMNS = (
    "quarter",
    "renewals",
    "arr_due",
    "forecast_loss",
    "loss_low",
    "loss_high",
    "realised_loss",
    "inside_interval",
    "difference",
    "churned",
    "expected_churns",
    "interval_method",
)
#: Columns of ``attrs["forecasts"]``: one row per renewal backtested.
FORECAST_COLUMNS = ("quarter", "account_id", "arr", "p_churn", "churned")
#: Coverage of the interval of the realised loss.
INTERVAL_LEVEL = 0.90


def forecast_vs_realised(
    snap: pd.DataFrame,
    quarters: list[Quarter],
    purge_days: int,
    seed: int = 0,
    model: str = "logistic",
    level: float = INTERVAL_LEVEL,
    n_sim: int = weighted_bernoulli.N_SIM,
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
        Seed of the models and of the simulation of the interval.
    model : str
        Model whose probability is the forecast (``"logistic"`` by default, as on page 04).
    level : float
        Coverage of the interval of the realised loss (default 0.90).
    n_sim : int
        Simulated sums behind the interval (``insights.stats.weighted_bernoulli.prediction_interval``).

    Returns
    -------
    pandas.DataFrame
        One row per quarter, no index: quarter, renewals (accounts renewing in it, from the
        snapshot at the previous quarter end), arr_due, forecast_loss (sum of p x ARR),
        loss_low and loss_high (the ``level`` interval of the realised loss if the forecast
        probabilities are right), realised_loss (ARR of those that churned), inside_interval
        (bool: loss_low <= realised_loss <= loss_high), difference (realised - forecast),
        churned, expected_churns (sum of p), interval_method (how the interval was computed).
        ``attrs["skipped"]``: quarters with too little history before them to fit the model
        (left out); ``attrs["interval_method"]``: the method; ``attrs["forecasts"]``: one row
        per renewal backtested (``FORECAST_COLUMNS``: quarter, account_id, arr, p_churn, churned),
        e.g. for an interval of the loss over several quarters.

    Raises
    ------
    ParameterError
        If a quarter has no snapshot at its previous quarter end, some of its renewals are not
        settled yet, or ``level`` / ``n_sim`` are invalid.
    """
    method = weighted_bernoulli.interval_method(level, n_sim, seed, weight="ARR")
    rows, skipped, forecasts = [], [], []
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
        p = np.asarray(risk.score_rows(models, due, model=model)["p_churn"], dtype=float)
        forecast = float(expected_arr_at_risk(due.assign(p_churn=p), "p_churn", "arr").sum())
        realised = float(due.loc[due["churned"] == 1, "arr"].astype(float).sum())
        band = weighted_bernoulli.prediction_interval(p, due["arr"].astype(float), level, n_sim, seed, weight="ARR")
        forecasts.append(due[list(FORECAST_COLUMNS[1:3])].assign(quarter=str(q), p_churn=p, churned=due["churned"]))
        rows.append(
            {
                "quarter": str(q),
                "renewals": len(due),
                "arr_due": float(due["arr"].sum()),
                "forecast_loss": forecast,
                "loss_low": band.low,
                "loss_high": band.high,
                "realised_loss": realised,
                "inside_interval": bool(band.low <= realised <= band.high),
                "difference": realised - forecast,
                "churned": int((due["churned"] == 1).sum()),
                "expected_churns": float(np.sum(p)),
                "interval_method": method,
            }
        )
    out = pd.DataFrame(rows, columns=list(COLUMNS)).astype({"inside_interval": bool})
    out.attrs["skipped"] = skipped
    out.attrs["interval_method"] = method
    out.attrs["forecasts"] = (
        pd.concat(forecasts, ignore_index=True)[list(FORECAST_COLUMNS)]
        if forecasts
        else pd.DataFrame(columns=list(FORECAST_COLUMNS))
    )
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
