"""Contract terms of demo accounts: annual renewals, churn from the true model, the pilot.

Churn at each renewal follows

    logit P(churn_beh) = intercept[segment] + sum_k beta[segment, k] * x_k
                         + FIRST_RENEWAL_EFFECT * first_renewal + pilot_effect[segment] * treated
    P(churn) = 1 - (1 - P(churn_beh)) * (1 - NON_BEHAVIOURAL_CHURN)

where x_k is the latent driver averaged over the three months before the renewal month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.demo.spec import (
    DRIVERS,
    FIRST_RENEWAL_EFFECT,
    NON_BEHAVIOURAL_CHURN,
    PILOT_EFFECT,
    PILOT_SHARE_ENROLLED,
    SEGMENT_EFFECTS,
    SEGMENT_INTERCEPT,
    SEGMENTS,
    DemoSpec,
)

#: Outcomes are drawn for renewals up to this many days after the history ends, so that
#: cancellation requests and save plays before the end of the data can anticipate them.
LOOKAHEAD_DAYS = 150
LATE_SIGNATURE_SHARE = 0.10  # renewals signed 2-20 days after the old term ended (inside grace)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _add_years(dates, years) -> pd.DatetimeIndex:
    """Add whole years to dates (29 February becomes 28 February), vectorised."""
    d = pd.DatetimeIndex(dates)
    y = np.asarray(d.year) + np.broadcast_to(np.asarray(years, dtype=int), len(d))
    month = np.asarray(d.month)
    first = pd.to_datetime(pd.DataFrame({"year": y, "month": month, "day": 1}))
    last_day = np.asarray((first + pd.offsets.MonthEnd(0)).dt.day)
    day = np.minimum(np.asarray(d.day), last_day)
    return pd.DatetimeIndex(pd.to_datetime(pd.DataFrame({"year": y, "month": month, "day": day})))


def behavioural_logit(segment: np.ndarray, x: np.ndarray, first: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Log-odds of behavioural churn for each renewal under the true model.

    Parameters
    ----------
    segment : numpy.ndarray
        Segment name per renewal (``SEGMENTS``).
    x : numpy.ndarray
        Drivers per renewal, shape (n, 5) in the order of ``DRIVERS``.
    first : numpy.ndarray
        1 for an account's first renewal, else 0.
    treated : numpy.ndarray
        1 where the pilot playbook applies, else 0.

    Returns
    -------
    numpy.ndarray
        Segment intercept + segment effects . x + first-renewal effect + pilot effect, per renewal.
    """
    beta = np.array([[SEGMENT_EFFECTS[s][d] for d in DRIVERS] for s in segment])
    intercept = np.array([SEGMENT_INTERCEPT[s] for s in segment])
    pilot = np.array([PILOT_EFFECT[s] for s in segment])
    return intercept + (beta * x).sum(axis=1) + FIRST_RENEWAL_EFFECT * first + pilot * treated


def churn_probability(logit: np.ndarray) -> np.ndarray:
    """Total churn probability: behavioural churn or churn unrelated to behaviour.

    Parameters
    ----------
    logit : numpy.ndarray
        Log-odds of behavioural churn (``behavioural_logit``).

    Returns
    -------
    numpy.ndarray
        ``1 - (1 - logistic(logit)) * (1 - NON_BEHAVIOURAL_CHURN)``.
    """
    return 1 - (1 - _sigmoid(logit)) * (1 - NON_BEHAVIOURAL_CHURN)


class _Draws:
    """Uniforms drawn once, so a second pass with the pilot reuses every earlier draw."""

    def __init__(self, rng: np.random.Generator, n: int, t_max: int):
        self.churn = rng.random((n, t_max))
        self.late = rng.random((n, t_max)) < LATE_SIGNATURE_SHARE
        self.delay = rng.integers(2, 21, size=(n, t_max))
        self.growth = rng.standard_normal((n, t_max))
        self.price = rng.standard_normal((n, t_max))


def _first_term_start(spec: DemoSpec, created: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Start of the term running at the start of the history (or the first term), and its number."""
    start = spec.window_start
    before = np.asarray(created < start)
    years = np.where(before, start.year - np.asarray(created.year), 0)
    first = _add_years(created, years)
    years = years - (before & np.asarray(first > start))
    return _add_years(created, years), years


def run_terms(
    spec: DemoSpec, accounts: pd.DataFrame, x: np.ndarray, draws: _Draws, treated: np.ndarray | None = None
) -> pd.DataFrame:
    """Walk every account's annual terms through the history, drawing renewals.

    Parameters
    ----------
    treated : numpy.ndarray of bool, optional
        Accounts in the treatment arm of the pilot (effect applies to renewals inside
        the pilot window).

    Returns
    -------
    pandas.DataFrame
        One row per term (hidden columns): account index, start/end, seats, arr, plan,
        whether its outcome was drawn (``decided``), ``churned``, ``p_churn``,
        ``first_renewal``, ``treated``, and the driver values behind the draw.
    """
    n = len(accounts)
    treated = np.zeros(n, dtype=bool) if treated is None else treated
    segment = accounts["segment"].to_numpy()
    created = pd.DatetimeIndex(accounts["created_at"])
    start, term_no = _first_term_start(spec, created)
    horizon = spec.window_end + pd.Timedelta(days=LOOKAHEAD_DAYS)
    win_lo, win_hi = spec.pilot_window
    seats = accounts["seats0"].to_numpy().astype(float)
    arr = accounts["arr0"].to_numpy().astype(float)
    plan = accounts["plan0"].to_numpy()
    active = np.ones(n, dtype=bool)
    first = term_no == 0
    depth, breadth = DRIVERS.index("depth"), DRIVERS.index("breadth")
    cum = np.concatenate([np.zeros((n, 1, x.shape[2])), np.cumsum(x, axis=1)], axis=1)
    rows = []
    for t in range(draws.churn.shape[1]):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        s = pd.DatetimeIndex(start[idx])
        e = _add_years(s, 1) - pd.Timedelta(days=1)
        decided = np.asarray(e <= horizon)
        mi = spec.month_index(e)
        lo = np.clip(mi - 3, 0, spec.n_months - 1)
        hi = np.clip(mi - 1, 0, spec.n_months - 1)
        xs = (cum[idx, hi + 1] - cum[idx, lo]) / (hi - lo + 1)[:, None]
        in_window = np.asarray((e >= win_lo) & (e <= win_hi))
        trt = treated[idx] & in_window
        logit = behavioural_logit(segment[idx], xs, first[idx].astype(float), trt.astype(float))
        p = churn_probability(logit)
        churned = decided & (draws.churn[idx, t] < p)
        frame = pd.DataFrame(
            {
                "account": idx,
                "start_date": s,
                "end_date": e,
                "seats": seats[idx].astype(int),
                "arr": np.round(arr[idx], 2),
                "plan": plan[idx],
                "decided": decided,
                "churned": churned,
                "p_churn": p,
                "first_renewal": first[idx],
                "treated": trt,
                "in_pilot_window": in_window,
            }
        )
        for j, d in enumerate(DRIVERS):
            frame[f"x_{d}"] = xs[:, j]
        rows.append(frame)
        renew = decided & ~churned
        # next term
        nxt = idx[renew]
        delay = np.where(draws.late[nxt, t], draws.delay[nxt, t], 0)
        new_start = pd.DatetimeIndex(e[renew]) + pd.to_timedelta(1 + delay, unit="D")
        start_arr = start.to_numpy().copy()
        start_arr[nxt] = new_start.to_numpy()
        start = pd.DatetimeIndex(start_arr)
        g = 0.03 + 0.08 * xs[renew, depth] + 0.04 * xs[renew, breadth] + 0.10 * draws.growth[nxt, t]
        new_seats = np.maximum(1, np.round(seats[nxt] * np.exp(g)))
        arr[nxt] = arr[nxt] * new_seats / seats[nxt] * 1.03 * np.exp(0.02 * draws.price[nxt, t])
        seats[nxt] = new_seats
        first[nxt] = False
        active[:] = False
        active[nxt] = True
    terms = pd.concat(rows, ignore_index=True)
    return terms.sort_values(["account", "start_date"], kind="stable").reset_index(drop=True)


def assign_pilot(
    spec: DemoSpec, accounts: pd.DataFrame, terms: pd.DataFrame, rng: np.random.Generator, seed: int
) -> pd.DataFrame:
    """Enrol accounts renewing in the pilot window and randomise them within segment.

    Eligible: an active term started on or before the assignment date and ending in
    the pilot window. A share of them is enrolled; within each segment (stratum) the
    enrolled accounts are shuffled and split into equal arms (blocked randomisation).

    Parameters
    ----------
    spec : DemoSpec
        Gives the pilot window, id and assignment date.
    accounts : pandas.DataFrame
        From ``make_accounts`` (its ``segment`` is the stratum).
    terms : pandas.DataFrame
        Terms of the first pass of ``run_terms``.
    rng : numpy.random.Generator
        The pilot's random stream.
    seed : int
        Recorded in the assignment, as a real pilot records its seed.

    Returns
    -------
    pandas.DataFrame
        pilot_id, account (row number), arm, stratum, assigned_at, seed; sorted by account.
    """
    assigned = spec.pilot_assigned_at
    eligible = terms[terms["in_pilot_window"] & (terms["start_date"] <= assigned)]["account"].unique()
    eligible = np.sort(eligible)
    enrolled = eligible[rng.random(len(eligible)) < PILOT_SHARE_ENROLLED]
    segment = accounts["segment"].to_numpy()
    out = []
    for seg in SEGMENTS:
        members = enrolled[segment[enrolled] == seg]
        members = members[rng.permutation(len(members))]
        arms = np.where(np.arange(len(members)) % 2 == 0, "treatment", "control")
        if len(members) % 2 == 1 and rng.random() < 0.5:  # odd block: the spare goes to either arm
            arms[-1] = "control"
        out.append(pd.DataFrame({"account": members, "arm": arms, "stratum": seg}))
    frame = pd.concat(out, ignore_index=True).sort_values("account").reset_index(drop=True)
    frame.insert(0, "pilot_id", spec.pilot_id)
    frame["assigned_at"] = assigned
    frame["seed"] = seed
    return frame


def simulate_lifecycle(
    spec: DemoSpec,
    accounts: pd.DataFrame,
    x: np.ndarray,
    rng: np.random.Generator,
    pilot_rng: np.random.Generator,
    pilot_seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Terms with renewals drawn under the true model, and the pilot assignment record.

    The pilot is assigned from a first pass (renewals before the pilot window do not
    depend on it); the second pass reuses every draw and adds the playbook's effect.

    Parameters
    ----------
    spec : DemoSpec
        Size and calendar of the dataset.
    accounts : pandas.DataFrame
        From ``make_accounts``.
    x : numpy.ndarray
        Latent drivers (``simulate_drivers``).
    rng : numpy.random.Generator
        The renewals' random stream.
    pilot_rng : numpy.random.Generator
        The pilot assignment's random stream.
    pilot_seed : int
        Seed recorded in the assignment.

    Returns
    -------
    terms : pandas.DataFrame
        Every contract term with its drawn outcome (second pass, with the pilot's effect).
    pilot : pandas.DataFrame
        The assignment record (``assign_pilot``).
    """
    draws = _Draws(rng, len(accounts), spec.years + 3)
    first_pass = run_terms(spec, accounts, x, draws)
    pilot = assign_pilot(spec, accounts, first_pass, pilot_rng, pilot_seed)
    treated = np.zeros(len(accounts), dtype=bool)
    treated[pilot.loc[pilot["arm"] == "treatment", "account"].to_numpy()] = True
    terms = run_terms(spec, accounts, x, draws, treated=treated)
    return terms, pilot
