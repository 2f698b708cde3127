"""Figures of the health-score backtest (each returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from insights.analyses.health.score import BANDS, HealthConfig

_BAND_COLOURS = {"red": "tab:red", "amber": "tab:orange", "green": "tab:green"}


def band_churn(bands: pd.DataFrame, obs_date=None):
    """Churn rate at the next renewal per band, bars with interval whiskers.

    Parameters
    ----------
    bands : pandas.DataFrame
        ``Backtest.bands`` (``insights.analyses.health.score.band_churn``).
    obs_date : date-like, optional
        One observation date; default the pooled rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = bands[bands["scope"] == "pooled"] if obs_date is None else bands[bands["obs_date"] == pd.Timestamp(obs_date)]
    rows = rows.set_index(rows["band"].astype(str)).reindex(list(BANDS))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(BANDS))
    rate = rows["churn_rate"].to_numpy(dtype=float)
    err = np.vstack([rate - rows["low"].to_numpy(dtype=float), rows["high"].to_numpy(dtype=float) - rate])
    ax.bar(x, rate, color=[_BAND_COLOURS[b] for b in BANDS], alpha=0.8)
    ax.errorbar(x, rate, yerr=err, fmt="none", ecolor="black", capsize=6)
    ax.set_xticks(x, [f"{b}\n(n={int(n) if n == n else 0})" for b, n in zip(BANDS, rows["accounts"])])
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    method = rows["method"].dropna()
    ax.set_ylabel(f"churn rate ({method.iloc[0] if len(method) else ''})")
    when = "all observation dates pooled" if obs_date is None else f"observed {pd.Timestamp(obs_date):%Y-%m-%d}"
    ax.set_title(f"Churn at the next renewal by health band\n({when})", fontsize=10)
    fig.tight_layout()
    return fig


def score_distribution(scored: pd.DataFrame, health: str = "health", config: HealthConfig | None = None):
    """Distribution of the health score of accounts that churned vs renewed at their next renewal.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of ``insights.analyses.health.score.score`` (labelled rows are used).
    health : str
        Score column.
    config : HealthConfig, optional
        Draws the band cut-offs when given (default ``scored.attrs["health_config"]`` if present).

    Returns
    -------
    matplotlib.figure.Figure
    """
    config = config or scored.attrs.get("health_config")
    lab = scored[scored["churned"].notna() & scored[health].notna()]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(0, 100, 41).tolist()
    for value, name, colour in ((0.0, "renewed", "tab:blue"), (1.0, "churned", "tab:red")):
        h = lab.loc[lab["churned"] == value, health]
        ax.hist(h, bins=bins, density=True, alpha=0.5, color=colour, label=f"{name} (n={len(h)})")
    if config is not None:
        for cut in (config.red, config.green):
            ax.axvline(cut, color="black", ls="--", lw=1)
        ax.text(config.red / 2, 0.98, "red", transform=ax.get_xaxis_transform(), ha="center", va="top")
        ax.text(
            (config.red + config.green) / 2, 0.98, "amber", transform=ax.get_xaxis_transform(), ha="center", va="top"
        )
        ax.text((config.green + 100) / 2, 0.98, "green", transform=ax.get_xaxis_transform(), ha="center", va="top")
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"{health} (0-100, segment-relative)")
    ax.set_ylabel("density")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9))
    ax.set_title("Health score by outcome at the next renewal")
    fig.tight_layout()
    return fig


def roc_curves(frame: pd.DataFrame, scores: dict | None = None, comparison: pd.DataFrame | None = None):
    """ROC curves of health scores for churn (risk = 100 - score), e.g. configured vs fitted weights.

    Parameters
    ----------
    frame : pandas.DataFrame
        Labelled rows with the score columns, e.g. ``WeightFit.holdout``.
    scores : dict of str to str, optional
        Label -> score column; default ``{"configured": "health", "fitted": "health_fitted"}``
        (those present).
    comparison : pandas.DataFrame, optional
        ``WeightFit.comparison``: its AUC and interval go into the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    scores = scores or {
        k: v for k, v in {"configured": "health", "fitted": "health_fitted"}.items() if v in frame.columns
    }
    fig, ax = plt.subplots(figsize=(5, 5))
    for label, col in scores.items():
        rows = frame[frame["churned"].notna() & frame[col].notna()]
        fpr, tpr, _ = roc_curve(rows["churned"].astype(int), 100 - rows[col])
        text = label
        if comparison is not None and label in comparison.index:
            c = comparison.loc[label]
            text += f": AUC {c['auc']:.3f} [{c['low']:.3f}, {c['high']:.3f}]"
        ax.plot(fpr, tpr, label=text)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    ax.set_xlabel("false positive rate (renewed accounts flagged)")
    ax.set_ylabel("true positive rate (churned accounts flagged)")
    if comparison is not None and len(comparison):
        ax.set_title(f"ROC, churn at the next renewal\n({comparison['method'].iloc[0]})", fontsize=9)
    else:
        ax.set_title("ROC, churn at the next renewal")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    return fig
