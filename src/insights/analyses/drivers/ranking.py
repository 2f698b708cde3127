"""Retention drivers: which of satisfaction, switching cost, depth, breadth and perceived value move churn most.

Analysis rows
-------------
One row per renewal: the last snapshot (``insights.metrics.snapshots``) before it, taken only when the
renewal falls 0-92 days after the observation date (``WINDOW_DAYS``) and the outcome is settled.
Features are then at most one quarter old at the renewal, every renewal counts once, and no
feature comes from after the observation date. Rows with a missing driver are dropped
(complete cases; the count is reported).

Drivers are standardised over the analysed rows (depth is log-transformed first, it is
right-skewed), so every effect is per +1 standard deviation. Controls, in every model:
contract-value tier (indicators, overall analysis only), tenure in years and ``first_renewal``
(tenure below ``FIRST_RENEWAL_YEARS`` at the renewal: first renewals churn more, and tenure is
part of the switching-cost composite, so without this control switching cost would pick it up).

Importance
----------
- Logistic regression odds ratios per +1 SD with Wald 95% CIs from standard errors clustered by
  account (statsmodels ``cov_type="cluster"``).
- General dominance (``insights.stats.dominance``): each driver's average contribution to McFadden
  pseudo-R² over all subsets of the other drivers, controls always in; ``share`` = its part of
  the pseudo-R² all drivers add over the controls. This is the headline importance.
- Account-clustered bootstrap (accounts resampled with replacement, ``n_boot`` replicates, seeded):
  percentile 95% CIs of odds ratios and shares, and the probability of each driver holding each
  rank (by share).

Ties
----
Drivers are ordered by their point-estimate share. Two neighbours in that order are *tied* when
the bootstrap puts the higher one above the lower one in fewer than ``TIE_PROBABILITY`` (90%) of
replicates; ties chain into tie groups (rank ``"2="``).

Correlated drivers
------------------
Drivers are clustered hierarchically (complete linkage) on 1 - |Spearman rho|; drivers closer
than ``GROUP_DISTANCE`` (|rho| >= 0.7 between every pair of a group) form one block that is ranked
as a unit, since the data cannot tell their effects apart.

Associations, not causes: a ranking says which metric goes with churn after the controls, not
what would happen if the CS team moved it; a randomised pilot (notebooks 06/07) says that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from threadpoolctl import threadpool_limits

from insights.stats import dominance as dom
from insights.errors import ParameterError
from insights.metrics.snapshots import DRIVERS

#: A renewal is analysed from the snapshot 0..WINDOW_DAYS days before it (the last look before it).
WINDOW_DAYS = 92
#: Tenure (years) at the renewal below which it is the account's first renewal.
FIRST_RENEWAL_YEARS = 1.1
#: Drivers closer than this on 1 - |Spearman rho| are grouped (complete linkage).
GROUP_DISTANCE = 0.3
#: Neighbours ordered correctly in fewer than this share of bootstrap replicates are tied.
TIE_PROBABILITY = 0.9
#: A segment with fewer churn events than this is not ranked (shown with a warning).
MIN_EVENTS = 50
#: Drivers transformed with log1p before standardising.
LOG_DRIVERS = ("depth",)


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
        raise ParameterError(f"snapshot table lacks column(s) {missing}; build it with insights.metrics.snapshots.build.")
    if window_days < 0:
        raise ParameterError(f"window_days must be >= 0, got {window_days}.")
    days = (snap["renewal_date"] - snap["obs_date"]).dt.days
    rows = snap[snap["churned"].notna() & (days >= 0) & (days <= window_days)].copy()
    rows["days_to_renewal"] = days[rows.index].astype(float)
    rows = rows.sort_values(["contract_id", "obs_date"]).groupby("contract_id").tail(1)
    complete = rows.dropna(subset=list(drivers))
    if complete.empty:
        raise ParameterError(f"no settled renewal lies 0-{window_days} days after an observation date; "
                             "use more quarters of data or a larger window.")
    complete = complete.sort_values(["obs_date", "account_id"]).reset_index(drop=True)
    complete["first_renewal"] = ((complete["tenure_years"] + complete["days_to_renewal"] / 365.25)
                                 < FIRST_RENEWAL_YEARS).astype(float)
    complete = pd.concat([complete, standardise(complete, drivers)], axis=1)
    complete.attrs["dropped"] = int(len(rows) - len(complete))
    return complete


def standardise(rows: pd.DataFrame, drivers=DRIVERS) -> pd.DataFrame:
    """Drivers as z-scores over ``rows`` (log1p first for ``LOG_DRIVERS``), columns ``z_<driver>``."""
    out = pd.DataFrame(index=rows.index)
    for d in drivers:
        x = rows[d].astype(float)
        x = np.log1p(x.clip(lower=0)) if d in LOG_DRIVERS else x
        sd = x.std(ddof=0)
        out[f"z_{d}"] = (x - x.mean()) / sd if sd > 0 else 0.0
    return out


def control_matrix(rows: pd.DataFrame, segment_dummies: bool = True) -> pd.DataFrame:
    """Controls: tenure_years, first_renewal and (optionally) tier indicators (first tier = reference)."""
    out = rows[["tenure_years", "first_renewal"]].astype(float).copy()
    if segment_dummies and "segment" in rows:
        levels = sorted(rows["segment"].dropna().unique())
        for s in levels[1:]:
            out[f"segment[{s}]"] = (rows["segment"] == s).astype(float)
    return out.loc[:, out.std(ddof=0) > 0]


# --------------------------------------------------------------------------- correlation


def correlation_groups(rows: pd.DataFrame, drivers=DRIVERS, distance: float = GROUP_DISTANCE):
    """Spearman correlations of the drivers and their groups (complete linkage on 1 - |rho|).

    Returns
    -------
    corr : pandas.DataFrame
        Spearman correlation matrix.
    groups : list of list of str
        Groups of drivers (singletons for ungrouped drivers), in ``drivers`` order.
    """
    corr = rows[list(drivers)].corr(method="spearman")
    dist = 1.0 - corr.abs().to_numpy()
    np.fill_diagonal(dist, 0.0)
    labels = fcluster(linkage(squareform(dist, checks=False), method="complete"), t=distance, criterion="distance")
    groups: dict[int, list[str]] = {}
    for d, lab in zip(drivers, labels):
        groups.setdefault(int(lab), []).append(d)
    return corr, sorted(groups.values(), key=lambda g: list(drivers).index(g[0]))


# --------------------------------------------------------------------------- odds ratios


def odds_ratios(rows: pd.DataFrame, drivers=DRIVERS, segment_dummies: bool = True) -> pd.DataFrame:
    """Logistic regression of churn on the standardised drivers and controls, SEs clustered by account.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (drivers first, then controls): coef, se, odds_ratio, or_low, or_high, p, method.
    """
    X = pd.concat([rows[[f"z_{d}" for d in drivers]].set_axis(list(drivers), axis=1),
                   control_matrix(rows, segment_dummies)], axis=1)
    X = sm.add_constant(X, has_constant="add")
    groups = pd.factorize(rows["account_id"])[0]
    fit = sm.Logit(rows["churned"].astype(float), X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    ci = fit.conf_int()
    out = pd.DataFrame({"coef": fit.params, "se": fit.bse, "odds_ratio": np.exp(fit.params),
                        "or_low": np.exp(ci[0]), "or_high": np.exp(ci[1]), "p": fit.pvalues}).drop(index="const")
    out["method"] = "logit, Wald 95% CI, SE clustered by account"
    out.index.name = "term"
    return out


# --------------------------------------------------------------------------- dominance and bootstrap


@dataclass
class DriverRanking:
    """Importance of the drivers with bootstrap uncertainty.

    Attributes
    ----------
    importance : pandas.DataFrame
        One row per block (driver or group), ordered by share: general_dominance, share,
        share_low, share_high, odds_ratio, or_low, or_high (cluster-robust Wald), or_boot_low,
        or_boot_high (bootstrap percentile; a group's odds ratio is not defined), rank
        ("1", "2=", ...), tied_with_next, p_above_next, method.
    rank_probability : pandas.DataFrame
        P(block holds rank r) over bootstrap replicates (rows = blocks, columns = ranks 1..k).
    pairwise : pandas.DataFrame
        P(row block's share > column block's share) over replicates.
    boot_shares : pandas.DataFrame
        Share of each block in each replicate.
    n_rows, n_events, n_accounts, n_boot : int
        n_boot counts the replicates used (a replicate whose fit is not finite is dropped).
    fit_full, fit_base : float
        McFadden pseudo-R² of the full and controls-only models.
    groups : list of list of str
    warning : str or None
        Set when the events are too few to rank.
    n_separated : int
        Replicates in which some model did not converge (separation, e.g. a tier without churn in
        the resample); their pseudo-R² is the likelihood's supremum and is kept.
    """

    importance: pd.DataFrame
    rank_probability: pd.DataFrame
    pairwise: pd.DataFrame
    boot_shares: pd.DataFrame
    n_rows: int
    n_events: int
    n_accounts: int
    n_boot: int
    fit_full: float
    fit_base: float
    groups: list = field(default_factory=list)
    warning: str | None = None
    n_separated: int = 0

    @property
    def order(self) -> list[str]:
        """Blocks from most to least important."""
        return list(self.importance.index)

    def headline(self) -> str:
        """One line: the ranking with ties, e.g. ``perceived_value > satisfaction = breadth > ...``."""
        parts = []
        for i, name in enumerate(self.order):
            parts.append(name)
            if i < len(self.order) - 1:
                parts.append("=" if self.importance["tied_with_next"].iloc[i] else ">")
        return " ".join(parts)


def _bootstrap_counts(accounts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Row frequency weights of ``n_boot`` account-clustered bootstrap replicates, shape (n_boot, n_rows)."""
    codes, uniq = pd.factorize(accounts)
    n_acc = len(uniq)
    draws = rng.integers(0, n_acc, size=(n_boot, n_acc))
    acc_counts = np.stack([np.bincount(d, minlength=n_acc) for d in draws])
    return acc_counts[:, codes].astype(float)


def _ranks_from(values: np.ndarray) -> np.ndarray:
    """Rank (1 = largest) of each column within each row."""
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, values.shape[1] + 1)[None, :]
    return ranks


def rank_drivers(rows: pd.DataFrame, drivers=DRIVERS, n_boot: int = 500, seed: int = 7,
                 segment_dummies: bool = True, groups=None, min_events: int = MIN_EVENTS,
                 tie_probability: float = TIE_PROBABILITY) -> DriverRanking:
    """Rank the drivers by general dominance (McFadden pseudo-R²), with an account bootstrap.

    Parameters
    ----------
    rows : pandas.DataFrame
        Output of ``analysis_rows`` (standardised drivers, controls, churned, account_id).
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

    Returns
    -------
    DriverRanking

    Raises
    ------
    ParameterError
        If n_boot < 20, there are no events / no non-events, or fewer than half of the bootstrap
        replicates can be fitted.
    """
    if n_boot < 20:
        raise ParameterError(f"n_boot must be at least 20 for percentile intervals, got {n_boot}.")
    drivers = list(drivers)
    y = rows["churned"].to_numpy(float)
    n_events = int(y.sum())
    if n_events == 0 or n_events == len(y):
        raise ParameterError("ranking drivers needs both churned and renewed renewals in the rows.")
    if groups is None:
        groups = correlation_groups(rows, drivers)[1]
    blocks = [[drivers.index(d) for d in g] for g in groups]
    block_names = [" + ".join(g) for g in groups]
    P = rows[[f"z_{d}" for d in drivers]].to_numpy(float)
    C = control_matrix(rows, segment_dummies).to_numpy(float)
    point = dom.dominance(P, y, C, blocks=blocks, names=drivers)
    ors = odds_ratios(rows, drivers, segment_dummies).loc[drivers]

    rng = np.random.default_rng(seed)
    weights = _bootstrap_counts(rows["account_id"].to_numpy(), n_boot, rng)
    shares = np.empty((n_boot, len(blocks)))
    coefs = np.empty((n_boot, len(drivers)))
    converged = np.empty(n_boot, bool)
    warm = point.beta_subsets
    start = 1 + C.shape[1]
    with threadpool_limits(limits=1, user_api="blas"):  # replicates run in threads instead
        for b, res in enumerate(dom.dominance_replicates(P, y, weights, C, blocks=blocks, beta0=warm)):
            shares[b] = res.share
            coefs[b] = res.beta_full[start:]
            converged[b] = res.converged
    ok = np.isfinite(shares).all(axis=1) & np.isfinite(coefs).all(axis=1)
    n_separated = int((ok & ~converged).sum())
    if ok.sum() < n_boot / 2:
        raise ParameterError(f"only {int(ok.sum())} of {n_boot} bootstrap replicates could be fitted (too few "
                             "churn events in the resamples); rank a larger group of renewals.")
    shares, coefs = shares[ok], coefs[ok]

    order = np.argsort(-point.share, kind="stable")
    ranks = _ranks_from(shares)
    k = len(blocks)
    rank_prob = pd.DataFrame([[np.mean(ranks[:, i] == r) for r in range(1, k + 1)] for i in range(k)],
                             index=block_names, columns=range(1, k + 1))
    rank_prob.columns.name = "rank"
    pairwise = pd.DataFrame([[np.mean(shares[:, i] > shares[:, j]) if i != j else np.nan for j in range(k)]
                             for i in range(k)], index=block_names, columns=block_names)
    imp = pd.DataFrame({"general_dominance": point.general, "share": point.share,
                        "share_low": np.percentile(shares, 2.5, axis=0),
                        "share_high": np.percentile(shares, 97.5, axis=0)}, index=block_names)
    for col in ("odds_ratio", "or_low", "or_high", "or_boot_low", "or_boot_high"):
        imp[col] = np.nan
    for g, name in zip(groups, block_names):
        if len(g) == 1:
            j = drivers.index(g[0])
            cols = ["odds_ratio", "or_low", "or_high"]
            imp.loc[name, cols] = ors.loc[g[0], cols].to_numpy()
            imp.loc[name, "or_boot_low"] = np.exp(np.percentile(coefs[:, j], 2.5))
            imp.loc[name, "or_boot_high"] = np.exp(np.percentile(coefs[:, j], 97.5))
    imp = imp.iloc[order]
    p_next = [pairwise.loc[a, b] for a, b in zip(imp.index[:-1], imp.index[1:])] + [np.nan]
    imp["p_above_next"] = p_next
    imp["tied_with_next"] = [bool(p < tie_probability) for p in p_next[:-1]] + [False]
    labels, r = [], 1
    for i in range(k):
        if i == 0 or not imp["tied_with_next"].iloc[i - 1]:
            r = i + 1
        tied = imp["tied_with_next"].iloc[i] or (i > 0 and imp["tied_with_next"].iloc[i - 1])
        labels.append(f"{r}=" if tied else f"{r}")
    imp.insert(0, "rank", labels)
    imp["method"] = (f"general dominance on McFadden pseudo-R2; percentile 95% CIs from {len(shares)} account-"
                     f"bootstrap replicates; odds ratio per +1 SD, Wald 95% CI clustered by account")
    imp.index.name = "driver"
    warning = None
    if n_events < min_events:
        warning = (f"only {n_events} churn events (< {min_events}): too few to rank the drivers reliably; "
                   "treat this ranking as unknown.")
    return DriverRanking(imp, rank_prob.loc[imp.index], pairwise.loc[imp.index, imp.index],
                         pd.DataFrame(shares, columns=block_names), len(rows), n_events,
                         int(rows["account_id"].nunique()), int(ok.sum()), point.fit_full, point.fit_base,
                         [list(g) for g in groups], warning, n_separated)


def rank_by_segment(rows: pd.DataFrame, drivers=DRIVERS, n_boot: int = 500, seed: int = 7,
                    min_events: int = MIN_EVENTS, groups=None, rank_anyway: bool = False) -> dict:
    """``rank_drivers`` within each contract-value tier (drivers re-standardised within the tier).

    rank_anyway : bool
        Rank a tier with fewer than ``min_events`` events too (its ``warning`` is set); for
        benchmarks, not for decisions.

    Returns
    -------
    dict
        segment -> DriverRanking, or the warning string when the tier has fewer than ``min_events``
        events (then no ranking is produced unless ``rank_anyway``).
    """
    if "segment" not in rows:
        raise ParameterError("rows need a `segment` column; add it with insights.analyses.segments.rules.rule_segments.")
    out = {}
    for s in sorted(rows["segment"].dropna().unique()):
        sub = rows[rows["segment"] == s].copy()
        sub[[f"z_{d}" for d in drivers]] = standardise(sub, drivers).to_numpy()
        events = int(sub["churned"].sum())
        if events < min_events and not (rank_anyway and 0 < events < len(sub)):
            out[s] = (f"{s}: only {events} churn events (< {min_events}) in {len(sub)} renewals; "
                      "too few to rank the drivers.")
            continue
        try:
            out[s] = rank_drivers(sub, drivers, n_boot=n_boot, seed=seed, segment_dummies=False, groups=groups,
                                  min_events=min_events)
        except ParameterError as exc:
            if not rank_anyway:
                raise
            out[s] = f"{s}: only {events} churn events in {len(sub)} renewals; could not rank ({exc})"
    return out


def segment_summary(by_segment: dict, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per segment: renewals, events, headline ranking (with ties), top driver, P(top), warning.

    ``rows`` (the analysis rows) fills renewals and events of segments that were not ranked.
    """
    recs = []
    for s, r in by_segment.items():
        if isinstance(r, str):
            sub = rows[rows["segment"] == s] if rows is not None else None
            recs.append({"segment": s, "renewals": len(sub) if sub is not None else np.nan,
                         "events": int(sub["churned"].sum()) if sub is not None else np.nan, "ranking": None,
                         "top": None, "p_top": np.nan, "warning": r})
        else:
            top = r.order[0]
            recs.append({"segment": s, "renewals": r.n_rows, "events": r.n_events, "ranking": r.headline(),
                         "top": top, "p_top": float(r.rank_probability.loc[top, 1]), "warning": r.warning})
    return pd.DataFrame(recs).set_index("segment")
