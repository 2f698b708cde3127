"""Figures of the segmentation notebook (each function returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from insights.analyses.figure_style import apply_theme
from insights.analyses.segments import benchmarks as bm

apply_theme()

FLAG_COLOURS = {bm.CONCERN: "tab:red", bm.TYPICAL: "0.7", bm.OPPORTUNITY: "tab:green"}


def k_selection(*models):
    """The k search of each model: silhouette (k-means, higher is better) or BIC (mixture, lower is better).

    Parameters
    ----------
    *models : insights.analyses.segments.behaviour.BehaviourModel
        Fitted models; their ``selection`` tables are drawn side by side. Grey points
        are k whose smallest segment is below the minimum share; the ring marks the
        chosen k.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models):
        sel = model.selection
        crit = sel["criterion"].iloc[0]
        ax.plot(sel["k"], sel["score"], color="tab:blue", zorder=1)
        ok = sel["admissible"]
        ax.scatter(sel.loc[ok, "k"], sel.loc[ok, "score"], color="tab:blue", zorder=2, label="admissible")
        ax.scatter(
            sel.loc[~ok, "k"],
            sel.loc[~ok, "score"],
            color="0.6",
            zorder=2,
            label=f"smallest segment < {model.min_share:.0%}",
        )
        best = sel[sel["chosen"]]
        ax.scatter(
            best["k"],
            best["score"],
            s=220,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=2,
            zorder=3,
            label=f"chosen k = {int(best['k'].iloc[0])}",
        )
        better = "higher is better" if crit == "silhouette" else "lower is better"
        ax.set_title(f"{model.label.split(',')[0]}: {crit} ({better})")
        ax.set_xlabel("number of segments k")
        ax.set_ylabel(crit)
        ax.set_xticks(sel["k"])
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def profile_heatmap(model):
    """Standardised mean of each clustering metric per segment (robust z: 0 = median account).

    Parameters
    ----------
    model : BehaviourModel
        Fitted model (``insights.analyses.segments.behaviour.fit``); its ``profile`` is drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    prof = model.profile
    z = prof[[f"z_{m}" for m in model.metrics]].copy()
    z.columns = list(model.metrics)
    z.index = [
        f"{i}: {s} ({n:,}, {sh:.0%})"
        for i, s, n, sh in zip(prof.index, prof["segment"], prof["accounts"], prof["share"])
    ]
    lim = max(1.0, float(np.nanmax(np.abs(z.to_numpy()))))
    fig, ax = plt.subplots(figsize=(1.6 * len(z.columns) + 5, 0.6 * len(z) + 1.6))
    sns.heatmap(
        z,
        cmap="RdBu_r",
        center=0,
        vmin=-lim,
        vmax=lim,
        annot=True,
        fmt=".2f",
        cbar_kws={"label": "standardised mean (robust z)"},
        ax=ax,
    )
    ax.set_ylabel("")
    ax.set_title(f"Behavioural segment profiles ({model.label})")
    fig.tight_layout()
    return fig


def segment_scatter(frame: pd.DataFrame, model, x: str | None = None, y: str | None = None):
    """Accounts on two clustering metrics (standardised), coloured by segment.

    Parameters
    ----------
    frame : pandas.DataFrame
        Snapshot rows of one observation date.
    model : BehaviourModel
        Fitted model that standardises and assigns the accounts.
    x, y : str, optional
        Metrics on the axes; default the model's first two.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = x or model.metrics[0]
    y = y or model.metrics[1 if len(model.metrics) > 1 else 0]
    z = model.standardise(frame)
    seg = model.assign(frame)["behaviour_segment"]
    data = z.assign(segment=seg).dropna()
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    sns.scatterplot(data=data, x=x, y=y, hue="segment", hue_order=list(model.names), s=14, alpha=0.7, ax=ax)
    ax.set_xlabel(f"{x} (robust z)")
    ax.set_ylabel(f"{y} (robust z)")
    ax.set_title("Accounts by behavioural segment")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def benchmark_strips(long: pd.DataFrame, low: float = 20.0, high: float = 80.0, seed: int = 0):
    """Each account's standing within its segment on each metric (100 = best in its segment).

    Parameters
    ----------
    long : pandas.DataFrame
        Output of ``insights.analyses.segments.profiles.benchmarks``.
    low, high : float
        The concern and opportunity thresholds (drawn as dashed lines).
    seed : int
        Seed of the points' vertical jitter, so the same data gives the same picture.

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = long[long["flag"] != "missing"]
    metrics = list(pd.unique(data["metric"]))
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(metrics) + 1.8))
    # seaborn's stripplot jitters with numpy's global generator and takes no Generator: seed the global
    # one for a reproducible figure, then restore its state so the caller's random stream is untouched
    state = np.random.get_state()  # noqa: NPY002 - seaborn only reads the global generator
    np.random.seed(seed)  # noqa: NPY002 - seaborn only reads the global generator
    try:
        sns.stripplot(
            data=data,
            x="standing",
            y="metric",
            order=metrics,
            hue="flag",
            hue_order=[bm.CONCERN, bm.TYPICAL, bm.OPPORTUNITY],
            palette=FLAG_COLOURS,
            size=2.5,
            alpha=0.6,
            jitter=0.3,
            ax=ax,
        )
    finally:
        np.random.set_state(state)  # noqa: NPY002 - restores the caller's global generator
    for v in (low, high):
        ax.axvline(v, color="black", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("standing within segment (percentile oriented so that 100 = best for retention)")
    ax.set_ylabel("")
    ax.set_title("Segment-relative benchmarks: concerns (left) and opportunities (right)")
    ax.legend(title="", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", markerscale=2)
    fig.tight_layout()
    return fig


def transition_heatmap(trans):
    """Quarter-over-quarter transitions: row shares, annotated with account counts.

    Parameters
    ----------
    trans : Transitions
        Output of ``insights.analyses.segments.behaviour.transitions``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    shares = trans.shares.fillna(0.0)
    counts = trans.counts
    annot = np.array(
        [
            [f"{s:.0%}\n({c})" if c else "" for s, c in zip(rs, rc)]
            for rs, rc in zip(shares.to_numpy(), counts.to_numpy())
        ],
        dtype=object,
    )
    fig, ax = plt.subplots(figsize=(1.5 * shares.shape[1] + 4, 0.8 * shares.shape[0] + 2))
    sns.heatmap(
        shares,
        cmap="Blues",
        vmin=0,
        vmax=1,
        annot=annot,
        fmt="",
        cbar_kws={"label": "share of row"},
        ax=ax,
        annot_kws={"fontsize": "small"},
    )
    start = f"{trans.start:%Y-%m-%d}" if trans.start is not None else "before"
    end = f"{trans.end:%Y-%m-%d}" if trans.end is not None else "after"
    ax.set_ylabel(f"segment on {start}")
    ax.set_xlabel(f"segment on {end}")
    ax.set_xticklabels(ax.get_xticklabels(), rotation=30, ha="right")
    ax.set_title(f"Where accounts moved ({trans.stay_share:.0%} of accounts segmented at both dates stayed)")
    fig.tight_layout()
    return fig


def churn_by_segment(profile: pd.DataFrame, title: str = "Churn at renewal by segment"):
    """Trailing-year churn rate per segment with its interval (from ``intelligence.segment_profile``).

    Parameters
    ----------
    profile : pandas.DataFrame
        Output of ``insights.analyses.segments.profiles.segment_profile``; segments without a churn
        rate are left out.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = profile.dropna(subset=["churn_rate"])
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(data) + 1.5))
    y = np.arange(len(data))
    err = np.vstack([data["churn_rate"] - data["churn_ci_low"], data["churn_ci_high"] - data["churn_rate"]])
    ax.errorbar(data["churn_rate"], y, xerr=err, fmt="o", color="tab:red", capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{s} (n={int(n)})" for s, n in zip(data.index, data["renewals"])])
    ax.invert_yaxis()
    method = data["churn_ci_method"].iloc[0] if len(data) else ""
    ax.set_xlabel(f"churn rate at renewal ({method})")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(title)
    fig.tight_layout()
    return fig
