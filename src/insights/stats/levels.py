"""Confidence levels: the one check, label and normal critical value used by every interval.

Every interval in the package takes ``level`` (for example 0.95), validates it with
``check_level``, names it in its method string with ``level_label`` ("95%") and, when it is a
normal-theory interval, uses ``z_value`` as its two-sided critical value.
"""

from __future__ import annotations

import math

from scipy import stats

from insights.errors import ParameterError


def check_level(level: float) -> None:
    """Check that ``level`` is a confidence level strictly between 0 and 1.

    Parameters
    ----------
    level : float
        Confidence level, for example 0.95.

    Raises
    ------
    ParameterError
        If ``level`` is not a real number, is NaN, or lies outside the open interval (0, 1)
        (for example ``95`` instead of ``0.95``).
    """
    if not isinstance(level, (int, float)) or not (0 < level < 1) or math.isnan(level):
        raise ParameterError(f"level must be a confidence level strictly between 0 and 1 (e.g. 0.95), got {level!r}")


def level_label(level: float) -> str:
    """Format a confidence level as a percentage for method strings.

    Parameters
    ----------
    level : float
        Confidence level, for example 0.95 or 0.9.

    Returns
    -------
    str
        The level in percent with no superfluous digits: ``"95%"``, ``"90%"``, ``"99.5%"``.
    """
    return f"{100 * level:g}%"


def z_value(level: float) -> float:
    """Two-sided standard-normal critical value for a confidence level.

    Parameters
    ----------
    level : float
        Confidence level, for example 0.95 (not checked here; call ``check_level`` first).

    Returns
    -------
    float
        The quantile ``z`` with ``P(-z < Z < z) = level`` for a standard normal ``Z``
        (1.959964... at 0.95).
    """
    return float(stats.norm.ppf(0.5 + level / 2))
