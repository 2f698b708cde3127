"""Figures of the renewal pipeline and the coverage plan (each returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from insights.stats.rates import TOTAL


def pipeline_funnel(summary: pd.DataFrame, title: str):
    """Renewing accounts by segment: how many are in a save play, asked to cancel, and what happened.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of ``insights.analyses.renewals.pipeline.pipeline_summary`` (``TOTAL`` row left out).
    title : str
        Prefix of both panel titles, e.g. the quarter.

    Returns
    -------
    matplotlib.figure.Figure
        Accounts (left) and ARR in millions (right) per segment.
    """
    seg = summary.drop(index=TOTAL)
    cols = [
        ("renewing", "renewing", "tab:blue"),
        ("in_save_play", "in save play", "tab:orange"),
        ("cancellation_requested", "cancellation requested", "tab:red"),
        ("renewed", "renewed", "tab:green"),
        ("churned", "churned", "black"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    x = np.arange(len(seg))
    width = 0.16
    for i, (col, label, color) in enumerate(cols):
        axes[0].bar(x + (i - 2) * width, seg[col], width, label=label, color=color)
    axes[0].set_xticks(x, seg.index)
    axes[0].set_ylabel("accounts")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"{title}: accounts")
    arr = seg[["renewing_arr", "save_play_arr", "cancellation_arr"]] / 1e6
    arr.columns = ["renewing", "in save play", "cancellation requested"]
    arr.plot.bar(ax=axes[1], color=["tab:blue", "tab:orange", "tab:red"], rot=0)
    axes[1].set_ylabel("ARR (millions)")
    axes[1].set_title(f"{title}: ARR")
    fig.tight_layout()
    return fig


def coverage_shares(summary: pd.DataFrame):
    """The 80/20 view: each coverage tier's share of accounts, ARR and ARR at risk.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of ``insights.analyses.renewals.coverage.coverage_summary``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    shares = summary[["account_share", "arr_share", "at_risk_share"]].rename(
        columns={"account_share": "accounts", "arr_share": "ARR", "at_risk_share": "ARR in the red health band"}
    )
    fig, ax = plt.subplots(figsize=(8, 3.4))
    # pandas-stubs' colour list type, spelt out because a list is invariant in its element type
    colours: list[str | list[float] | tuple[float, float, float] | tuple[float, float, float, float]]
    colours = ["tab:red", "tab:orange", "tab:gray"]
    shares.T.plot.barh(stacked=True, ax=ax, color=colours[: len(shares)])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share covered by each tier")
    ax.legend(title="coverage", bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_title("Who gets which coverage")
    fig.tight_layout()
    return fig
