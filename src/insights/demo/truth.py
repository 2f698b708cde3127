"""The ground truth of a demo dataset, as written to ``ground_truth.json``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.demo import lifecycle, targeting
from insights.demo.spec import (
    DRIVER_CORRELATION,
    DRIVERS,
    FIRST_RENEWAL_EFFECT,
    NON_BEHAVIOURAL_CHURN,
    PERSONAS,
    PILOT_DESCRIPTION,
    PILOT_EFFECT,
    SEGMENT_ARR_BOUNDS,
    SEGMENT_EFFECTS,
    SEGMENT_INTERCEPT,
    SEGMENTS,
    DemoSpec,
)


def ranking(effects: dict[str, float]) -> list[str]:
    """Drivers ordered by the size of their effect (largest first).

    Parameters
    ----------
    effects : dict of str to float
        Effect per driver (log-odds).

    Returns
    -------
    list of str
        Driver names by decreasing absolute effect, ties by name.
    """
    return sorted(effects, key=lambda d: (-abs(effects[d]), d))


def overall_effects(renewals: pd.DataFrame) -> dict[str, float]:
    """Population effects: segment effects weighted by each segment's share of renewals.

    Parameters
    ----------
    renewals : pandas.DataFrame
        One row per renewal with its ``segment``.

    Returns
    -------
    dict of str to float
        Weighted effect per driver.
    """
    share = renewals["segment"].value_counts(normalize=True)
    return {d: float(sum(share.get(s, 0.0) * SEGMENT_EFFECTS[s][d] for s in SEGMENTS)) for d in DRIVERS}


def pilot_truth(spec: DemoSpec, pilot: pd.DataFrame, terms: pd.DataFrame, accounts: pd.DataFrame) -> dict:
    """True effect of the pilot: log-odds by segment and the expected churn-rate difference.

    Parameters
    ----------
    spec : DemoSpec
        Gives the pilot's id, window and date.
    pilot : pandas.DataFrame
        The assignment (``lifecycle.assign_pilot``).
    terms : pandas.DataFrame
        Terms with drivers at renewal (``x_<driver>``), ``first_renewal``, ``decided``, ``in_pilot_window``.
    accounts : pandas.DataFrame
        From ``make_accounts`` (its ``segment``).

    Returns
    -------
    dict
        JSON-ready: the pilot's description, the expected churn difference (treatment minus control)
        over the enrolled accounts, and per segment the arm sizes and true effects.
    """
    at = terms[terms["in_pilot_window"] & terms["decided"]].drop_duplicates("account").set_index("account")
    enrolled = at.loc[pilot["account"].to_numpy()]
    xs = enrolled[[f"x_{d}" for d in DRIVERS]].to_numpy()
    seg = accounts["segment"].to_numpy()[enrolled.index.to_numpy()]
    first = enrolled["first_renewal"].to_numpy().astype(float)
    p0 = lifecycle.churn_probability(lifecycle.behavioural_logit(seg, xs, first, np.zeros(len(xs))))
    p1 = lifecycle.churn_probability(lifecycle.behavioural_logit(seg, xs, first, np.ones(len(xs))))
    diff = pd.Series(p1 - p0)
    by_seg = {}
    for s in SEGMENTS:
        mask = seg == s
        arms = pilot.loc[mask, "arm"].value_counts()
        by_seg[s] = {
            "log_odds_effect": PILOT_EFFECT[s],
            "n_treatment": int(arms.get("treatment", 0)),
            "n_control": int(arms.get("control", 0)),
            "expected_churn_control": round(float(p0[mask].mean()), 6) if mask.any() else None,
            "expected_churn_difference": round(float(diff[mask].mean()), 6) if mask.any() else None,
        }
    return {
        "pilot_id": spec.pilot_id,
        "description": PILOT_DESCRIPTION,
        "assigned_at": str(spec.pilot_assigned_at.date()),
        "renewal_window": [str(d.date()) for d in spec.pilot_window],
        "outcome": "churn at the renewal inside the window",
        "arms": ["control", "treatment"],
        "strata": "segment",
        "expected_churn_difference": round(float(diff.mean()), 6),
        "note": "difference = treatment minus control in churn probability, averaged over enrolled accounts "
        "(the sample average treatment effect); renewal-rate difference is its negative.",
        "by_segment": by_seg,
    }


def build_truth(
    spec: DemoSpec, accounts: pd.DataFrame, terms: pd.DataFrame, pilot: pd.DataFrame, contract_ids: pd.Series
) -> dict:
    """Assemble the ground-truth document.

    Parameters
    ----------
    spec : DemoSpec
        The dataset's spec.
    accounts : pandas.DataFrame
        From ``make_accounts``.
    terms : pandas.DataFrame
        Every term with its drivers and drawn outcome (``simulate_lifecycle``).
    pilot : pandas.DataFrame
        The assignment record.
    contract_ids : pandas.Series
        Contract id of each term, by the terms' index.

    Returns
    -------
    dict
        JSON-ready ``ground_truth.json``: generator settings, the churn model, true effects overall and
        per segment with their rankings, segment and persona counts, churn by year, the pilot truth, the
        simulated targeting pilot's heterogeneous effect and power (``insights.demo.targeting``), and
        each account's segment and persona and each renewal in the history with its drivers and outcome.
    """
    in_history = terms[terms["decided"] & (terms["end_date"] <= spec.window_end)]
    overall = overall_effects(in_history.assign(segment=accounts["segment"].to_numpy()[in_history["account"]]))
    ids = accounts["account_id"].to_numpy()
    renewals = pd.DataFrame(
        {
            "contract_id": contract_ids.loc[in_history.index].to_numpy(),
            "account_id": ids[in_history["account"]],
            "end_date": in_history["end_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "segment": accounts["segment"].to_numpy()[in_history["account"]],
            "first_renewal": in_history["first_renewal"].astype(int).to_numpy(),
            "treated": in_history["treated"].astype(int).to_numpy(),
            **{f"x_{d}": np.round(in_history[f"x_{d}"].to_numpy(), 4) for d in DRIVERS},
            "p_churn": np.round(in_history["p_churn"].to_numpy(), 5),
            "churned": in_history["churned"].astype(int).to_numpy(),
        }
    )
    by_year = in_history.groupby(in_history["end_date"].dt.year)["churned"].agg(["mean", "size"])
    return {
        "generator": {
            "accounts": spec.n_accounts,
            "seed": spec.seed,
            "history_start": str(spec.window_start.date()),
            "history_end": spec.end,
            "years": spec.years,
        },
        "drivers": list(DRIVERS),
        "driver_definition": "latent driver averaged over the three months before the renewal month; "
        "mean 0 and standard deviation 1 over the population",
        "churn_model": {
            "form": "P(churn) = 1 - (1 - logistic(intercept[segment] + sum(beta[segment] * x) + "
            "first_renewal_effect * first_renewal + pilot_effect[segment] * treated)) * "
            "(1 - non_behavioural_churn)",
            "intercept": SEGMENT_INTERCEPT,
            "first_renewal_effect": FIRST_RENEWAL_EFFECT,
            "non_behavioural_churn": NON_BEHAVIOURAL_CHURN,
            "save_play_effect": 0.0,
            "driver_correlation": np.asarray(DRIVER_CORRELATION).tolist(),
        },
        "effects": {
            "unit": "log-odds of churn at renewal per +1 SD of the driver (negative = protective)",
            "overall": {d: round(v, 6) for d, v in overall.items()},
            "overall_weighting": "segment effects weighted by each segment's share of renewals in the history",
            "by_segment": SEGMENT_EFFECTS,
        },
        "ranking": {"overall": ranking(overall), "by_segment": {s: ranking(SEGMENT_EFFECTS[s]) for s in SEGMENTS}},
        "segments": {
            "definition": "contract-value tier of the account's first ARR",
            "arr_bounds": {s: [lo, None if np.isinf(hi) else hi] for s, (lo, hi) in SEGMENT_ARR_BOUNDS.items()},
            "counts": accounts["segment"].value_counts().reindex(SEGMENTS, fill_value=0).astype(int).to_dict(),
        },
        "personas": {
            "definition": {p: {"depth_shift": d, "breadth_shift": b} for p, (d, b) in PERSONAS.items()},
            "counts": accounts["persona"].value_counts().reindex(list(PERSONAS)).fillna(0).astype(int).to_dict(),
        },
        "churn_rate_by_year": {
            str(y): {"rate": round(float(r["mean"]), 6), "renewals": int(r["size"])} for y, r in by_year.iterrows()
        },
        "pilot": pilot_truth(spec, pilot, terms, accounts),
        "playbook_targeting": targeting.ground_truth_section(spec.seed, len(pilot)),
        "accounts": {
            "columns": ["account_id", "segment", "persona"],
            "data": accounts[["account_id", "segment", "persona"]].to_numpy().tolist(),
        },
        "renewals": {"columns": list(renewals.columns), "data": renewals.to_numpy().tolist()},
    }
