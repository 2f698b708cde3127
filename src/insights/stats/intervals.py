"""Intervals and tests for two-arm pilots: proportions, means, differences, lifts.

Every result names its method (``Interval.method``, ``TestResult.method``), so a
readout can say exactly what was computed. Conventions: arm 1 is treatment, arm 0
is control; differences and lifts are treatment minus (or over) control; success
(for example renewed) is the outcome counted in ``x``.

The private ``_*`` kernels work on numpy arrays (one element per pilot) so the A/A
simulation can run thousands of pilots through the same code as the public functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from insights.errors import ParameterError
from insights.stats.levels import check_level, level_label, z_value

#: Largest total sample size for which ``compare_proportions`` uses Barnard's exact test
#: (scipy evaluates all n1 x n0 tables on a nuisance grid: about 30 ms at n = 1,000).
BARNARD_MAX_N = 1000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate, low, high : float
        Point estimate and interval bounds.
    level : float
        Confidence level, for example 0.95.
    method : str
        How the interval was computed, for example ``"Wilson score 95% CI"``.
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str

    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the closed interval [low, high].

        Parameters
        ----------
        value : float, default 0.0
            The value to test, for example 0 for a difference or 1 for a ratio.

        Returns
        -------
        bool
            True when ``value < low`` or ``value > high``; False inside the interval, at its ends,
            or when a bound is NaN.
        """
        return bool(value < self.low or value > self.high)


@dataclass(frozen=True)
class TestResult:
    """A test statistic with its two-sided p-value and the method that produced it.

    Attributes
    ----------
    statistic : float
        The test statistic (its meaning is given by ``method``).
    p_value : float
        Two-sided p-value.
    method : str
        The test used and, when it was chosen automatically, why.
    """

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    method: str


# ----------------------------------------------------------------------------- checks


def _check_count(successes, n, arm: str = "") -> tuple[int, int]:
    label = f" ({arm})" if arm else ""
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not float(value).is_integer():
            raise ParameterError(f"{name}{label} must be a whole number, got {value!r}")
    successes, n = int(successes), int(n)
    if n < 0 or successes < 0:
        raise ParameterError(f"counts must be non-negative{label}: got successes={successes}, n={n}")
    if successes > n:
        raise ParameterError(f"successes ({successes}) cannot exceed n ({n}){label}")
    if n == 0:
        raise ParameterError(f"the arm{label} is empty (n=0): at least one account is needed")
    return successes, n


def _as_values(values, name: str, min_n: int = 2) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a sequence of numbers ({exc})") from None
    if np.isnan(arr).any() or np.isinf(arr).any():
        raise ParameterError(f"{name} contains missing or infinite values; drop or impute them first")
    if arr.size < min_n:
        raise ParameterError(f"{name} needs at least {min_n} values, got {arr.size}")
    return arr


# ---------------------------------------------------------------------------- kernels


def _wilson(x, n, z):
    """Wilson score bounds for arrays of counts (n > 0)."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    p = x / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # the bounds hold p exactly (0 at x = 0 and 1 at x = n, as in closed form): rounding left e.g.
    # 2.8e-17 above an observed 0, a negative error bar for matplotlib
    return np.clip(np.minimum(centre - half, p), 0.0, 1.0), np.clip(np.maximum(centre + half, p), 0.0, 1.0)


def _newcombe(x1, n1, x0, n0, z):
    """Newcombe (1998) method 10 hybrid score bounds for p1 - p0, arrays."""
    p1 = np.asarray(x1, dtype=float) / n1
    p0 = np.asarray(x0, dtype=float) / n0
    l1, u1 = _wilson(x1, n1, z)
    l0, u0 = _wilson(x0, n0, z)
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, low, high


def _pearson_chi2(x1, n1, x0, n0):
    """Pearson chi-square (no continuity correction) for 2x2 tables, arrays.

    Returns statistic, p-value and the smallest expected cell count.
    """
    x1, n1, x0, n0 = (np.asarray(a, dtype=float) for a in (x1, n1, x0, n0))
    n = n1 + n0
    s = x1 + x0
    f = n - s
    min_expected = np.minimum(n1, n0) * np.minimum(s, f) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = n * (x1 * (n0 - x0) - x0 * (n1 - x1)) ** 2 / (n1 * n0 * s * f)
    stat = np.where((s == 0) | (f == 0), 0.0, stat)
    return stat, stats.chi2.sf(stat, 1), min_expected


def _yates_chi2(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    """Chi-square with Yates' correction, n (|ad - bc| - n/2)^2 / (n1 n0 s f), and its p-value (s, f > 0)."""
    n, s = n1 + n0, x1 + x0
    dev = max(abs(x1 * (n0 - x0) - x0 * (n1 - x1)) - n / 2, 0.0)
    stat = n * dev**2 / (n1 * n0 * s * (n - s))
    return stat, float(stats.chi2.sf(stat, 1))


def _welch(m1, v1, n1, m0, v0, n0):
    """Welch difference, standard error and Satterthwaite degrees of freedom, arrays."""
    a = v1 / n1
    b = v0 / n0
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1))
    return m1 - m0, se, df


# ------------------------------------------------------------------------ one sample


def wilson_method(level: float = 0.95) -> str:
    """How a Wilson score interval is named in every output, e.g. ``"Wilson score 95% CI"``.

    Parameters
    ----------
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        If level is not in (0, 1).
    """
    check_level(level)
    return f"Wilson score {level_label(level)} CI"


def proportion_ci(successes: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score confidence interval for a proportion.

    Parameters
    ----------
    successes : int
        Number of successes (for example renewed accounts), 0 <= successes <= n.
    n : int
        Number of accounts, n >= 1.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        estimate = successes / n; method ``"Wilson score 95% CI"``.

    Raises
    ------
    ParameterError
        If a count is negative or not whole, n is 0, successes > n, or level is not in (0, 1).
    """
    method = wilson_method(level)
    x, n = _check_count(successes, n)
    low, high = _wilson(x, n, z_value(level))
    return Interval(x / n, float(low), float(high), level, method)


def mean_ci(values, level: float = 0.95) -> Interval:
    """Student t confidence interval for a mean.

    Parameters
    ----------
    values : array-like of float
        Observations (at least 2, no missing values).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        estimate = sample mean; bounds mean +/- t(n-1) * s / sqrt(n).

    Raises
    ------
    ParameterError
        If there are fewer than 2 values, missing or infinite values, or level is not in (0, 1).
    """
    check_level(level)
    y = _as_values(values, "values")
    n = y.size
    mean = float(y.mean())
    se = float(y.std(ddof=1) / math.sqrt(n))
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return Interval(mean, mean - t * se, mean + t * se, level, f"Student t {level_label(level)} CI (df={n - 1})")


# ------------------------------------------------------------------------ two samples


def risk_difference(x1: int, n1: int, x0: int, n0: int, level: float = 0.95) -> Interval:
    """Difference of two proportions p1 - p0 with Newcombe's hybrid score interval.

    Newcombe (1998), Statistics in Medicine 17:873-890, method 10: the interval
    combines the Wilson score intervals of each arm (square-and-add). It stays
    inside [-1, 1] and has good coverage in small samples and at 0 or n successes.

    Parameters
    ----------
    x1, n1 : int
        Successes and accounts in the treatment arm.
    x0, n0 : int
        Successes and accounts in the control arm.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        estimate = x1/n1 - x0/n0; method ``"Newcombe hybrid score 95% CI"``.

    Raises
    ------
    ParameterError
        If a count is invalid (negative, successes > n, empty arm) or level is not in (0, 1).
    """
    check_level(level)
    x1, n1 = _check_count(x1, n1, "treatment")
    x0, n0 = _check_count(x0, n0, "control")
    d, low, high = _newcombe(x1, n1, x0, n0, z_value(level))
    return Interval(
        float(d), float(low), float(high), level, f"Newcombe hybrid score {level_label(level)} CI (method 10)"
    )


def mean_difference(y1, y0, level: float = 0.95) -> tuple[Interval, TestResult]:
    """Difference of means mean1 - mean0 with Welch's t interval and test.

    Parameters
    ----------
    y1, y0 : array-like of float
        Outcomes in the treatment and control arms (at least 2 each).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    (Interval, TestResult)
        The Welch t interval (Satterthwaite degrees of freedom) and the two-sided
        Welch t test of equal means (statistic = t).

    Raises
    ------
    ParameterError
        If an arm has fewer than 2 values or missing values, both arms are constant,
        or level is not in (0, 1).
    """
    a = _as_values(y1, "treatment outcomes (y1)")
    b = _as_values(y0, "control outcomes (y0)")
    return mean_difference_from_stats(
        a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size, level, constant="both arms"
    )


def mean_difference_from_stats(
    mean1: float,
    sd1: float,
    n1: int,
    mean0: float,
    sd0: float,
    n0: int,
    level: float = 0.95,
    constant: str = "both standard deviations are 0",
) -> tuple[Interval, TestResult]:
    """Welch's t interval and test of mean1 - mean0 from each arm's mean, standard deviation and size.

    For readouts kept as sums (n, sum, sum of squares turned into mean and sd), as peers such as
    GrowthBook store them; ``mean_difference`` is this applied to raw values.

    Parameters
    ----------
    mean1, sd1, n1 : float, float, int
        Treatment mean, sample standard deviation (ddof 1) and size (>= 2).
    mean0, sd0, n0 : float, float, int
        The same for the control.
    level : float, default 0.95
        Confidence level.
    constant : str, default "both standard deviations are 0"
        How the message names the case of no variation at all.

    Returns
    -------
    (Interval, TestResult)
        The Welch t interval (Satterthwaite degrees of freedom) and the two-sided Welch t test.

    Raises
    ------
    ParameterError
        If a size is below 2, a standard deviation is negative or a value is not finite, both
        standard deviations are 0, or level is not in (0, 1).
    """
    check_level(level)
    values = (mean1, sd1, n1, mean0, sd0, n0)
    if not all(math.isfinite(float(v)) for v in values) or min(n1, n0) < 2 or min(sd1, sd0) < 0:
        raise ParameterError(
            f"Welch's test needs finite means, standard deviations >= 0 and at least 2 units per arm, got {values}"
        )
    d, se, df = _welch(mean1, sd1**2, n1, mean0, sd0**2, n0)
    if not se > 0:
        raise ParameterError(
            f"{constant} have constant outcomes, so the Welch t test is undefined; "
            "check that the outcome column is the right one"
        )
    d, se, df = float(d), float(se), float(df)
    t_crit = float(stats.t.ppf(0.5 + level / 2, df))
    t_stat = d / se
    p = float(2 * stats.t.sf(abs(t_stat), df))
    interval = Interval(
        d, d - t_crit * se, d + t_crit * se, level, f"Welch t {level_label(level)} CI (Satterthwaite df={df:.1f})"
    )
    return interval, TestResult(t_stat, p, f"Welch two-sample t test, two-sided (df={df:.1f})")


def relative_lift(x1: int, n1: int, x0: int, n0: int, level: float = 0.95) -> Interval:
    """Relative lift p1/p0 - 1 with a delta-method interval on the log risk-ratio scale.

    The interval is exp(log RR +/- z * se) - 1 with
    se^2 = 1/x1 - 1/n1 + 1/x0 - 1/n0 (the delta method for log(p1/p0), Katz et al. 1978),
    so it is asymmetric around the estimate and never goes below -100%.

    Parameters
    ----------
    x1, n1 : int
        Successes and accounts in the treatment arm.
    x0, n0 : int
        Successes and accounts in the control arm.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        estimate = (x1/n1) / (x0/n0) - 1.

    Raises
    ------
    ParameterError
        If a count is invalid, or either arm has no successes (the log risk ratio is
        then undefined: report the risk difference instead).
    """
    check_level(level)
    x1, n1 = _check_count(x1, n1, "treatment")
    x0, n0 = _check_count(x0, n0, "control")
    if x1 == 0 or x0 == 0:
        raise ParameterError(
            "relative lift needs at least one success in each arm (the log risk ratio is "
            "undefined at 0); use risk_difference instead"
        )
    log_rr = math.log((x1 / n1) / (x0 / n0))
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    return _log_ratio_interval(
        log_rr, se, level, f"delta method on the log risk-ratio scale (Katz), normal {level_label(level)} CI"
    )


def relative_lift_means(y1, y0, level: float = 0.95) -> Interval:
    """Relative lift of means mean1/mean0 - 1 with a delta-method interval on the log scale.

    log(m1/m0) has delta-method variance s1^2 / (n1 m1^2) + s0^2 / (n0 m0^2) (independent arms);
    the interval is exp(log ratio +/- z * se) - 1, so it is asymmetric around the estimate and
    never goes below -100%. ``log_lift_test`` gives the matching p-value.

    Parameters
    ----------
    y1, y0 : array-like of float
        Outcomes in the treatment and control arms (at least 2 each).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        estimate = mean(y1) / mean(y0) - 1; method names the log-scale delta method.

    Raises
    ------
    ParameterError
        If an arm has fewer than 2 values or missing values, the control mean is 0, or the two
        means have different signs (the log ratio is then undefined: use ``mean_difference``).
    """
    check_level(level)
    a = _as_values(y1, "treatment outcomes (y1)")
    b = _as_values(y0, "control outcomes (y0)")
    m1, m0 = float(a.mean()), float(b.mean())
    if m0 == 0:
        raise ParameterError("the control mean is 0, so a relative lift is undefined; use mean_difference")
    if m1 / m0 <= 0:
        raise ParameterError(
            f"the means have different signs or the treatment mean is 0 ({m1:g} vs {m0:g}), so the log "
            "ratio is undefined; use mean_difference"
        )
    se = math.sqrt(a.var(ddof=1) / (a.size * m1**2) + b.var(ddof=1) / (b.size * m0**2))
    return _log_ratio_interval(
        math.log(m1 / m0), se, level, f"delta method on the log ratio-of-means scale, normal {level_label(level)} CI"
    )


def _log_ratio_interval(log_ratio: float, se: float, level: float, method: str) -> Interval:
    """exp(log ratio +/- z se) - 1, the estimate exp(log ratio) - 1."""
    z = z_value(level)
    return Interval(
        math.exp(log_ratio) - 1, math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1, level, method
    )


def log_lift_test(lift: Interval) -> TestResult:
    """Two-sided test of no lift (ratio 1) matching a log-scale relative-lift interval.

    The interval exp(log r +/- z se) - 1 of ``relative_lift`` or ``relative_lift_means`` gives
    back se = (log(1 + high) - log(1 + low)) / (2 z); the test is z = log r / se, normal.

    Parameters
    ----------
    lift : Interval
        A relative-lift interval on the log scale (from ``relative_lift`` or ``relative_lift_means``).

    Returns
    -------
    TestResult
        statistic z, two-sided normal p-value, method naming the delta method on the log scale.

    Raises
    ------
    ParameterError
        If the interval is not a finite log-scale interval (NaN bounds, or low <= -1).
    """
    values = (lift.estimate, lift.low, lift.high)
    if not all(math.isfinite(v) for v in values) or not lift.low > -1 or not lift.high > lift.low:
        raise ParameterError(f"log_lift_test needs a finite relative-lift interval above -100%, got {lift}")
    se = (math.log1p(lift.high) - math.log1p(lift.low)) / (2 * z_value(lift.level))
    z = math.log1p(lift.estimate) / se
    return TestResult(z, float(2 * stats.norm.sf(abs(z))), "z test of log ratio = 0, delta method on the log scale")


def difference_of_proportions(
    x1: int, n1: int, x0: int, n0: int, level: float = 0.95, method: str = "newcombe"
) -> Interval:
    """Difference of two proportions p1 - p0 with the interval asked for.

    Parameters
    ----------
    x1, n1, x0, n0 : int
        Successes and accounts in the treatment (1) and control (0) arms.
    level : float, default 0.95
        Confidence level.
    method : {"newcombe", "wald"}, default "newcombe"
        Newcombe's hybrid score interval (``risk_difference``) or the Wald interval
        d +/- z sqrt(p1 q1 / n1 + p0 q0 / n0) (unpooled; may leave [-1, 1] and has poor coverage
        near 0 or 1, offered because peers use it).

    Returns
    -------
    Interval
        estimate = x1/n1 - x0/n0; the method string names the interval.

    Raises
    ------
    ParameterError
        If a count is invalid, level is not in (0, 1) or the method is unknown.
    """
    if method == "newcombe":
        return risk_difference(x1, n1, x0, n0, level)
    if method != "wald":
        raise ParameterError(f"interval method must be 'newcombe' or 'wald', got {method!r}")
    check_level(level)
    x1, n1 = _check_count(x1, n1, "treatment")
    x0, n0 = _check_count(x0, n0, "control")
    p1, p0 = x1 / n1, x0 / n0
    half = z_value(level) * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    d = p1 - p0
    return Interval(d, d - half, d + half, level, f"Wald (unpooled) {level_label(level)} CI")


def compare_proportions(
    x1: int, n1: int, x0: int, n0: int, min_expected: float = 5.0, correction: bool = False
) -> TestResult:
    """Two-sided test of equal proportions, choosing the method from the expected counts.

    - Every expected cell count of the 2x2 table >= ``min_expected``: Pearson
      chi-square test without continuity correction.
    - Otherwise, n1 + n0 <= ``BARNARD_MAX_N``: Barnard's exact unconditional test
      (``scipy.stats.barnard_exact``, pooled Wald statistic), which is more powerful
      than Fisher's test in small samples.
    - Otherwise: Fisher's exact test (conditional on both margins).

    Parameters
    ----------
    x1, n1 : int
        Successes and accounts in the treatment arm.
    x0, n0 : int
        Successes and accounts in the control arm.
    min_expected : float, default 5.0
        Smallest expected count for which the chi-square approximation is trusted.
    correction : bool, default False
        Yates' continuity correction of the chi-square test (as R's ``prop.test`` default and
        ``scipy.stats.chi2_contingency(correction=True)``); the method string says which.

    Returns
    -------
    TestResult
        statistic: chi-square, Barnard's Wald statistic or the sample odds ratio
        (Fisher); the method string says which test was used and why.

    Raises
    ------
    ParameterError
        If a count is invalid (negative, successes > n, empty arm) or min_expected < 0.
    """
    x1, n1 = _check_count(x1, n1, "treatment")
    x0, n0 = _check_count(x0, n0, "control")
    if not min_expected >= 0:
        raise ParameterError(f"min_expected must be >= 0, got {min_expected!r}")
    stat, p, smallest = _pearson_chi2(x1, n1, x0, n0)
    smallest = float(smallest)
    if x1 + x0 in (0, n1 + n0):
        return TestResult(
            0.0, 1.0, "no test needed: every account had the same outcome, so the arms cannot differ (p = 1)"
        )
    if smallest >= min_expected:
        with_cc = "without continuity correction"
        if correction:
            stat, p = _yates_chi2(x1, n1, x0, n0)
            with_cc = "with Yates' continuity correction"
        return TestResult(
            float(stat),
            float(p),
            f"Pearson chi-square test {with_cc} (smallest expected count {smallest:.1f} >= {min_expected:g})",
        )
    # scipy's exact tests take the two samples as the table's *columns* (rows: success, failure).
    table = [[x1, x0], [n1 - x1, n0 - x0]]
    if n1 + n0 <= BARNARD_MAX_N:
        res = stats.barnard_exact(table, alternative="two-sided", pooled=True)
        return TestResult(
            float(res.statistic),
            float(res.pvalue),
            f"Barnard's exact unconditional test, two-sided, pooled Wald statistic "
            f"(smallest expected count {smallest:.1f} < {min_expected:g})",
        )
    res = stats.fisher_exact(table, alternative="two-sided")
    return TestResult(
        float(res.statistic),
        float(res.pvalue),
        f"Fisher's exact test, two-sided (smallest expected count {smallest:.1f} < {min_expected:g}; "
        f"n = {n1 + n0} > {BARNARD_MAX_N}, too large for Barnard's test); statistic = sample odds ratio",
    )


def sample_ratio_mismatch(
    observed: dict[str, int], expected_share: dict[str, float], method: str = "auto"
) -> TestResult:
    """Sample ratio mismatch check: whether the arm sizes match the planned allocation.

    Two arms and fewer than 1,000 accounts: exact two-sided binomial test
    (``scipy.stats.binomtest``) of the first arm's count. Otherwise (or with more
    than two arms): chi-square goodness-of-fit test. A small p-value means the
    assignment or the data pipeline lost or added accounts unevenly.

    Parameters
    ----------
    observed : dict of str to int
        Accounts per arm, e.g. ``{"treatment": 118, "control": 122}``.
    expected_share : dict of str to float
        Planned share per arm, same keys, positive, summing to 1 (e.g. 0.5 each).
    method : {"auto", "binomial", "chi-square"}, default "auto"
        "auto" chooses as above; "binomial" (two arms only) or "chi-square" forces the test.

    Returns
    -------
    TestResult
        statistic: the first arm's count (binomial) or the chi-square statistic.

    Raises
    ------
    ParameterError
        If the keys differ, fewer than two arms are given, a count is negative or not
        whole, all counts are 0, a share is not positive or the shares do not sum to 1, or the
        method is unknown (or "binomial" with more than two arms).
    """
    if method not in ("auto", "binomial", "chi-square"):
        raise ParameterError(f"method must be 'auto', 'binomial' or 'chi-square', got {method!r}")
    if not isinstance(observed, dict) or not isinstance(expected_share, dict):
        raise ParameterError("observed and expected_share must be dicts keyed by arm name")
    if set(observed) != set(expected_share):
        raise ParameterError(
            f"observed arms {sorted(observed)} and expected_share arms {sorted(expected_share)} must be the same"
        )
    arms = list(observed)
    if len(arms) < 2:
        raise ParameterError("a sample ratio check needs at least two arms")
    counts = []
    for arm in arms:
        value = observed[arm]
        if isinstance(value, bool) or not float(value).is_integer() or value < 0:
            raise ParameterError(f"observed count for arm {arm!r} must be a non-negative whole number, got {value!r}")
        counts.append(int(value))
    shares = np.array([float(expected_share[a]) for a in arms])
    if (shares <= 0).any() or np.isnan(shares).any():
        raise ParameterError(f"every expected share must be positive, got {expected_share}")
    if abs(shares.sum() - 1) > 1e-6:
        raise ParameterError(f"expected shares must sum to 1, they sum to {shares.sum():g}")
    total = sum(counts)
    if total == 0:
        raise ParameterError("no accounts were assigned (all observed counts are 0)")
    if method == "binomial" and len(arms) != 2:
        raise ParameterError(f"the binomial test compares two arms, got {len(arms)}; use method='chi-square'")
    if len(arms) == 2 and (method == "binomial" or (method == "auto" and total < 1000)):
        res = stats.binomtest(counts[0], total, float(shares[0]), alternative="two-sided")
        return TestResult(
            float(counts[0]),
            float(res.pvalue),
            f"exact binomial test, two-sided, of {counts[0]} {arms[0]!s} of {total} accounts "
            f"against a planned share of {shares[0]:g}" + (" (n < 1000)" if method == "auto" else ""),
        )
    expected = total * shares
    res = stats.chisquare(counts, expected)
    why = "as asked" if method == "chi-square" else ("n >= 1000" if len(arms) == 2 else f"{len(arms)} arms")
    return TestResult(
        float(res.statistic), float(res.pvalue), f"chi-square goodness-of-fit test, df={len(arms) - 1} ({why})"
    )
