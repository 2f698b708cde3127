"""Recalibrate stated probabilities: an isotonic map from a stated probability to the observed share right.

``fit_map(stated, correct)`` fits a non-decreasing step function (``sklearn.isotonic.IsotonicRegression``)
of the 0/1 outcome on the stated probability and returns its knots; ``apply_map(p, x, y)``
evaluates it (linear between knots, constant beyond them). Fit on one set of cases and apply to
others: a map evaluated on the cases it was fitted on is optimistic.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

from insights.errors import ParameterError

METHOD = "isotonic regression of the outcome on the stated probability (pool adjacent violators)"


def fit_map(stated, correct) -> tuple[np.ndarray, np.ndarray]:
    """Knots of the isotonic map from stated probability to the share of cases that came out right.

    Parameters
    ----------
    stated : array-like of float
        Stated probabilities in [0, 1].
    correct : array-like of 0/1
        Whether each case came out right.

    Returns
    -------
    x, y : numpy.ndarray
        Knots (increasing ``x``, non-decreasing ``y``), as ``IsotonicRegression``'s thresholds.

    Raises
    ------
    ParameterError
        If lengths differ, fewer than 2 cases, values are outside [0, 1] or ``correct`` is not 0/1.
    """
    p = np.asarray(stated, dtype=float).ravel()
    c = np.asarray(correct, dtype=float).ravel()
    if p.shape != c.shape or p.size < 2:
        raise ParameterError(f"stated and correct need the same length (at least 2), got {p.size} and {c.size}.")
    if not (np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()):
        raise ParameterError("stated probabilities must be finite and within [0, 1].")
    if not np.isin(c, (0.0, 1.0)).all():
        raise ParameterError("correct must be 0/1 (or boolean).")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(p, c)
    return np.asarray(iso.X_thresholds_, float), np.asarray(iso.y_thresholds_, float)


def apply_map(p, x, y) -> np.ndarray:
    """Evaluate the map with knots ``x``, ``y`` at ``p`` (linear between knots, constant outside).

    Parameters
    ----------
    p : float or array-like
        Stated probabilities.
    x, y : array-like of float
        Knots from ``fit_map`` (``x`` increasing).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ParameterError
        If ``x`` and ``y`` differ in length, are empty or ``x`` is not increasing.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 1 or (np.diff(x) < 0).any():
        raise ParameterError("a calibration map needs knots x (non-decreasing) and y of the same length.")
    return np.interp(np.atleast_1d(np.asarray(p, dtype=float)), x, y)
