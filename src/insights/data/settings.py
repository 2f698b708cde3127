"""Project settings read from ``config/settings.yaml`` (with documented defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insights.data import paths
from insights.data.config_files import read_mapping
from insights.errors import ConfigError

DEFAULTS: dict[str, dict[str, Any]] = {
    "churn": {"grace_days": 30},
    "product": {"features_available": 24},
    "demo": {"accounts": 2000, "seed": 7, "end": "2026-09-30", "years": 3},
    "usage": {"engine": "duckdb", "master": None},
}
#: Engines that turn ``usage_events`` into ``usage_monthly`` (``insights.metrics.usage``).
USAGE_ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class Settings:
    """Validated project settings.

    Attributes
    ----------
    grace_days : int
        Days after a contract term ends within which a successor term still counts
        as a renewal (not a churn).
    features_available : int
        Number of product features a customer can use (breadth = share of them used).
    demo_accounts, demo_seed, demo_end, demo_years
        Defaults of the demo-data generator.
    usage_engine : str
        Engine that builds ``usage_monthly`` from ``usage_events`` (``USAGE_ENGINES``; ``duckdb``).
    usage_master : str or None
        Spark master URL of the ``spark`` engine (None: ``local[2]``).
    """

    grace_days: int
    features_available: int
    demo_accounts: int
    demo_seed: int
    demo_end: str
    demo_years: int
    usage_engine: str = "duckdb"
    usage_master: str | None = None


def _section(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    """One section of the settings file as a mapping (empty if absent); ConfigError if it is not one."""
    section = data.get(name) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: the section {name!r} must be a mapping of settings, got {section!r}.")
    return section


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``config/settings.yaml``; missing keys take their defaults.

    Parameters
    ----------
    path : pathlib.Path, optional
        The settings file; default ``<config>/settings.yaml``. A missing file gives the defaults.

    Returns
    -------
    Settings
        The validated settings.

    Raises
    ------
    ConfigError
        If the file is not valid YAML, a section is not a mapping, or a value has the wrong type or range.
    """
    path = path or paths.config_dir() / "settings.yaml"
    data = read_mapping(path, required=False, purpose="the settings (churn, product, demo)")
    churn = {**DEFAULTS["churn"], **_section(data, "churn", path)}
    demo = {**DEFAULTS["demo"], **_section(data, "demo", path)}
    product = {**DEFAULTS["product"], **_section(data, "product", path)}
    usage = {**DEFAULTS["usage"], **_section(data, "usage", path)}
    try:
        grace = int(churn["grace_days"])
        settings = Settings(
            grace_days=grace,
            features_available=int(product["features_available"]),
            demo_accounts=int(demo["accounts"]),
            demo_seed=int(demo["seed"]),
            demo_end=str(demo["end"]),
            demo_years=int(demo["years"]),
            usage_engine=str(usage["engine"]),
            usage_master=None if usage["master"] is None else str(usage["master"]),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: a setting has the wrong type ({exc}).") from None
    if grace < 0:
        raise ConfigError(f"{path}: churn.grace_days must be >= 0, got {grace}.")
    if settings.usage_engine not in USAGE_ENGINES:
        raise ConfigError(
            f"{path}: usage.engine must be one of {', '.join(USAGE_ENGINES)}, got {settings.usage_engine!r}."
        )
    if settings.features_available < 1:
        raise ConfigError(f"{path}: product.features_available must be >= 1.")
    return settings
