"""What demo accounts do while under contract: users, usage, tickets, surveys, CS work, integrations.

Every observable here is generated from the latent drivers, so a good analysis of
the raw tables can recover the true model.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import pandas as pd

from insights.demo.spec import DRIVERS, N_FEATURES, PERSONA_ENGAGEMENT, DemoSpec

SAT, SWITCH, DEPTH, BREADTH, VALUE = (
    DRIVERS.index(d) for d in ("satisfaction", "switching_cost", "depth", "breadth", "perceived_value")
)
INTEGRATIONS = {
    "salesforce": 0.9,
    "slack": 1.0,
    "hubspot": 0.5,
    "jira": 0.6,
    "zendesk": 0.5,
    "snowflake": 0.35,
    "okta": 0.45,
    "microsoft_teams": 0.6,
    "google_workspace": 0.7,
    "zapier": 0.4,
    "segment": 0.25,
    "tableau": 0.3,
}
#: Seasonal factor on usage by calendar month (August and December dip).
USAGE_SEASON = np.array([1.0, 1.02, 1.04, 1.0, 1.02, 0.98, 0.93, 0.85, 1.02, 1.04, 1.0, 0.86])


class Coverage(TypedDict):
    """Month-by-month contract state of each account (``coverage``); M months of history.

    Attributes
    ----------
    active : numpy.ndarray
        (n, M) bool: under contract in that month.
    seats : numpy.ndarray
        (n, M) int: seats of the term in force (0 when not under contract).
    start : pandas.DatetimeIndex
        First day under contract, per account.
    end : pandas.DatetimeIndex
        Churn date inside the history, per account (NaT if none).
    """

    active: np.ndarray
    seats: np.ndarray
    start: pd.DatetimeIndex
    end: pd.DatetimeIndex


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def coverage(spec: DemoSpec, accounts: pd.DataFrame, terms: pd.DataFrame) -> Coverage:
    """Month-by-month contract state of each account inside the history.

    Parameters
    ----------
    spec : DemoSpec
        The dataset's calendar.
    accounts : pandas.DataFrame
        The accounts (only their number is used).
    terms : pandas.DataFrame
        Contract terms with account (row number), start_date, end_date, seats and churned.

    Returns
    -------
    Coverage
        ``active`` and ``seats`` per account-month, and each account's ``start`` and ``end``.
    """
    n, months = len(accounts), spec.n_months
    active = np.zeros((n, months), dtype=bool)
    seats = np.zeros((n, months), dtype=np.int64)
    lo = np.clip(spec.month_index(terms["start_date"]), 0, None)
    hi = np.clip(spec.month_index(terms["end_date"]), None, months - 1)
    acc, st = terms["account"].to_numpy(), terms["seats"].to_numpy()
    for a, first, last, s in zip(acc, lo, hi, st):
        if first <= last:
            active[a, first : last + 1] = True
            seats[a, first : last + 1] = s
    churned = terms[terms["churned"] & (terms["end_date"] <= spec.window_end)]
    end = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    end[churned["account"].to_numpy()] = churned["end_date"].to_numpy()
    start = terms.groupby("account")["start_date"].min().reindex(range(n))
    return {"active": active, "seats": seats, "start": pd.DatetimeIndex(start), "end": pd.DatetimeIndex(end)}


def _days_in_month(month_starts: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(month_starts.days_in_month)


def _random_day(rng, month_starts: pd.DatetimeIndex, m: np.ndarray) -> pd.DatetimeIndex:
    """A uniformly drawn day inside month number ``m`` for each element."""
    dim = _days_in_month(month_starts)[m]
    return month_starts[m] + pd.to_timedelta(np.floor(rng.random(len(m)) * dim).astype(int), unit="D")


def engagement(accounts: pd.DataFrame) -> np.ndarray:
    """Persona engagement shift of each account (log-odds of a seat being active).

    Parameters
    ----------
    accounts : pandas.DataFrame
        With the hidden ``persona`` column.

    Returns
    -------
    numpy.ndarray
        One float per account (``PERSONA_ENGAGEMENT``).
    """
    return accounts["persona"].map(PERSONA_ENGAGEMENT).to_numpy(dtype=float)


def make_users(spec: DemoSpec, accounts: pd.DataFrame, cov: Coverage, trait: np.ndarray, rng) -> pd.DataFrame:
    """Users invited over each account's tenure; admins more common where switching cost is high.

    Parameters
    ----------
    spec : DemoSpec
        The dataset's calendar.
    accounts : pandas.DataFrame
        From ``make_accounts`` (with the hidden columns).
    cov : Coverage
        From ``coverage``: rows fall only in months under contract.
    trait : numpy.ndarray
        Each account's drivers, (n, 5).
    rng : numpy.random.Generator
        This table's random stream.

    Returns
    -------
    pandas.DataFrame
        account (row number), invited_at, activated_at (NaT if never), role.
    """
    max_seats = np.maximum(cov["seats"].max(axis=1), accounts["seats0"].to_numpy())
    n_users = np.maximum(1, np.ceil(max_seats * rng.uniform(0.75, 1.05, size=len(accounts)))).astype(int)
    acc = np.repeat(np.arange(len(accounts)), n_users)
    rank = np.arange(len(acc)) - np.repeat(np.cumsum(n_users) - n_users, n_users)
    created = pd.DatetimeIndex(accounts["created_at"]).to_numpy()[acc]
    lag_days = np.where(
        rank == 0,
        0,
        np.where(rng.random(len(acc)) < 0.7, rng.exponential(90, len(acc)), rng.exponential(420, len(acc))),
    )
    invited = pd.DatetimeIndex(created + pd.to_timedelta(np.round(lag_days), unit="D").to_numpy())
    act_p = _sigmoid(1.3 + 0.6 * trait[acc, DEPTH] + 0.5 * engagement(accounts)[acc])
    activated = invited + pd.to_timedelta(rng.geometric(0.15, len(acc)), unit="D")
    never = rng.random(len(acc)) > act_p
    limit = _last_day(spec, cov, acc)
    keep = invited.to_numpy() <= limit
    activated = activated.where(~never & (activated.to_numpy() <= limit))
    n_admin = 1 + rng.poisson(np.exp(-0.6 + 0.8 * trait[:, SWITCH]) * n_users**0.3)
    role = np.where(rank < n_admin[acc], "admin", np.where(rng.random(len(acc)) < 0.8, "member", "viewer"))
    users = pd.DataFrame({"account": acc, "invited_at": invited, "activated_at": activated, "role": role})[keep]
    return users.reset_index(drop=True)


def make_usage(
    spec: DemoSpec, accounts: pd.DataFrame, cov: Coverage, x: np.ndarray, users: pd.DataFrame, rng
) -> pd.DataFrame:
    """Monthly usage of every account-month under contract.

    Parameters
    ----------
    spec, accounts, cov, rng
        As for ``make_users``.
    x : numpy.ndarray
        Latent drivers, (n, M, 5) (``simulate_drivers``).
    users : pandas.DataFrame
        From ``make_users``: activated users fill the seats.

    Returns
    -------
    pandas.DataFrame
        account, month, active_users, activated_seats, events, distinct_features.
    """
    n, months = cov["active"].shape
    act = users.dropna(subset=["activated_at"])
    mi = spec.month_index(act["activated_at"])
    mi = np.clip(mi, 0, None)
    counts = np.zeros((n, months + 1), dtype=np.int64)
    np.add.at(counts, (act["account"].to_numpy(), np.minimum(mi, months)), 1)
    activated = np.minimum(np.cumsum(counts, axis=1)[:, :months], cov["seats"])
    a, m = np.nonzero(cov["active"])
    seats_am = activated[a, m]
    xd, xb = x[a, m, DEPTH], x[a, m, BREADTH]
    active_users = rng.binomial(seats_am, _sigmoid(0.4 + 0.8 * xd + engagement(accounts)[a]))
    month_starts = spec.month_starts()
    season = USAGE_SEASON[np.asarray(month_starts.month) - 1][m]
    events = rng.poisson(active_users * np.exp(3.2 + 0.45 * xd) * season)
    features = np.minimum(rng.binomial(N_FEATURES, _sigmoid(-0.3 + 0.9 * xb)), events)
    features = np.where(active_users == 0, 0, features)
    return pd.DataFrame(
        {
            "account": a,
            "month": month_starts[m],
            "active_users": active_users,
            "activated_seats": seats_am,
            "events": events,
            "distinct_features": features,
        }
    )


def make_tickets(spec: DemoSpec, cov: Coverage, x: np.ndarray, rng) -> pd.DataFrame:
    """Support tickets: more of them, and more urgent, where satisfaction is low.

    Parameters
    ----------
    spec, cov, rng
        As for ``make_users``.
    x : numpy.ndarray
        Latent drivers, (n, M, 5); satisfaction sets how many tickets there are, how urgent, and their CSAT.

    Returns
    -------
    pandas.DataFrame
        account, created_at, priority, csat (NaN where not answered).
    """
    a, m = np.nonzero(cov["active"])
    xs = x[a, m, SAT]
    lam = 0.06 * np.sqrt(np.maximum(cov["seats"][a, m], 1)) * np.exp(-0.35 * xs)
    k = rng.poisson(lam)
    a, m, xs = np.repeat(a, k), np.repeat(m, k), np.repeat(xs, k)
    created = _random_day(rng, spec.month_starts(), m)
    w = np.stack(
        [0.30 * np.exp(0.2 * xs), 0.48 * np.ones_like(xs), 0.18 * np.exp(-0.3 * xs), 0.04 * np.exp(-0.5 * xs)], axis=1
    )
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    level = (rng.random(len(xs))[:, None] > cum).sum(axis=1)
    priority = np.array(["low", "normal", "high", "urgent"])[np.minimum(level, 3)]
    csat = np.clip(np.round(3.9 + 0.6 * xs - 0.3 * (level == 3) + rng.normal(0, 0.9, len(xs))), 1, 5)
    csat = np.where(rng.random(len(xs)) < 0.55, csat, np.nan)
    out = pd.DataFrame({"account": a, "created_at": created, "priority": priority, "csat": csat})
    return _inside(out, "created_at", cov, spec)


def make_surveys(spec: DemoSpec, cov: Coverage, x: np.ndarray, rng) -> pd.DataFrame:
    """Quarterly relationship surveys (NPS 0-10 and a 0-10 value score).

    Parameters
    ----------
    spec, cov, rng
        As for ``make_users``.
    x : numpy.ndarray
        Latent drivers, (n, M, 5); satisfaction sets the NPS and perceived value the value score.

    Returns
    -------
    pandas.DataFrame
        account, responded_at, nps, value_score.
    """
    month_starts = spec.month_starts()
    waves = np.flatnonzero(np.asarray(month_starts.month) % 3 == 2)  # Feb, May, Aug, Nov
    active = cov["active"][:, waves]
    a, w = np.nonzero(active)
    m = waves[w]
    seats = np.maximum(cov["seats"][a, m], 1)
    k = np.minimum(rng.poisson(1.5 + 0.35 * np.log(seats)), 8)
    a, m = np.repeat(a, k), np.repeat(m, k)
    nps = np.clip(np.round(7.0 + 1.9 * x[a, m, SAT] + rng.normal(0, 1.0, len(a))), 0, 10).astype(int)
    value = np.clip(np.round(6.2 + 1.7 * x[a, m, VALUE] + rng.normal(0, 0.9, len(a))), 0, 10)
    value = np.where(rng.random(len(a)) < 0.85, value, np.nan)
    out = pd.DataFrame(
        {"account": a, "responded_at": _random_day(rng, month_starts, m), "nps": nps, "value_score": value}
    )
    return _inside(out, "responded_at", cov, spec)


def make_activities(
    spec: DemoSpec, accounts: pd.DataFrame, cov: Coverage, x: np.ndarray, terms: pd.DataFrame, rng
) -> pd.DataFrame:
    """CS activities: onboarding, QBRs, check-ins, save plays and cancellation requests.

    Parameters
    ----------
    spec, accounts, cov, x, rng
        As for ``make_usage``.
    terms : pandas.DataFrame
        Contract terms; decided renewals get save plays and cancellation requests before their end.

    Returns
    -------
    pandas.DataFrame
        account, date, type.
    """
    month_starts = spec.month_starts()
    parts = []
    # onboarding sessions of accounts that start inside the history: more where breadth is high
    created = pd.DatetimeIndex(accounts["created_at"])
    new = np.flatnonzero(np.asarray(created >= spec.window_start))
    m0 = np.clip(spec.month_index(created[new]), 0, spec.n_months - 1)
    k = 1 + rng.binomial(3, _sigmoid(0.3 + 0.7 * x[new, m0, BREADTH]))
    a = np.repeat(new, k)
    dates = created[a] + pd.to_timedelta(rng.integers(0, 76, len(a)), unit="D")
    parts.append(pd.DataFrame({"account": a, "date": dates, "type": "onboarding"}))
    # QBRs: Enterprise every quarter, Mid-Market twice a year, in the middle month
    segment = accounts["segment"].to_numpy()
    mid = np.flatnonzero(np.asarray(month_starts.month) % 3 == 2)
    a, w = np.nonzero(cov["active"][:, mid])
    m = mid[w]
    due = (segment[a] == "Enterprise") | ((segment[a] == "Mid-Market") & (np.asarray(month_starts.month)[m] % 6 == 5))
    held = due & (rng.random(len(a)) < 0.85)
    parts.append(pd.DataFrame({"account": a[held], "date": _random_day(rng, month_starts, m[held]), "type": "qbr"}))
    # light-touch check-ins
    a, m = np.nonzero(cov["active"])
    k = rng.poisson(np.where(segment[a] == "Enterprise", 0.05, 0.12))
    a, m = np.repeat(a, k), np.repeat(m, k)
    parts.append(pd.DataFrame({"account": a, "date": _random_day(rng, month_starts, m), "type": "check_in"}))
    # save plays before risky renewals (no causal effect in the demo data)
    decided = terms[terms["decided"]]
    p = decided["p_churn"].to_numpy()
    play = rng.random(len(p)) < np.clip(3 * p - 0.25, 0, 0.85)
    lead = pd.to_timedelta(rng.integers(60, 121, len(p)), unit="D")
    parts.append(
        pd.DataFrame(
            {
                "account": decided["account"].to_numpy()[play],
                "date": (decided["end_date"] - lead)[play].to_numpy(),
                "type": "save_play",
            }
        )
    )
    # cancellation requests: most churners ask; a few accounts that ask are saved
    churned = decided["churned"].to_numpy()
    ask = np.where(churned, rng.random(len(p)) < 0.6, (p > 0.3) & (rng.random(len(p)) < 0.05))
    lead = pd.to_timedelta(rng.integers(25, 81, len(p)), unit="D")
    parts.append(
        pd.DataFrame(
            {
                "account": decided["account"].to_numpy()[ask],
                "date": (decided["end_date"] - lead)[ask].to_numpy(),
                "type": "cancellation_request",
            }
        )
    )
    out = pd.concat(parts, ignore_index=True)
    return _inside(out, "date", cov, spec)


def make_integrations(spec: DemoSpec, accounts: pd.DataFrame, cov: Coverage, trait: np.ndarray, rng) -> pd.DataFrame:
    """Connected integrations: more where switching cost is high, and for larger companies.

    Parameters
    ----------
    spec, accounts, cov, trait, rng
        As for ``make_users``.

    Returns
    -------
    pandas.DataFrame
        account, integration, connected_at, disconnected_at (NaT while connected; the churn date at the latest).
    """
    n = len(accounts)
    names = np.array(list(INTEGRATIONS))
    size_idx = accounts["size_class"].map({"small": 0, "medium": 1, "large": 2}).to_numpy()
    k = np.minimum(rng.poisson(np.exp(0.3 + 0.8 * trait[:, SWITCH] + 0.35 * size_idx)), len(names))
    keys = np.log(np.array(list(INTEGRATIONS.values())))[None, :] + rng.gumbel(size=(n, len(names)))
    order = np.argsort(-keys, axis=1)
    a = np.repeat(np.arange(n), k)
    rank = np.arange(len(a)) - np.repeat(np.cumsum(k) - k, k)
    integ = names[order[a, rank]]
    created = pd.DatetimeIndex(accounts["created_at"])[a]
    connected = created + pd.to_timedelta(np.round(rng.exponential(150, len(a))), unit="D")
    limit = _last_day(spec, cov, a)
    keep = connected.to_numpy() <= limit
    p_drop = 0.12 * np.exp(-0.5 * trait[a, SWITCH])
    span = (pd.Series(limit) - pd.Series(connected)).dt.days.clip(lower=0).to_numpy()
    dropped_at = connected + pd.to_timedelta(np.floor(rng.random(len(a)) * (span + 1)), unit="D")
    dropped = pd.Series(dropped_at).where(rng.random(len(a)) < p_drop)
    disconnected = dropped.fillna(pd.Series(cov["end"][a])).to_numpy()  # all disconnect when the account churns
    out = pd.DataFrame({"account": a, "integration": integ, "connected_at": connected, "disconnected_at": disconnected})
    return out[keep].reset_index(drop=True)


def _last_day(spec: DemoSpec, cov: Coverage, acc: np.ndarray) -> np.ndarray:
    """Last day a row of account number ``acc`` can be dated: the account's churn date, else the history's end."""
    end = cov["end"][acc]
    return np.where(pd.isna(end), spec.window_end.to_datetime64(), end.to_numpy())


def _inside(frame: pd.DataFrame, col: str, cov: Coverage, spec: DemoSpec) -> pd.DataFrame:
    """Keep rows dated inside the history and inside the account's time under contract."""
    d = frame[col]
    acc = frame["account"].to_numpy()
    start = cov["start"][acc]
    end = cov["end"][acc]
    ok = (d >= spec.window_start) & (d <= spec.window_end) & (d >= start)
    ok &= pd.isna(end) | (d <= end)
    return frame[np.asarray(ok)].reset_index(drop=True)
