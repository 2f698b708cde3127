"""Reading the YAML files under ``config/``: one place for the file-level checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from insights.errors import ConfigError


def read_mapping(path: Path, required: bool, purpose: str) -> dict[str, Any]:
    """Load a YAML file that must hold a mapping.

    Parameters
    ----------
    path : pathlib.Path
        The YAML file.
    required : bool
        If False, a missing file gives an empty mapping (defaults apply).
    purpose : str
        What the file defines, for the error message.

    Returns
    -------
    dict
        The parsed mapping; empty for an empty file or a missing optional one.

    Raises
    ------
    ConfigError
        If a required file is missing, the YAML does not parse, or it is not a mapping.
    """
    path = Path(path)
    if not path.exists():
        if required:
            raise ConfigError(f"{path} is missing: it defines {purpose}.")
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping (it defines {purpose}).")
    return data
