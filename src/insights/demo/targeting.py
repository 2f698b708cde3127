"""A simulated targeting pilot with a known heterogeneous effect, to prove the targeting estimators.

The playbook helps accounts low in perceived value (below the population mean) and does nothing
for the rest; how much it helps differs by segment (``TARGETING_EFFECT``). Churn otherwise follows
the demo's true model (``insights.demo.lifecycle.behavioural_logit`` without the demo pilot's own
effect), so the accounts look like the demo's. Accounts are randomised 50/50 within segment.

Its draws come from their own random stream (``TARGETING_STREAM`` spawned from the seed), so
nothing here shifts any table of the demo dataset. ``targeting_truth`` gives the true per-account
uplift, the true policy values and the design's power as recorded in ``docs/playbook_targeting.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.demo import lifecycle
from insights.demo.spec import DRIVER_CORRELATION, DRIVERS, SEGMENT_ARR_BOUNDS, SEGMENTS
from insights.errors import ParameterError

#: True log-odds effect on churn of the playbook for accounts with perceived value below the mean
#: (negative = fewer churns), by segment; zero for every account at or above the mean.
TARGETING_EFFECT = {"SMB": -1.0, "Mid-Market": -1.5, "Enterprise": -0.5}
#: Share of accounts per segment in the simulated pilot (as in the demo's renewing base).
SEGMENT_SHARE = {"SMB": 0.58, "Mid-Market": 0.32, "Enterprise": 0.10}
#: Median first ARR per segment (log-normal, kept inside the segment's ARR bounds).
ARR_MEDIAN = {"SMB": 12_000.0, "Mid-Market": 55_000.0, "Enterprise": 260_000.0}
#: Standard deviation of the measurement noise of the observed (pre-period) driver metrics.
MEASUREMENT_NOISE = 0.5
#: Renewal-probability effect of the playbook for every account under the null of no heterogeneity.
NULL_UPLIFT = 0.02
#: Accounts in the sized pilot: the BLP heterogeneity test has power 0.8+ at 5% (docs/playbook_targeting.md).
SIZED_PILOT_ACCOUNTS = 3000
#: Power of the BLP heterogeneity test at 5% by pilot size (accounts with an outcome), from 100
#: simulated pilots each (``bench/eval_targeting.py power``, recorded in docs/playbook_targeting.md).
RECORDED_POWER = {427: 0.25, 1000: 0.30, 2000: 0.73, 3000: 0.90, 4000: 0.93}
#: Name of the random stream (its position among the demo's stream names is not shared).
TARGETING_STREAM = 0x7A46


def segment_low_value_effect(segment: np.ndarray, perceived_value: np.ndarray) -> np.ndarray:
    """True log-odds effect of the playbook on churn for each account.

    Parameters
    ----------
    segment : numpy.ndarray
        Segment per account (``SEGMENTS``).
    perceived_value : numpy.ndarray
        Latent perceived value (mean 0, SD 1).

    Returns
    -------
    numpy.ndarray
        ``TARGETING_EFFECT[segment]`` where perceived value is below the mean, else 0 (negative = fewer churns).
    """
    return np.array([TARGETING_EFFECT[s] for s in segment]) * (perceived_value < 0)


def simulate_targeting_pilot(n: int = SIZED_PILOT_ACCOUNTS, seed: int = 0, heterogeneous: bool = True) -> pd.DataFrame:
    """One simulated pilot: observed pre-period covariates, arm, renewal, and the true uplift.

    Parameters
    ----------
    n : int, default ``SIZED_PILOT_ACCOUNTS``
        Accounts in the pilot (at least 40).
    seed : int, default 0
        Seed; the stream is ``SeedSequence([seed, TARGETING_STREAM])``.
    heterogeneous : bool, default True
        The known heterogeneous effect (``segment_low_value_effect``), or the null of no heterogeneity:
        every account's renewal probability raised by the same ``NULL_UPLIFT``.

    Returns
    -------
    pandas.DataFrame
        account_id, segment, arm (control/treatment, blocked within segment), arr, first_renewal (0/1),
        the observed drivers (``DRIVERS``, latent value plus noise), renewed (0/1), and the truth:
        latent_perceived_value, p_renew_control, p_renew_treatment, true_uplift (their difference).

    Raises
    ------
    ParameterError
        If ``n`` < 40.
    """
    if n < 40:
        raise ParameterError(f"a simulated pilot needs at least 40 accounts, got {n}.")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), TARGETING_STREAM]))
    segment = rng.choice(np.array(SEGMENTS), size=n, p=[SEGMENT_SHARE[s] for s in SEGMENTS])
    x = rng.multivariate_normal(np.zeros(len(DRIVERS)), DRIVER_CORRELATION, size=n)
    first = (rng.random(n) < 0.3).astype(float)
    lo = np.array([SEGMENT_ARR_BOUNDS[s][0] for s in segment])
    hi = np.array([SEGMENT_ARR_BOUNDS[s][1] for s in segment])
    arr = np.clip(np.array([ARR_MEDIAN[s] for s in segment]) * np.exp(0.45 * rng.standard_normal(n)), lo, hi * 0.999)
    arm = np.zeros(n, dtype=int)
    for s in SEGMENTS:
        members = np.flatnonzero(segment == s)
        members = members[rng.permutation(len(members))]
        arm[members[::2]] = 1
    pv = x[:, DRIVERS.index("perceived_value")]
    base = lifecycle.behavioural_logit(segment, x, first, np.zeros(n))
    p0 = 1 - lifecycle.churn_probability(base)
    p1 = (
        1 - lifecycle.churn_probability(base + segment_low_value_effect(segment, pv))
        if heterogeneous
        else p0 + NULL_UPLIFT
    )
    renewed = (rng.random(n) < np.where(arm == 1, p1, p0)).astype(int)
    observed = x + MEASUREMENT_NOISE * rng.standard_normal(x.shape)
    return pd.DataFrame(
        {
            "account_id": [f"S{i:06d}" for i in range(1, n + 1)],
            "segment": segment,
            "arm": np.where(arm == 1, "treatment", "control"),
            "arr": np.round(arr, 2),
            "first_renewal": first,
            **{d: observed[:, j] for j, d in enumerate(DRIVERS)},
            "renewed": renewed,
            "latent_perceived_value": pv,
            "p_renew_control": p0,
            "p_renew_treatment": p1,
            "true_uplift": p1 - p0,
        }
    )


def true_policy_value(pilot: pd.DataFrame, treat, weight: str | None = None) -> float:
    """True mean (weighted) renewal of a simulated pilot's accounts had a policy been followed.

    Parameters
    ----------
    pilot : pandas.DataFrame
        From ``simulate_targeting_pilot``.
    treat : array-like of 0/1
        Whom the policy treats, per row.
    weight : str, optional
        Column weighting each account (e.g. ``"arr"`` for retained ARR per account).

    Returns
    -------
    float
        ``mean(w * (treat * p_renew_treatment + (1 - treat) * p_renew_control))``.
    """
    pi = np.asarray(treat, dtype=float)
    w = pilot[weight].to_numpy(dtype=float) if weight else np.ones(len(pilot))
    value = pi * pilot["p_renew_treatment"].to_numpy() + (1 - pi) * pilot["p_renew_control"].to_numpy()
    return float(np.mean(w * value))


def targeting_truth(pilot: pd.DataFrame) -> dict:
    """The truth of a simulated pilot, JSON-ready: effect model, average and grouped true uplift.

    Parameters
    ----------
    pilot : pandas.DataFrame
        From ``simulate_targeting_pilot``.

    Returns
    -------
    dict
        effect model and per-segment log-odds effects, the sample average uplift (renewal-rate points
        as a share), and the mean true uplift by segment and by perceived value below / at or above the mean.
    """
    low = pilot["latent_perceived_value"] < 0
    by_seg = pilot.groupby("segment")["true_uplift"].mean().reindex(list(SEGMENTS))
    return {
        "effect_model": "log-odds effect on churn = effect[segment] if latent perceived value < 0 else 0",
        "log_odds_effect_low_perceived_value": TARGETING_EFFECT,
        "accounts": len(pilot),
        "average_uplift": round(float(pilot["true_uplift"].mean()), 6),
        "uplift_by_segment": {s: round(float(v), 6) for s, v in by_seg.items() if pd.notna(v)},
        "uplift_low_perceived_value": round(float(pilot.loc[low, "true_uplift"].mean()), 6),
        "uplift_other": round(float(pilot.loc[~low, "true_uplift"].mean()), 6),
        "unit": "renewal probability, treatment minus control",
    }


def ground_truth_section(seed: int, demo_pilot_accounts: int) -> dict:
    """The ``playbook_targeting`` section of ``ground_truth.json``: the known heterogeneous effect and its power.

    Parameters
    ----------
    seed : int
        The dataset's seed (the sized pilot is simulated with it, on its own stream).
    demo_pilot_accounts : int
        Accounts in the demo dataset's own pilot, whose power is quoted beside the sized pilot's.

    Returns
    -------
    dict
        JSON-ready: how to regenerate the pilot, its truth (``targeting_truth``), the sized design and the
        recorded power of the BLP heterogeneity test by pilot size.
    """
    return {
        "simulator": f"insights.demo.targeting.simulate_targeting_pilot(n={SIZED_PILOT_ACCOUNTS}, seed={seed})",
        "truth": targeting_truth(simulate_targeting_pilot(SIZED_PILOT_ACCOUNTS, seed)),
        "design": "randomised 50/50 within segment; outcome: renewal at the pilot renewal",
        "sized_accounts": SIZED_PILOT_ACCOUNTS,
        "demo_pilot_accounts": int(demo_pilot_accounts),
        "power_blp_test_5pct": {str(k): v for k, v in RECORDED_POWER.items()},
        "note": "the demo's own pilot keeps its segment effect (its outcomes are in contracts.csv); the "
        "heterogeneous play is this simulated pilot, on its own random stream (docs/playbook_targeting.md)",
    }


def estimation_frame(pilot: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The simulated pilot ready for ``insights.stats.uplift.dr_learner``, and its covariate columns.

    Parameters
    ----------
    pilot : pandas.DataFrame
        From ``simulate_targeting_pilot``.

    Returns
    -------
    frame : pandas.DataFrame
        The pilot plus ``treated`` (0/1), ``log_arr`` and 0/1 segment columns ``segment_<name>``
        (SMB is the reference).
    covariates : list of str
        The observed drivers, first_renewal, log_arr and the segment columns (never the truth columns).
    """
    seg = {f"segment_{s}": (pilot["segment"] == s).astype(float) for s in SEGMENTS[1:]}
    frame = pilot.assign(treated=(pilot["arm"] == "treatment").astype(int), log_arr=np.log(pilot["arr"]), **seg)
    return frame, [*DRIVERS, "first_renewal", "log_arr", *seg]
