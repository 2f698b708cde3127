"""The data window of an event table and the summary of one aggregation run."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from insights.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported where it is used, so that ``import insights.metrics.usage`` does not load it: the DuckDB
# engine starts its scan first and lets the reference-table thread import pandas meanwhile.


#: A date or time as the engines accept it: ISO text, a ``datetime.date``/``datetime.datetime``, a ``pandas.Timestamp``.
DateLike = str | datetime.date


def utc_naive(t: DateLike) -> datetime.datetime:
    """A time in UTC, without a zone.

    A zone-aware time is converted, a naive one is taken as UTC already (pandas is loaded only for
    values that are not datetimes).

    Parameters
    ----------
    t : datetime.datetime, pandas.Timestamp or anything ``pandas.Timestamp`` reads
        The time.

    Returns
    -------
    datetime.datetime
        Naive, in UTC; a ``pandas.Timestamp`` when ``t`` was one or was parsed by pandas.
    """
    if not isinstance(t, datetime.datetime):
        import pandas as pd

        t = pd.Timestamp(t)
    return t.astimezone(datetime.UTC).replace(tzinfo=None) if t.tzinfo is not None else t


@dataclass(frozen=True)
class Window:
    """First and last day whose events are aggregated (whole days, UTC).

    Attributes
    ----------
    start, end : pandas.Timestamp
        Midnight of the first day and of the last day; events with ``start <= ts < end + 1 day``
        are inside.
    """

    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def parse(cls, start: DateLike, end: DateLike) -> Window:
        """Build a window from two dates (strings or timestamps).

        Parameters
        ----------
        start, end : str, datetime.date or pandas.Timestamp
            First and last day (inclusive); a time of day is dropped.

        Returns
        -------
        Window
            The two days at midnight.

        Raises
        ------
        ParameterError
            If a date cannot be read or the end is before the start.
        """
        import pandas as pd

        try:
            s, e = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"window dates must be ISO dates like 2026-09-30 ({exc}).") from None
        if e < s:
            raise ParameterError(f"window end {e.date()} is before its start {s.date()}.")
        return cls(s, e)

    @classmethod
    def given(cls, start: DateLike | None, end: DateLike | None) -> Window | None:
        """The window a caller fixed with both ends, or None when it gave neither.

        Parameters
        ----------
        start, end : date-like or None
            First and last day (inclusive), both or neither.

        Returns
        -------
        Window or None
            ``Window.parse(start, end)``, or None.

        Raises
        ------
        ParameterError
            If only one end is given, or as ``Window.parse``.
        """
        if (start is None) != (end is None):
            raise ParameterError("give both the start and the end of the window, or neither.")
        return None if start is None or end is None else cls.parse(start, end)

    @property
    def end_exclusive(self) -> pd.Timestamp:
        """Midnight of the day after ``end``: events before it are inside."""
        import pandas as pd

        return self.end + pd.Timedelta(days=1)

    def months(self) -> pd.DatetimeIndex:
        """First day of every calendar month the window touches.

        Returns
        -------
        pandas.DatetimeIndex
            Month starts from the month of ``start`` to that of ``end``, inclusive.
        """
        import pandas as pd

        return pd.date_range(self.start.to_period("M").to_timestamp(), self.end, freq="MS")


@dataclass
class UsageSummary:
    """What one ``usage_events -> usage_monthly`` run read, kept and wrote.

    Attributes
    ----------
    engine : str
        Which engine ran: ``"duckdb"`` or ``"spark"``.
    window : Window
        The data window aggregated.
    events_read : int
        Rows in the event files.
    events_before_window, events_after_window : int
        Rows outside the window (not aggregated; counted here and logged, never dropped silently).
    events_aggregated : int
        Rows inside the window, aggregated into ``usage_monthly``.
    events_outside_contract : int
        Aggregated events in account-months with no contract term in force.
    events_before_activation : int
        Aggregated events in months before the user's activation month, or of users never
        activated (kept in the metrics; a hint that ``users.activated_at`` lags real use).
    rows : int
        Rows of ``usage_monthly`` written.
    output : str or None
        The file written, if any.
    seconds : dict
        Wall time of each stage (``rescan``: a second, text-keyed scan, when there was one).
    keys : str
        How the events were grouped (``insights.metrics.usage.definitions.KEY_KINDS``): ``"hash"`` when the
        DuckDB engine's hash keys identified every event's user exactly, else ``"text"``.
    """

    engine: str
    window: Window
    events_read: int = 0
    events_before_window: int = 0
    events_after_window: int = 0
    events_aggregated: int = 0
    events_outside_contract: int = 0
    events_before_activation: int = 0
    rows: int = 0
    output: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    keys: str = "text"

    def describe(self) -> str:
        """A short human-readable account of the run.

        Returns
        -------
        str
            One line: events aggregated of those read, the window, the rows written, and any events
            outside the window, outside a contract or before activation.
        """
        text = (
            f"usage_monthly ({self.engine}): {self.events_aggregated:,} of {self.events_read:,} events "
            f"from {self.window.start.date()} to {self.window.end.date()} -> {self.rows:,} account-months"
        )
        outside = self.events_before_window + self.events_after_window
        if outside:
            text += (
                f"; {outside:,} events outside the window not aggregated ({self.events_before_window:,} "
                f"before, {self.events_after_window:,} after)"
            )
        if self.events_outside_contract:
            text += f"; {self.events_outside_contract:,} events in months with no contract term"
        if self.events_before_activation:
            text += f"; {self.events_before_activation:,} events before the user's activation"
        if self.output:
            text += f"; written to {self.output}"
        return text
