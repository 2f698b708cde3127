"""CS-activity metrics of an account on an observation date ``t``, from ``cs_activities``.

onboarding_engagement
    Onboarding sessions held before ``t`` and within ``Windows.onboarding_days`` days of the
    account's creation (creation day + the window, inclusive; so far, for a younger account).
save_play_active
    1.0 when a save play took place in the ``Windows.activity_days`` days before ``t``, else 0.0.
cancellation_requested
    1.0 when a cancellation request was logged in the same window, else 0.0.
"""

from __future__ import annotations

import pandas as pd

from insights.metrics.features.windows import Windows, trailing_days
from insights.stats.table_checks import require_columns

#: Columns of ``activity_metrics``.
ACTIVITY_COLUMNS = ("onboarding_engagement", "save_play_active", "cancellation_requested")
#: Flag column -> the activity type that sets it.
FLAGS = {"save_play_active": "save_play", "cancellation_requested": "cancellation_request"}


def activity_metrics(
    cs_activities: pd.DataFrame, account_table: pd.DataFrame, accounts, t, windows: Windows = Windows()
) -> pd.DataFrame:
    """Onboarding engagement and the save-play / cancellation-request flags on ``t``.

    Parameters
    ----------
    cs_activities : pandas.DataFrame
        account_id, date, type (onboarding, save_play, cancellation_request, ...).
    account_table : pandas.DataFrame
        Accounts: account_id, created_at (start of the onboarding window).
    accounts : pandas.Index or list-like
        The accounts to measure (account_id).
    t : date-like
        Observation date; activities on or after it are not read.
    windows : Windows
        Look-back windows; this family uses ``onboarding_days`` and ``activity_days``.

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id in the order of ``accounts``, columns ``ACTIVITY_COLUMNS`` (see the
        module docstring).

    Raises
    ------
    ParameterError
        If a table lacks a column this function reads.
    """
    require_columns(cs_activities, ("account_id", "date", "type"), what="the cs_activities table")
    require_columns(account_table, ("account_id", "created_at"), what="the accounts table")
    t = pd.Timestamp(t).normalize()
    ids = pd.Index(accounts, name="account_id")
    out = pd.DataFrame(index=ids)
    before = cs_activities[cs_activities["date"] < t]
    onboard = before[before["type"] == "onboarding"]
    created = account_table.set_index("account_id")["created_at"]
    onboard = onboard[
        onboard["date"] <= onboard["account_id"].map(created) + pd.Timedelta(days=windows.onboarding_days)
    ]
    out["onboarding_engagement"] = onboard.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    recent = trailing_days(cs_activities, "date", t, windows.activity_days)
    for col, kind in FLAGS.items():
        out[col] = ids.isin(recent.loc[recent["type"] == kind, "account_id"]).astype(float)
    return out
