"""Figures of the retention-driver notebook (each returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from insights.analyses.drivers.ranking import DriverRanking


def forest(
    table: pd.DataFrame,
    estimate: str = "odds_ratio",
    low: str = "or_low",
    high: str = "or_high",
    title: str = "Odds ratio of churn per +1 SD (95% CI, SE clustered by account)",
    xlabel: str = "odds ratio (log scale; < 1 = protective)",
):
    """Forest plot of ratios with intervals on a log axis (rows of ``table`` with a finite estimate).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per term, indexed by its label; rows whose estimate is not finite are left out.
    estimate, low, high : str
        Columns of the ratio and of its interval bounds.
    title, xlabel : str
        Title and x-axis label (the defaults describe ``insights.analyses.drivers.ranking.odds_ratios``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = table[np.isfinite(table[estimate].astype(float))].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(data) + 1.5))
    y = np.arange(len(data))
    est = data[estimate].to_numpy(float)
    err = np.vstack([est - data[low].to_numpy(float), data[high].to_numpy(float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", color="tab:blue", capsize=3)
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, data.index)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _share_bars(ax, ranking: DriverRanking, colour: str, capsize: float, gap: str) -> None:
    """Each block's dominance share as a bar with its bootstrap interval, first rank on top (ticks: name, rank)."""
    imp = ranking.importance.iloc[::-1]
    y = np.arange(len(imp))
    share = imp["share"].to_numpy(float)
    err = np.clip(np.vstack([share - imp["share_low"], imp["share_high"] - share]), 0, None)
    ax.barh(y, share, color=colour, alpha=0.7)
    ax.errorbar(share, y, xerr=err, fmt="none", color="black", capsize=capsize)
    ax.set_yticks(y, [f"{name}{gap}({rank})" for name, rank in zip(imp.index, imp["rank"])])


def dominance_shares(ranking: DriverRanking, title: str | None = None):
    """Share of the drivers' pseudo-R² each driver accounts for, with bootstrap percentile 95% CIs.

    Parameters
    ----------
    ranking : DriverRanking
        Output of ``insights.analyses.drivers.ranking.rank_drivers``.
    title : str, optional
        Default names the bootstrap and its replicate count.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(ranking.importance) + 1.5))
    _share_bars(ax, ranking, "tab:blue", capsize=3, gap="  ")
    ax.set_xlabel("share of general dominance (McFadden pseudo-R²)")
    ax.set_title(title or f"Driver importance (account bootstrap, {ranking.n_boot} replicates; '=' marks a tie)")
    fig.tight_layout()
    return fig


def rank_stability(ranking: DriverRanking, title: str | None = None):
    """Heatmap of P(driver holds rank r) over the bootstrap replicates.

    Parameters
    ----------
    ranking : DriverRanking
        Output of ``insights.analyses.drivers.ranking.rank_drivers``; its ``rank_probability`` is drawn.
    title : str, optional
        Default describes the account bootstrap.

    Returns
    -------
    matplotlib.figure.Figure
    """
    prob = ranking.rank_probability
    fig, ax = plt.subplots(figsize=(1.1 * prob.shape[1] + 3.5, 0.5 * len(prob) + 1.5))
    sns.heatmap(prob, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar_kws={"label": "probability"}, ax=ax)
    ax.set_xlabel("rank")
    ax.set_ylabel("")
    ax.set_title(title or "Rank stability: probability of each rank (account bootstrap)")
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame, groups: list):
    """Spearman correlations of the drivers; grouped drivers are named in the title.

    Parameters
    ----------
    corr : pandas.DataFrame
        Square matrix of Spearman correlations, drivers as rows and columns.
    groups : list of list of str
        Correlation groups (``correlation_groups``); those with more than one driver are named.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(7, 5.5))
    sns.heatmap(corr, annot=True, fmt=".2f", cmap="RdBu_r", vmin=-1, vmax=1, square=True, ax=ax)
    multi = [" + ".join(g) for g in groups if len(g) > 1]
    ax.set_title(
        "Spearman correlation of the drivers\n"
        + ("groups: " + "; ".join(multi) if multi else "no group (every |rho| < 0.7)")
    )
    fig.tight_layout()
    return fig


def segment_shares(by_segment: dict):
    """Dominance shares with CIs per segment; segments with too few events show their warning instead.

    Parameters
    ----------
    by_segment : dict
        Output of ``insights.analyses.drivers.ranking.rank_by_segment``: segment -> DriverRanking,
        or the warning string of a segment that was not ranked.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per segment; a ranking with a warning is drawn in orange.
    """
    segs = list(by_segment)
    fig, axes = plt.subplots(1, len(segs), figsize=(5.2 * len(segs), 3.8), sharex=True, squeeze=False)
    for ax, s in zip(axes[0], segs):
        r = by_segment[s]
        if isinstance(r, str):
            ax.text(0.5, 0.5, "not ranked:\ntoo few churn events", ha="center", va="center", color="tab:red")
            ax.set_axis_off()
            ax.set_title(s)
            continue
        _share_bars(ax, r, "tab:orange" if r.warning else "tab:blue", capsize=2, gap=" ")
        ax.set_title(f"{s}: {r.n_events} churns" + (" (too few)" if r.warning else ""))
        ax.set_xlabel("share (95% CI)")
    fig.tight_layout()
    return fig


def km_curves(km, group: str = "segment"):
    """Kaplan-Meier retention by group with pointwise 95% bands and the log-rank test in the title.

    Parameters
    ----------
    km : RetentionCurves
        Output of ``insights.analyses.drivers.survival.kaplan_meier``.
    group : str
        Column of ``km.curves`` that names the group of each curve.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(9, 5))
    for (g, c), color in zip(km.curves.groupby(group, sort=True), sns.color_palette()):
        ax.step(c["time"], c["retention"], where="post", color=color, label=str(g))
        ax.fill_between(c["time"], c["low"], c["high"], step="post", color=color, alpha=0.15)
    lr = km.log_rank
    ax.set_xlabel("months since the account was created")
    ax.set_ylabel("share of accounts retained")
    ax.set_ylim(0, 1.02)
    for m in (12, 24):
        ax.axvline(m, color="grey", lw=0.8, ls=":")
    ax.legend(title=group)
    ax.set_title(
        f"Kaplan-Meier retention (left-truncated), pointwise 95% bands\n"
        f"log-rank chi2 = {lr['statistic']:.1f} on {lr['df']} df, p = {lr['p']:.3g}"
    )
    fig.tight_layout()
    return fig


def cox_forest(cox):
    """Hazard ratios of the Cox model (Wald 95% CIs), with the C-index in the title.

    Parameters
    ----------
    cox : CoxResult
        Output of ``insights.analyses.drivers.survival.driver_cox`` (``table`` with hazard_ratio,
        hr_low, hr_high; ``c_index``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return forest(
        cox.table,
        "hazard_ratio",
        "hr_low",
        "hr_high",
        title=f"Cox model: hazard ratio of churn (95% CI); Harrell's C = {cox.c_index:.3f}",
        xlabel="hazard ratio (log scale; < 1 = protective)",
    )


def pooled_segment_effects(pooled, labels: dict | None = None):
    """Each segment's driver effects: its own estimate and the partially pooled one, with 95% intervals.

    Parameters
    ----------
    pooled : insights.stats.partial_pooling.PooledEffects
        ``insights.analyses.drivers.pooling.pooled_effects``' result.
    labels : dict of str to str, optional
        Driver key -> name shown (default: the keys).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per segment; grey = the segment alone, blue = partially pooled (normal 95%
        intervals, log-odds of churn per +1 SD; < 0 = protective).
    """
    segments = list(pooled.shrunk.index)
    drivers = list(pooled.shrunk.columns)
    names = [(labels or {}).get(d, d) for d in drivers]
    fig, axes = plt.subplots(
        1, len(segments), figsize=(3.6 * len(segments) + 1.5, 0.5 * len(drivers) + 1.8), sharey=True
    )
    y = np.arange(len(drivers))[::-1]
    for ax, seg in zip(np.atleast_1d(axes), segments):
        for est, se, dy, colour, label in [
            (pooled.raw, pooled.raw_se, 0.15, "grey", "segment alone"),
            (pooled.shrunk, pooled.shrunk_se, -0.15, "tab:blue", "partially pooled"),
        ]:
            m, s = est.loc[seg].to_numpy(float), se.loc[seg].to_numpy(float)
            ax.errorbar(m, y + dy, xerr=1.96 * s, fmt="o", color=colour, capsize=2, label=label)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.set_title(seg)
        ax.set_xlabel("log-odds of churn per +1 SD")
    first = np.atleast_1d(axes)[0]
    first.set_yticks(y, names)
    handles, texts = first.get_legend_handles_labels()
    fig.legend(handles, texts, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("Driver effects per segment: alone vs borrowing strength (normal 95% CIs)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
