"""The one at-risk measure: expected ARR at risk, always with its time window.

*Expected ARR at risk* of an account = calibrated probability of churn at its next renewal x its
ARR. Summed over accounts it is the ARR we expect to lose at those renewals if the past repeats.
It is always stated with its window:

* **renewing in the next N days** (``window_days``, default ``WINDOW_DAYS`` = 90): accounts whose
  renewal date falls 0 to N days after the reference date (the data's end date / the observation
  date), i.e. ``0 <= days_to_renewal <= N``;
* **at next renewal (all accounts)**: ``window_days=None``, every account under contract, whatever
  the distance to its renewal (up to a year).

The red band of the health score is a health band ("ARR in the red health band"), not this measure.
Every function takes its column names as parameters.
"""

from __future__ import annotations

import pandas as pd

from insights.errors import ParameterError
from insights.stats.rates import TOTAL
from insights.stats.table_checks import require_columns

#: Default window of the measure, in days after the reference date.
WINDOW_DAYS = 90


def window_label(window_days: int | None) -> str:
    """The words that go with every figure of the measure.

    Parameters
    ----------
    window_days : int or None
        The window; None for every account at its next renewal.

    Returns
    -------
    str
        ``"renewing in the next 90 days"`` or ``"at next renewal (all accounts)"``.

    Raises
    ------
    ParameterError
        If ``window_days`` is negative or not a whole number.
    """
    if window_days is None:
        return "at next renewal (all accounts)"
    return f"renewing in the next {_window(window_days)} days"


def _window(window_days) -> int:
    if isinstance(window_days, bool) or not float(window_days).is_integer() or int(window_days) < 0:
        raise ParameterError(f"window_days must be a whole number of days >= 0 (e.g. 90) or None, got {window_days!r}.")
    return int(window_days)


def expected_arr_at_risk(frame: pd.DataFrame, p: str = "p_churn", arr: str = "arr") -> pd.Series:
    """Expected ARR at risk of each row: probability of churn at the next renewal x ARR.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account.
    p : str
        Column with the calibrated probability of churn at the next renewal (0-1).
    arr : str
        Column with the account's ARR.

    Returns
    -------
    pandas.Series of float
        Same index as ``frame``; NaN where either input is missing.

    Raises
    ------
    ParameterError
        If a column is missing or a probability lies outside 0-1.
    """
    require_columns(frame, [p, arr], what="the accounts table")
    prob = frame[p].astype(float)
    if ((prob < 0) | (prob > 1)).any():
        raise ParameterError(f"column {p!r} must hold probabilities between 0 and 1.")
    return (prob * frame[arr].astype(float)).rename("expected_arr_at_risk")


def in_window(frame: pd.DataFrame, window_days: int | None = WINDOW_DAYS, days: str = "days_to_renewal") -> pd.Series:
    """Whether each account renews within the window (``0 <= days <= window_days``).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account.
    window_days : int or None
        The window; None selects every row (at next renewal).
    days : str
        Column with the days from the reference date to the renewal date.

    Returns
    -------
    pandas.Series of bool
        Same index as ``frame``.

    Raises
    ------
    ParameterError
        If the column is missing or ``window_days`` is not a whole number >= 0.
    """
    if window_days is None:
        return pd.Series(True, index=frame.index)
    n = _window(window_days)
    require_columns(frame, [days], what="the accounts table")
    d = frame[days].astype(float)
    return (d >= 0) & (d <= n)


def exposure(
    frame: pd.DataFrame,
    window_days: int | None = WINDOW_DAYS,
    segment: str | None = "segment",
    order=None,
    p: str = "p_churn",
    arr: str = "arr",
    days: str = "days_to_renewal",
) -> pd.DataFrame:
    """Expected ARR at risk in the window, per segment and in total.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account under contract.
    window_days : int or None
        Window (``in_window``); None for every account at its next renewal.
    segment : str or None
        Segment column; None for the total only.
    order : sequence of str, optional
        Segment order; segments not in it are dropped. Default: order of first appearance.
    p, arr, days : str
        Columns of the probability of churn, the ARR and the days to renewal.

    Returns
    -------
    pandas.DataFrame
        Index segment plus ``TOTAL``: accounts, arr, expected_arr_at_risk, share_at_risk
        (expected / ARR), mean_p_churn, expected_churned_accounts, window (``window_label``).
        Rows of segments without an account in the window hold 0 (mean_p_churn NaN).

    Raises
    ------
    ParameterError
        If a column is missing, a probability lies outside 0-1, or the window is invalid.
    """
    label = window_label(window_days)
    need = [p, arr, *([segment] if segment else [])]
    require_columns(frame, need, what="the accounts table")
    part = frame[in_window(frame, window_days, days)]
    rows = pd.DataFrame(
        {
            "key": part[segment].astype(object) if segment else TOTAL,
            "arr": part[arr].astype(float),
            "expected_arr_at_risk": expected_arr_at_risk(part, p, arr),
            "p": part[p].astype(float),
        }
    )

    def block(x: pd.DataFrame) -> dict:
        return {
            "accounts": len(x),
            "arr": x["arr"].sum(),
            "expected_arr_at_risk": x["expected_arr_at_risk"].sum(),
            "mean_p_churn": x["p"].mean() if len(x) else float("nan"),
            "expected_churned_accounts": x["p"].sum(),
        }

    present = list(dict.fromkeys(frame[segment].astype(object))) if segment else []
    keys = present if order is None else [s for s in order if s in present]
    table = {k: block(rows[rows["key"] == k]) for k in keys}
    table[TOTAL] = block(rows)
    out = pd.DataFrame.from_dict(table, orient="index")
    out["share_at_risk"] = out["expected_arr_at_risk"] / out["arr"].where(out["arr"] > 0)
    out["window"] = label
    out.index.name = segment or "scope"
    return out


def headline_values(
    frame: pd.DataFrame,
    window_days: int = WINDOW_DAYS,
    p: str = "p_churn",
    arr: str = "arr",
    days: str = "days_to_renewal",
) -> dict:
    """The raw numbers of the at-risk headline (the ``values`` of ``insights.report.headlines.save``).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account under contract.
    window_days : int
        The window.
    p, arr, days : str
        Columns of the probability of churn, the ARR and the days to renewal.

    Returns
    -------
    dict
        ``arr_renewing_90d``, ``expected_loss_90d``, ``accounts_renewing_90d`` (in the window; the
        keys say 90d whatever the window, ``window_days`` gives it), ``expected_loss_next_renewal``
        (every account at its next renewal) and ``window_days``.

    Raises
    ------
    ParameterError
        As ``exposure``.
    """
    cols = ["arr", "expected_arr_at_risk", "accounts"]
    renewing, loss, accounts = exposure(frame, window_days, None, p=p, arr=arr, days=days)[cols].to_numpy(float)[-1]
    everyone = exposure(frame, None, None, p=p, arr=arr, days=days)["expected_arr_at_risk"].to_numpy(float)[-1]
    return {
        "arr_renewing_90d": float(renewing),
        "expected_loss_90d": float(loss),
        "accounts_renewing_90d": int(accounts),
        "expected_loss_next_renewal": float(everyone),
        "window_days": _window(window_days),
    }
