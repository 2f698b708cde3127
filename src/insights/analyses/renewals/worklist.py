"""The CSM worklist: the accounts renewing in the window, most expected ARR at risk first.

One list replaces the former action list and risk list. Each row is an account renewing within the
window (``insights.analyses.risk.exposure``), with its health (``insights.analyses.health.score``),
its calibrated probability of churn and expected ARR at risk (``insights.analyses.risk.model``),
and what to do about it, in the words of ``config/playbooks.yaml``:

* **reasons**: up to three plain sentences, one per factor that pushes the account's risk *up* in
  the risk model (positive contribution, ``insights.analyses.risk.model.contributions``), that a
  CSM can act on (``Playbooks.reason`` is not None: never the segment, the contract size or the
  cancellation itself) and whose value is actually on the bad side: present, and worse than the
  median of the account's segment on the same date (direction of
  ``insights.analyses.segments.benchmarks.DIRECTION``), so a sentence such as "few of the
  purchased seats are in use" is true of the account;
* **next_action**: the play for the top reason in the account's segment
  (``Playbooks.play_for``); an account that asked to cancel gets the play of
  ``cancellation_requested`` (the executive save call); without a reason, ``DEFAULT_PLAY``.
  When a pilot supports it (``insights.analyses.pilots.pilot_plays``: heterogeneity found and a
  top-k% policy, or a clearly positive average effect that pays for its CSM time), the accounts its
  policy treats get the pilot's play instead, with ``action_source`` ("pilot <id>" / "playbook") and
  the evidence in words; otherwise the list is exactly the playbook's;
* **due_date**: the renewal date minus the play's lead time; when that date has already passed,
  the play is due now: ``due_date`` = the reference date and ``due_now`` is True;
* the signals a CSM checks first: activated vs purchased seats, whether there is an admin or
  champion, support tickets, feature utilisation, onboarding sessions and revenue growth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.analyses.health import score as health
from insights.analyses.playbooks import Playbooks
from insights.analyses.risk import exposure
from insights.analyses.risk import model as risk
from insights.analyses.segments.benchmarks import DIRECTION
from insights.errors import ParameterError
from insights.stats.table_checks import require_columns

#: Play of an account without an actionable reason (a key of ``config/playbooks.yaml``).
DEFAULT_PLAY = "renewal_check_in"
#: The factor whose play an account that asked to cancel gets.
CANCELLATION = "cancellation_requested"
#: Factors never shown as a reason, whatever the file says.
NEVER_REASONS = ("segment", CANCELLATION, "save_play_active")
#: Columns the worklist reads.
NEEDED = (
    "account_id",
    "segment",
    "arr",
    "renewal_date",
    "days_to_renewal",
    "health",
    "band",
    "p_churn",
    "cancellation_requested",
    "save_play_active",
)
#: The per-account signals of ``signals``.
SIGNALS = (
    "activated_seats",
    "purchased_seats",
    "has_admin",
    "support_tickets_90d",
    "feature_utilisation",
    "onboarding_sessions",
    "revenue_growth",
)


def score_accounts(
    models: dict,
    snap: pd.DataFrame,
    obs_date,
    health_config: health.HealthConfig | None = None,
    names: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Health, band, probability of churn and the risk model's contributions of every account on ``obs_date``.

    Parameters
    ----------
    models : dict of str to FittedModel
        From ``insights.analyses.risk.model.fit_current``.
    snap : pandas.DataFrame
        Snapshots with the segment (``insights.context.Context.snapshots``).
    obs_date : date-like
        The observation date (the report quarter's end).
    health_config : HealthConfig, optional
        Default ``insights.analyses.health.score.load_config()``.
    names : pandas.Series, optional
        account_id -> account name.

    Returns
    -------
    tuple of pandas.DataFrame
        The accounts (the snapshot rows of the date with ``name``, ``health``, ``band``, ``p_*``,
        ``p_churn`` and ``expected_arr_at_risk``) and the contributions (same index, one column per
        factor, log-odds; ``insights.analyses.risk.model.contributions``).

    Raises
    ------
    ParameterError
        If no snapshot row falls on ``obs_date``.
    """
    obs_date = pd.Timestamp(obs_date)
    rows = snap[snap["obs_date"] == obs_date]
    if rows.empty:
        raise ParameterError(f"no snapshot rows on {obs_date:%Y-%m-%d}: build snapshots for that quarter end.")
    scored = health.score(rows, health_config)  # percentiles within segment and date: the date alone suffices
    if names is not None:
        scored.insert(1, "name", scored["account_id"].map(names))
    scored = pd.concat([scored, risk.score_rows(models, rows)], axis=1)
    return scored, risk.contributions(models["logistic"], rows)


def _bad_side(accounts: pd.DataFrame, factor: str) -> np.ndarray:
    """Whether each account's value of ``factor`` is present and worse than its segment's median."""
    if factor not in accounts.columns:
        return np.zeros(len(accounts), dtype=bool)
    value = accounts[factor].astype(float)
    if factor not in DIRECTION:
        return value.notna().to_numpy()
    oriented = value * DIRECTION[factor]
    median = oriented.groupby(accounts["segment"].astype(object), sort=False).transform("median")
    return (oriented < median).fillna(False).to_numpy(dtype=bool)


def reasons(accounts: pd.DataFrame, contributions: pd.DataFrame, playbooks: Playbooks, top: int = 3) -> pd.DataFrame:
    """Up to ``top`` actionable factors pushing each account's risk up, as factor keys and sentences.

    Parameters
    ----------
    accounts : pandas.DataFrame
        One row per account with ``segment`` and the factors' values.
    contributions : pandas.DataFrame
        Same index, one column per factor (log-odds contribution; positive = towards churn).
    playbooks : Playbooks
        ``insights.analyses.playbooks.load_playbooks()``.
    top : int
        Most reasons per account.

    Returns
    -------
    pandas.DataFrame
        Same index: ``reason_factors`` (list of factor keys, largest contribution first),
        ``reasons`` (their sentences, joined by spaces; empty when none) and ``top_reason`` (the
        first sentence; empty when none).

    Raises
    ------
    ParameterError
        If the indexes differ, ``top`` < 1, or a factor is not in ``config/playbooks.yaml``.
    """
    if int(top) < 1:
        raise ParameterError(f"top must be >= 1, got {top}.")
    if not contributions.index.equals(accounts.index):
        raise ParameterError("contributions must have the accounts' index (compute them from the same rows).")
    require_columns(accounts, ["segment"], what="the accounts table")
    factors = [f for f in contributions.columns if f not in NEVER_REASONS and playbooks.factor(f).actionable]
    values = contributions[factors].to_numpy(dtype=float)
    eligible = (values > 0) & np.column_stack([_bad_side(accounts, f) for f in factors]) if factors else values > 0
    ranked = np.where(eligible, values, -np.inf)
    order = np.argsort(-ranked, axis=1, kind="stable")[:, : int(top)]
    keys, sentences = [], []
    for i, segment in enumerate(accounts["segment"].astype(object)):
        chosen = [factors[j] for j in order[i] if eligible[i, j]]
        keys.append(chosen)
        seg = None if pd.isna(segment) else str(segment)
        sentences.append([str(playbooks.reason(f, seg)) for f in chosen])
    return pd.DataFrame(
        {
            "reason_factors": keys,
            "reasons": [" ".join(s) for s in sentences],
            "top_reason": [s[0] if s else "" for s in sentences],
        },
        index=accounts.index,
    )


def signals(accounts: pd.DataFrame) -> pd.DataFrame:
    """The signals a CSM checks first, in plain units.

    Parameters
    ----------
    accounts : pandas.DataFrame
        Snapshot rows with seats, utilisation, admins, support_burden, breadth,
        onboarding_engagement and revenue_growth.

    Returns
    -------
    pandas.DataFrame
        Same index: ``activated_seats`` (utilisation x purchased seats, rounded), ``purchased_seats``,
        ``has_admin`` (at least one admin user; missing when unknown), ``support_tickets_90d``
        (support_burden x seats / 10, the tickets of the last 90 days), ``feature_utilisation``
        (breadth: share of the product's features used), ``onboarding_sessions`` and
        ``revenue_growth`` (ARR change over the past year, a share).

    Raises
    ------
    ParameterError
        If a column is missing.
    """
    need = ["seats", "utilisation", "admins", "support_burden", "breadth", "onboarding_engagement", "revenue_growth"]
    require_columns(accounts, need, what="the accounts table")
    seats = accounts["seats"].astype(float)
    admins = accounts["admins"].astype("Float64")
    return pd.DataFrame(
        {
            "activated_seats": (accounts["utilisation"].astype(float) * seats).round().astype("Int64"),
            "purchased_seats": seats.round().astype("Int64"),
            "has_admin": (admins > 0).astype("boolean"),
            "support_tickets_90d": (accounts["support_burden"].astype(float) * seats / 10).round().astype("Int64"),
            "feature_utilisation": accounts["breadth"].astype(float),
            "onboarding_sessions": accounts["onboarding_engagement"].astype(float).round().astype("Int64"),
            "revenue_growth": accounts["revenue_growth"].astype(float),
        },
        index=accounts.index,
    )


def next_actions(
    accounts: pd.DataFrame, factors: pd.Series, playbooks: Playbooks, as_of, default_play: str = DEFAULT_PLAY
) -> pd.DataFrame:
    """The play for each account, its lead time and its due date.

    Parameters
    ----------
    accounts : pandas.DataFrame
        One row per account: segment, renewal_date, cancellation_requested.
    factors : pandas.Series of list
        Same index: the account's reason factors, top first (``reasons``).
    playbooks : Playbooks
        ``insights.analyses.playbooks.load_playbooks()``.
    as_of : date-like
        The reference date (the data's end date): no play is due before it.
    default_play : str
        Play of an account without a reason.

    Returns
    -------
    pandas.DataFrame
        Same index: ``next_action`` (the play's name), ``play`` (its key), ``lead_time_days``,
        ``due_date`` (renewal date minus the lead time, not before ``as_of``) and ``due_now``
        (True when the lead time had already run out at ``as_of``).

    Raises
    ------
    ParameterError
        If ``default_play`` is not a play of ``config/playbooks.yaml`` or a column is missing.
    """
    require_columns(accounts, ["segment", "renewal_date", CANCELLATION], what="the accounts table")
    if default_play not in playbooks.plays:
        raise ParameterError(
            f"default play {default_play!r} is not in config/playbooks.yaml; add it under 'plays:' or name another."
        )
    as_of = pd.Timestamp(as_of)
    chosen = []
    for segment, asked, keys in zip(
        accounts["segment"].astype(object), accounts[CANCELLATION].astype(float).fillna(0) > 0, factors
    ):
        seg = None if pd.isna(segment) else str(segment)
        play = playbooks.play_for(CANCELLATION, seg) if asked else None
        for key in [] if play is not None else keys:
            play = playbooks.play_for(key, seg)
            if play is not None:
                break
        chosen.append(play or playbooks.plays[default_play])
    return _scheduled(chosen, accounts["renewal_date"], as_of)


def _scheduled(chosen: list, renewal_date: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each play's name, key, lead time and due date: the renewal date minus the lead time, not before ``as_of``."""
    lead = pd.Series([p.lead_time_days for p in chosen], index=renewal_date.index, dtype="int64")
    due = pd.to_datetime(renewal_date) - pd.to_timedelta(lead, unit="D")
    return pd.DataFrame(
        {
            "next_action": [p.name for p in chosen],
            "play": [p.key for p in chosen],
            "lead_time_days": lead,
            "due_date": due.where(due >= as_of, as_of),
            "due_now": (due < as_of).to_numpy(),
        },
        index=renewal_date.index,
    )


#: Columns of a pilot's recommendations that ``with_pilot_plays`` reads
#: (``insights.analyses.pilots.pilot_plays.PilotPlays.accounts``).
PILOT_PLAY_COLUMNS = ("account_id", "play", "action_source", "evidence")


def with_pilot_plays(
    actions: pd.DataFrame, accounts: pd.DataFrame, pilot_plays: pd.DataFrame, playbooks: Playbooks, as_of
) -> pd.DataFrame:
    """The next actions with a pilot's play for the accounts it recommends, and where each action comes from.

    Parameters
    ----------
    actions : pandas.DataFrame
        Output of ``next_actions`` for ``accounts``.
    accounts : pandas.DataFrame
        Same index: account_id and renewal_date.
    pilot_plays : pandas.DataFrame
        One row per recommended account: ``PILOT_PLAY_COLUMNS``
        (``insights.analyses.pilots.pilot_plays.recommend``).
    playbooks : Playbooks
        ``insights.analyses.playbooks.load_playbooks()`` (the play's name and lead time).
    as_of : date-like
        The reference date: no play is due before it.

    Returns
    -------
    pandas.DataFrame
        ``actions`` where a recommended account's next_action, play, lead_time_days, due_date and
        due_now are those of the pilot's play, plus ``action_source`` ("pilot <id>", else "playbook")
        and ``action_evidence`` (the pilot's evidence in words; empty for a playbook action).

    Raises
    ------
    ParameterError
        If a column is missing, an account is recommended twice, or a play is not in ``playbooks``.
    """
    require_columns(
        pilot_plays, list(PILOT_PLAY_COLUMNS), what="the pilot plays", fix="Build them with pilot_plays.recommend."
    )
    require_columns(accounts, ["account_id", "renewal_date"], what="the accounts table")
    if pilot_plays["account_id"].duplicated().any():
        raise ParameterError("the pilot plays name an account twice; pass one recommendation per account.")
    unknown = sorted(set(pilot_plays["play"]) - set(playbooks.plays))
    if unknown:
        raise ParameterError(f"the pilot plays name plays {unknown} that config/playbooks.yaml does not define.")
    recs = pilot_plays.set_index("account_id")
    hit = accounts["account_id"].isin(recs.index)
    out = actions.assign(action_source="playbook", action_evidence="")
    if hit.any():
        ids = accounts.loc[hit, "account_id"]
        piloted = _scheduled(
            [playbooks.plays[k] for k in recs.loc[ids, "play"]], accounts.loc[hit, "renewal_date"], pd.Timestamp(as_of)
        )
        out.loc[hit, list(piloted.columns)] = piloted
        out.loc[hit, "action_source"] = recs.loc[ids, "action_source"].to_numpy()
        out.loc[hit, "action_evidence"] = recs.loc[ids, "evidence"].to_numpy()
    return out


def build(
    accounts: pd.DataFrame,
    contributions: pd.DataFrame,
    playbooks: Playbooks,
    as_of,
    window_days: int | None = exposure.WINDOW_DAYS,
    top: int = 3,
    pilot_plays: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The CSM worklist: accounts renewing in the window, most expected ARR at risk first.

    Parameters
    ----------
    accounts : pandas.DataFrame
        One row per account under contract (``score_accounts``): account_id, optional name and
        csm, segment, arr, renewal_date, days_to_renewal (from ``as_of``), health, band, p_churn,
        cancellation_requested, save_play_active and the columns of ``signals``.
    contributions : pandas.DataFrame
        The risk model's contributions, same index (``score_accounts``).
    playbooks : Playbooks
        ``insights.analyses.playbooks.load_playbooks()``.
    as_of : date-like
        Reference date of the window and of the due dates (the data's end date).
    window_days : int or None
        Accounts renewing 0 to this many days after ``as_of``; None for every account.
    top : int
        Most reasons per account.
    pilot_plays : pandas.DataFrame, optional
        A pilot's recommended accounts (``insights.analyses.pilots.pilot_plays.PilotPlays.accounts``):
        their next action is the pilot's play (``with_pilot_plays``). None or empty: the playbook
        rules alone, and the list is exactly as without a pilot.

    Returns
    -------
    pandas.DataFrame
        rank, account_id, [name], [csm], segment, arr, renewal_date, days_to_renewal, health,
        band, p_churn, expected_arr_at_risk, cancellation_requested, in_save_play (booleans),
        top_reason, reasons, reason_factors (comma-separated keys), next_action, [action_source,
        action_evidence: only when a pilot recommends some account], due_date, due_now,
        lead_time_days and the ``signals``; sorted by expected_arr_at_risk descending (ties by
        account_id), index 0..n-1.

    Raises
    ------
    ParameterError
        If a column is missing, the window is invalid, or a factor or play is unknown.
    """
    require_columns(accounts, list(NEEDED), what="the accounts table", fix="Build it with worklist.score_accounts.")
    keep = exposure.in_window(accounts, window_days)
    rows, contrib = accounts[keep], contributions.loc[keep[keep].index]
    why = reasons(rows, contrib, playbooks, top)
    act = next_actions(rows, why["reason_factors"], playbooks, as_of)
    action = ["next_action"]
    if pilot_plays is not None and len(pilot_plays):
        act = with_pilot_plays(act, rows, pilot_plays, playbooks, as_of)
        action += ["action_source", "action_evidence"]
    lead = [c for c in ("account_id", "name", "csm") if c in rows.columns]
    out = rows[[*lead, "segment", "arr", "renewal_date", "days_to_renewal", "health", "band", "p_churn"]].copy()
    out["band"] = out["band"].astype(object)
    out["expected_arr_at_risk"] = exposure.expected_arr_at_risk(rows)
    out["cancellation_requested"] = rows[CANCELLATION].astype(float).fillna(0) > 0
    out["in_save_play"] = rows["save_play_active"].astype(float).fillna(0) > 0
    out["top_reason"] = why["top_reason"]
    out["reasons"] = why["reasons"]
    out["reason_factors"] = why["reason_factors"].map(", ".join)
    out = pd.concat([out, act[[*action, "due_date", "due_now", "lead_time_days"]], signals(rows)], axis=1)
    out = out.sort_values(["expected_arr_at_risk", "account_id"], ascending=[False, True]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


#: Decimals of the worklist's columns in a file: money to the cent, probabilities and shares to 0.01%.
DECIMALS = {
    "arr": 2,
    "expected_arr_at_risk": 2,
    "health": 1,
    "p_churn": 4,
    "feature_utilisation": 4,
    "revenue_growth": 4,
}


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with the worklist's columns (``DECIMALS``) rounded for a file a person opens.

    Parameters
    ----------
    frame : pandas.DataFrame
        The worklist or the renewal pipeline (columns not in ``DECIMALS`` are left alone).

    Returns
    -------
    pandas.DataFrame
        The rounded copy; write it with ``float_format="%.12g"`` so no number is cut or shown
        in scientific notation.
    """
    return frame.round({c: d for c, d in DECIMALS.items() if c in frame.columns})


def headline_table(work: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` worklist accounts with the most expected ARR at risk, in the front page's columns.

    Parameters
    ----------
    work : pandas.DataFrame
        Output of ``build`` (sorted).
    n : int
        Rows.

    Returns
    -------
    pandas.DataFrame
        Indexed by account (name, else id; ``insights.report.headlines.save`` shows the index as
        the first column): owner (when the list has ``csm``), segment, arr, renewal_date,
        expected_arr_at_risk, reason (the first sentence), next_action, action_source (when a pilot
        set some next action: "pilot <id>" or "playbook"), due_date.

    Raises
    ------
    ParameterError
        If a column of ``build`` is missing.
    """
    need = ["account_id", "segment", "arr", "renewal_date", "expected_arr_at_risk", "top_reason", "next_action"]
    require_columns(
        work,
        [*need, "due_date"],
        what="the worklist",
        fix="Build it with worklist.build.",
    )
    top = work.head(int(n))
    account = top["name"].fillna(top["account_id"]) if "name" in top else top["account_id"]
    out = pd.DataFrame({"account": account.astype(str)})
    if "csm" in top:
        out["owner"] = top["csm"]
    out = out.assign(
        segment=top["segment"].astype(str),
        arr=top["arr"],
        renewal_date=pd.to_datetime(top["renewal_date"]).dt.date,
        expected_arr_at_risk=top["expected_arr_at_risk"],
        reason=top["top_reason"],
        next_action=top["next_action"],
    )
    if "action_source" in top:
        out["action_source"] = top["action_source"]
    out["due_date"] = pd.to_datetime(top["due_date"]).dt.date.to_numpy()
    return out.set_index("account")
