"""Rank the drivers of a binary outcome with uncertainty, on any DataFrame.

``rank_drivers(frame, outcome, drivers, controls=None, cluster=None, transforms=None, ...)``
answers "which of these measures goes with the outcome most, after the controls, and how sure
are we of the order?". The table is checked first (``insights.stats.model_frame``: missing or
non-numeric columns, a 0/1 outcome with enough events, constant or exactly collinear columns;
rows with a missing value are dropped and counted). Then:

Importance
----------
- Odds ratios per +1 SD of each driver from one logistic regression of the outcome on the
  standardised drivers and the controls (statsmodels), Wald CIs with standard errors clustered by
  ``cluster`` when given, model-based otherwise (``odds_ratios``).
- General dominance (``insights.stats.dominance``): each driver's average contribution to
  McFadden's pseudo-R² over the subsets of the other drivers, controls always in; ``share`` is its
  part of the pseudo-R² all drivers add over the controls. This orders the drivers.
- A bootstrap (``n_boot`` replicates, seeded) resampling clusters with replacement (rows when
  there is no cluster): percentile CIs of shares and odds ratios, the probability of each driver
  holding each rank, and the probability that each driver's share beats each other's. With more
  than ``max_resample`` clusters (default ``MAX_RESAMPLE``) each replicate draws ``m =
  max_resample`` of the ``n`` clusters (an m-out-of-n bootstrap) and its deviation from the point
  estimate is shrunk by ``sqrt(m / n)`` (shares and coefficients are smooth functions of the
  fits, whose spread falls as ``1 / sqrt(sample size)``); the method text says so.

Exact or sampled dominance
--------------------------
Exact general dominance fits all ``2**k`` subsets of ``k`` drivers (or blocks) in every replicate.
Up to ``MAX_EXACT_BLOCKS`` blocks it does (``shapley="auto"``); above, the shares are sampled
Shapley values (``insights.stats.shapley.cyclic_design``: ``n_cycles`` random orderings with their
cyclic shifts and reversals, ``2 k n_cycles`` permutations, about ``k(k - 3) n_cycles`` subsets),
whose Monte Carlo standard error is the ``share_mc_se`` column (0 when exact).

*How the two errors combine.* The same orderings are used for the point estimate and every
bootstrap replicate (common random numbers: replicates can then start from the point fits and the
ranks compare like with like). The bootstrap intervals and rank probabilities therefore describe
the resampling of the data for that fixed set of orderings: they do **not** include the Monte Carlo
error, which shifts the point estimate and the whole bootstrap distribution together. The total
standard error of a share is about ``sqrt(bootstrap SD² + share_mc_se²)``. When the Monte Carlo
error exceeds ``MC_WARN_RATIO`` of a share's bootstrap SD (it then adds more than 3% to the total),
``warning`` says so and asks for more cycles.

Ties and blocks
---------------
Drivers are ordered by their point-estimate share. Two neighbours are *tied* when the bootstrap
puts the higher one above the lower one in fewer than ``tie_probability`` of replicates; ties
chain (rank ``"2="``). Drivers closer than ``group_distance`` on 1 - |Spearman rho| (complete
linkage: |rho| >= 0.7 between every pair by default) form one block ranked as a unit, since the
data cannot tell their effects apart; pass ``groups`` to choose the blocks yourself.

Associations, not causes: a ranking says which measure goes with the outcome after the controls,
not what would happen if it were moved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from threadpoolctl import threadpool_limits

from insights.errors import ParameterError
from insights.stats import dominance as dom
from insights.stats.levels import check_level, level_label
from insights.stats.model_frame import ModelFrame, model_frame
from insights.stats.shapley import MAX_EXACT_PLAYERS, ShapleyDesign, cyclic_design, exact_design
from insights.stats.table_checks import require_columns

#: Drivers closer than this on 1 - |Spearman rho| are grouped (complete linkage).
GROUP_DISTANCE = 0.3
#: Neighbours ordered correctly in fewer than this share of bootstrap replicates are tied.
TIE_PROBABILITY = 0.9
#: ``shapley="auto"`` is exact up to this many blocks (2**8 = 256 subsets per replicate), sampled above.
MAX_EXACT_BLOCKS = 8
#: Random cyclic orderings of a sampled estimate (each adds about k(k - 3) subsets per replicate).
N_CYCLES = 4
#: Warn when a share's Monte Carlo SE exceeds this fraction of its bootstrap SD.
MC_WARN_RATIO = 0.25
#: Fewer clusters than this: the cluster bootstrap and cluster-robust SEs are unreliable (warning).
FEW_CLUSTERS = 30
#: A bootstrap replicate draws at most this many clusters (rows without a cluster); with more, an
#: m-out-of-n bootstrap (see ``rank_drivers``) keeps the cost of a replicate from growing with the data.
MAX_RESAMPLE = 20_000


def correlation_groups(frame: pd.DataFrame, drivers, distance: float = GROUP_DISTANCE):
    """Spearman correlations of the drivers and their groups (complete linkage on 1 - |rho|).

    Parameters
    ----------
    frame : pandas.DataFrame
    drivers : list of str
        Numeric columns.
    distance : float
        Drivers closer than this on 1 - |rho| (between every pair of a group) are grouped.

    Returns
    -------
    corr : pandas.DataFrame
        Spearman correlation matrix.
    groups : list of list of str
        Groups of drivers (singletons for ungrouped drivers), in ``drivers`` order.

    Raises
    ------
    ParameterError
        If a driver column is missing.
    """
    drivers = list(drivers)
    require_columns(frame, drivers)
    corr = frame[drivers].corr(method="spearman")
    if len(drivers) == 1:
        return corr, [drivers]
    dist = 1.0 - corr.abs().to_numpy()
    np.fill_diagonal(dist, 0.0)
    labels = fcluster(linkage(squareform(dist, checks=False), method="complete"), t=distance, criterion="distance")
    groups: dict[int, list[str]] = {}
    for d, lab in zip(drivers, labels):
        groups.setdefault(int(lab), []).append(d)
    return corr, sorted(groups.values(), key=lambda g: drivers.index(g[0]))


def _level_parts(level: float) -> tuple[float, float, str]:
    """Lower and upper percentiles of a central interval and its label ("95%")."""
    check_level(level)
    low = round(50.0 * (1.0 - level), 10)
    return low, 100.0 - low, level_label(level)


def _odds_ratio_table(mf: ModelFrame, level: float) -> pd.DataFrame:
    """Logistic regression of the outcome on the standardised drivers and the controls: odds ratios with Wald CIs."""
    X = sm.add_constant(pd.concat([mf.drivers, mf.controls], axis=1), has_constant="add")
    model = sm.Logit(mf.y, X)
    if mf.clusters is None:
        fit = model.fit(disp=0)
        se_kind = "model-based SE"
    else:
        fit = model.fit(disp=0, cov_type="cluster", cov_kwds={"groups": mf.clusters})
        se_kind = f"SE clustered by {mf.cluster}"
    ci = fit.conf_int(alpha=round(1.0 - level, 10))
    out = pd.DataFrame(
        {
            "coef": fit.params,
            "se": fit.bse,
            "odds_ratio": np.exp(fit.params),
            "or_low": np.exp(ci[0]),
            "or_high": np.exp(ci[1]),
            "p": fit.pvalues,
        }
    ).drop(index="const")
    out["method"] = f"logit, Wald {_level_parts(level)[2]} CI, {se_kind}; drivers per +1 SD"
    out.index.name = "term"
    return out


def odds_ratios(
    frame: pd.DataFrame,
    outcome: str,
    drivers,
    controls=None,
    cluster: str | None = None,
    transforms: dict | None = None,
    level: float = 0.95,
    min_events: int = 10,
) -> pd.DataFrame:
    """Odds ratios per +1 SD of each driver from one logistic regression with the controls.

    Parameters
    ----------
    frame, outcome, drivers, controls, cluster, transforms, min_events
        As in ``rank_drivers``.
    level : float
        Confidence level of the Wald intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (drivers first, then control terms): coef, se, odds_ratio, or_low,
        or_high, p, method. Control terms are per unit of the column as given.

    Raises
    ------
    ParameterError
        As ``insights.stats.model_frame.model_frame``, or if ``level`` is not in (0, 1).
    """
    _level_parts(level)
    return _odds_ratio_table(model_frame(frame, outcome, drivers, controls, cluster, transforms, min_events), level)


@dataclass
class DriverRanking:
    """Importance of the drivers with bootstrap uncertainty.

    Attributes
    ----------
    importance : pandas.DataFrame
        One row per block (driver or group), ordered by share: rank ("1", "2=", ...),
        general_dominance, share, share_low, share_high (bootstrap percentile), share_mc_se
        (Monte Carlo SE; 0 when exact), odds_ratio, or_low, or_high (Wald), or_boot_low,
        or_boot_high (bootstrap percentile; a group's odds ratio is not defined), p_above_next,
        tied_with_next, method.
    rank_probability : pandas.DataFrame
        P(block holds rank r) over bootstrap replicates (rows = blocks, columns = ranks 1..k).
    pairwise : pandas.DataFrame
        P(row block's share > column block's share) over replicates.
    boot_shares : pandas.DataFrame
        Share of each block in each replicate (after the m-out-of-n scaling, when used).
    n_rows, n_events, n_clusters, n_boot : int
        ``n_clusters`` equals ``n_rows`` without a cluster column; ``n_boot`` counts the
        replicates used (a replicate whose fit is not finite is dropped).
    fit_full, fit_base : float
        McFadden pseudo-R² of the full and controls-only models.
    groups : list of list of str
    warning : str or None
        Set when the result should not be trusted as is (too few clusters, a large Monte Carlo
        error; callers may add their own reasons).
    n_separated : int
        Replicates in which some model did not converge (separation, e.g. a category without
        events in the resample); their pseudo-R² is the likelihood's supremum and is kept.
    n_dropped : int
        Rows dropped for a missing value.
    shapley : str
        How the dominance was computed (exact over all subsets, or sampled and how).
    level : float
        Confidence level of the intervals.
    """

    importance: pd.DataFrame
    rank_probability: pd.DataFrame
    pairwise: pd.DataFrame
    boot_shares: pd.DataFrame
    n_rows: int
    n_events: int
    n_clusters: int
    n_boot: int
    fit_full: float
    fit_base: float
    groups: list = field(default_factory=list)
    warning: str | None = None
    n_separated: int = 0
    n_dropped: int = 0
    shapley: str = ""
    level: float = 0.95

    @property
    def order(self) -> list[str]:
        """Blocks from most to least important."""
        return list(self.importance.index)

    def headline(self, labels: dict | None = None) -> str:
        """One line: the ranking with ties, e.g. ``perceived_value > satisfaction = breadth > ...``.

        Parameters
        ----------
        labels : dict of str to str, optional
            Driver -> name shown (a block's drivers are labelled one by one); default the names.

        Returns
        -------
        str
            Block names from most to least important, joined by ``"="`` where a block is tied with
            the next (column ``tied_with_next`` of ``importance``) and ``">"`` otherwise.
        """
        parts = []
        for i, name in enumerate(self.order):
            parts.append(" + ".join((labels or {}).get(d, d) for d in name.split(" + ")))
            if i < len(self.order) - 1:
                parts.append("=" if self.importance["tied_with_next"].iloc[i] else ">")
        return " ".join(parts)


def _bootstrap_counts(codes: np.ndarray, n_boot: int, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """Row frequency weights of ``n_boot`` cluster-bootstrap replicates, shape (n_boot, n_rows).

    ``codes`` are cluster codes 0..G-1 (``pandas.factorize``); each replicate draws ``size``
    (default G) clusters with replacement and gives every row its cluster's count. The counts are
    integers in the smallest type that holds ``size`` (a replicate is turned into floats when it
    is fitted), so 500 replicates of 200,000 rows take 0.2 GB instead of 0.8 GB.
    """
    n_clusters = int(codes.max()) + 1
    size = n_clusters if size is None else size
    draws = rng.integers(0, n_clusters, size=(n_boot, size))
    counts = np.empty((n_boot, n_clusters), dtype=np.int16 if size < 2**15 else np.int32)
    for b, d in enumerate(draws):
        counts[b] = np.bincount(d, minlength=n_clusters)
    return counts[:, codes]


def _ranks_from(values: np.ndarray) -> np.ndarray:
    """Rank (1 = largest) of each column within each row."""
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, values.shape[1] + 1)[None, :]
    return ranks


def _rank_labels(tied_with_next: list[bool]) -> list[str]:
    """Rank labels with ties: ``["1", "2=", "2=", "4"]``."""
    labels, r = [], 1
    for i, tied in enumerate(tied_with_next):
        if i == 0 or not tied_with_next[i - 1]:
            r = i + 1
        labels.append(f"{r}=" if tied or (i > 0 and tied_with_next[i - 1]) else f"{r}")
    return labels


def _shapley_design(n_blocks: int, shapley: str, max_exact: int, n_cycles: int, seed: int) -> ShapleyDesign:
    if shapley not in ("auto", "exact", "sampled"):
        raise ParameterError(f"shapley must be 'auto', 'exact' or 'sampled', got {shapley!r}.")
    if shapley == "exact" and n_blocks > MAX_EXACT_PLAYERS:
        raise ParameterError(
            f"shapley='exact' fits all 2**k subsets and takes at most {MAX_EXACT_PLAYERS} drivers or "
            f"blocks, got {n_blocks}; use shapley='auto' or 'sampled'."
        )
    if shapley == "exact" or (shapley == "auto" and n_blocks <= max_exact):
        return exact_design(n_blocks)
    if n_blocks < 2:
        raise ParameterError("a sampled dominance needs at least 2 drivers or blocks; use shapley='exact'.")
    return cyclic_design(n_blocks, n_cycles, np.random.default_rng((seed, 1)))  # a stream apart from the bootstrap


def _check_groups(groups, drivers: list[str]) -> list[list[str]]:
    groups = [list(g) for g in groups]
    flat = [d for g in groups for d in g]
    if sorted(flat) != sorted(drivers) or any(not g for g in groups):
        raise ParameterError(
            f"groups must put every driver in exactly one non-empty group; got {groups} for drivers {drivers}."
        )
    return groups


def rank_drivers(
    frame: pd.DataFrame,
    outcome: str,
    drivers,
    controls=None,
    cluster: str | None = None,
    transforms: dict | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    *,
    groups=None,
    group_distance: float = GROUP_DISTANCE,
    tie_probability: float = TIE_PROBABILITY,
    min_events: int = 10,
    shapley: str = "auto",
    max_exact: int = MAX_EXACT_BLOCKS,
    n_cycles: int = N_CYCLES,
    n_jobs: int | None = None,
    max_resample: int | None = MAX_RESAMPLE,
) -> DriverRanking:
    """Rank the drivers of a 0/1 outcome by general dominance, with odds ratios and a bootstrap.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per observation (e.g. per customer, or per customer and period with ``cluster``).
    outcome : str
        0/1 (or boolean) column, e.g. churned.
    drivers : list of str
        Numeric columns to rank; standardised over the analysed rows (effects per +1 SD).
    controls : list of str, optional
        Columns in every model, including the base one (default none). Numeric or boolean columns
        are used as given; categorical ones (text, pandas category) are dummy-encoded with the
        first level in sorted order as the reference.
    cluster : str, optional
        Column of cluster ids (e.g. customer id when a customer has several rows): the bootstrap
        resamples clusters and the odds ratios' SEs are cluster-robust. Default: rows independent.
    transforms : dict, optional
        Column -> ``"log1p"``, ``"log"``, ``"sqrt"`` or a function of a Series, applied before
        standardising. Nothing is transformed unless named here.
    n_boot : int
        Bootstrap replicates (at least 20).
    seed : int
        Seeds the bootstrap and, in a stream of its own, a sampled design's orderings (so the
        point estimate does not depend on ``n_boot``). Same inputs and seed, same result.
    level : float
        Confidence level of every interval.
    groups : list of list of str, optional
        Blocks of drivers ranked as one unit (default: ``correlation_groups`` at ``group_distance``).
    group_distance : float
        See ``correlation_groups``; 0 groups only perfectly rank-correlated drivers.
    tie_probability : float
        Neighbours ordered correctly in fewer than this share of replicates are tied.
    min_events : int
        Fewest rows each outcome class must have (``ParameterError`` otherwise).
    shapley : {"auto", "exact", "sampled"}
        Exact general dominance over all subsets, or the sampled estimate; ``"auto"`` is exact up
        to ``max_exact`` blocks.
    max_exact : int
        Largest number of blocks ``"auto"`` computes exactly (default 8: 256 subsets per replicate).
    n_cycles : int
        Random cyclic orderings of the sampled estimate (at least 2; Monte Carlo SE ~ 1/sqrt).
    n_jobs : int, optional
        Threads for the bootstrap replicates (default: CPUs, at most 4).
    max_resample : int, optional
        Most clusters (rows without a cluster) a replicate draws; above it the m-out-of-n
        bootstrap described in the module docstring. None: always all of them.

    Returns
    -------
    DriverRanking

    Raises
    ------
    ParameterError
        For a table ``insights.stats.model_frame.model_frame`` rejects (missing, non-numeric,
        constant or collinear columns, a bad outcome, too few events), ``n_boot`` < 20, a bad
        ``level``, ``groups`` or ``shapley``, or when fewer than half of the bootstrap replicates
        can be fitted.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 20:
        raise ParameterError(f"n_boot must be a whole number of at least 20 for percentile intervals, got {n_boot!r}.")
    q_low, q_high, pct = _level_parts(level)
    mf = model_frame(frame, outcome, drivers, controls, cluster, transforms, min_events)
    drivers = list(mf.drivers.columns)
    groups = (
        correlation_groups(mf.rows, drivers, group_distance)[1] if groups is None else _check_groups(groups, drivers)
    )
    blocks = [[drivers.index(d) for d in g] for g in groups]
    block_names = [" + ".join(g) for g in groups]
    design = _shapley_design(len(blocks), shapley, max_exact, n_cycles, seed)
    y = mf.y.to_numpy(float)
    P = mf.drivers.to_numpy(float)
    C = mf.controls.to_numpy(float)
    ors = _odds_ratio_table(mf, level).loc[drivers]

    rng = np.random.default_rng(seed)
    codes = np.arange(mf.n_rows) if mf.clusters is None else mf.clusters
    n_units = int(codes.max()) + 1
    m = n_units if max_resample is None else min(n_units, int(max_resample))
    if m < 1:
        raise ParameterError(f"max_resample must be at least 1 (or None), got {max_resample!r}.")
    weights = _bootstrap_counts(codes, n_boot, rng, m)
    shares = np.empty((n_boot, len(blocks)))
    coefs = np.empty((n_boot, len(drivers)))
    converged = np.empty(n_boot, bool)
    start = 1 + C.shape[1]
    threads = min(4, os.cpu_count() or 1) if n_jobs is None else int(n_jobs)
    with threadpool_limits(limits=1, user_api="blas"):  # subsets and replicates run in threads instead
        point = dom.dominance(P, y, C, blocks=blocks, names=drivers, design=design, n_jobs=threads)
        replicates = dom.dominance_replicates(
            P, y, weights, C, blocks=blocks, beta0=point.beta_subsets, n_jobs=n_jobs, design=design
        )
        for b, res in enumerate(replicates):
            shares[b] = res.share
            coefs[b] = res.beta_full[start:]
            converged[b] = res.converged
    ok = np.isfinite(shares).all(axis=1) & np.isfinite(coefs).all(axis=1)
    n_separated = int((ok & ~converged).sum())
    if ok.sum() < n_boot / 2:
        raise ParameterError(
            f"only {int(ok.sum())} of {n_boot} bootstrap replicates could be fitted (too few "
            "events in the resamples); use more rows or fewer drivers."
        )
    shares, coefs = shares[ok], coefs[ok]
    if m < n_units:  # m-out-of-n: deviations from the point estimate shrunk to the spread at n
        shrink = np.sqrt(m / n_units)
        shares = point.share + shrink * (shares - point.share)
        coefs = point.beta_full[start:] + shrink * (coefs - point.beta_full[start:])

    k = len(blocks)
    order = np.argsort(-point.share, kind="stable")
    ranks = _ranks_from(shares)
    rank_prob = pd.DataFrame(
        [[np.mean(ranks[:, i] == r) for r in range(1, k + 1)] for i in range(k)],
        index=block_names,
        columns=range(1, k + 1),
    )
    rank_prob.columns.name = "rank"
    pairwise = pd.DataFrame(
        [[np.mean(shares[:, i] > shares[:, j]) if i != j else np.nan for j in range(k)] for i in range(k)],
        index=block_names,
        columns=block_names,
    )
    imp = pd.DataFrame(
        {
            "general_dominance": point.general,
            "share": point.share,
            "share_low": np.percentile(shares, q_low, axis=0),
            "share_high": np.percentile(shares, q_high, axis=0),
            "share_mc_se": point.share_mc_se,
        },
        index=block_names,
    )
    for col in ("odds_ratio", "or_low", "or_high", "or_boot_low", "or_boot_high"):
        imp[col] = np.nan
    for g, name in zip(groups, block_names):
        if len(g) == 1:
            j = drivers.index(g[0])
            cols = ["odds_ratio", "or_low", "or_high"]
            imp.loc[name, cols] = ors.loc[g[0], cols].to_numpy()
            imp.loc[name, "or_boot_low"] = np.exp(np.percentile(coefs[:, j], q_low))
            imp.loc[name, "or_boot_high"] = np.exp(np.percentile(coefs[:, j], q_high))
    imp = imp.iloc[order]
    p_next = [pairwise.loc[a, b] for a, b in zip(imp.index[:-1], imp.index[1:])] + [np.nan]
    imp["p_above_next"] = p_next
    imp["tied_with_next"] = [bool(p < tie_probability) for p in p_next[:-1]] + [False]
    imp.insert(0, "rank", _rank_labels(list(imp["tied_with_next"])))
    resampled = f"resampling {mf.cluster}" if mf.cluster else "resampling rows"
    if m < n_units:
        resampled += (
            f" (m-out-of-n: {m:,} of {n_units:,} {'clusters' if mf.cluster else 'rows'} per replicate, "
            "deviations scaled by sqrt(m/n))"
        )
    mc_note = (
        ""
        if design.method == "exact"
        else "; share_mc_se = Monte Carlo SE of the sampled share, not in the bootstrap intervals (same orderings "
        "in every replicate)"
    )
    imp["method"] = (
        f"general dominance on McFadden pseudo-R2, {design.describe()}; percentile {pct} CIs from "
        f"{len(shares)} bootstrap replicates {resampled}{mc_note}; odds ratio per +1 SD: "
        f"{ors['method'].iloc[0].split(';')[0]}"
    )
    imp.index.name = "driver"

    warnings = []
    if mf.clusters is not None and mf.n_clusters < FEW_CLUSTERS:
        warnings.append(
            f"only {mf.n_clusters} clusters (< {FEW_CLUSTERS}): the cluster bootstrap and "
            "cluster-robust intervals are unreliable."
        )
    if design.method == "sampled":
        ratio = float(np.max(point.share_mc_se / np.maximum(shares.std(axis=0, ddof=1), 1e-300)))
        if ratio > MC_WARN_RATIO:
            warnings.append(
                f"the Monte Carlo error of the sampled shares reaches {ratio:.0%} of their bootstrap SD "
                f"(it is not in the intervals); raise n_cycles (now {design.n_cycles})."
            )
    return DriverRanking(
        imp,
        rank_prob.loc[imp.index],
        pairwise.loc[imp.index, imp.index],
        pd.DataFrame(shares, columns=block_names),
        mf.n_rows,
        mf.n_events,
        mf.n_clusters,
        int(ok.sum()),
        point.fit_full,
        point.fit_base,
        [list(g) for g in groups],
        " ".join(warnings) or None,
        n_separated,
        mf.n_dropped,
        design.describe(),
        level,
    )
