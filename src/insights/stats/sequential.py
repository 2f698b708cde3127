"""Group-sequential looks at a pilot: Lan-DeMets alpha-spending boundaries and their use.

A pilot read out at several interim looks must not test each look at the full alpha.
Lan & DeMets (1983) spend alpha as a function of the information fraction t in (0, 1];
the z boundary at each look is the value whose crossing probability, given that no
earlier boundary was crossed, equals the alpha spent at that look. The probabilities are
computed by exact recursive numerical integration of the joint normal law of the
z statistics (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19):
Simpson's rule on a fine grid, so results are deterministic.

Two-sided designs are symmetric: each side spends alpha/2 with the chosen spending
function (as in ``ldbounds`` and ``gsDesign``), so the reported cumulative alpha is the
total over both sides.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from insights.errors import ParameterError
from insights.stats.intervals import Interval

SPENDING = {
    "obrien_fleming": "O'Brien-Fleming-type",
    "pocock": "Pocock-type",
}

_GRID_POINTS = 1001  # odd, for Simpson's rule; z boundaries accurate to ~1e-9 (checked against 4001)
_Z_MAX = 12.0  # |z| beyond this carries < 1e-32 of the mass under the null


def _spend(t: np.ndarray, alpha_side: float, spending: str) -> np.ndarray:
    """Cumulative alpha spent on one side by information fraction t."""
    if spending == "obrien_fleming":
        return 2.0 * stats.norm.sf(stats.norm.isf(alpha_side / 2.0) / np.sqrt(t))
    return alpha_side * np.log1p((math.e - 1.0) * t)


def _simpson_weights(m: int, h: float) -> np.ndarray:
    w = np.ones(m)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w * h / 3.0


def _grid(lo: float, hi: float):
    z = np.linspace(lo, hi, _GRID_POINTS)
    return z, _simpson_weights(_GRID_POINTS, z[1] - z[0])


class _Step(NamedTuple):
    """One look after the first: the previous look's mass on its grid and the scales between them."""

    mass: np.ndarray  # Simpson weight x sub-density at each grid point of the previous look
    z_prev: np.ndarray  # grid of the previous look's z statistic
    s_prev: float  # sqrt of the previous information fraction
    s_now: float  # sqrt of this look's information fraction
    sd: float  # sqrt of the information added since the previous look


def _crossing(c: float, step: _Step, two_sided: bool, target: float = 0.0) -> float:
    """Per-side probability of crossing boundary ``c`` at this look without an earlier crossing, minus ``target``."""
    upper = special.ndtr((step.z_prev * step.s_prev - c * step.s_now) / step.sd)
    if two_sided:
        upper = upper + special.ndtr((-c * step.s_now - step.z_prev * step.s_prev) / step.sd)
    return float(step.mass @ upper) / (2 if two_sided else 1) - target


def _floats(values, name: str) -> np.ndarray:
    """``values`` as a flat float array, or a ParameterError naming ``name``."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a list of numbers, got {values!r}") from None


def _check_information(information) -> np.ndarray:
    t = _floats(information, "information")
    if t.size == 0:
        raise ParameterError("information needs at least one look (e.g. [0.5, 1.0])")
    if np.isnan(t).any() or (t <= 0).any() or (t > 1).any():
        raise ParameterError(f"information fractions must lie in (0, 1], got {t.tolist()}")
    if (np.diff(t) <= 0).any():
        raise ParameterError(f"information fractions must be strictly increasing, got {t.tolist()}")
    if not math.isclose(t[-1], 1.0, abs_tol=1e-12):
        raise ParameterError(f"the last look must be the final analysis (information 1.0), got {t[-1]:g}")
    return t


def spending_boundaries(
    information: list[float], alpha: float = 0.05, spending: str = "obrien_fleming", two_sided: bool = True
) -> pd.DataFrame:
    """Lan-DeMets alpha-spending z boundaries for planned looks.

    Parameters
    ----------
    information : list of float
        Information fraction at each look (share of the final sample or events), strictly
        increasing, in (0, 1], the last equal to 1.
    alpha : float, default 0.05
        Overall type I error (two-sided total when ``two_sided``).
    spending : {"obrien_fleming", "pocock"}, default "obrien_fleming"
        Lan-DeMets spending function: O'Brien-Fleming-type
        alpha*(t) = 2 - 2 Phi(z_{1 - alpha*/2} / sqrt(t)) or Pocock-type
        alpha*(t) = alpha* log(1 + (e - 1) t), with alpha* = alpha/2 per side when two-sided.
    two_sided : bool, default True
        Symmetric two-sided boundaries (reject when |z| >= boundary) or one-sided upper
        boundaries (reject when z >= boundary).

    Returns
    -------
    pandas.DataFrame
        One row per look: look, information, cumulative_alpha (total spent so far),
        alpha_spent (at this look), z_boundary, nominal_p (the p-value a look must reach),
        two_sided, method.

    Raises
    ------
    ParameterError
        If the information fractions are not increasing in (0, 1] ending at 1, alpha is not
        in (0, 1), or the spending function is unknown.
    """
    t = _check_information(information)
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ParameterError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if spending not in SPENDING:
        raise ParameterError(f"spending must be one of {sorted(SPENDING)}, got {spending!r}")
    sides = 2 if two_sided else 1
    alpha_side = alpha / sides
    cumulative_side = _spend(t, alpha_side, spending)
    cumulative_side[-1] = alpha_side  # exact at t = 1 (both functions reach alpha* there)
    increments = np.diff(np.concatenate([[0.0], cumulative_side]))

    bounds: list[float] = []
    # grid, Simpson weights and sub-density of Z on the continuation region of the previous look
    z_prev, w_prev, g_prev = np.empty(0), np.empty(0), np.empty(0)
    for k in range(t.size):
        target = float(increments[k])
        if k == 0:
            c = float(stats.norm.isf(target)) if target > 0 else math.inf
        else:
            step = _Step(w_prev * g_prev, z_prev, math.sqrt(t[k - 1]), math.sqrt(t[k]), math.sqrt(t[k] - t[k - 1]))
            if target <= 0 or _crossing(_Z_MAX * 3, step, two_sided) >= target:
                c = math.inf
            else:
                c = optimize.brentq(_crossing, 0.0, _Z_MAX * 3, args=(step, two_sided, target), xtol=1e-12, rtol=1e-14)
        bounds.append(c)
        # sub-density of Z_k on the continuation region
        hi = min(c, _Z_MAX)
        lo = -hi if two_sided else -_Z_MAX
        z, w = _grid(lo, hi)
        if k == 0:
            g = stats.norm.pdf(z)
        else:
            scale = step.s_now / step.sd
            u = (z[:, None] * step.s_now - z_prev[None, :] * step.s_prev) / step.sd
            kernel = np.exp(-0.5 * u * u) * (scale / math.sqrt(2 * math.pi))
            g = kernel @ (w_prev * g_prev)
        z_prev, w_prev, g_prev = z, w, g

    boundary = np.array(bounds)
    nominal = stats.norm.sf(boundary) * sides
    side_text = f"two-sided (alpha/2 = {alpha_side:g} per side)" if two_sided else "one-sided (upper)"
    method = (
        f"Lan-DeMets {SPENDING[spending]} alpha spending, {side_text}, overall alpha {alpha:g}; "
        f"boundaries by recursive numerical integration"
    )
    return pd.DataFrame(
        {
            "look": np.arange(1, t.size + 1),
            "information": t,
            "cumulative_alpha": cumulative_side * sides,
            "alpha_spent": increments * sides,
            "z_boundary": boundary,
            "nominal_p": nominal,
            "two_sided": two_sided,
            "method": method,
        }
    )


def sequential_test(z_values: list[float], boundaries: pd.DataFrame) -> pd.DataFrame:
    """Compare the z statistics observed so far with the planned boundaries.

    Parameters
    ----------
    z_values : list of float
        z statistic at each look done so far (treatment minus control, standardised),
        in look order; at most as many as there are planned looks.
    boundaries : pandas.DataFrame
        The output of :func:`spending_boundaries`.

    Returns
    -------
    pandas.DataFrame
        One row per look up to and including the first look whose boundary is crossed
        (the pilot stops there; later z values are ignored): look, information, z,
        boundary, crossed (bool), stop (True at the stopping look), decision
        ("continue", "stop: reject no-effect", or "final: do not reject"), method.
        ``attrs["stopped_at"]`` is the stopping look or None.

    Raises
    ------
    ParameterError
        If there are more z values than looks, a z value is missing, or ``boundaries``
        lacks the columns of :func:`spending_boundaries`.
    """
    needed = {"look", "information", "z_boundary"}
    if not isinstance(boundaries, pd.DataFrame) or not needed <= set(boundaries.columns):
        raise ParameterError("boundaries must be the DataFrame returned by spending_boundaries")
    z = _floats(z_values, "z_values")
    if z.size == 0:
        raise ParameterError("z_values is empty: pass the z statistic of each look done so far")
    if z.size > len(boundaries):
        raise ParameterError(f"{z.size} z values but only {len(boundaries)} planned looks")
    if np.isnan(z).any():
        raise ParameterError("z_values contains a missing value")
    two_sided = bool(boundaries["two_sided"].iloc[0]) if "two_sided" in boundaries else True
    b = boundaries.iloc[: z.size]
    bound = b["z_boundary"].to_numpy(dtype=float)
    crossed = np.abs(z) >= bound if two_sided else z >= bound
    stop_at = int(np.argmax(crossed)) if crossed.any() else None
    last = stop_at if stop_at is not None else z.size - 1
    final_look = len(boundaries)
    decisions = []
    for i in range(last + 1):
        if stop_at is not None and i == stop_at:
            decisions.append("stop: reject no-effect")
        elif i + 1 == final_look:
            decisions.append("final: do not reject")
        else:
            decisions.append("continue")
    method = boundaries["method"].iloc[0] if "method" in boundaries else "group-sequential boundaries"
    out = pd.DataFrame(
        {
            "look": b["look"].to_numpy()[: last + 1],
            "information": b["information"].to_numpy()[: last + 1],
            "z": z[: last + 1],
            "boundary": bound[: last + 1],
            "crossed": crossed[: last + 1],
            "stop": [stop_at is not None and i == stop_at for i in range(last + 1)],
            "decision": decisions,
            "method": ("|z| >= boundary; " if two_sided else "z >= boundary; ") + method,
        }
    )
    out.attrs["stopped_at"] = None if stop_at is None else stop_at + 1
    return out


# ------------------------------------------------------------ always-valid monitoring


def cs_tuning(planned_n: float, alpha: float = 0.05) -> float:
    """rho^2 of the asymptotic confidence sequence, tuned to be tightest at ``planned_n`` units.

    Waudby-Smith et al. (2023), "Time-uniform central limit theory and asymptotic confidence
    sequences", eq. for the optimal rho: rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / n*
    (the choice GrowthBook documents for its sequential testing).

    Parameters
    ----------
    planned_n : float
        Units (both arms) at which the sequence should be tightest, e.g. the planned sample size.
    alpha : float, default 0.05
        Error rate over the whole monitoring.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        If ``planned_n`` is not positive or ``alpha`` not in (0, 1).
    """
    if not planned_n > 0:
        raise ParameterError(f"planned_n must be positive, got {planned_n!r}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    a = -2.0 * math.log(alpha)
    return (a + math.log(a + 1.0)) / planned_n


def cs_half_width(se, n, alpha: float = 0.05, planned_n: float | None = None):
    """Half-width of the asymptotic confidence sequence at ``n`` units, for an estimate with standard error ``se``.

    sigma_hat sqrt(2 (n rho^2 + 1) / (n^2 rho^2) log(sqrt(n rho^2 + 1) / alpha)) with
    sigma_hat = se sqrt(n) (Waudby-Smith et al. 2023), i.e.
    se sqrt(2 (n rho^2 + 1) / (n rho^2) log(sqrt(n rho^2 + 1) / alpha)). Works on arrays.

    Parameters
    ----------
    se : float or array-like
        Standard error of the estimate at this look (e.g. the unpooled standard error of a
        difference in proportions or means).
    n : float or array-like
        Units (both arms) behind the estimate at this look.
    alpha : float, default 0.05
        Error rate over all looks, however many and whenever they are made.
    planned_n : float, optional
        Units at which the sequence is tuned to be tightest (``cs_tuning``); default ``n``.

    Returns
    -------
    float or numpy.ndarray
        The half-width (same shape as the broadcast of ``se`` and ``n``).

    Raises
    ------
    ParameterError
        If ``alpha`` or ``planned_n`` is invalid.
    """
    n = np.asarray(n, dtype=float)
    rho2 = cs_tuning(float(planned_n) if planned_n is not None else float(np.max(n)), alpha)
    nr = n * rho2
    return np.asarray(se, dtype=float) * np.sqrt(2.0 * (nr + 1.0) / nr * np.log(np.sqrt(nr + 1.0) / alpha))


def confidence_sequence(estimate: float, se: float, n: float, alpha: float = 0.05, planned_n: float | None = None):
    """An always-valid interval: estimate +/- ``cs_half_width``; peeking at it any number of times keeps alpha.

    Parameters
    ----------
    estimate : float
        The estimate at this look (e.g. a difference in renewal rates).
    se : float
        Its standard error.
    n : float
        Units (both arms) behind it.
    alpha : float, default 0.05
        Error rate over all looks.
    planned_n : float, optional
        Units at which the sequence is tuned to be tightest (default ``n``).

    Returns
    -------
    insights.stats.intervals.Interval
        Level 1 - alpha, method naming the asymptotic confidence sequence and its tuning.

    Raises
    ------
    ParameterError
        If ``se`` is not a finite non-negative number, ``n`` is not positive, or ``alpha`` or
        ``planned_n`` is invalid.
    """
    if not (math.isfinite(se) and se >= 0) or not n > 0:
        raise ParameterError(f"se must be finite and >= 0 and n positive, got se={se!r}, n={n!r}")
    tuned = float(planned_n) if planned_n is not None else float(n)
    half = float(cs_half_width(se, n, alpha, tuned))
    method = (
        f"asymptotic confidence sequence (Waudby-Smith et al. 2023), always valid at {1 - alpha:.0%}, "
        f"tuned for n = {tuned:g}"
    )
    return Interval(float(estimate), float(estimate) - half, float(estimate) + half, 1 - alpha, method)
