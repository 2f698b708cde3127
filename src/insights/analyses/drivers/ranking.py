"""Retention drivers: which of satisfaction, switching cost, depth, breadth and perceived value move churn most.

The statistics are the generic toolkit's (``insights.stats.driver_ranking``: odds ratios, general
dominance, bootstrap rank probabilities, ties, correlated blocks); this module supplies what is
particular to renewals.

Analysis rows
-------------
One row per renewal: the last snapshot (``insights.metrics.snapshots``) before it, taken only when the
renewal falls 0-92 days after the observation date (``WINDOW_DAYS``) and the outcome is settled.
Features are then at most one quarter old at the renewal, every renewal counts once, and no
feature comes from after the observation date. Rows with a missing driver are dropped
(complete cases; the count is reported).

Drivers are standardised over the analysed rows (``TRANSFORMS``: depth is log-transformed first, it
is right-skewed), so every effect is per +1 standard deviation. Controls, in every model:
contract-value tier (indicators, overall analysis only), tenure in years and ``first_renewal``
(tenure below ``FIRST_RENEWAL_YEARS`` at the renewal: first renewals churn more, and tenure is
part of the switching-cost composite, so without this control switching cost would pick it up).
Renewals are clustered by account (an account renews several times): odds ratios have
account-clustered SEs and the bootstrap resamples accounts.

Importance, ties, correlated drivers
------------------------------------
As in ``insights.stats.driver_ranking``: general dominance over McFadden pseudo-R² (exact: five
drivers), account-bootstrap percentile 95% CIs and rank probabilities (an m-out-of-n bootstrap
above ``insights.stats.driver_ranking.MAX_RESAMPLE`` accounts, named in the method), ties below
``TIE_PROBABILITY`` (90%), drivers with |Spearman rho| >= 0.7 ranked as one block. A ranking with
fewer than ``MIN_EVENTS`` churn events carries a warning.

Associations, not causes: a ranking says which metric goes with churn after the controls, not
what would happen if the CS team moved it; a randomised pilot (notebooks 06/07) says that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.errors import ParameterError
from insights.metrics.snapshots import DRIVERS
from insights.stats import driver_ranking as toolkit
from insights.stats.driver_ranking import GROUP_DISTANCE, TIE_PROBABILITY, DriverRanking
from insights.stats.model_frame import standardise as _standardise

#: A renewal is analysed from the snapshot 0..WINDOW_DAYS days before it (the last look before it).
WINDOW_DAYS = 92
#: Tenure (years) at the renewal below which it is the account's first renewal.
FIRST_RENEWAL_YEARS = 1.1
#: A segment with fewer churn events than this is not ranked (shown with a warning).
MIN_EVENTS = 50
#: Transformations of drivers before standardising (depth is right-skewed).
TRANSFORMS = {"depth": "log1p"}


def analysis_rows(snap: pd.DataFrame, window_days: int = WINDOW_DAYS, drivers=DRIVERS) -> pd.DataFrame:
    """One row per settled renewal: the last snapshot 0..``window_days`` days before it.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots with account_id, obs_date, contract_id, renewal_date, churned, tenure_years, the
        drivers and, optionally, segment.

    Returns
    -------
    pandas.DataFrame
        The selected rows (complete cases of the drivers) plus ``days_to_renewal``,
        ``first_renewal`` (0/1) and the standardised drivers ``z_<driver>``. ``attrs["dropped"]``
        holds the number of renewals dropped for a missing driver.

    Raises
    ------
    ParameterError
        If a column is missing or no row qualifies.
    """
    need = {"account_id", "obs_date", "contract_id", "renewal_date", "churned", "tenure_years", *drivers}
    missing = sorted(need - set(snap.columns))
    if missing:
        raise ParameterError(
            f"snapshot table lacks column(s) {missing}; build it with insights.metrics.snapshots.build."
        )
    if window_days < 0:
        raise ParameterError(f"window_days must be >= 0, got {window_days}.")
    days = (snap["renewal_date"] - snap["obs_date"]).dt.days
    rows = snap[snap["churned"].notna() & (days >= 0) & (days <= window_days)].copy()
    rows["days_to_renewal"] = days[rows.index].astype(float)
    rows = rows.sort_values(["contract_id", "obs_date"]).groupby("contract_id").tail(1)
    complete = rows.dropna(subset=list(drivers))
    if complete.empty:
        raise ParameterError(
            f"no settled renewal lies 0-{window_days} days after an observation date; "
            "use more quarters of data or a larger window."
        )
    complete = complete.sort_values(["obs_date", "account_id"]).reset_index(drop=True)
    complete["first_renewal"] = (
        (complete["tenure_years"] + complete["days_to_renewal"] / 365.25) < FIRST_RENEWAL_YEARS
    ).astype(float)
    complete = pd.concat([complete, standardise(complete, drivers)], axis=1)
    complete.attrs["dropped"] = int(len(rows) - len(complete))
    return complete


def standardise(rows: pd.DataFrame, drivers=DRIVERS) -> pd.DataFrame:
    """Drivers as z-scores over ``rows`` (after ``TRANSFORMS``), columns ``z_<driver>``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows with the driver columns, no missing values.
    drivers : sequence of str

    Returns
    -------
    pandas.DataFrame
        Same index, columns ``z_<driver>``.

    Raises
    ------
    ParameterError
        If a driver is constant over ``rows`` or depth is negative.
    """
    transforms = {d: t for d, t in TRANSFORMS.items() if d in drivers}
    return _standardise(rows, list(drivers), transforms).add_prefix("z_")


def control_matrix(rows: pd.DataFrame, segment_dummies: bool = True) -> pd.DataFrame:
    """The renewal controls: tenure_years, first_renewal and (optionally) tier indicators.

    Parameters
    ----------
    rows : pandas.DataFrame
        Analysis rows (``analysis_rows``).
    segment_dummies : bool
        Add ``segment[<tier>]`` indicators (first tier in sorted order = reference) when ``rows``
        has a segment column.

    Returns
    -------
    pandas.DataFrame
        The control columns, without any that is constant over ``rows``.
    """
    out = rows[["tenure_years", "first_renewal"]].astype(float).copy()
    if segment_dummies and "segment" in rows:
        levels = sorted(rows["segment"].dropna().unique())
        for s in levels[1:]:
            out[f"segment[{s}]"] = (rows["segment"] == s).astype(float)
    return out.loc[:, out.std(ddof=0) > 0]


def _model_table(rows: pd.DataFrame, drivers, segment_dummies: bool) -> tuple[pd.DataFrame, list[str]]:
    """The rows as the generic toolkit takes them: churned, account_id, the drivers and the controls."""
    controls = control_matrix(rows, segment_dummies)
    return pd.concat([rows[["churned", "account_id", *drivers]], controls], axis=1), list(controls.columns)


def correlation_groups(rows: pd.DataFrame, drivers=DRIVERS, distance: float = GROUP_DISTANCE):
    """Spearman correlations of the drivers and their groups: ``insights.stats.driver_ranking.correlation_groups``.

    Parameters
    ----------
    rows : pandas.DataFrame
    drivers : sequence of str
    distance : float

    Returns
    -------
    corr : pandas.DataFrame
    groups : list of list of str

    Raises
    ------
    ParameterError
        If a driver column is missing.
    """
    return toolkit.correlation_groups(rows, list(drivers), distance)


def odds_ratios(rows: pd.DataFrame, drivers=DRIVERS, segment_dummies: bool = True) -> pd.DataFrame:
    """Logistic regression of churn on the standardised drivers and the controls, SEs clustered by account.

    Parameters
    ----------
    rows : pandas.DataFrame
        Analysis rows (``analysis_rows``).
    drivers : sequence of str
    segment_dummies : bool
        Control for the contract-value tier.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (drivers first, then controls): coef, se, odds_ratio, or_low, or_high, p, method.

    Raises
    ------
    ParameterError
        As ``insights.stats.driver_ranking.odds_ratios``.
    """
    drivers = list(drivers)
    table, controls = _model_table(rows, drivers, segment_dummies)
    return toolkit.odds_ratios(
        table, "churned", drivers, controls, cluster="account_id", transforms=TRANSFORMS, min_events=1
    )


def rank_drivers(
    rows: pd.DataFrame,
    drivers=DRIVERS,
    n_boot: int = 500,
    seed: int = 7,
    segment_dummies: bool = True,
    groups=None,
    min_events: int = MIN_EVENTS,
    tie_probability: float = TIE_PROBABILITY,
) -> DriverRanking:
    """Rank the drivers of churn at renewal (``insights.stats.driver_ranking.rank_drivers`` with the renewal controls).

    Parameters
    ----------
    rows : pandas.DataFrame
        Output of ``analysis_rows`` (drivers, controls, churned, account_id).
    drivers : sequence of str
    n_boot : int
        Bootstrap replicates (accounts resampled with replacement).
    seed : int
        Seed of the bootstrap.
    segment_dummies : bool
        Include contract-value tier indicators among the controls.
    groups : list of list of str, optional
        Blocks of drivers ranked as one unit (default: ``correlation_groups``).
    min_events : int
        Fewer churn events than this: the ranking is still computed (if possible) but
        ``warning`` says it should not be used.
    tie_probability : float
        Neighbours ordered correctly in fewer than this share of replicates are tied.

    Returns
    -------
    DriverRanking
        The generic ranking of the drivers (controls not ranked), with ``warning`` set when there are
        fewer than ``min_events`` churn events.

    Raises
    ------
    ParameterError
        If n_boot < 20, there are no events / no non-events, or as the generic ``rank_drivers``.
    """
    drivers = list(drivers)
    n_events = int(rows["churned"].sum())
    if n_events == 0 or n_events == len(rows):
        raise ParameterError("ranking drivers needs both churned and renewed renewals in the rows.")
    table, controls = _model_table(rows, drivers, segment_dummies)
    ranking = toolkit.rank_drivers(
        table,
        "churned",
        drivers,
        controls,
        cluster="account_id",
        transforms=TRANSFORMS,
        n_boot=n_boot,
        seed=seed,
        groups=groups,
        tie_probability=tie_probability,
        min_events=1,
    )
    if n_events < min_events:
        few = (
            f"only {n_events} churn events (< {min_events}): too few to rank the drivers reliably; "
            "treat this ranking as unknown."
        )
        ranking.warning = few if ranking.warning is None else f"{few} {ranking.warning}"
    return ranking


def rank_by_segment(
    rows: pd.DataFrame,
    drivers=DRIVERS,
    n_boot: int = 500,
    seed: int = 7,
    min_events: int = MIN_EVENTS,
    groups=None,
    rank_anyway: bool = False,
) -> dict:
    """``rank_drivers`` within each contract-value tier (drivers re-standardised within the tier, no tier control).

    Parameters
    ----------
    rows : pandas.DataFrame
        Analysis rows with a ``segment`` column.
    drivers, n_boot, seed, groups
        As in ``rank_drivers``.
    min_events : int
        A tier with fewer churn events is not ranked.
    rank_anyway : bool
        Rank a tier with fewer than ``min_events`` events too (its ``warning`` is set); for
        benchmarks, not for decisions.

    Returns
    -------
    dict
        segment -> DriverRanking, or the warning string when the tier has fewer than ``min_events``
        events (then no ranking is produced unless ``rank_anyway``) or, with ``rank_anyway``, when
        it cannot be ranked.

    Raises
    ------
    ParameterError
        If ``rows`` has no segment column, or a tier cannot be ranked (unless ``rank_anyway``).
    """
    if "segment" not in rows:
        raise ParameterError(
            "rows need a `segment` column; add it with insights.analyses.segments.rules.rule_segments."
        )
    out: dict[str, DriverRanking | str] = {}
    for s in sorted(rows["segment"].dropna().unique()):
        sub = rows[rows["segment"] == s]
        events = int(sub["churned"].sum())
        if events < min_events and not (rank_anyway and 0 < events < len(sub)):
            out[s] = (
                f"{s}: only {events} churn events (< {min_events}) in {len(sub)} renewals; too few to rank the drivers."
            )
            continue
        try:
            out[s] = rank_drivers(
                sub, drivers, n_boot=n_boot, seed=seed, segment_dummies=False, groups=groups, min_events=min_events
            )
        except ParameterError as exc:
            if not rank_anyway:
                raise
            out[s] = f"{s}: only {events} churn events in {len(sub)} renewals; could not rank ({exc})"
    return out


def segment_summary(by_segment: dict, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per segment: renewals, events, headline ranking (with ties), top driver, P(top), warning.

    ``rows`` (the analysis rows) fills renewals and events of segments that were not ranked.

    Parameters
    ----------
    by_segment : dict
        Output of ``rank_by_segment``: segment -> DriverRanking or a warning string.
    rows : pandas.DataFrame, optional
        The analysis rows (segment, churned); fills renewals and events of segments that were
        not ranked, which are NaN without it.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment: renewals, events, ranking (the headline, ``None`` if not ranked), top,
        p_top (probability the top driver holds rank 1), warning.
    """
    recs = []
    for s, r in by_segment.items():
        if isinstance(r, str):
            sub = rows[rows["segment"] == s] if rows is not None else None
            recs.append(
                {
                    "segment": s,
                    "renewals": len(sub) if sub is not None else np.nan,
                    "events": int(sub["churned"].sum()) if sub is not None else np.nan,
                    "ranking": None,
                    "top": None,
                    "p_top": np.nan,
                    "warning": r,
                }
            )
        else:
            top = r.order[0]
            recs.append(
                {
                    "segment": s,
                    "renewals": r.n_rows,
                    "events": r.n_events,
                    "ranking": r.headline(),
                    "top": top,
                    "p_top": float(r.rank_probability.loc[top, 1]),
                    "warning": r.warning,
                }
            )
    return pd.DataFrame(recs).set_index("segment")
