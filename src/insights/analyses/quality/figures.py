"""Figures used by the notebooks and the report (each returns a matplotlib Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

from insights.analyses.figure_style import apply_theme
from insights.data.loading import Tables
from insights.metrics.terms import current_terms

apply_theme()


def coverage_heatmap(coverage: pd.DataFrame):
    """Rows per month and table, each table scaled to its own maximum.

    Parameters
    ----------
    coverage : pandas.DataFrame
        Output of ``insights.analyses.quality.checks.monthly_coverage``.

    Returns
    -------
    matplotlib.figure.Figure
        Rows per month of each table, scaled by the table's busiest month.
    """
    scaled = coverage / coverage.max().replace(0, 1)
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(coverage.columns) + 1.5))
    sns.heatmap(scaled.T, cmap="Blues", vmin=0, vmax=1, cbar_kws={"label": "rows / table max"}, ax=ax)
    ax.set_xlabel("month")
    ax.set_ylabel("")
    ax.set_title("Coverage by month (a gap or cliff means missing data)")
    fig.tight_layout()
    return fig


def distributions(tables: Tables):
    """ARR and seats of the accounts under contract at the data end, and their usage in the last month.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.

    Returns
    -------
    matplotlib.figure.Figure
        ARR and seats of the term in force at ``tables.as_of``
        (``insights.metrics.terms.current_terms``), events per active user and the utilisation
        rate in the last month of usage.
    """
    current = current_terms(tables.contracts, tables.as_of)
    usage = tables.usage_monthly
    last = usage[usage["month"] == usage["month"].max()]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    sns.histplot(current, x="arr", hue="plan", log_scale=True, element="step", ax=axes[0, 0])
    axes[0, 0].set_title("ARR per account, current term (log scale)")
    sns.histplot(current, x="seats", log_scale=True, element="step", ax=axes[0, 1])
    axes[0, 1].set_title("Seats per account, current term (log scale)")
    if usage.empty:  # an optional table: say so where the usage panels would be
        for ax in axes[1]:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no usage_monthly in the data", ha="center", va="center")
        fig.tight_layout()
        return fig
    per_user = (last["events"] / last["active_users"].where(last["active_users"] > 0)).astype(float)
    sns.histplot(per_user.dropna(), log_scale=True, ax=axes[1, 0])
    axes[1, 0].set_title(f"Events per active user, {last['month'].max():%b %Y}")
    merged = last.merge(current[["account_id", "seats"]], on="account_id")
    util = (merged["activated_seats"] / merged["seats"].where(merged["seats"] > 0)).astype(float)
    sns.histplot(util.dropna().clip(upper=1.5), bins=30, ax=axes[1, 1])
    axes[1, 1].set_title("Utilisation rate (activated / purchased seats)")
    fig.tight_layout()
    return fig


def missingness_bar(missing: pd.DataFrame):
    """Share of missing values for columns that have any.

    Parameters
    ----------
    missing : pandas.DataFrame
        Output of ``insights.analyses.quality.checks.missingness``.

    Returns
    -------
    matplotlib.figure.Figure
        Red bars for columns the contract does not allow to be missing; a note when nothing is.
    """
    data = missing[missing["missing"] > 0].copy()
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(len(data), 1) + 1.2))
    if data.empty:
        ax.text(0.5, 0.5, "no missing values", ha="center", va="center")
        ax.set_axis_off()
        return fig
    data["label"] = data["table"] + "." + data["column"]
    colors = np.where(data["allowed"], "tab:blue", "tab:red")
    ax.barh(data["label"], data["share"], color=colors)
    ax.set_xlabel("share missing (blue: allowed by the contract)")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    return fig


def renewal_outcomes(outcomes: pd.DataFrame):
    """Terms ending per quarter by outcome, with the logo churn rate.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Output of ``insights.analyses.quality.checks.renewal_outcomes_by_quarter``: per quarter of
        term end, renewed, churned and open counts and logo_churn_rate.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(11, 4))
    outcomes[["renewed", "churned", "open"]].plot.bar(stacked=True, ax=ax, color=["tab:green", "tab:red", "tab:gray"])
    ax.set_ylabel("contract terms ending")
    ax.set_xlabel("quarter of term end")
    ax.tick_params(axis="x", labelrotation=0)
    ax.set_ylim(0, float(outcomes[["renewed", "churned", "open"]].sum(axis=1).max() or 1) * 1.1)
    ax2 = ax.twinx()
    ax2.plot(range(len(outcomes)), outcomes["logo_churn_rate"], color="black", marker="o", label="logo churn rate")
    ax2.set_ylim(0, max(0.3, float(outcomes["logo_churn_rate"].max() or 0) * 1.2))
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax2.set_ylabel("logo churn rate (settled quarters)")
    ax2.grid(False)
    bars, labels = ax.get_legend_handles_labels()
    line, line_label = ax2.get_legend_handles_labels()
    ax.legend(bars + line, labels + line_label, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
    ax.set_title("Renewal outcomes by quarter of term end", pad=28)
    fig.tight_layout()
    return fig
