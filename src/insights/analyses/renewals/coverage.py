"""Coverage plan: value x risk x growth potential decides high-touch, mid-touch or tech-touch.

The rules live in ``config/coverage.yaml``: points per contract-value tier, per health
band and per growth horizon; an account's points place it in the highest tier whose
minimum it reaches. The 80/20 view shows how much ARR, and how much ARR at risk, each
tier covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data import paths
from insights.data.config_files import read_mapping
from insights.errors import ConfigError, ParameterError

DIMENSIONS = ("segment", "band", "growth_horizon_months")


@dataclass(frozen=True)
class CoverageModel:
    """Validated coverage rules of ``config/coverage.yaml`` (``load_coverage``).

    Attributes
    ----------
    points : dict of str to dict
        Per dimension (segment, band, growth_horizon_months), the points of each value.
    tiers : list of tuple of (str, float)
        Coverage tier name and its minimum points, highest minimum first; the last minimum is 0.
    at_risk_bands : tuple of str
        Health bands whose ARR counts as at risk.
    """

    points: dict[str, dict]
    tiers: list[tuple[str, float]]  # highest minimum first
    at_risk_bands: tuple[str, ...]


def load_coverage(path: Path | None = None) -> CoverageModel:
    """Read and validate ``config/coverage.yaml``.

    Parameters
    ----------
    path : pathlib.Path, optional
        Default ``insights.data.paths.config_dir() / "coverage.yaml"``.

    Returns
    -------
    CoverageModel

    Raises
    ------
    ConfigError
        For a missing dimension, non-numeric points, tiers without a zero minimum or
        with duplicate minimums.
    """
    path = path or paths.config_dir() / "coverage.yaml"
    data = read_mapping(path, required=True, purpose="the coverage tiers")
    problems = []
    points = data.get("points") or {}
    for dim in DIMENSIONS:
        if not isinstance(points.get(dim), dict) or not points[dim]:
            problems.append(f"points.{dim} must map each value to points")
    unknown = set(points) - set(DIMENSIONS)
    if unknown:
        problems.append(f"unknown point dimension(s) {sorted(unknown)}; known: {', '.join(DIMENSIONS)}")
    try:
        points = {
            dim: {
                (int(k) if dim == "growth_horizon_months" else str(k)): float(v)
                for k, v in (points.get(dim) or {}).items()
            }
            for dim in DIMENSIONS
        }
    except (TypeError, ValueError):
        problems.append("points must be numbers (and growth horizons whole months)")
    tiers = data.get("tiers") or {}
    try:
        tiers = sorted(((str(k), float(v)) for k, v in tiers.items()), key=lambda kv: -kv[1])
    except (TypeError, ValueError, AttributeError):
        problems.append("tiers must map a tier name to its minimum points")
        tiers = []
    if not tiers or tiers[-1][1] != 0:
        problems.append("the lowest tier must have minimum 0 so every account gets a tier")
    if len({m for _, m in tiers}) != len(tiers):
        problems.append("two tiers have the same minimum")
    bands = tuple(data.get("at_risk_bands") or ())
    if not bands or set(bands) - set(points.get("band", {})):
        problems.append("at_risk_bands must list bands that appear under points.band")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems) + ".")
    return CoverageModel(points=points, tiers=tiers, at_risk_bands=bands)


def coverage_plan(frame: pd.DataFrame, model: CoverageModel | None = None) -> pd.DataFrame:
    """Coverage tier of each account.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account with arr, segment, band and growth_horizon_months.

    Returns
    -------
    pandas.DataFrame
        ``frame`` plus points, coverage and at_risk (bool).

    Raises
    ------
    ParameterError
        If a column is missing or holds a value the model gives no points for.
    """
    model = model or load_coverage()
    missing = [c for c in ("arr", *DIMENSIONS) if c not in frame.columns]
    if missing:
        raise ParameterError(f"coverage plan needs columns {missing}.")
    out = frame.copy()
    total = pd.Series(0.0, index=frame.index)
    for dim in DIMENSIONS:
        try:
            key = frame[dim].astype("Int64") if dim == "growth_horizon_months" else frame[dim]
        except (TypeError, ValueError):
            raise ParameterError(f"{dim} must hold whole months.") from None
        pts = key.map(model.points[dim])
        unknown = pts.isna() & key.notna()
        if unknown.any():
            raise ParameterError(
                f"no coverage points for {dim} value(s) {sorted(map(str, key[unknown].unique()))}; "
                "add them to config/coverage.yaml."
            )
        total += pts.fillna(0.0).astype(float)
    out["points"] = total
    tier = pd.Series(model.tiers[-1][0], index=frame.index, dtype="str")
    for name, minimum in reversed(model.tiers):
        tier[total >= minimum] = name
    out["coverage"] = tier
    out["at_risk"] = frame["band"].isin(model.at_risk_bands)
    return out


def coverage_summary(plan: pd.DataFrame, model: CoverageModel | None = None) -> pd.DataFrame:
    """The 80/20 view: accounts, ARR and ARR at risk per coverage tier, with shares.

    Parameters
    ----------
    plan : pandas.DataFrame
        One row per account with coverage (tier), arr and at_risk (bool).
    model : CoverageModel, optional
        Tier order; default ``load_coverage()``.

    Returns
    -------
    pandas.DataFrame
        Indexed by tier (highest first): accounts, account_share, arr, arr_share,
        at_risk_arr, at_risk_share.
    """
    model = model or load_coverage()
    order = [name for name, _ in model.tiers]
    g = plan.groupby("coverage")
    out = pd.DataFrame(
        {
            "accounts": g.size(),
            "arr": g["arr"].sum(),
            "at_risk_arr": plan["arr"].where(plan["at_risk"], 0.0).groupby(plan["coverage"]).sum(),
        }
    )
    out = out.reindex(order).fillna(0.0)
    out["account_share"] = out["accounts"] / max(out["accounts"].sum(), 1)
    out["arr_share"] = out["arr"] / out["arr"].sum() if out["arr"].sum() else np.nan
    risk_total = out["at_risk_arr"].sum()
    out["at_risk_share"] = out["at_risk_arr"] / risk_total if risk_total else np.nan
    out["accounts"] = out["accounts"].astype(int)
    out.index.name = "coverage"
    return out[["accounts", "account_share", "arr", "arr_share", "at_risk_arr", "at_risk_share"]]
