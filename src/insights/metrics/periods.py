"""Calendar quarters: parsing ``"2026Q3"`` and finding quarter ends.

Observation dates in this project are quarter ends; a quarter is always written as
a string like ``"2026Q3"`` (papermill would turn ``2026.3`` into a float).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from insights.errors import ParameterError

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter.

    Attributes
    ----------
    year : int
        Calendar year.
    q : int
        Quarter of the year, 1 to 4.
    """

    year: int
    q: int

    @property
    def start(self) -> pd.Timestamp:
        """First day of the quarter."""
        return pd.Timestamp(year=self.year, month=3 * self.q - 2, day=1)

    @property
    def end(self) -> pd.Timestamp:
        """Last day of the quarter (the observation date)."""
        return (self.start + pd.offsets.QuarterEnd(0)).normalize()

    def shift(self, n: int) -> Quarter:
        """Return the quarter ``n`` quarters later (earlier if negative).

        Parameters
        ----------
        n : int
            Number of quarters to move.

        Returns
        -------
        Quarter
            The shifted quarter (across years as needed).
        """
        idx = self.year * 4 + (self.q - 1) + n
        return Quarter(idx // 4, idx % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"


def parse_quarter(value: str | Quarter) -> Quarter:
    """Parse a quarter written like ``"2026Q3"``.

    Parameters
    ----------
    value : str or Quarter
        Text such as ``"2026Q3"``, ``"2026-q3"`` or ``" 2026 Q3 "``; a ``Quarter`` is returned as it is.

    Returns
    -------
    Quarter
        The parsed quarter.

    Raises
    ------
    ParameterError
        If ``value`` is not a string of that form (a float such as 2026.3 is refused).
    """
    if isinstance(value, Quarter):
        return value
    if not isinstance(value, str):
        raise ParameterError(
            f"quarter must be a string like '2026Q3', got {value!r} ({type(value).__name__}); "
            "with papermill pass it with -r (raw string) or a YAML file."
        )
    match = _QUARTER.match(value)
    if not match:
        raise ParameterError(f"quarter must look like '2026Q3', got {value!r}.")
    return Quarter(int(match.group(1)), int(match.group(2)))


def quarter_of(date) -> Quarter:
    """Return the quarter that contains ``date``.

    Parameters
    ----------
    date : date-like
        Anything ``pandas.Timestamp`` reads.

    Returns
    -------
    Quarter
        The calendar quarter of that day.
    """
    ts = pd.Timestamp(date)
    return Quarter(ts.year, (ts.month - 1) // 3 + 1)


def latest_complete_quarter(as_of) -> Quarter:
    """Return the latest quarter whose last day is on or before ``as_of``.

    Parameters
    ----------
    as_of : date-like
        Last day covered by the data (time of day ignored).

    Returns
    -------
    Quarter
        The quarter of ``as_of`` if it is that quarter's last day, else the one before.
    """
    ts = pd.Timestamp(as_of).normalize()
    q = quarter_of(ts)
    return q if q.end <= ts else q.shift(-1)


def quarters_between(first, last) -> list[Quarter]:
    """All quarters from the one containing ``first`` to the one containing ``last``.

    Parameters
    ----------
    first, last : date-like
        Any days of the first and last quarter.

    Returns
    -------
    list of Quarter
        In order, both ends included; empty if ``last`` is in an earlier quarter than ``first``.
    """
    q, end = quarter_of(first), quarter_of(last)
    out: list[Quarter] = []
    while q <= end:
        out.append(q)
        q = q.shift(1)
    return out
