"""Firmographics of demo accounts: who they are, when they signed, what they bought."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.demo.spec import PERSONA_SHARE, PERSONAS, SEGMENT_ARR_BOUNDS, SEGMENTS, DemoSpec

INDUSTRIES = {
    "Software": 0.22,
    "Financial Services": 0.14,
    "Healthcare": 0.11,
    "Manufacturing": 0.12,
    "Retail": 0.10,
    "Education": 0.07,
    "Media": 0.08,
    "Professional Services": 0.16,
}
COUNTRIES = {  # country: (region, weight)
    "United States": ("North America", 0.38),
    "Canada": ("North America", 0.05),
    "United Kingdom": ("EMEA", 0.11),
    "Germany": ("EMEA", 0.08),
    "France": ("EMEA", 0.05),
    "Netherlands": ("EMEA", 0.04),
    "Sweden": ("EMEA", 0.03),
    "Australia": ("APAC", 0.06),
    "Japan": ("APAC", 0.04),
    "Singapore": ("APAC", 0.03),
    "India": ("APAC", 0.05),
    "Brazil": ("LATAM", 0.05),
    "Mexico": ("LATAM", 0.03),
}
LINES_OF_BUSINESS = {
    "Sales": 0.24,
    "Marketing": 0.18,
    "Customer Support": 0.2,
    "Operations": 0.16,
    "Finance": 0.1,
    "IT": 0.12,
}
#: Company size classes: (share, median employees, lognormal sigma, lower, upper)
SIZE_CLASSES = {
    "small": (0.56, 70, 0.7, 5, 499),
    "medium": (0.31, 900, 0.6, 200, 4999),
    "large": (0.13, 9000, 0.8, 2000, 250_000),
}
#: Seats bought as a share of employees, by size class (uniform bounds).
SEAT_SHARE = {"small": (0.12, 0.45), "medium": (0.04, 0.16), "large": (0.008, 0.04)}
PLANS = {"Starter": 320.0, "Growth": 560.0, "Enterprise": 880.0}  # list price per seat per year
PLAN_SHARE = {"small": (0.6, 0.35, 0.05), "medium": (0.15, 0.6, 0.25), "large": (0.02, 0.28, 0.7)}
#: Relative weight of each calendar month for contract starts (fiscal-year-end deals cluster).
MONTH_WEIGHT = np.array([0.8, 0.8, 1.2, 0.8, 0.8, 1.3, 0.8, 0.7, 1.2, 0.9, 1.0, 1.7])

_NAME_A = [
    "North",
    "Blue",
    "Bright",
    "Silver",
    "Iron",
    "Summit",
    "Clear",
    "Red",
    "Green",
    "True",
    "Swift",
    "Stone",
    "River",
    "Oak",
    "Polar",
    "Prime",
    "Nova",
    "Golden",
    "Cedar",
    "Harbor",
]
_NAME_B = [
    "wind",
    "field",
    "point",
    "gate",
    "bridge",
    "line",
    "peak",
    "wave",
    "light",
    "forge",
    "path",
    "stack",
    "works",
    "mark",
    "bay",
    "crest",
    "leaf",
    "ridge",
    "vale",
    "port",
]
_NAME_C = [
    "Labs",
    "Group",
    "Systems",
    "Partners",
    "Holdings",
    "Solutions",
    "Health",
    "Logistics",
    "Retail",
    "Capital",
    "Media",
    "Analytics",
    "Industries",
    "Learning",
    "Networks",
]


def _choice(rng, mapping: dict, n: int) -> np.ndarray:
    keys = list(mapping)
    w = np.array([mapping[k] if not isinstance(mapping[k], tuple) else mapping[k][1] for k in keys], float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=w / w.sum())]


def segment_of_arr(arr: np.ndarray) -> np.ndarray:
    """Contract-value segment of an ARR amount (bounds in ``SEGMENT_ARR_BOUNDS``).

    Parameters
    ----------
    arr : numpy.ndarray
        ARR amounts.

    Returns
    -------
    numpy.ndarray
        Object array of segment names (None outside every bound).
    """
    out = np.empty(len(arr), dtype=object)
    for name, (lo, hi) in SEGMENT_ARR_BOUNDS.items():
        out[(arr >= lo) & (arr < hi)] = name
    return out


def _creation_dates(spec: DemoSpec, rng, n: int) -> pd.DatetimeIndex:
    """Existing book (signed up to five years before the history) plus steady new business."""
    start = spec.window_start
    existing = rng.random(n) < 0.55
    out = np.empty(n, dtype="datetime64[ns]")
    # existing accounts: signed 1-60 months before the history, months weighted by seasonality
    n_old = int(existing.sum())
    back = np.arange(1, 61)
    cal_month = (start.month - 1 - back) % 12
    w_old = MONTH_WEIGHT[cal_month]
    months_back = back[rng.choice(len(back), size=n_old, p=w_old / w_old.sum())]
    first_of_month = pd.DatetimeIndex([start - pd.DateOffset(months=int(k)) for k in months_back])
    old_dates = first_of_month + pd.to_timedelta(rng.integers(0, 28, size=n_old), unit="D")
    out[existing] = old_dates.to_numpy()
    # new business: growing a little each month, seasonal
    n_new = n - n_old
    m = np.arange(spec.n_months)
    cal_month = (start.month - 1 + m) % 12
    w = 1.015**m * MONTH_WEIGHT[cal_month]
    picked = rng.choice(spec.n_months, size=n_new, p=w / w.sum())
    month_start = spec.month_starts()[picked]
    new_dates = month_start + pd.to_timedelta(rng.integers(0, 28, size=n_new), unit="D")
    out[~existing] = new_dates.to_numpy()
    return pd.DatetimeIndex(out)


def make_accounts(spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the accounts table plus the hidden columns the generator needs.

    Parameters
    ----------
    spec : DemoSpec
        Size and calendar of the dataset.
    rng : numpy.random.Generator
        The accounts' random stream.

    Returns
    -------
    pandas.DataFrame
        Contract columns (account_id, name, industry, region, country,
        line_of_business, employees, created_at) plus hidden ``size_class``,
        ``seats0``, ``plan0``, ``arr0``, ``segment`` (initial ARR tier) and ``persona``.
    """
    n = spec.n_accounts
    width = max(5, len(str(n)))
    ids = [f"A{i:0{width}d}" for i in range(1, n + 1)]
    size = _choice(rng, {k: v[0] for k, v in SIZE_CLASSES.items()}, n)
    employees = np.empty(n, dtype=np.int64)
    seats = np.empty(n, dtype=np.int64)
    plan = np.empty(n, dtype=object)
    for cls, (_, median, sigma, lo, hi) in SIZE_CLASSES.items():
        idx = np.flatnonzero(size == cls)
        emp = np.clip(np.round(median * np.exp(sigma * rng.standard_normal(len(idx)))), lo, hi)
        employees[idx] = emp
        share = rng.uniform(*SEAT_SHARE[cls], size=len(idx))
        seats[idx] = np.maximum(3, np.round(emp * share))
        plan[idx] = np.array(list(PLANS), dtype=object)[rng.choice(3, size=len(idx), p=PLAN_SHARE[cls])]
    price = np.array([PLANS[p] for p in plan]) * np.exp(0.22 * rng.standard_normal(n))
    arr = np.round(seats * price, 2)
    segment = segment_of_arr(arr)
    country = _choice(rng, COUNTRIES, n)
    persona = np.empty(n, dtype=object)
    names = list(PERSONAS)
    for seg in SEGMENTS:
        idx = np.flatnonzero(segment == seg)
        persona[idx] = np.array(names, dtype=object)[rng.choice(len(names), size=len(idx), p=PERSONA_SHARE[seg])]
    a, b, c = (rng.integers(0, len(x), size=n) for x in (_NAME_A, _NAME_B, _NAME_C))
    name = [f"{_NAME_A[i]}{_NAME_B[j]} {_NAME_C[k]}" for i, j, k in zip(a, b, c)]
    return pd.DataFrame(
        {
            "account_id": ids,
            "name": name,
            "industry": _choice(rng, INDUSTRIES, n),
            "region": [COUNTRIES[c][0] for c in country],
            "country": country,
            "line_of_business": _choice(rng, LINES_OF_BUSINESS, n),
            "employees": employees,
            "created_at": _creation_dates(spec, rng, n).normalize(),
            "size_class": size,
            "seats0": seats,
            "plan0": plan,
            "arr0": arr,
            "segment": segment,
            "persona": persona,
        }
    )
