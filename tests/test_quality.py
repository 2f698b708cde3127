"""Data-quality profile: counts, coverage, missingness, consistency checks, settled churn rates."""

import pandas as pd
import pytest

from insights.analyses.quality import checks as quality
from insights.data.loading import Tables, load_tables


@pytest.fixture(scope="module")
def tables(demo_dir):
    return load_tables(demo_dir)


def _with(tables, **frames):
    return Tables(tables.data_dir, {**tables.frames, **frames}, tables.as_of)


def test_row_counts_match_the_tables(tables):
    counts = quality.row_counts(tables)
    for name, frame in tables.frames.items():
        assert counts.loc[name, "rows"] == len(frame)
    assert counts.loc["accounts", "key"] == "account_id"
    assert counts.loc["usage_monthly", "key"] == "account_id+month"


def test_monthly_coverage_counts_rows_per_month(tables):
    cov = quality.monthly_coverage(tables)
    assert list(cov.index) == sorted(cov.index) and len(cov) == 36
    usage = tables.usage_monthly
    assert cov.loc["2026-09", "usage_monthly"] == (usage["month"] == "2026-09-01").sum()
    assert cov["support_tickets"].sum() == len(tables.support_tickets)


def test_missingness_reports_shares(tables):
    m = quality.missingness(tables).set_index(["table", "column"])
    csat = tables.support_tickets["csat"]
    assert m.loc[("support_tickets", "csat"), "missing"] == csat.isna().sum()
    assert m.loc[("support_tickets", "csat"), "share"] == pytest.approx(csat.isna().mean())
    assert bool(m.loc[("support_tickets", "csat"), "allowed"]) and not m.loc[("accounts", "industry"), "allowed"]


def test_clean_demo_data_raises_no_consistency_warning(tables):
    warnings = quality.consistency_warnings(tables, grace_days=30).set_index("check")
    assert (warnings["count"] == 0).all(), warnings


def test_consistency_checks_find_injected_problems(tables):
    victim = tables.usage_monthly["account_id"].iloc[0]
    contracts = tables.contracts[tables.contracts["account_id"] != victim]
    activities = pd.concat([tables.cs_activities, tables.cs_activities.iloc[[0]].assign(type="webinar")])
    broken = _with(tables, contracts=contracts, cs_activities=activities)
    w = quality.consistency_warnings(broken, grace_days=30).set_index("check")
    assert w.loc["accounts without any contract", "count"] == 1
    assert w.loc["accounts without any contract", "examples"] == victim
    n_usage = (tables.usage_monthly["account_id"] == victim).sum()
    assert w.loc["usage months outside every contract term", "count"] == n_usage
    assert w.loc["cs_activities of a type the analysis does not use", "count"] == 1


def test_usage_after_churn_is_flagged(tables):
    out = quality.renewal_outcomes_by_quarter(tables, 30)
    from insights.metrics import churn

    outcomes = churn.contract_outcomes(tables.contracts, 30, tables.as_of)
    gone = outcomes[outcomes["outcome"] == "churned"].iloc[0]
    late = pd.DataFrame(
        {
            "account_id": [gone["account_id"]],
            "month": [gone["end_date"] + pd.offsets.MonthBegin(3)],
            "active_users": [1],
            "activated_seats": [1],
            "events": [5],
            "distinct_features": [1],
        }
    )
    for col in ("active_users", "activated_seats", "events", "distinct_features"):
        late[col] = late[col].astype("Int64")
    broken = _with(tables, usage_monthly=pd.concat([tables.usage_monthly, late], ignore_index=True))
    w = quality.consistency_warnings(broken, 30).set_index("check")
    assert w.loc["usage after a churn (account not back under contract)", "count"] >= 1
    assert out.shape[0] > 0


def test_churn_rate_only_for_settled_quarters(tables):
    out = quality.renewal_outcomes_by_quarter(tables, 30)
    last = out.index[-1]
    assert last == "2026Q3" and out.loc[last, "open"] > 0
    assert not out.loc[last, "settled"] and pd.isna(out.loc[last, "logo_churn_rate"])
    settled = out[out["settled"]]
    expected = settled["churned"] / (settled["renewed"] + settled["churned"])
    pd.testing.assert_series_equal(settled["logo_churn_rate"], expected, check_names=False)


def _uncovered_by_merge(tables, grace_days):
    """The usage checks as first written: a usage x terms merge on account ids and calendar periods."""
    from insights.metrics import churn

    contracts, usage = tables.contracts, tables.usage_monthly
    terms = contracts[["account_id", "start_date", "end_date"]].copy()
    terms["first"] = terms["start_date"].dt.to_period("M")
    terms["last"] = terms["end_date"].dt.to_period("M")
    u = usage[["account_id", "month"]].assign(period=usage["month"].dt.to_period("M")).reset_index()
    joined = u.merge(terms, on="account_id", how="left")
    covered_rows = set(
        joined.loc[(joined["period"] >= joined["first"]) & (joined["period"] <= joined["last"]), "index"]
    )
    outside = u.loc[~u["index"].isin(covered_rows), "account_id"]
    outcomes = churn.contract_outcomes(contracts, grace_days, tables.as_of)
    late = outcomes.loc[outcomes["outcome"] == churn.CHURNED, ["account_id", "churn_date"]].merge(u, on="account_id")
    late = late[(late["month"] > late["churn_date"]) & ~late["index"].isin(covered_rows)].drop_duplicates("index")
    return {
        "usage months outside every contract term": (len(outside), ", ".join(map(str, pd.unique(outside)[:5]))),
        "usage after a churn (account not back under contract)": (
            len(late),
            ", ".join(map(str, pd.unique(late["account_id"])[:5])),
        ),
    }


def test_usage_coverage_checks_equal_the_merge_on_periods(tables):
    from insights.metrics import churn

    outcomes = churn.contract_outcomes(tables.contracts, 30, tables.as_of)
    gone = outcomes[outcomes["outcome"] == "churned"].head(3)
    late = tables.usage_monthly[tables.usage_monthly["account_id"].isin(gone["account_id"])].copy()
    late["month"] = late["month"] + pd.offsets.MonthBegin(40)  # after every term
    usage = pd.concat([tables.usage_monthly, late], ignore_index=True).sample(frac=1.0, random_state=1)  # shuffled
    victims = tables.contracts["account_id"].drop_duplicates().iloc[[5, 9]]
    broken = _with(
        tables, usage_monthly=usage, contracts=tables.contracts[~tables.contracts["account_id"].isin(victims)]
    )
    w = quality.consistency_warnings(broken, 30).set_index("check")
    for check, (count, examples) in _uncovered_by_merge(broken, 30).items():
        assert count > 0 and (w.loc[check, "count"], w.loc[check, "examples"]) == (count, examples)
