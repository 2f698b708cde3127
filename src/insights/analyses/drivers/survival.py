"""Time to churn: Kaplan-Meier retention by segment, log-rank test, Cox model, C-index, PH check.

Two survival tables, both derived from contract terms with the churn definition of
``insights.metrics.churn``:

- ``lifetimes``: one row per account, time from the account's creation to its first churn in the
  data, censored at the last day a churn can be known (data end minus the grace period). Accounts
  created before the history starts are left-truncated: they enter the risk set at the history
  start (``entry``), so the curves are not biased towards long-lived accounts.
- ``cox_rows``: one row per account, its first complete snapshot (drivers measured strictly
  before the observation date), time from that date to churn, censored as above. Covariates
  never come from after the time origin.

Times are in months (365.25 / 12 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from insights.metrics import churn
from insights.errors import ParameterError
from insights.data.loading import Tables
from insights.analyses.segments.rules import value_tier
from insights.metrics.snapshots import DRIVERS

DAYS_PER_MONTH = 365.25 / 12


def _months(delta: pd.Series) -> pd.Series:
    return delta.dt.days / DAYS_PER_MONTH


def _first_churn(tables: Tables, grace_days: int) -> tuple[pd.DataFrame, pd.Timestamp]:
    events = churn.churn_events(tables.contracts, grace_days, tables.as_of)
    known_until = tables.as_of - pd.Timedelta(days=grace_days)
    return events, known_until


def lifetimes(tables: Tables, grace_days: int = 30, tiers=None) -> pd.DataFrame:
    """Account lifetimes from creation to first churn, left-truncated at the history start.

    Returns
    -------
    pandas.DataFrame
        account_id, segment (contract-value tier of the account's first term in the data),
        entry (months from creation to the history start, 0 if created later), time (months from
        creation to churn or censoring), churned (0/1).
    """
    c = tables.contracts.sort_values(["account_id", "start_date"])
    if c.empty:
        raise ParameterError("the contracts table is empty: no lifetime to measure.")
    history_start = c["start_date"].min()
    first = c.groupby("account_id").head(1).set_index("account_id")
    events, known_until = _first_churn(tables, grace_days)
    first_churn = events.sort_values("churn_date").groupby("account_id")["churn_date"].first()
    acc = tables.accounts.set_index("account_id").loc[first.index]
    created = acc["created_at"]
    end = first_churn.reindex(first.index)
    churned = end.notna() & (end <= known_until)
    stop = end.where(churned, known_until)
    out = pd.DataFrame({"account_id": first.index,
                        "segment": value_tier(first["arr"], tiers).to_numpy(),
                        "entry": np.maximum(_months(history_start - created).to_numpy(), 0.0),
                        "time": _months(stop - created).to_numpy(),
                        "churned": churned.astype(int).to_numpy()})
    out = out[out["time"] > out["entry"]].reset_index(drop=True)
    return out


def _loglog_band(surv: np.ndarray, se: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI of S(t) on the log(-log) scale from the Greenwood standard error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(surv)
        se_theta = se / (surv * np.abs(logs))
        low = surv ** np.exp(z * se_theta)
        high = surv ** np.exp(-z * se_theta)
    ok = (surv > 0) & (surv < 1) & np.isfinite(se_theta)
    return np.where(ok, low, surv), np.where(ok, high, surv)


@dataclass
class KaplanMeier:
    """Kaplan-Meier retention by group.

    Attributes
    ----------
    curves : pandas.DataFrame
        group, time (months; a first row at 0 with retention 1), retention, low, high (pointwise 95%
        CI, log-log, Greenwood SE), at_risk.
    summary : pandas.DataFrame
        Per group: accounts, churns, median_lifetime (months, NaN if retention never falls to 50%),
        retention_12m, retention_12m_low/high, retention_24m, retention_24m_low/high, method.
    log_rank : dict
        statistic, df, p, method.
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    log_rank: dict


def _at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    i = np.searchsorted(times, t, side="right") - 1
    return 1.0 if i < 0 else float(values[i])


def kaplan_meier(life: pd.DataFrame, group: str = "segment") -> KaplanMeier:
    """Kaplan-Meier curves per group (statsmodels SurvfuncRight with left truncation) and a log-rank test.

    Parameters
    ----------
    life : pandas.DataFrame
        Output of ``lifetimes`` (entry, time, churned and the group column).
    """
    if group not in life:
        raise ParameterError(f"lifetimes lack the group column {group!r}.")
    curves, rows = [], []
    for g, sub in life.groupby(group, sort=True):
        sf = SurvfuncRight(sub["time"].to_numpy(float), sub["churned"].to_numpy(float),
                           entry=sub["entry"].to_numpy(float))
        t, s, se = sf.surv_times, sf.surv_prob, sf.surv_prob_se
        low, high = _loglog_band(s, se)
        curves.append(pd.DataFrame({group: g, "time": np.r_[0.0, t], "retention": np.r_[1.0, s],
                                    "low": np.r_[1.0, low], "high": np.r_[1.0, high],
                                    "at_risk": np.r_[np.nan, sf.n_risk]}))
        rec = {group: g, "accounts": len(sub), "churns": int(sub["churned"].sum())}
        below = np.flatnonzero(s <= 0.5)
        rec["median_lifetime"] = float(t[below[0]]) if len(below) else np.nan
        for m in (12, 24):
            rec[f"retention_{m}m"] = _at(t, s, m)
            rec[f"retention_{m}m_low"] = _at(t, low, m)
            rec[f"retention_{m}m_high"] = _at(t, high, m)
        rows.append(rec)
    summary = pd.DataFrame(rows).set_index(group)
    summary["method"] = "Kaplan-Meier with left truncation; pointwise 95% CI, log-log, Greenwood SE"
    lr = log_rank(life, group)
    return KaplanMeier(pd.concat(curves, ignore_index=True), summary, lr)


def log_rank(life: pd.DataFrame, group: str = "segment") -> dict:
    """Log-rank test of equal retention across groups (statsmodels survdiff, with left truncation)."""
    if life[group].nunique() < 2:
        return {"statistic": np.nan, "df": 0, "p": np.nan, "method": "log-rank test (needs 2+ groups)"}
    stat, p = survdiff(life["time"].to_numpy(float), life["churned"].to_numpy(float),
                       life[group].to_numpy(), entry=life["entry"].to_numpy(float))
    return {"statistic": float(stat), "df": int(life[group].nunique() - 1), "p": float(p),
            "method": "log-rank chi-square test (statsmodels survdiff), left-truncated"}


# --------------------------------------------------------------------------- Cox model


def cox_rows(snap: pd.DataFrame, tables: Tables, grace_days: int = 30, drivers=DRIVERS) -> pd.DataFrame:
    """One row per account: its first complete snapshot and the time from then to churn (months).

    Returns
    -------
    pandas.DataFrame
        account_id, obs_date, segment (if in ``snap``), tenure_years, the drivers, ``z_<driver>``
        (standardised over these rows, depth log-transformed), time, churned.
    """
    from insights.analyses.drivers.ranking import standardise

    cols = ["account_id", "obs_date", "tenure_years", *drivers] + (["segment"] if "segment" in snap else [])
    rows = snap[cols].dropna(subset=list(drivers)).sort_values(["account_id", "obs_date"])
    rows = rows.groupby("account_id").head(1).reset_index(drop=True)
    events, known_until = _first_churn(tables, grace_days)
    ev = events.merge(rows[["account_id", "obs_date"]], on="account_id")
    ev = ev[ev["churn_date"] >= ev["obs_date"]].groupby("account_id")["churn_date"].min()
    end = rows["account_id"].map(ev)
    churned = end.notna() & (end <= known_until)
    rows["time"] = _months(end.where(churned, known_until) - rows["obs_date"])
    rows["churned"] = churned.astype(int)
    rows = rows[rows["time"] > 0].reset_index(drop=True)
    return pd.concat([rows, standardise(rows, drivers)], axis=1)


def harrell_c(time, event, risk) -> float:
    """Harrell's concordance index of a risk score (higher = earlier churn).

    A pair is comparable when the account with the shorter time churned at that time (or both
    times are equal and only it churned); it is concordant when that account has the higher
    risk, and counts one half when the risks are equal. Computed in chunks (O(n²) memory-free).
    """
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    r = np.asarray(risk, float)
    if not (len(t) == len(e) == len(r)):
        raise ParameterError("time, event and risk must have the same length.")
    num = den = 0.0
    idx = np.flatnonzero(e)
    for start in range(0, len(idx), 512):
        i = idx[start:start + 512]
        comparable = (t[i, None] < t[None, :]) | ((t[i, None] == t[None, :]) & ~e[None, :])
        diff = r[i, None] - r[None, :]
        num += np.sum(comparable * ((diff > 0) + 0.5 * (diff == 0)))
        den += np.sum(comparable)
    return float(num / den) if den else np.nan


@dataclass
class CoxResult:
    """Cox proportional-hazards fit.

    Attributes
    ----------
    table : pandas.DataFrame
        Per covariate: coef, se, hazard_ratio, hr_low, hr_high (Wald 95% CI), p, method.
    c_index : float
        Harrell's C of the linear predictor on the fitted rows.
    ph_check : pandas.DataFrame
        Per covariate: rho (Pearson correlation of scaled Schoenfeld residuals with log time), p,
        ok (p >= 0.05), method.
    n, events : int
    result : statsmodels PHRegResults
    """

    table: pd.DataFrame
    c_index: float
    ph_check: pd.DataFrame
    n: int
    events: int
    result: object


def cox_fit(rows: pd.DataFrame, covariates: list[str], ties: str = "breslow") -> CoxResult:
    """Cox proportional hazards (statsmodels PHReg) of ``time``/``churned`` on ``covariates``."""
    missing = sorted(set(covariates + ["time", "churned"]) - set(rows.columns))
    if missing:
        raise ParameterError(f"Cox rows lack column(s) {missing}.")
    X = rows[covariates].astype(float)
    if int(rows["churned"].sum()) == 0:
        raise ParameterError("no churn in the Cox rows: a hazard model needs events.")
    res = PHReg(rows["time"].to_numpy(float), X.to_numpy(), status=rows["churned"].to_numpy(float),
                ties=ties).fit()
    ci = res.conf_int()
    table = pd.DataFrame({"coef": res.params, "se": res.bse, "hazard_ratio": np.exp(res.params),
                          "hr_low": np.exp(ci[:, 0]), "hr_high": np.exp(ci[:, 1]), "p": res.pvalues},
                         index=pd.Index(covariates, name="covariate"))
    table["method"] = f"Cox PH (statsmodels PHReg, {ties} ties), Wald 95% CI"
    lp = X.to_numpy() @ res.params
    c = harrell_c(rows["time"], rows["churned"], lp)
    return CoxResult(table, c, ph_check(res, rows["time"].to_numpy(float), rows["churned"].to_numpy(bool),
                                        covariates), len(rows), int(rows["churned"].sum()), res)


def ph_check(res, time: np.ndarray, event: np.ndarray, covariates: list[str]) -> pd.DataFrame:
    """Proportional-hazards check: scaled Schoenfeld residuals against log time (Grambsch-Therneau, per covariate).

    Scaled residuals are ``d * r V + beta`` (``d`` events, ``V`` the coefficient covariance); under
    proportional hazards they do not trend with time. Reported per covariate: Pearson correlation
    with log time over the events and its p-value; ``ok`` when p >= 0.05.
    """
    r = np.asarray(res.schoenfeld_residuals)
    keep = event & np.isfinite(r).all(axis=1)
    d = int(keep.sum())
    scaled = d * r[keep] @ np.asarray(res.cov_params()) + np.asarray(res.params)
    lt = np.log(time[keep])
    recs = []
    for j, name in enumerate(covariates):
        rho, p = stats.pearsonr(scaled[:, j], lt) if d > 2 else (np.nan, np.nan)
        recs.append({"covariate": name, "rho": float(rho), "p": float(p), "ok": bool(p >= 0.05)})
    out = pd.DataFrame(recs).set_index("covariate")
    out["method"] = "Pearson correlation of scaled Schoenfeld residuals with log time (Grambsch-Therneau)"
    return out


def cox_partial_loglik(beta, time, event, X) -> float:
    """Cox partial log-likelihood with Breslow ties, written out directly (for checking PHReg)."""
    X = np.asarray(X, float).reshape(len(time), -1)
    eta = X @ np.atleast_1d(np.asarray(beta, float))
    total = 0.0
    for i in np.flatnonzero(np.asarray(event, bool)):
        at_risk = np.asarray(time) >= time[i]
        total += eta[i] - np.log(np.sum(np.exp(eta[at_risk])))
    return float(total)


def driver_cox(snap: pd.DataFrame, tables: Tables, grace_days: int = 30, drivers=DRIVERS) -> CoxResult:
    """Cox model of time to churn on the standardised drivers, tenure and contract-value tier.

    Rows are ``cox_rows`` (first complete snapshot per account); covariates are named after the
    drivers (hazard ratio per +1 SD), ``tenure_years`` and ``segment[<tier>]`` (first tier = reference).
    """
    rows = cox_rows(snap, tables, grace_days, drivers)
    X = rows[[f"z_{d}" for d in drivers]].set_axis(list(drivers), axis=1)
    X["tenure_years"] = rows["tenure_years"].astype(float)
    if "segment" in rows:
        levels = sorted(rows["segment"].dropna().unique())
        for s in levels[1:]:
            X[f"segment[{s}]"] = (rows["segment"] == s).astype(float)
    X = X.loc[:, X.std(ddof=0) > 0]
    data = pd.concat([X, rows[["time", "churned"]]], axis=1)
    return cox_fit(data, list(X.columns))
