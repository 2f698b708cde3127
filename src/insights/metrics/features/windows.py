"""The time windows of the account metrics, named and documented in one place.

Every metric of a snapshot looks back from the observation date ``t`` over a window and uses
only data strictly before ``t``. A window in days covers the dates ``t - days <= date < t``
(``trailing_days``); a window in months covers the complete calendar months before ``t``'s
month (``insights.metrics.features.usage.complete_months``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from insights.errors import ParameterError


@dataclass(frozen=True)
class Windows:
    """Look-back windows of the snapshot metrics (defaults: the report's definitions).

    Attributes
    ----------
    usage_months : int
        Complete months of usage behind utilisation, depth, breadth, active_share and
        price_per_active_user.
    data_volume_months : int
        Complete months of usage events summed into data_volume (a switching-cost component).
    revenue_growth_months : int
        How far back revenue_growth compares the ARR of the term in force.
    survey_days : int
        Days of survey responses behind satisfaction and perceived_value.
    tickets_days : int
        Days of support tickets behind support_burden and urgent_share.
    csat_days : int
        Days of ticket CSAT behind csat_180d (the column is named for the default).
    activity_days : int
        Days in which a save play or cancellation request flags save_play_active or
        cancellation_requested.
    onboarding_days : int
        Days after the account's creation in which onboarding sessions count towards
        onboarding_engagement.

    Raises
    ------
    ParameterError
        If a window is not a positive whole number.
    """

    usage_months: int = 3
    data_volume_months: int = 12
    revenue_growth_months: int = 12
    survey_days: int = 180
    tickets_days: int = 90
    csat_days: int = 180
    activity_days: int = 120
    onboarding_days: int = 90

    def __post_init__(self) -> None:
        bad = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), bool)
            or not isinstance(getattr(self, f.name), int)
            or getattr(self, f.name) < 1
        }
        if bad:
            raise ParameterError(
                f"time windows must be positive whole numbers; got {bad}. Pass e.g. Windows(survey_days=90)."
            )


def trailing_days(frame: pd.DataFrame, column: str, t: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows of ``frame`` dated in the ``days`` days before ``t``: ``t - days <= frame[column] < t``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any dated table (surveys, support tickets, CS activities).
    column : str
        Its datetime64 column giving each row's date.
    t : pandas.Timestamp
        Observation date (excluded).
    days : int
        Length of the window in days.

    Returns
    -------
    pandas.DataFrame
        The selected rows, in their original order and index.
    """
    dates = frame[column]
    return frame[(dates < t) & (dates >= t - pd.Timedelta(days=days))]
