"""The one churn rate of the report: logo churn of the renewals due in the trailing four complete quarters.

*Complete* means settled: every renewal due in the quarter has passed its grace period at the
data end (``insights.metrics.churn.settled_until``), so the quarter's churns are all visible. For
a report on 2026Q3 with data to 2026-09-30 and a 30-day grace period, 2026Q3 is not complete yet
(renewals due in September are still inside their grace period) and the window is 2025Q3 to
2026Q2. A renewal is a contract term ending in the window; its segment is the contract-value
tier of the term's own ARR. Pages 02, 05, 06 and the front page print ``TrailingChurn.text``, so
they show the same figure; the pilot design's renewal baselines are this table read as renewals.

Why the pages disagreed before (2026Q3 demo): 02 showed the trailing-year cohort of accounts
under contract a year earlier (one renewal per account, 13.7%), 05 the renewals with a
snapshot 0-92 days before them over seven quarters (14.2%), 06 the settled renewals of
2025Q4-2026Q3 (including the part of 2026Q3 already settled, 13.8%), and the front page the
quarterly rates of 03 (13.3-13.9%). Those rates remain on their pages, each labelled with its
own window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from insights.analyses.segments.rules import tier_names, value_tier
from insights.data.loading import Tables
from insights.metrics import churn
from insights.metrics.periods import Quarter, latest_complete_quarter
from insights.stats.rates import TOTAL, churn_rate

#: Headline value key of the rate (and of its window's text, ``WINDOW_KEY``).
KEY = "churn_rate_trailing_4q"
WINDOW_KEY = "churn_window"


@dataclass(frozen=True)
class TrailingChurn:
    """Logo churn of the renewals due in the trailing complete quarters, overall and per tier.

    Attributes
    ----------
    first, last : Quarter
        The window's first and last quarter.
    table : pandas.DataFrame
        Indexed by contract-value tier, then ``TOTAL``: renewals, churned, churn_rate, low, high,
        method (Wilson score interval).
    """

    first: Quarter
    last: Quarter
    table: pd.DataFrame

    @property
    def rate(self) -> float:
        """The churn rate over all renewals of the window."""
        return float(self.table["churn_rate"].to_dict()[TOTAL])

    @property
    def window(self) -> str:
        """The window as text, e.g. ``"2025Q3 to 2026Q2"``."""
        return f"{self.first} to {self.last}"

    @property
    def label(self) -> str:
        """The rate's label with its window, e.g. ``"logo churn, renewals due 2025Q3 to 2026Q2"``."""
        return f"logo churn, renewals due {self.window}"

    def text(self, segment: str = TOTAL) -> str:
        """The rate as every page prints it.

        Parameters
        ----------
        segment : str
            A tier, or ``TOTAL`` for all renewals.

        Returns
        -------
        str
            E.g. ``"13.4% of 1,374 renewals due 2025Q3 to 2026Q2 churned (Wilson score 95% CI 11.7%
            to 15.3%)"``.
        """
        row: dict[Any, Any] = self.table.loc[segment].to_dict()
        who = "" if segment == TOTAL else f"{segment} "
        return (
            f"{100 * row['churn_rate']:.1f}% of {int(row['renewals']):,} {who}renewals due {self.window} churned "
            f"({row['method']} {100 * row['low']:.1f}% to {100 * row['high']:.1f}%)"
        )

    def shown(self) -> pd.DataFrame:
        """The per-tier table for a page: percentages as text, labelled with the window.

        Returns
        -------
        pandas.DataFrame
            One row per tier and the total (no index): segment, renewals, churned and the rate
            with its interval as text.
        """
        t = self.table
        return pd.DataFrame(
            {
                "segment": t.index,
                f"renewals due {self.window}": [f"{int(n):,}" for n in t["renewals"]],
                "churned": [f"{int(n):,}" for n in t["churned"]],
                "logo churn": [f"{100 * r:.1f}%" for r in t["churn_rate"]],
                "95% CI (Wilson)": [f"{100 * lo:.1f}% to {100 * hi:.1f}%" for lo, hi in zip(t["low"], t["high"])],
            }
        )

    def values(self) -> dict:
        """The headline values (``KEY`` and ``WINDOW_KEY``) for ``insights.report.headlines.save``.

        Returns
        -------
        dict
            The rate and the window's text.
        """
        return {KEY: self.rate, WINDOW_KEY: self.window}


def trailing_churn(tables: Tables, as_of, grace_days: int, quarters: int = 4, level: float = 0.95) -> TrailingChurn:
    """The report's one churn rate: logo churn of renewals due in the last ``quarters`` complete quarters.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    as_of : date-like
        Outcomes are read as known on this day (the report's data end: ``min(quarter end, data
        end)``).
    grace_days : int
        Grace period of the churn definition.
    quarters : int
        Quarters in the window (4: the trailing year).
    level : float
        Level of the Wilson score interval.

    Returns
    -------
    TrailingChurn
        The window and the rates per contract-value tier and overall.

    Raises
    ------
    ParameterError
        If ``level`` is not in (0, 1) (``insights.stats.rates.churn_rate``).
    ValueError
        If ``grace_days`` is negative or ``quarters`` is below 1.
    """
    if quarters < 1:
        raise ValueError("quarters must be >= 1")
    last = latest_complete_quarter(churn.settled_until(grace_days, as_of))
    first = last.shift(-(quarters - 1))
    out = churn.contract_outcomes(tables.contracts, grace_days, as_of)
    window = out[(out["end_date"] >= first.start) & (out["end_date"] <= last.end)]
    window = window.assign(
        segment=value_tier(window["arr"]).to_numpy(), churned=churn.churned_flag(window["outcome"]).to_numpy()
    )
    rates = churn_rate(window, outcome="churned", by="segment", settled="settled", order=tier_names(), level=level)
    rates = rates.rename(columns={"n": "renewals", "events": "churned", "rate": "churn_rate"})
    return TrailingChurn(first, last, rates[["renewals", "churned", "churn_rate", "low", "high", "method"]])
