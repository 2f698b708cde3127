"""Raw product-usage events of the demo accounts, consistent with the demo's ``usage_monthly``.

Aggregating these events with the metric definitions (``insights.metrics.usage.definitions``) gives back
the demo's ``usage_monthly`` exactly: per account and month, ``active_users`` distinct users,
``events`` rows and ``distinct_features`` distinct features; ``activated_seats`` comes from the
users and contracts tables, as in the generator.

How the events are drawn (own random stream, so no other demo table changes):

- each user has a lasting activity weight (lognormal); a month's active users are drawn among
  the account's users activated by then, heavier users more often (weighted sampling without
  replacement);
- the month's events go one to each active user, the rest to active users in proportion to
  their weight;
- the month's features are drawn from a catalogue of ``N_FEATURES`` names (popular ones more
  often); each chosen feature gets one event, the rest follow popularity. Months whose
  ``distinct_features`` is 0 although there were events (light use: sign-ins without using any
  feature) hold only ``sign_in`` events, which the definitions do not count as a feature;
- timestamps are uniform (to the second, UTC) inside the month, inside the data window, inside the
  account's contract terms that month (to the month's end when a term ends mid-month and the
  month's active users include users activated after it), and never before the user's activation date.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from insights.demo.spec import N_FEATURES, DemoSpec
from insights.metrics.usage.definitions import NON_FEATURE_EVENTS

log = logging.getLogger(__name__)

#: The demo product's features (``N_FEATURES`` of them), most popular first.
FEATURES = (
    "dashboards",
    "reports",
    "search",
    "alerts",
    "exports",
    "workflows",
    "comments",
    "sharing",
    "api_access",
    "scheduling",
    "templates",
    "integrations_hub",
    "data_import",
    "permissions",
    "audit_log",
    "forecasting",
    "segments",
    "playbooks",
    "surveys",
    "mobile_app",
    "sso_admin",
    "custom_fields",
    "sandbox",
    "ai_assistant",
)[:N_FEATURES]
assert len(FEATURES) == N_FEATURES
SIGN_IN = NON_FEATURE_EVENTS[0]
#: Popularity weight of each feature (Zipf-like).
FEATURE_WEIGHT = 1.0 / np.arange(1, N_FEATURES + 1) ** 0.8
#: Spawn key of the events' random stream (independent of every other demo stream).
EVENTS_STREAM = 7_001
EVENTS_FILE = "usage_events.parquet"
SCHEMA = pa.schema(
    [("account_id", pa.string()), ("user_id", pa.string()), ("ts", pa.timestamp("us")), ("feature", pa.string())]
)
_DAY_US = 86_400 * 1_000_000
_KEY = 1_000_000  # days per account in the (account, day) search key


def events_rng(spec: DemoSpec) -> np.random.Generator:
    """The events' own random stream for ``spec.seed``.

    Parameters
    ----------
    spec : DemoSpec
        The dataset's spec.

    Returns
    -------
    numpy.random.Generator
        Spawned from the seed with its own key, so the events never shift the tables' draws.
    """
    return np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(EVENTS_STREAM,)))


def _us(values) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("us").asi8


def _segments_pick(keys: np.ndarray, group: np.ndarray, take: np.ndarray) -> np.ndarray:
    """Indices of the ``take[g]`` smallest ``keys`` of each group (``group`` sorted ascending)."""
    order = np.lexsort((keys, group))
    g = group[order]
    first = np.searchsorted(g, np.arange(len(take)), side="left")[g]
    rank = np.arange(len(g)) - first
    return order[rank < take[g]]


def _draw_among(rng, row_of_item: np.ndarray, weight: np.ndarray, row_of_draw: np.ndarray) -> np.ndarray:
    """For each draw, an item of the same row chosen with probability proportional to ``weight``.

    ``row_of_item`` must be sorted ascending.
    """
    if len(row_of_draw) == 0:
        return np.zeros(0, dtype=np.int64)
    total = np.bincount(row_of_item, weights=weight)
    cum = np.cumsum(weight)
    start = np.searchsorted(row_of_item, np.arange(len(total)), side="left")[row_of_item]
    before = np.concatenate([[0.0], cum])[start]
    key = row_of_item + (cum - before) / total[row_of_item]  # row + cumulative share, increasing
    last = np.r_[row_of_item[1:] != row_of_item[:-1], True]
    key[last] = row_of_item[last] + 1.0  # exact upper end of each row
    u = row_of_draw + rng.random(len(row_of_draw))
    return np.minimum(np.searchsorted(key, u, side="right"), len(key) - 1)


def _strings(codes: np.ndarray, dictionary: pa.Array) -> pa.Array:
    """Plain string column from integer codes into ``dictionary`` (no Python strings per row)."""
    return dictionary.take(pa.array(codes.astype(np.int64)))


def _month_bounds(
    spec: DemoSpec, usage: pd.DataFrame, contracts: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last day (as µs) each account-month row may hold events.

    The first two arrays bound the row inside its terms; the third is the last day of its month
    inside the data window.
    """
    month = pd.DatetimeIndex(usage["month"])
    m_start, m_end = _us(month), _us(month + pd.offsets.MonthEnd(0))
    # terms in force during each month: earliest start and latest end among them
    c = contracts[["account_id", "start_date", "end_date"]]
    join = usage[["account_id", "month"]].reset_index().merge(c, on="account_id")
    month_end = join["month"] + pd.offsets.MonthEnd(0)
    join = join[(join["start_date"] <= month_end) & (join["end_date"] >= join["month"])]
    span = join.groupby("index").agg(first=("start_date", "min"), last=("end_date", "max")).reindex(usage.index)
    lo = np.maximum(m_start, _us(span["first"].fillna(month.to_series(index=usage.index))))
    last = span["last"].fillna(month.to_series(index=usage.index) + pd.offsets.MonthEnd(0))
    month_hi = np.minimum(m_end, _us([spec.window_end])[0])
    return lo, np.minimum(month_hi, _us(last)), month_hi


def iter_events(spec: DemoSpec, tables: dict[str, pd.DataFrame], accounts_per_chunk: int = 100):
    """Yield the demo events as pyarrow tables, a chunk of accounts at a time (sorted by account, ts).

    Parameters
    ----------
    spec : DemoSpec
        The spec the tables were generated with.
    tables : dict of pandas.DataFrame
        Output of ``insights.demo.generate(spec)`` (users, contracts, usage_monthly are used).
    accounts_per_chunk : int
        Accounts per yielded table (memory use scales with it). The random draws follow the
        chunks, so keep the default for the same bytes as ``write_events``.

    Yields
    ------
    pyarrow.Table
        Columns account_id, user_id, ts (timestamp, µs, UTC), feature.
    """
    rng = events_rng(spec)
    users = tables["users"].dropna(subset=["activated_at"]).sort_values(["account_id", "activated_at", "user_id"])
    users = users.reset_index(drop=True)
    user_weight = rng.lognormal(0.0, 0.9, len(users))
    usage = tables["usage_monthly"]
    usage = usage[usage["events"] > 0].sort_values(["account_id", "month"]).reset_index(drop=True)
    lo, hi, month_hi = _month_bounds(spec, usage, tables["contracts"])
    acc_names = np.unique(
        np.concatenate([users["account_id"].to_numpy(dtype=str), usage["account_id"].to_numpy(dtype=str)])
    )
    acc_codes = np.searchsorted(acc_names, usage["account_id"].to_numpy(dtype=str))
    u_acc = np.searchsorted(acc_names, users["account_id"].to_numpy(dtype=str))
    u_act = _us(users["activated_at"])
    user_dict = pa.array(users["user_id"].to_numpy(dtype=object), pa.string())
    acc_dict = pa.array(acc_names.astype(object), pa.string())
    acc_first = np.searchsorted(u_acc, np.arange(len(acc_names)), side="left")
    u_key = u_acc.astype(np.int64) * _KEY + u_act // _DAY_US  # sorted: account, then activation day
    feature_dict = pa.array((*FEATURES, SIGN_IN), pa.string())
    short = 0
    for first_acc in range(0, len(acc_names), accounts_per_chunk):
        rows = np.flatnonzero((acc_codes >= first_acc) & (acc_codes < first_acc + accounts_per_chunk))
        if len(rows) == 0:
            continue
        n_rows = len(rows)
        a = acc_codes[rows]
        n_users = usage["active_users"].to_numpy()[rows]
        n_events = usage["events"].to_numpy()[rows]
        n_feat = usage["distinct_features"].to_numpy()[rows]
        r_lo, r_hi = lo[rows], hi[rows]

        def eligible(last_us, a=a):  # users activated on or before each row's last possible day
            return np.searchsorted(u_key, a * _KEY + last_us // _DAY_US, side="right") - acc_first[a]

        k = eligible(r_hi)
        # a term ending mid-month before a later renewal: usage_monthly counts users activated later
        # that month, so such a month's events may run past the term, to the end of the month
        late = k < n_users
        if late.any():
            r_hi = np.where(late, month_hi[rows], r_hi)
            k = eligible(r_hi)
        take = np.minimum(n_users, k)
        short += int((take < n_users).sum() + (n_events < take).sum())
        pair_row = np.repeat(np.arange(n_rows), k)
        pair_user = acc_first[a][pair_row] + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
        keys = rng.exponential(size=len(pair_row)) / user_weight[pair_user]
        chosen = _segments_pick(keys, pair_row, take)
        chosen = chosen[np.argsort(pair_row[chosen], kind="stable")]
        sel_row, sel_user = pair_row[chosen], pair_user[chosen]
        # events: one per active user, the rest by weight
        extra = np.maximum(n_events - take, 0)
        extra_row = np.repeat(np.arange(n_rows), extra)
        extra_pick = _draw_among(rng, sel_row, user_weight[sel_user], extra_row)
        ev_row = np.concatenate([sel_row, extra_row])
        ev_user = np.concatenate([sel_user, sel_user[extra_pick]])
        # features: the month's distinct features, one event each, the rest by popularity
        f_rows = n_feat > 0
        frow = np.repeat(np.arange(n_rows), np.where(f_rows, N_FEATURES, 0))
        fidx = np.tile(np.arange(N_FEATURES), int(f_rows.sum()))
        fkeys = rng.exponential(size=len(frow)) / FEATURE_WEIGHT[fidx]
        fchosen = _segments_pick(fkeys, frow, n_feat)
        fchosen = fchosen[np.argsort(frow[fchosen], kind="stable")]
        sf_row, sf_feat = frow[fchosen], fidx[fchosen]
        # pair features with events in a random order inside each row
        order = np.lexsort((rng.random(len(ev_row)), ev_row))
        ev_row, ev_user = ev_row[order], ev_user[order]
        pos = np.arange(len(ev_row)) - np.searchsorted(ev_row, np.arange(n_rows), side="left")[ev_row]
        ev_feat = np.full(len(ev_row), N_FEATURES)  # sign_in unless the row has features
        has_f = f_rows[ev_row]
        feat_first = np.searchsorted(sf_row, np.arange(n_rows), side="left")
        covering = has_f & (pos < n_feat[ev_row])
        ev_feat[covering] = sf_feat[feat_first[ev_row[covering]] + pos[covering]]
        rest = has_f & ~covering
        picks = _draw_among(rng, sf_row, FEATURE_WEIGHT[sf_feat], ev_row[rest])
        ev_feat[rest] = sf_feat[picks]
        # timestamps: inside the row's days, not before the user's activation day
        start_us = np.maximum(r_lo[ev_row], u_act[ev_user])
        span_us = r_hi[ev_row] + _DAY_US - start_us
        ts = start_us + np.floor(rng.random(len(ev_row)) * (span_us // 1_000_000)).astype(np.int64) * 1_000_000
        acc_of_ev = a[ev_row]
        order = np.lexsort((ts, acc_of_ev))
        yield pa.table(
            {
                "account_id": _strings(acc_of_ev[order], acc_dict),
                "user_id": _strings(ev_user[order], user_dict),
                "ts": pa.array(ts[order], pa.timestamp("us")),
                "feature": _strings(ev_feat[order], feature_dict),
            },
            schema=SCHEMA,
        )
    if short:
        log.warning(
            "demo events: %d account-months cannot match usage_monthly exactly (fewer eligible users "
            "or events than active users).",
            short,
        )


def write_events(spec: DemoSpec, tables: dict[str, pd.DataFrame], path: str | Path) -> int:
    """Write the demo events to ``path`` as Parquet (zstd).

    Parameters
    ----------
    spec : DemoSpec
        The spec the tables were generated with.
    tables : dict of pandas.DataFrame
        Output of ``insights.demo.generate(spec)``.
    path : path
        File to write (the caller makes it atomic).

    Returns
    -------
    int
        Number of events written.
    """
    n = 0
    with pq.ParquetWriter(str(path), SCHEMA, compression="zstd") as writer:
        for chunk in iter_events(spec, tables):
            writer.write_table(chunk, row_group_size=1_000_000)
            n += chunk.num_rows
    return n
