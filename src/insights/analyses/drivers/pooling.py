"""Driver effects per segment with partial pooling, and how sure we are of each segment's first driver.

A segment with few churn events (Enterprise in the demo: 11-27) cannot be ranked alone, but it
need not be refused: its effects are estimated in the same model as the other segments' and
shrunk toward the effect common to all segments (``insights.stats.partial_pooling``), as far as the
data say the segments differ. Its estimate then leans on the other segments and its interval is
honest about that.

Model
-----
Per segment, a logistic regression of churn at the renewal on the drivers (standardised over all
analysed renewals, ``z_<driver>`` of ``ranking.analysis_rows``: one scale for every segment, so
effects are comparable) with the renewal controls (tenure, first renewal), standard errors
clustered by account. The segments' coefficient vectors are then pooled: DerSimonian-Laird
between-segment variance per driver, normal-normal posterior per segment.

First driver and its confidence
-------------------------------
A segment's first driver is the one with the most protective (most negative) shrunk log-odds
effect per SD. ``p_first`` is the probability that it is the most protective under the
posterior (normal draws). The metrics are noisy proxies of what they stand for, so a driver
measured more precisely can come out first with a high ``p_first`` even when a noisier one matters
more: ``p_first`` is mapped to a **calibrated confidence** by ``CONFIDENCE_MAP`` (``SMALL_SEGMENT_MAP``
for a segment with fewer than ``SMALL_SEGMENT_EVENTS`` churns), isotonic regressions of "the first
driver is the true one" on ``p_first`` fitted on demo seeds the evaluation never uses
(``bench/eval_playbook_calibration.py``; tables in docs/driver_recovery.md).
A driver is recommended only when its confidence reaches ``RECOMMEND_AT``; otherwise the drivers
still in contention are named.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from insights.analyses.drivers.ranking import MIN_EVENTS
from insights.errors import ParameterError
from insights.metrics.snapshots import DRIVERS
from insights.stats import partial_pooling
from insights.stats.recalibration import apply_map

#: Recommend a segment's first driver only at this calibrated confidence or above.
RECOMMEND_AT = 0.9
#: Drivers are "in contention" until their P(first), largest first, add up to this.
CONTENTION_MASS = 0.9
#: Controls of every segment's model.
CONTROLS = ("tenure_years", "first_renewal")
#: Fewest churn events (and renewals that did not churn) a segment needs to be fitted at all.
MIN_FIT_EVENTS = 8
#: Isotonic map p_first -> share of first drivers that are the true one, fitted by
#: ``bench/eval_playbook_calibration.py --fit 201-250`` (demo seeds 201-250, default size, all three
#: segments; see docs/driver_recovery.md). Pairs (p_first, confidence); linear in between.
CONFIDENCE_MAP: tuple[tuple[float, float], ...] = (
    (0.3072, 0.0000),
    (0.3651, 0.0000),
    (0.3906, 0.2500),
    (0.4173, 0.2500),
    (0.4219, 0.3333),
    (0.5302, 0.3333),
    (0.5312, 0.4138),
    (0.6425, 0.4138),
    (0.6432, 0.5676),
    (0.8639, 0.5676),
    (0.8740, 0.6667),
    (0.9073, 0.6667),
    (0.9124, 0.7500),
    (0.9227, 0.7500),
    (0.9291, 0.9000),
    (0.9447, 0.9000),
    (0.9462, 1.0000),
    (1.0000, 1.0000),
)
#: Segments with fewer churn events than this (``ranking.MIN_EVENTS``, below which a segment is not
#: ranked alone) lean on the pooling, and their first driver is right far less often: they take
#: ``SMALL_SEGMENT_MAP``, fitted on the small segments of the same training seeds.
SMALL_SEGMENT_EVENTS = MIN_EVENTS
#: Isotonic map for segments below ``SMALL_SEGMENT_EVENTS`` (demo seeds 201-250: Enterprise, 10-29
#: churns, first driver right in 11 of 50).
SMALL_SEGMENT_MAP: tuple[tuple[float, float], ...] = (
    (0.3072, 0.0000),
    (0.3651, 0.0000),
    (0.3906, 0.2222),
    (0.6425, 0.2222),
    (0.6667, 0.2381),
    (0.9447, 0.2381),
)


def segment_models(rows: pd.DataFrame, drivers=DRIVERS) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Each segment's logistic coefficients of the standardised drivers, with their clustered covariance.

    Parameters
    ----------
    rows : pandas.DataFrame
        Analysis rows (``ranking.analysis_rows``) with ``segment``, ``churned``, ``account_id``,
        the controls and ``z_<driver>``.
    drivers : sequence of str

    Returns
    -------
    estimates : pandas.DataFrame
        Fitted segments x drivers: log-odds of churn per +1 SD (overall SD). A segment with fewer
        than ``MIN_FIT_EVENTS`` churns or renewals is not fitted (it is in ``counts`` only).
    covariances : dict of str to pandas.DataFrame
        Segment -> covariance of its driver coefficients (clustered by account).
    counts : pandas.DataFrame
        Per segment: renewals, events.

    Raises
    ------
    ParameterError
        If a column is missing or fewer than 2 segments can be fitted.
    """
    drivers = list(drivers)
    z = [f"z_{d}" for d in drivers]
    need = {"segment", "churned", "account_id", *CONTROLS, *z}
    missing = sorted(need - set(rows.columns))
    if missing:
        raise ParameterError(f"analysis rows lack column(s) {missing}; build them with ranking.analysis_rows.")
    est, covs, counts = {}, {}, {}
    for s, sub in rows.groupby("segment", sort=True):
        y = sub["churned"].astype(float)
        events = int(y.sum())
        counts[s] = {"renewals": len(sub), "events": events}
        if min(events, len(sub) - events) < MIN_FIT_EVENTS:
            continue  # too few to fit alone: pooled_effects gives it the common effect (see there)
        X = sm.add_constant(sub[z + list(CONTROLS)].astype(float), has_constant="add")
        X = X.loc[:, (X.std(ddof=0) > 0) | (X.columns == "const")]
        fit = sm.Logit(y, X).fit(
            disp=0, maxiter=200, cov_type="cluster", cov_kwds={"groups": pd.factorize(sub["account_id"])[0]}
        )
        b, c = fit.params[z], fit.cov_params().loc[z, z]
        if not (np.isfinite(b).all() and np.isfinite(c.to_numpy()).all()):
            raise ParameterError(f"segment {s!r}: the logistic fit did not converge (separation?).")
        est[s] = b.set_axis(drivers)
        covs[s] = pd.DataFrame(c.to_numpy(), index=drivers, columns=drivers)
    if len(est) < 2:
        raise ParameterError(
            f"partial pooling needs at least 2 segments with {MIN_FIT_EVENTS} churns and {MIN_FIT_EVENTS} renewals "
            f"each; per segment (renewals, churns): {[(k, v['renewals'], v['events']) for k, v in counts.items()]}."
        )
    return pd.DataFrame(est).T, covs, pd.DataFrame(counts).T


def pooled_effects(rows: pd.DataFrame, drivers=DRIVERS) -> partial_pooling.PooledEffects:
    """Segment driver effects shrunk toward the common effect (see module doc).

    Parameters
    ----------
    rows : pandas.DataFrame
        Analysis rows with ``segment``.
    drivers : sequence of str

    Returns
    -------
    insights.stats.partial_pooling.PooledEffects
        With ``counts`` (renewals, events per segment) added as an attribute. A segment too small
        to fit alone (``segment_models``) gets the common effect with the whole between-segment
        spread as its uncertainty (covariance diag(tau2 + se^2)), weight 0 and no raw estimate.

    Raises
    ------
    ParameterError
        As ``segment_models``.
    """
    est, covs, counts = segment_models(rows, drivers)
    pooled = partial_pooling.shrink_effects(est, covs)
    for s in counts.index.difference(est.index):  # too small to fit alone: the common effect, its full spread
        cov = np.diag(pooled.pooled["tau2"] + pooled.pooled["se"] ** 2)
        pooled.shrunk.loc[s] = pooled.pooled["mean"]
        pooled.shrunk_se.loc[s] = np.sqrt(np.diag(cov))
        pooled.shrunk_cov[s] = pd.DataFrame(cov, index=pooled.shrunk.columns, columns=pooled.shrunk.columns)
        pooled.weight.loc[s] = 0.0
        pooled.raw.loc[s] = np.nan
        pooled.raw_se.loc[s] = np.nan
    pooled.counts = counts  # type: ignore[attr-defined]
    return pooled


def confidence(p_first, confidence_map=None) -> np.ndarray:
    """Calibrated confidence that a segment's first driver is the true first driver.

    Parameters
    ----------
    p_first : float or array-like
        Posterior probability of the first driver (``first_drivers``' ``p_first``).
    confidence_map : sequence of (float, float), optional
        Default ``CONFIDENCE_MAP``. Empty: no calibration known, ``p_first`` is returned.

    Returns
    -------
    numpy.ndarray
    """
    cmap = CONFIDENCE_MAP if confidence_map is None else confidence_map
    p = np.atleast_1d(np.asarray(p_first, dtype=float))
    if not len(cmap):
        return p
    x, y = zip(*cmap)
    return apply_map(p, x, y)


def segment_confidence(p_first, events) -> np.ndarray:
    """Calibrated confidence with the map of the segment's size: ``SMALL_SEGMENT_MAP`` below ``SMALL_SEGMENT_EVENTS``.

    Parameters
    ----------
    p_first : float or array-like
        Posterior probability of each segment's first driver.
    events : int or array-like
        Churn events of each segment.

    Returns
    -------
    numpy.ndarray
    """
    p = np.atleast_1d(np.asarray(p_first, dtype=float))
    small = np.broadcast_to(np.asarray(events, dtype=float) < SMALL_SEGMENT_EVENTS, p.shape)
    return np.where(small, confidence(p, SMALL_SEGMENT_MAP), confidence(p, CONFIDENCE_MAP))


def first_drivers(
    pooled: partial_pooling.PooledEffects,
    n_draws: int = 20_000,
    seed: int = 0,
    confidence_map=None,
    recommend_at: float = RECOMMEND_AT,
) -> pd.DataFrame:
    """Per segment: the first driver, its P(first), calibrated confidence, and the drivers in contention.

    Parameters
    ----------
    pooled : PooledEffects
        ``pooled_effects``' result.
    n_draws, seed
        Monte Carlo draws of ``insights.stats.partial_pooling.first_probability``.
    confidence_map : sequence of (float, float), optional
        One map for every segment; default ``segment_confidence`` (``CONFIDENCE_MAP``, or
        ``SMALL_SEGMENT_MAP`` for a segment with fewer than ``SMALL_SEGMENT_EVENTS`` churns).
    recommend_at : float
        Confidence at which the first driver is recommended.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment: first, effect, effect_low, effect_high (shrunk log-odds per SD and its
        normal 95% interval), p_first, confidence, recommended (first driver or ``None``),
        in_contention (list of drivers, largest P(first) first; just the first when recommended),
        pooling_weight (weight of the segment's own estimate for the first driver), method.
    """
    cmap = None if confidence_map is None else tuple(confidence_map)
    counts = getattr(pooled, "counts", None)
    recs = []
    for s in pooled.shrunk.index:
        p = partial_pooling.first_probability(
            pooled.shrunk.loc[s], pooled.shrunk_cov[s], largest=False, n_draws=n_draws, seed=seed
        ).sort_values(ascending=False, kind="stable")
        top = str(pooled.shrunk.loc[s].idxmin())
        if cmap is None:
            events = counts.loc[s, "events"] if counts is not None else SMALL_SEGMENT_EVENTS
            conf = float(segment_confidence(p[top], events)[0])
        else:
            conf = float(confidence(p[top], cmap)[0])
        contention = list(p.index[: int(np.searchsorted(p.cumsum().to_numpy(), CONTENTION_MASS) + 1)])
        if top not in contention:
            contention.insert(0, top)
        ok = conf >= recommend_at
        se = float(pooled.shrunk_se.loc[s, top])
        recs.append(
            {
                "segment": s,
                "first": top,
                "effect": float(pooled.shrunk.loc[s, top]),
                "effect_low": float(pooled.shrunk.loc[s, top]) - 1.959964 * se,
                "effect_high": float(pooled.shrunk.loc[s, top]) + 1.959964 * se,
                "p_first": float(p[top]),
                "confidence": conf,
                "recommended": top if ok else None,
                "in_contention": [top] if ok else contention if len(contention) > 1 else list(p.index[:2]),
                "pooling_weight": float(pooled.weight.loc[s, top]),
            }
        )
    out = pd.DataFrame(recs).set_index("segment")
    out["method"] = (
        f"{pooled.method}; P(first) from {n_draws:,} posterior normal draws; confidence = "
        + (
            "uncalibrated (= P(first))"
            if cmap is not None and not len(cmap)
            else "isotonic calibration fitted on separate demo seeds"
            + ("" if cmap is not None else f" (own map below {SMALL_SEGMENT_EVENTS} churn events)")
        )
        + f"; recommended at confidence >= {recommend_at:g}; effect interval normal 95%"
    )
    return out


def segment_effects_table(pooled: partial_pooling.PooledEffects, n_draws: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """One row per segment and driver: the effect alone and partially pooled, with intervals and P(first).

    Parameters
    ----------
    pooled : PooledEffects
        ``pooled_effects``' result.
    n_draws, seed
        Monte Carlo draws of P(first) (as ``first_drivers``).

    Returns
    -------
    pandas.DataFrame
        segment, driver, renewals, events, effect_alone, alone_low, alone_high, effect_pooled,
        pooled_low, pooled_high (log-odds of churn per +1 SD, normal 95% intervals), pooling_weight
        (weight of the segment's own estimate), p_first (posterior probability of being the most
        protective driver), method.
    """
    z = 1.959964
    counts = getattr(pooled, "counts", None)
    recs = []
    for s in pooled.shrunk.index:
        p = partial_pooling.first_probability(
            pooled.shrunk.loc[s], pooled.shrunk_cov[s], largest=False, n_draws=n_draws, seed=seed
        )
        for d in pooled.shrunk.columns:
            raw, raw_se = float(pooled.raw.loc[s, d]), float(pooled.raw_se.loc[s, d])
            est, se = float(pooled.shrunk.loc[s, d]), float(pooled.shrunk_se.loc[s, d])
            recs.append(
                {
                    "segment": s,
                    "driver": d,
                    "renewals": int(counts.loc[s, "renewals"]) if counts is not None else pd.NA,
                    "events": int(counts.loc[s, "events"]) if counts is not None else pd.NA,
                    "effect_alone": raw,
                    "alone_low": raw - z * raw_se,
                    "alone_high": raw + z * raw_se,
                    "effect_pooled": est,
                    "pooled_low": est - z * se,
                    "pooled_high": est + z * se,
                    "pooling_weight": float(pooled.weight.loc[s, d]),
                    "p_first": float(p[d]),
                }
            )
    out = pd.DataFrame(recs)
    out["method"] = (
        f"logit per segment, SE clustered by account; {pooled.method}; normal 95% CIs; P(first) from "
        f"{n_draws:,} posterior draws"
    )
    return out
