"""Figures of the churn risk model (each returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from insights.stats.rates import TOTAL

_COLOURS = {"logistic": "tab:blue", "gbm": "tab:orange"}


def calibration_plot(calibration: dict, comparison: pd.DataFrame | None = None):
    """Observed vs predicted churn per probability bin on the test dates, one line per model.

    Parameters
    ----------
    calibration : dict of str to pandas.DataFrame
        ``RiskEvaluation.calibration`` (``insights.stats.classification.calibration_table`` per model).
    comparison : pandas.DataFrame, optional
        ``RiskEvaluation.comparison``; names the calibration method and Brier score in the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax, axn) = plt.subplots(2, 1, figsize=(6, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect calibration")
    width = 0.1 / (len(calibration) + 1)
    method = ""
    for i, (name, tab) in enumerate(calibration.items()):
        colour = _COLOURS.get(name)
        label = name
        if comparison is not None and name in comparison.index:
            c = comparison.loc[name]
            label += f" ({c['calibration']}; Brier {c['brier']:.3f})"
        err = np.vstack([tab["observed"] - tab["low"], tab["high"] - tab["observed"]])
        ax.errorbar(tab["mean_predicted"], tab["observed"], yerr=err, marker="o", capsize=3, color=colour, label=label)
        axn.bar(tab["bin_low"] + (i + 0.5) * width, tab["rows"], width=width, color=colour, align="edge")
        method = tab["method"].iloc[0] if len(tab) else method
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"observed churn rate\n({method})")
    ax.set_title("Calibration on the test dates", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    axn.set_yscale("log")
    axn.set_ylabel("rows per bin")
    axn.set_xlabel("predicted probability of churn at the next renewal")
    fig.tight_layout()
    return fig


def lift_chart(lift: dict):
    """Churn rate relative to the base rate per risk decile (bars) and cumulative gains (lines).

    Parameters
    ----------
    lift : dict of str to pandas.DataFrame
        ``RiskEvaluation.lift`` (``insights.stats.classification.lift_table`` per model).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax, axg) = plt.subplots(1, 2, figsize=(11, 4))
    n = len(lift)
    width = 0.8 / max(n, 1)
    for i, (name, tab) in enumerate(lift.items()):
        x = tab["group"].to_numpy() + (i - (n - 1) / 2) * width
        ax.bar(x, tab["lift"], width=width, color=_COLOURS.get(name), label=name)
        axg.plot(
            np.r_[0, tab["cum_share_rows"]],
            np.r_[0, tab["cum_share_churned"]],
            marker="o",
            color=_COLOURS.get(name),
            label=name,
        )
    ax.axhline(1, color="grey", ls=":", lw=1)
    ax.set_xticks(range(1, 11) if n else [])
    ax.set_xlabel("risk decile (1 = riskiest 10%)")
    ax.set_ylabel("churn rate / overall churn rate")
    ax.set_title("Lift by risk decile (test dates)", fontsize=10)
    ax.legend(fontsize=8)
    axg.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="random order")
    axg.set_xlabel("share of accounts contacted, riskiest first")
    axg.set_ylabel("share of churned accounts reached")
    axg.set_title("Cumulative gains (test dates)", fontsize=10)
    axg.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def arr_at_risk_bars(summary: pd.DataFrame):
    """ARR and expected ARR at risk per segment (``insights.analyses.risk.model.arr_at_risk``, ``TOTAL`` row left out).

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of ``insights.analyses.risk.model.arr_at_risk`` or ``insights.analyses.risk.exposure.exposure``
        (its ``window`` column goes into the title).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = summary.drop(index=TOTAL, errors="ignore")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(rows))
    ax.bar(x, rows["arr"], color="lightgrey", label="ARR renewing" if "window" in summary else "ARR under contract")
    ax.bar(x, rows["expected_arr_at_risk"], color="tab:red", label="expected ARR at risk (sum of p x ARR)")
    for xi, (arr, risk) in enumerate(zip(rows["arr"], rows["expected_arr_at_risk"])):
        ax.text(xi, risk, f"{risk / arr:.0%}" if arr else "", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, rows.index.astype(str))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v / 1e6:.1f}M")
    ax.set_ylabel("ARR")
    window = str(summary["window"].iloc[0]) if "window" in summary and len(summary) else "at the next renewal"
    ax.set_title(f"Expected ARR at risk {window}, by segment", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
