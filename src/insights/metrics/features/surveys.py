"""Survey metrics of an account on an observation date ``t``: satisfaction and perceived value.

satisfaction
    Mean NPS (0-10) of the responses in the ``Windows.survey_days`` days before ``t``.
perceived_value
    Mean value score of the same responses (``price_per_active_user``, the price side of perceived
    value, is a usage metric: ``insights.metrics.features.usage``).

Accounts without a response in the window get NaN.
"""

from __future__ import annotations

import pandas as pd

from insights.metrics.features.windows import Windows, trailing_days
from insights.stats.table_checks import require_columns

#: Columns of ``survey_metrics``.
SURVEY_COLUMNS = ("satisfaction", "perceived_value")


def survey_metrics(surveys: pd.DataFrame, accounts, t, windows: Windows = Windows()) -> pd.DataFrame:
    """Satisfaction and perceived value from the survey responses before ``t``.

    Parameters
    ----------
    surveys : pandas.DataFrame
        Survey responses: account_id, responded_at, nps, value_score (nullable).
    accounts : pandas.Index or list-like
        The accounts to measure (account_id).
    t : date-like
        Observation date; responses on or after it are not read.
    windows : Windows
        Look-back windows; this family uses ``survey_days``.

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id in the order of ``accounts``, columns ``SURVEY_COLUMNS``.

    Raises
    ------
    ParameterError
        If ``surveys`` lacks a column this function reads.
    """
    require_columns(surveys, ("account_id", "responded_at", "nps", "value_score"), what="the surveys table")
    ids = pd.Index(accounts, name="account_id")
    recent = trailing_days(surveys, "responded_at", pd.Timestamp(t).normalize(), windows.survey_days)
    g = recent.groupby("account_id")
    out = pd.DataFrame(index=ids)
    out["satisfaction"] = g["nps"].mean().astype(float).reindex(ids)
    out["perceived_value"] = g["value_score"].mean().astype(float).reindex(ids)
    return out
