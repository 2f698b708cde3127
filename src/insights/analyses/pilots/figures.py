"""Figures of pilot design and readout (each returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from insights.analyses.pilots.design import mde_proportions


def _rate_dots(rates: pd.DataFrame, counts: str, figsize: tuple[float, float], capsize: int):
    """A dot per row of ``rates`` (rate, low, high) with its interval, labelled by index and ``counts``."""
    fig, ax = plt.subplots(figsize=figsize)
    y = np.arange(len(rates))
    xerr = [rates["rate"] - rates["low"], rates["high"] - rates["rate"]]
    ax.errorbar(rates["rate"], y, xerr=xerr, fmt="o", capsize=capsize, color="tab:blue")
    ax.set_yticks(y, [f"{name} (n={n})" for name, n in zip(rates.index, rates[counts])])
    return fig, ax


def baselines(base: pd.DataFrame):
    """Historical renewal rate per segment with its interval.

    Parameters
    ----------
    base : pandas.DataFrame
        Output of ``insights.analyses.pilots.design.renewal_baselines``: rate, low, high, method,
        renewals per segment.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _rate_dots(base, "renewals", (7, 3.2), capsize=4)
    ax.invert_yaxis()
    ax.set_xlabel(f"renewal rate ({base['method'].iloc[0] if len(base) else ''})")
    ax.set_title("Baseline: renewal rate over the last four quarters")
    fig.tight_layout()
    return fig


def achievable_mde(design: pd.DataFrame, target: float):
    """Smallest detectable renewal-rate increase by window length and segment.

    Parameters
    ----------
    design : pandas.DataFrame
        Output of ``insights.analyses.pilots.design.design_table``.
    target : float
        Target effect, drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.lineplot(design, x="quarters", y="achievable_mde", hue="segment", marker="o", ax=ax)
    ax.axhline(target, color="black", ls="--", lw=1, label=f"target {target:.0%}")
    ax.set_xlabel("pilot window (quarters of renewals)")
    ax.set_ylabel("detectable increase in renewal rate")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xticks(sorted(design["quarters"].unique()))
    ax.legend()
    ax.set_title("What a pilot can detect with the accounts that renew")
    fig.tight_layout()
    return fig


def power_curve(p_control: float, alpha: float = 0.05, power: float = 0.8, max_n: int = 2000):
    """Detectable increase against accounts per arm at a baseline rate.

    Parameters
    ----------
    p_control : float
        Baseline renewal rate.
    alpha : float
        Two-sided significance level.
    power : float
        Target power.
    max_n : int
        Largest number of accounts per arm drawn (from 10, log scale).

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = np.unique(np.geomspace(10, max_n, 60).round())
    mde = [mde_proportions(k, p_control, alpha, power) for k in n]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(n, mde)
    ax.set_xscale("log")
    ax.set_xlabel("accounts per arm")
    ax.set_ylabel("detectable increase")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title(f"Power {power:.0%}, alpha {alpha:g}, baseline {p_control:.0%}")
    fig.tight_layout()
    return fig


def arm_rates(per_arm: pd.DataFrame):
    """Renewal rate per arm with its interval.

    Parameters
    ----------
    per_arm : pandas.DataFrame
        ``Readout.per_arm``: rate, low, high, accounts and method, indexed by arm.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _rate_dots(per_arm, "accounts", (6, 2.6), capsize=5)
    ax.set_xlabel(f"renewal rate ({per_arm['method'].iloc[0]})")
    ax.set_title("Renewal rate by arm")
    fig.tight_layout()
    return fig


def segment_forest(per_stratum: pd.DataFrame, overall=None):
    """Per-segment difference in renewal rate (treatment - control) with intervals: a forest plot.

    Parameters
    ----------
    per_stratum : pandas.DataFrame
        Per-segment effects: stratum, difference, low, high; rows without a difference are left out.
    overall : Interval, optional
        The stratified overall difference, drawn last as a diamond.

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = per_stratum.dropna(subset=["difference"])
    labels = list(data["stratum"])
    est, lo, hi = list(data["difference"]), list(data["low"]), list(data["high"])
    if overall is not None:
        labels.append("all (stratified)")
        est.append(overall.estimate)
        lo.append(overall.low)
        hi.append(overall.high)
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(labels) + 1.4))
    y = np.arange(len(labels))
    colors = ["tab:blue"] * len(data) + (["black"] if overall is not None else [])
    for i in range(len(labels)):
        ax.plot([lo[i], hi[i]], [y[i], y[i]], color=colors[i])
        ax.plot(est[i], y[i], "o" if i < len(data) else "D", color=colors[i])
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:+.0f} pts")
    ax.set_xlabel("difference in renewal rate, treatment - control")
    ax.set_title("Effect by segment")
    fig.tight_layout()
    return fig


def sequential_looks(looks: pd.DataFrame):
    """The z statistic at each look against the alpha-spending boundaries.

    Parameters
    ----------
    looks : pandas.DataFrame
        ``Readout.looks``: information, z and z_boundary per look.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(looks["information"], looks["z_boundary"], "k--", marker="_", label="boundary")
    ax.plot(looks["information"], -looks["z_boundary"], "k--", marker="_")
    ax.plot(looks["information"], looks["z"], "o-", color="tab:blue", label="observed z")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("information (share of outcomes known)")
    ax.set_ylabel("z")
    ax.legend()
    ax.set_title("Interim looks (O'Brien-Fleming-type spending)")
    fig.tight_layout()
    return fig


def uplift_groups(gates: pd.DataFrame, average: float):
    """Effect on the renewal rate by group of predicted uplift (GATES) with intervals.

    Parameters
    ----------
    gates : pandas.DataFrame
        Output of ``insights.stats.heterogeneity.gates``: group, n, estimate, low, high, method.
    average : float
        The average effect, drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = gates["group"].to_numpy()
    yerr = [gates["estimate"] - gates["low"], gates["high"] - gates["estimate"]]
    ax.errorbar(x, gates["estimate"], yerr=yerr, fmt="o", capsize=4, color="tab:blue")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axhline(average, color="black", ls="--", lw=1, label=f"average {average:+.1%}")
    ax.set_xticks(x, [f"{g}\n(n={n})" for g, n in zip(x, gates["n"])])
    ax.set_xlabel("group of predicted uplift (1 = least responsive)")
    ax.set_ylabel("effect on renewal rate")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.legend()
    ax.set_title(f"Who responds? ({gates['method'].iloc[0].split(', ', 1)[-1]})", fontsize=9)
    fig.tight_layout()
    return fig


def qini(curve: pd.DataFrame):
    """Qini curve: renewal-rate gain from treating the top share by predicted uplift, against random targeting.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of ``insights.stats.policy_value.qini_curve``: share, gain, low, high, random, method.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.fill_between(curve["share"], curve["low"], curve["high"], color="tab:blue", alpha=0.2, label="band")
    ax.plot(curve["share"], curve["gain"], color="tab:blue", marker="o", ms=3, label="by predicted uplift")
    ax.plot(curve["share"], curve["random"], color="black", ls="--", lw=1, label="at random")
    ax.set_xlabel("share of accounts given the play")
    ax.set_ylabel("renewal-rate gain (all accounts)")
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:+.1%}")
    ax.legend()
    ax.set_title(curve["method"].iloc[0], fontsize=9)
    fig.tight_layout()
    return fig
