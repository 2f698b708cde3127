"""Rule-based segments from ``config/segments.yaml`` (contract-value tiers).

A tier is read from the ARR of the account's contract term running at a date, so a
segment is always taken as of a date and never from the future.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data import paths
from insights.data.config_files import read_mapping
from insights.errors import ConfigError
from insights.metrics.terms import current_terms


@dataclass(frozen=True)
class Tier:
    """A contract-value tier: ARR from ``min`` (inclusive) to ``max`` (exclusive).

    Attributes
    ----------
    name : str
        Tier name.
    min, max : float
        ARR bounds; ``max`` is ``numpy.inf`` for the open top tier.
    """

    name: str
    min: float
    max: float  # np.inf for the open top tier


def _segments_file(path: Path | None) -> tuple[Path, dict]:
    """The segment rules file (default ``config/segments.yaml``) and its mapping (``ConfigError`` if missing)."""
    path = path or paths.config_dir() / "segments.yaml"
    return path, read_mapping(path, required=True, purpose="the contract-value tiers and segment rules")


def load_value_tiers(path: Path | None = None) -> list[Tier]:
    """Read and validate the contract-value tiers.

    Parameters
    ----------
    path : pathlib.Path, optional
        Default ``insights.data.paths.config_dir() / "segments.yaml"``.

    Returns
    -------
    list of Tier
        Sorted by minimum.

    Raises
    ------
    ConfigError
        If the file or section is missing, a bound is not a number, or tiers overlap,
        leave a gap, do not start at 0 or do not end open.
    """
    path, data = _segments_file(path)
    section = data.get("contract_value") if isinstance(data, dict) else None
    raw = section.get("tiers") if isinstance(section, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: `contract_value.tiers` must be a non-empty list of name/min/max.")
    tiers = []
    for i, item in enumerate(raw, 1):
        try:
            lo = float(item["min"])
            hi = np.inf if item.get("max") is None else float(item["max"])
            tiers.append(Tier(str(item["name"]), lo, hi))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{path}: tier {i} needs a name and numeric min/max (max may be null).") from None
    tiers.sort(key=lambda t: t.min)
    problems = []
    if tiers[0].min != 0:
        problems.append(f"the lowest tier must start at 0, not {tiers[0].min:g}")
    for a, b in itertools.pairwise(tiers):
        if b.min < a.max:
            problems.append(
                f"tiers {a.name} and {b.name} overlap ({a.name} ends at {a.max:g}, {b.name} starts at {b.min:g})"
            )
        elif b.min > a.max:
            problems.append(f"gap between {a.name} (ends {a.max:g}) and {b.name} (starts {b.min:g})")
    if any(t.max <= t.min for t in tiers):
        problems.append("every tier needs max > min")
    if tiers[-1].max != np.inf:
        problems.append(f"the top tier ({tiers[-1].name}) must have max: null")
    if len({t.name for t in tiers}) != len(tiers):
        problems.append("tier names must be unique")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems) + ".")
    return tiers


def tier_names(tiers: list[Tier] | None = None) -> list[str]:
    """Names of the contract-value tiers, from the lowest to the highest.

    Parameters
    ----------
    tiers : list of Tier, optional
        Tiers as read by ``load_value_tiers`` (default: ``config/segments.yaml``).

    Returns
    -------
    list of str

    Raises
    ------
    ConfigError
        If the tiers are read from a missing or invalid file.
    """
    return [t.name for t in (tiers or load_value_tiers())]


def value_tier(arr, tiers: list[Tier] | None = None) -> pd.Series:
    """Contract-value tier of each ARR amount.

    Parameters
    ----------
    arr : array-like of float
        ARR amounts.
    tiers : list of Tier, optional
        Default: ``config/segments.yaml``.

    Returns
    -------
    pandas.Series of str
        The tier name of each amount (missing for a missing amount).

    Raises
    ------
    ConfigError
        If the tiers are read from a missing or invalid file.
    """
    tiers = tiers or load_value_tiers()
    arr = pd.Series(arr, dtype="float64")
    out = pd.Series(pd.NA, index=arr.index, dtype="str")
    for t in tiers:
        out[(arr >= t.min) & (arr < t.max)] = t.name
    return out


def value_segments(contracts: pd.DataFrame, as_of, tiers: list[Tier] | None = None) -> pd.DataFrame:
    """Accounts under contract on ``as_of`` with their current ARR and contract-value tier.

    Parameters
    ----------
    contracts : pandas.DataFrame
        The contracts table.
    as_of : date-like
        The term in force on this day counts (``insights.metrics.terms.current_terms``).
    tiers : list of Tier, optional
        Default: ``config/segments.yaml``.

    Returns
    -------
    pandas.DataFrame
        Columns account_id, contract_id, arr, seats, end_date, segment.

    Raises
    ------
    ConfigError
        If the tiers are read from a missing or invalid file.
    """
    terms = current_terms(contracts, as_of)
    out = terms[["account_id", "contract_id", "arr", "seats", "end_date"]].reset_index(drop=True)
    out["segment"] = value_tier(out["arr"], tiers).to_numpy()
    return out


GROWTH_CONDITIONS = {
    "utilisation_min": ("utilisation", ">="),
    "revenue_growth_min": ("revenue_growth", ">="),
    "utilisation_max": ("utilisation", "<"),
    "revenue_growth_max": ("revenue_growth", "<"),
}
ACCOUNT_ATTRIBUTES = ("industry", "region", "country", "line_of_business")


@dataclass(frozen=True)
class GrowthRule:
    """A growth-potential rule: accounts meeting every condition get its name and horizon.

    Attributes
    ----------
    name : str
        Growth potential assigned by the rule.
    horizon_months : int
        Months within which the growth is expected.
    conditions : tuple of tuple of (str, str, float)
        (metric, operator ``">="`` or ``"<"``, threshold); an empty tuple matches every account.
    """

    name: str
    horizon_months: int
    conditions: tuple[tuple[str, str, float], ...]  # (metric, operator, threshold)


@dataclass(frozen=True)
class SegmentRules:
    """Validated rule-based segmentation (see ``config/segments.yaml``).

    Attributes
    ----------
    tiers : list of Tier
        Contract-value tiers, lowest first.
    attributes : dict of str to str
        Segment name -> accounts column it is read from (one of ``ACCOUNT_ATTRIBUTES``).
    growth : list of GrowthRule
        Growth-potential rules in order; the first that matches wins.
    """

    tiers: list[Tier]
    attributes: dict[str, str]
    growth: list[GrowthRule]


def load_rules(path: Path | None = None) -> SegmentRules:
    """Read and validate every rule of ``config/segments.yaml``.

    Parameters
    ----------
    path : pathlib.Path, optional
        As for ``load_value_tiers``.

    Returns
    -------
    SegmentRules

    Raises
    ------
    ConfigError
        For overlapping or missing tiers, an attribute naming an unknown column, or
        growth rules with unknown conditions, without a final default, or not numeric.
    """
    path, data = _segments_file(path)
    tiers = load_value_tiers(path)
    problems = []
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        problems.append("`attributes` must map a segment name to an accounts column")
        attributes = {}
    for name, col in attributes.items():
        if col not in ACCOUNT_ATTRIBUTES:
            problems.append(f"attribute {name!r} names unknown column {col!r} (known: {', '.join(ACCOUNT_ATTRIBUTES)})")
    growth = []
    raw = data.get("growth_potential") or []
    if not isinstance(raw, list) or not raw:
        problems.append("`growth_potential` must be a non-empty list of rules")
        raw = []
    for i, rule in enumerate(raw, 1):
        if not isinstance(rule, dict) or "name" not in rule or "horizon_months" not in rule:
            problems.append(f"growth rule {i} needs `name` and `horizon_months`")
            continue
        unknown = set(rule) - {"name", "horizon_months"} - set(GROWTH_CONDITIONS)
        if unknown:
            problems.append(
                f"growth rule {i} ({rule['name']}) has unknown condition(s) {sorted(unknown)}; "
                f"known: {', '.join(GROWTH_CONDITIONS)}"
            )
            continue
        try:
            conds = tuple(
                (GROWTH_CONDITIONS[k][0], GROWTH_CONDITIONS[k][1], float(v))
                for k, v in rule.items()
                if k in GROWTH_CONDITIONS
            )
            growth.append(GrowthRule(str(rule["name"]), int(rule["horizon_months"]), conds))
        except (TypeError, ValueError):
            problems.append(f"growth rule {i} ({rule['name']}) needs numeric thresholds and horizon")
    if growth and growth[-1].conditions:
        problems.append("the last growth rule must have no conditions (it is the default)")
    if any(not g.conditions for g in growth[:-1]):
        problems.append("only the last growth rule may be unconditional (rules after it could never match)")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems) + ".")
    return SegmentRules(tiers=tiers, attributes=dict(attributes), growth=growth)


def growth_potential(frame: pd.DataFrame, rules: list[GrowthRule]) -> pd.DataFrame:
    """Growth potential and its horizon (months) per row, first matching rule wins.

    A condition on a missing metric does not match.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the metrics the rules test (utilisation, revenue_growth).
    rules : list of GrowthRule
        In order of precedence.

    Returns
    -------
    pandas.DataFrame
        Same index: growth_potential (str, missing when no rule matches) and
        growth_horizon_months (nullable Int64).
    """
    name = pd.Series(pd.NA, index=frame.index, dtype="str")
    horizon = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    todo = pd.Series(True, index=frame.index)
    for rule in rules:
        match = todo.copy()
        for metric, op, threshold in rule.conditions:
            values = frame[metric].astype(float)
            match &= (values >= threshold) if op == ">=" else (values < threshold)
            match &= values.notna()
        name[match] = rule.name
        horizon[match] = rule.horizon_months
        todo &= ~match
    return pd.DataFrame({"growth_potential": name, "growth_horizon_months": horizon})


def rule_segments(snap: pd.DataFrame, accounts: pd.DataFrame, rules: SegmentRules | None = None) -> pd.DataFrame:
    """Rule-based segments of snapshot rows.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshot rows (``insights.metrics.snapshots``) with account_id, arr, utilisation, revenue_growth.
    accounts : pandas.DataFrame
        The accounts table (firmographic attributes).

    Returns
    -------
    pandas.DataFrame
        Same index as ``snap``: ``segment`` (contract-value tier of the current ARR), one
        column per configured attribute, ``growth_potential`` and ``growth_horizon_months``.
    """
    rules = rules or load_rules()
    out = pd.DataFrame(index=snap.index)
    out["segment"] = value_tier(snap["arr"], rules.tiers).to_numpy()
    attrs = accounts.set_index("account_id")
    for name, col in rules.attributes.items():
        out[name] = snap["account_id"].map(attrs[col]).to_numpy()
    return pd.concat([out, growth_potential(snap, rules.growth)], axis=1)
