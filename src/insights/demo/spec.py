"""Parameters of the demo-data generator: the calendar and the true model.

Everything the generator treats as *truth* (driver effects per segment, persona
profiles, the pilot effect) is written here once and copied into
``ground_truth.json`` so analyses can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.errors import ParameterError

#: The five retention drivers, in the order used by every array in the generator.
DRIVERS = ("satisfaction", "switching_cost", "depth", "breadth", "perceived_value")

#: Contract-value segments: initial ARR tier (lower bound inclusive).
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_ARR_BOUNDS = {
    "SMB": (0.0, 25_000.0),
    "Mid-Market": (25_000.0, 150_000.0),
    "Enterprise": (150_000.0, float("inf")),
}

#: True log-odds effect on churn at renewal of +1 SD of each latent driver, by segment.
#: Negative = protective. Each segment has its own top driver, ahead of the next by enough
#: (0.45-0.5 log-odds) to be identifiable from the ~170 (SMB) and ~75 (Mid-Market) churn events
#: of the default demo; Enterprise (~20 events) is too small to rank at that size. The overall
#: order (perceived value > satisfaction > breadth > depth > switching cost) is spaced likewise.
#: Chosen on seeds 1-10 and confirmed on seeds 11-20 (docs/driver_recovery.md).
SEGMENT_EFFECTS = {
    "SMB": {"satisfaction": -0.90, "switching_cost": 0.0, "depth": -0.28, "breadth": -0.14, "perceived_value": -1.40},
    "Mid-Market": {
        "satisfaction": -0.45,
        "switching_cost": 0.0,
        "depth": -0.25,
        "breadth": -1.00,
        "perceived_value": -0.55,
    },
    "Enterprise": {
        "satisfaction": -0.50,
        "switching_cost": -0.80,
        "depth": -0.10,
        "breadth": -0.30,
        "perceived_value": -0.35,
    },
}
#: Baseline log-odds of churn at a renewal (driver values at their mean), by segment.
SEGMENT_INTERCEPT = {"SMB": -2.45, "Mid-Market": -2.8, "Enterprise": -3.2}
#: Extra log-odds of churn at an account's first renewal (a tenure control).
FIRST_RENEWAL_EFFECT = 0.45
#: Probability per renewal of churn unrelated to behaviour (acquisition, budget cut, closure).
NON_BEHAVIOURAL_CHURN = 0.025

#: Correlation of the latent drivers (order of DRIVERS).
DRIVER_CORRELATION = np.array(
    [
        # sat  switch depth breadth value
        [1.00, 0.10, 0.20, 0.20, 0.45],
        [0.10, 1.00, 0.15, 0.30, 0.10],
        [0.20, 0.15, 1.00, 0.50, 0.30],
        [0.20, 0.30, 0.50, 1.00, 0.25],
        [0.45, 0.10, 0.30, 0.25, 1.00],
    ]
)
#: Share of a driver's variance that is a stable account trait (rest is an AR(1) drift).
TRAIT_SHARE = 0.65
#: Month-to-month autocorrelation of the drifting part.
DRIFT_RHO = 0.92

#: Behavioural personas: mean shift of (depth, breadth) before standardisation.
PERSONAS = {
    "power_users": (2.0, 2.0),
    "focused_specialists": (2.0, -2.0),
    "broad_explorers": (-2.0, 2.0),
    "light_adopters": (-2.0, -2.0),
}
#: Persona shift of engagement (log-odds of a seat being active in a month), a third usage axis.
PERSONA_ENGAGEMENT = {"power_users": 0.9, "focused_specialists": 0.3, "broad_explorers": -0.3, "light_adopters": -0.9}
PERSONA_SHARE = {
    "SMB": (0.20, 0.25, 0.20, 0.35),
    "Mid-Market": (0.27, 0.25, 0.25, 0.23),
    "Enterprise": (0.33, 0.27, 0.25, 0.15),
}

#: Features available in the product (breadth = share of these used).
N_FEATURES = 24

#: The completed pilot embedded in the demo data.
#: The pilot's renewal window is the two quarters before the last quarter of the history;
#: accounts are assigned this many days before the window opens.
PILOT_LEAD_DAYS = 78
PILOT_DESCRIPTION = (
    "Value-review playbook: a CSM-led review of realised value 60-90 days before "
    "renewal, for accounts renewing inside the pilot window."
)
PILOT_SHARE_ENROLLED = 0.7
#: True log-odds effect of the playbook on churn, by segment (negative = fewer churns).
PILOT_EFFECT = {"SMB": -0.25, "Mid-Market": -0.80, "Enterprise": 0.0}


@dataclass(frozen=True)
class DemoSpec:
    """Size, seed and calendar of one demo dataset.

    Attributes
    ----------
    n_accounts : int
        Number of accounts (default 2,000).
    seed : int
        Seed of every random draw; same spec, same bytes.
    end : str
        Last day of the history, a quarter end (never derived from today's date).
    years : int
        Length of the history in years.
    """

    n_accounts: int = 2000
    seed: int = 7
    end: str = "2026-09-30"
    years: int = 3

    def __post_init__(self):
        if self.n_accounts < 50:
            raise ParameterError(f"accounts must be at least 50, got {self.n_accounts}.")
        if self.seed < 0:
            raise ParameterError(f"seed must be at least 0, got {self.seed}.")
        if self.years < 2:
            raise ParameterError(f"years must be at least 2 (churn needs a renewal), got {self.years}.")
        end = pd.Timestamp(self.end)
        if end != (end + pd.offsets.QuarterEnd(0)):
            raise ParameterError(f"end must be a quarter end such as 2026-09-30, got {self.end}.")

    @property
    def pilot_window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the renewals the pilot covers (two quarters, ending a quarter before the end)."""
        last = (self.window_end - pd.offsets.QuarterEnd(1)).normalize()
        first = (last - pd.offsets.QuarterBegin(2, startingMonth=1)).normalize()
        return first, last

    @property
    def pilot_assigned_at(self) -> pd.Timestamp:
        """Day the pilot was assigned: ``PILOT_LEAD_DAYS`` before its renewal window opens."""
        return self.pilot_window[0] - pd.Timedelta(days=PILOT_LEAD_DAYS)

    @property
    def pilot_id(self) -> str:
        """Name of the demo pilot, after the quarter its renewal window opens (``value_review_2026q1``)."""
        first = self.pilot_window[0]
        return f"value_review_{first.year}q{(first.month - 1) // 3 + 1}"

    @property
    def window_end(self) -> pd.Timestamp:
        """Last day of the history (``end``)."""
        return pd.Timestamp(self.end)

    @property
    def window_start(self) -> pd.Timestamp:
        """First day of the history: ``years`` years before the day after ``end``."""
        return self.window_end - pd.DateOffset(years=self.years) + pd.Timedelta(days=1)

    @property
    def n_months(self) -> int:
        """Months in the history."""
        return self.years * 12

    def month_index(self, dates) -> np.ndarray:
        """Month number from the first month of the history (0-based) for each date.

        Parameters
        ----------
        dates : array-like of datetime
            Any dates (before the history they get negative numbers).

        Returns
        -------
        numpy.ndarray
            One integer per date.
        """
        d = pd.DatetimeIndex(dates)
        start = self.window_start
        return np.asarray((d.year - start.year) * 12 + (d.month - start.month))

    def month_starts(self) -> pd.DatetimeIndex:
        """First day of every month of the history.

        Returns
        -------
        pandas.DatetimeIndex
            ``n_months`` month starts from the month of ``window_start``.
        """
        return pd.date_range(self.window_start, periods=self.n_months, freq="MS")


def rng_streams(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """Independent random streams per component, so one component's draws never shift another's.

    Parameters
    ----------
    seed : int
        The dataset's seed.
    names : tuple of str
        One name per component; a stream depends on the seed and the name's position.

    Returns
    -------
    dict of str to numpy.random.Generator
        A generator per name, from ``numpy.random.SeedSequence(seed).spawn``.
    """
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children)}
