"""Segment intelligence: a profile of every segment, and benchmarks of accounts within their segment.

Works for any segment column of a snapshot: the contract-value tier
(``insights.analyses.segments.rules``), the behavioural segment (``insights.analyses.segments.behaviour``) or any other
label. Metrics come from the snapshot (``insights.metrics.snapshots``); nothing is recomputed.

Time frame of a profile at observation date ``t`` (a quarter end):

- size, ARR and median metrics: the accounts under contract at ``t``;
- churn and retention: the trailing twelve months, i.e. the cohort of accounts under
  contract at ``t0 = t - 12 months``, each in the segment it had at ``t0``. Churn is
  the snapshot label ``churned`` at ``t0`` (the next renewal within the 365-day
  horizon; renewals whose grace period has not passed by the data end are unsettled
  and left out). GRR and NRR are defined in ``retention``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.analyses.segments import benchmarks as bm
from insights.analyses.segments.behaviour import UNSEGMENTED
from insights.analyses.segments.rules import Tier, load_value_tiers, tier_names, value_tier
from insights.errors import ParameterError
from insights.stats.rates import TOTAL, churn_rate, group_order
from insights.stats.table_checks import require_columns

#: Metrics summarised (as medians) in a segment profile.
PROFILE_METRICS = (
    "utilisation",
    "depth",
    "breadth",
    "active_share",
    "satisfaction",
    "perceived_value",
    "switching_cost",
    "support_burden",
)
#: Metrics benchmarked within segments (concerns and opportunities): the profile's, bar switching cost.
BENCHMARK_METRICS = tuple(m for m in PROFILE_METRICS if m != "switching_cost")
#: Output columns of ``churn_rates`` from those of ``insights.stats.rates.churn_rate``.
_CHURN_COLUMNS = {
    "n": "renewals",
    "events": "churned",
    "rate": "churn_rate",
    "low": "churn_ci_low",
    "high": "churn_ci_high",
    "method": "churn_ci_method",
}
#: Column of the contract-value tier added by ``add_segments``.
TIER = "value_tier"
#: Column of the behavioural segment added by ``add_segments``.
BEHAVIOUR = "behaviour_segment"
#: Column of the benchmark group (behavioural segment within tier) added by ``add_segments``.
GROUP = "benchmark_segment"


def add_segments(snap: pd.DataFrame, model=None, tiers: list[Tier] | None = None) -> pd.DataFrame:
    """Add the contract-value tier and, given a model, the behavioural segment to every snapshot row.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshot (``insights.metrics.snapshots.build``), one or more observation dates.
    model : insights.analyses.segments.behaviour.BehaviourModel, optional
        Applied to each observation date separately.
    tiers : list of Tier, optional
        Contract-value tiers (default ``config/segments.yaml``).

    Returns
    -------
    pandas.DataFrame
        A copy with ``value_tier`` (by the ARR at each date) and, with a model,
        ``behaviour_label``, ``behaviour_segment`` and ``benchmark_segment``
        ("<tier> · <behavioural segment>").
    """
    out = snap.copy()
    tiers = tiers or load_value_tiers()
    out[TIER] = pd.Categorical(value_tier(out["arr"].to_numpy(), tiers).to_numpy(), categories=tier_names(tiers))
    if model is not None:
        labels = pd.Series(-1, index=out.index, dtype=int)
        groups = out.groupby("obs_date", sort=False) if "obs_date" in out.columns else [(None, out)]
        for _, rows in groups:
            labels.loc[rows.index] = model.assign(rows)["behaviour_label"].to_numpy()
        names = np.array([*model.names, UNSEGMENTED], dtype=object)
        out["behaviour_label"] = labels
        out[BEHAVIOUR] = pd.Categorical(names[labels.to_numpy()], categories=list(names))
        out[GROUP] = out[TIER].astype(str) + " · " + out[BEHAVIOUR].astype(str)
    return out


def _need(frame: pd.DataFrame, columns, what: str) -> None:
    require_columns(
        frame,
        list(columns),
        what=f"the table given to {what}",
        fix="Pass a snapshot with them (insights.metrics.snapshots.build, then add_segments).",
    )


# ----------------------------------------------------------------------------- churn


def churn_rates(frame: pd.DataFrame, segment: str, level: float = 0.95) -> pd.DataFrame:
    """Churn rate at settled renewals within the horizon, per segment, with a Wilson score interval.

    Parameters
    ----------
    frame : pandas.DataFrame
        Snapshot rows (one observation date) with ``churned`` (1.0 churned, 0.0
        renewed, NaN when there is no renewal inside the horizon or its outcome is not
        known), ``settled`` (``insights.metrics.snapshots.build``: only renewals whose grace
        period has passed count) and the segment column.
    segment : str
        Segment column.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment (plus ``TOTAL``): renewals, churned, churn_rate,
        churn_ci_low, churn_ci_high, churn_ci_method ("Wilson score 95% CI"). Rates
        are NaN for a segment without settled renewals.

    Raises
    ------
    ParameterError
        If a column is missing.
    """
    _need(frame, [segment, "churned", "settled"], "churn_rates")
    rates = churn_rate(frame, outcome="churned", by=segment, settled="settled", level=level)
    return rates[list(_CHURN_COLUMNS)].rename(columns=_CHURN_COLUMNS)


# ----------------------------------------------------------------------------- retention


def retention(start: pd.DataFrame, end: pd.DataFrame, segment: str) -> pd.DataFrame:
    """Gross and net revenue retention of a cohort, per segment (usual SaaS definitions).

    The cohort is the accounts in ``start`` (under contract at the start date), each
    in its segment then; new accounts that signed later are not in it. With ``S``
    the cohort's ARR at the start and, for each account, ``end`` its ARR at the end
    date (0 when no longer under contract):

    - churned ARR = sum of starting ARR of accounts with no ARR at the end;
    - contraction = sum of (start - end) over retained accounts whose ARR fell;
    - expansion = sum of (end - start) over retained accounts whose ARR grew;
    - GRR = (S - churned ARR - contraction) / S  (at most 1);
    - NRR = (S - churned ARR - contraction + expansion) / S = sum of ending ARR / S.

    ARR is that of the contract term running on the day before each date (the
    snapshot's ``arr``, read from contract terms). An account between two terms on
    the end date (a late renewal inside the grace period) counts as churned.

    Parameters
    ----------
    start : pandas.DataFrame
        One row per cohort account: account_id, arr and the segment column.
    end : pandas.DataFrame
        One row per account under contract at the end date: account_id, arr.
    segment : str

    Returns
    -------
    pandas.DataFrame
        Indexed by segment (plus ``TOTAL``): cohort_accounts, churned_accounts,
        starting_arr, churned_arr, contraction, expansion, ending_arr, grr, nrr.

    Raises
    ------
    ParameterError
        If a column is missing or an account appears twice in ``start`` or ``end``.
    """
    _need(start, ["account_id", "arr", segment], "retention (start)")
    _need(end, ["account_id", "arr"], "retention (end)")
    if start["account_id"].duplicated().any() or end["account_id"].duplicated().any():
        raise ParameterError(
            "retention takes one row per account at each date; filter the snapshot to one observation date first."
        )
    c = start[["account_id", segment, "arr"]].rename(columns={"arr": "start_arr"})
    c["end_arr"] = c["account_id"].map(end.set_index("account_id")["arr"]).fillna(0.0).astype(float)
    lost = c["end_arr"] <= 0
    delta = c["end_arr"] - c["start_arr"]
    c["churned_arr"] = np.where(lost, c["start_arr"], 0.0)
    c["contraction"] = np.where(~lost, (-delta).clip(lower=0), 0.0)
    c["expansion"] = np.where(~lost, delta.clip(lower=0), 0.0)
    c["lost"] = lost.astype(int)
    rows = []
    for name, part in [(s, c[c[segment] == s]) for s in group_order(c[segment])] + [(TOTAL, c)]:
        s0 = float(part["start_arr"].sum())
        churned, contraction, expansion = (float(part[k].sum()) for k in ("churned_arr", "contraction", "expansion"))
        rows.append(
            {
                segment: name,
                "cohort_accounts": len(part),
                "churned_accounts": int(part["lost"].sum()),
                "starting_arr": s0,
                "churned_arr": churned,
                "contraction": contraction,
                "expansion": expansion,
                "ending_arr": float(part["end_arr"].sum()),
                "grr": (s0 - churned - contraction) / s0 if s0 > 0 else np.nan,
                "nrr": (s0 - churned - contraction + expansion) / s0 if s0 > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index(segment)


# ----------------------------------------------------------------------------- profile


def _top(values: pd.Series, n: int) -> str:
    share = values.value_counts(normalize=True).head(n)
    return ", ".join(f"{k} {v:.0%}" for k, v in share.items())


def segment_profile(
    snap: pd.DataFrame,
    t,
    segment: str,
    accounts: pd.DataFrame,
    metrics=PROFILE_METRICS,
    top: int = 3,
    level: float = 0.95,
) -> pd.DataFrame:
    """Profile of every segment at observation date ``t``: size, value, churn, retention, behaviour, firmographics.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshot with the segment column, holding the observation dates ``t`` and
        ``t - 12 months`` (for churn and retention; without them those columns are NaN).
    t : date-like
        Observation date.
    segment : str
        Segment column (e.g. ``value_tier`` or ``behaviour_segment``).
    accounts : pandas.DataFrame
        The accounts table (industry, region).
    metrics : sequence of str
        Snapshot metrics summarised by their median.
    top : int
        How many industries and regions to list.
    level : float
        Level of the churn-rate interval.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment (plus ``TOTAL``): accounts, account_share, arr, arr_share,
        median_arr, the trailing-year churn columns of ``churn_rates`` (renewals,
        churned, churn_rate, churn_ci_low, churn_ci_high, churn_ci_method), grr,
        nrr, cohort_accounts, ``median_<metric>``, top_industries, top_regions.

    Raises
    ------
    ParameterError
        If columns are missing or ``t`` is not an observation date of the snapshot.
    """
    _need(snap, ["account_id", "obs_date", "arr", segment, *metrics], "segment_profile")
    _need(accounts, ["account_id", "industry", "region"], "segment_profile (accounts)")
    t = pd.Timestamp(t)
    now = snap[snap["obs_date"] == t]
    if now.empty:
        raise ParameterError(f"{t:%Y-%m-%d} is not an observation date of the snapshot; build it with that date.")
    t0 = t - pd.DateOffset(years=1)
    then = snap[snap["obs_date"] == t0]
    firmo = accounts.set_index("account_id")[["industry", "region"]]
    now = now.join(firmo, on="account_id")
    order = group_order(now[segment])
    rows = []
    for name, part in [(s, now[now[segment] == s]) for s in order] + [(TOTAL, now)]:
        row = {
            segment: name,
            "accounts": len(part),
            "account_share": len(part) / len(now),
            "arr": float(part["arr"].sum()),
            "arr_share": float(part["arr"].sum() / now["arr"].sum()),
            "median_arr": float(part["arr"].median()),
        }
        for m in metrics:
            row[f"median_{m}"] = float(part[m].median())
        row["top_industries"] = _top(part["industry"], top)
        row["top_regions"] = _top(part["region"], top)
        rows.append(row)
    out = pd.DataFrame(rows).set_index(segment)
    churn_cols = ["renewals", "churned", "churn_rate", "churn_ci_low", "churn_ci_high", "churn_ci_method"]
    ret_cols = ["cohort_accounts", "grr", "nrr"]
    if then.empty:
        churn = pd.DataFrame(index=out.index, columns=churn_cols)
        ret = pd.DataFrame(index=out.index, columns=ret_cols, dtype=float)
    else:
        churn = churn_rates(then, segment, level)
        ret = retention(then, now, segment)[ret_cols]
    out = out.join(churn[churn_cols]).join(ret)
    lead = ["accounts", "account_share", "arr", "arr_share", "median_arr", *churn_cols, *ret_cols]
    return out[lead + [c for c in out.columns if c not in lead]]


# ----------------------------------------------------------------------------- benchmarks


def benchmarks(
    frame: pd.DataFrame,
    metrics=BENCHMARK_METRICS,
    segment: str = GROUP,
    parent: str = TIER,
    min_size: int = 30,
    low: float = 20.0,
    high: float = 80.0,
) -> pd.DataFrame:
    """Every account's standing on every metric within its segment, in long format.

    The standings come from ``insights.analyses.segments.benchmarks``.

    By default the segment is the behavioural segment within the contract-value tier
    (``benchmark_segment``); a group with fewer than ``min_size`` accounts with a
    value borrows its tier's distribution.

    Parameters
    ----------
    frame : pandas.DataFrame
        Snapshot rows of one observation date with the segment columns (``add_segments``).
    metrics : sequence of str
    segment, parent : str
        Benchmark group and the parent it borrows from (must be nested in it).
    min_size : int
        Smallest group benchmarked on its own.
    low, high : float
        Percentile thresholds of a concern and an opportunity (see
        ``insights.analyses.segments.benchmarks.segment_benchmarks``).

    Returns
    -------
    pandas.DataFrame
        One row per account and metric: account_id, arr, the segment columns present,
        metric, value, percentile (0-100, in the metric's own direction), standing
        (0-100, higher = better for retention), flag (concern / opportunity /
        typical / missing) and benchmark (the group whose distribution was used).

    Raises
    ------
    ParameterError
        If ``min_size`` is not a whole number >= 1, a column is missing, or ``frame`` holds more
        than one observation date.
    """
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ParameterError(f"min_size must be a whole number of accounts >= 1, got {min_size!r}.")
    _need(frame, ["account_id", "arr", segment, parent, *metrics], "benchmarks")
    if "obs_date" in frame.columns and frame["obs_date"].dropna().unique().size > 1:
        raise ParameterError("benchmarks take the snapshot of one observation date; filter it first.")
    frame = frame.reset_index(drop=True)
    res = bm.segment_benchmarks(
        frame, list(metrics), segment, parent=parent, by=None, min_size=min_size, low=low, high=high
    )
    keys = [c for c in ["account_id", "arr", TIER, BEHAVIOUR, segment, parent] if c in frame.columns]
    keys = list(dict.fromkeys(keys))
    parts = []
    for m in metrics:
        part = frame[keys].copy()
        part["metric"] = m
        part["value"] = frame[m].astype(float)
        part["percentile"] = res[f"{m}_pct"]
        part["standing"] = part["percentile"] if bm.DIRECTION.get(m, 1) > 0 else 100 - part["percentile"]
        part["flag"] = res[f"{m}_flag"]
        part["benchmark"] = res[f"{m}_benchmark"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def flag_summary(long: pd.DataFrame) -> pd.DataFrame:
    """Accounts with at least one concern or opportunity against their segment, one row each.

    Parameters
    ----------
    long : pandas.DataFrame
        Output of ``benchmarks``.

    Returns
    -------
    pandas.DataFrame
        account_id, arr, segment columns, n_concerns, n_opportunities, concerns and
        opportunities (metric names with the account's percentile in its segment),
        sorted by concerns, then ARR, largest first.
    """
    _need(long, ["account_id", "metric", "percentile", "flag"], "flag_summary")
    keys = [c for c in long.columns if c in ("account_id", "arr", TIER, BEHAVIOUR, GROUP)]
    flagged = long[long["flag"].isin([bm.CONCERN, bm.OPPORTUNITY])].copy()
    flagged["item"] = flagged["metric"] + " (p" + flagged["percentile"].round().astype(int).astype(str) + ")"
    base = long[keys].drop_duplicates("account_id").set_index("account_id")
    out = base.copy()
    for flag, col in ((bm.CONCERN, "concerns"), (bm.OPPORTUNITY, "opportunities")):
        sel = flagged[flagged["flag"] == flag].groupby("account_id")["item"]
        out[f"n_{col}"] = sel.size().reindex(out.index).fillna(0).astype(int)
        out[col] = sel.agg(", ".join).reindex(out.index).fillna("")
    out = out[(out["n_concerns"] > 0) | (out["n_opportunities"] > 0)]
    sort = ["n_concerns", "arr"] if "arr" in out.columns else ["n_concerns"]
    return out.sort_values(sort, ascending=False, kind="stable").reset_index()
