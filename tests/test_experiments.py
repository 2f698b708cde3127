"""insights.stats.experiments.compare_arms against scipy/statsmodels on the same table, any arm names."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from insights.errors import ParameterError
from insights.stats.bayes import beta_binomial
from insights.stats.experiments import COMPARISON_COLUMNS, compare_arms
from insights.stats.intervals import compare_proportions

TOL = 1e-6


def _table(arms=("A", "B", "C"), n=600, seed=0, rates=None):
    """One row per unit: arm, stratum, a pre-period covariate, a binary and a numeric outcome."""
    rng = np.random.default_rng(seed)
    rates = rates or {a: 0.45 + 0.1 * i for i, a in enumerate(arms)}
    arm = rng.choice(np.array(arms, dtype=object), n)
    pre = rng.normal(10, 2, n)
    p = np.array([rates[a] for a in arm]) + 0.03 * (pre - 10)
    return pd.DataFrame(
        {
            "arm": arm,
            "stratum": rng.choice(["north", "south", "east"], n),
            "pre": pre,
            "converted": (rng.random(n) < np.clip(p, 0.05, 0.95)).astype(int),
            "spend": 5 + 0.8 * pre + np.array([arms.index(a) for a in arm]) + rng.normal(0, 2, n),
        }
    )


def _row(res, treatment, quantity):
    rows = res.comparisons[(res.comparisons["treatment"] == treatment) & (res.comparisons["quantity"] == quantity)]
    assert len(rows) == 1, (treatment, quantity)
    return rows.iloc[0]


# ------------------------------------------------------------------ binary outcome


def test_binary_arms_match_statsmodels_and_scipy():
    df = _table()
    res = compare_arms(df, "arm", "converted", control="A", level=0.9)
    assert res.outcome_kind == "binary" and res.control == "A" and res.treatments == ("B", "C")
    assert res.arms["arm"].tolist() == ["A", "B", "C"]
    assert res.arms["role"].tolist() == ["control", "treatment", "treatment"]
    for rec in res.arms.itertuples():
        y = df.loc[df["arm"] == rec.arm, "converted"]
        low, high = proportion_confint(y.sum(), len(y), alpha=0.1, method="wilson")
        assert (rec.units, rec.successes) == (len(y), y.sum())
        assert (rec.estimate, rec.low, rec.high) == pytest.approx((y.mean(), low, high), abs=TOL)
        assert "Wilson" in rec.method
    y0 = df.loc[df["arm"] == "A", "converted"]
    for t in ("B", "C"):
        y1 = df.loc[df["arm"] == t, "converted"]
        x1, n1, x0, n0 = y1.sum(), len(y1), y0.sum(), len(y0)
        diff = _row(res, t, "difference")
        low, high = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff", alpha=0.1)
        assert (diff.estimate, diff.low, diff.high) == pytest.approx((x1 / n1 - x0 / n0, low, high), abs=TOL)
        assert "Newcombe" in diff.method
        lift = _row(res, t, "relative lift")
        low, high = confint_proportions_2indep(x1, n1, x0, n0, method="log", compare="ratio", alpha=0.1)
        assert (lift.low, lift.high) == pytest.approx((low - 1, high - 1), abs=TOL)
        test = _row(res, t, "test")
        chi2, p, _, _ = stats.chi2_contingency([[x1, n1 - x1], [x0, n0 - x0]], correction=False)
        assert (test.statistic, test.p_value) == pytest.approx((chi2, p), abs=TOL)
        assert "chi-square" in test.method
        prob = _row(res, t, "probability treatment is better")
        assert prob.estimate == pytest.approx(beta_binomial(x1, n1, x0, n0).prob_treatment_better, abs=1e-12)
        assert "Beta-Binomial" in prob.method
        assert res.contrast(t).difference.estimate == diff.estimate and res.contrast(t).bayes is not None


def test_holm_across_three_treatments_matches_multipletests():
    df = _table(
        arms=("holdout", "v1", "v2", "v3"), n=900, seed=3, rates={"holdout": 0.40, "v1": 0.42, "v2": 0.50, "v3": 0.55}
    )
    for adjust in ("holm", "fdr_bh"):
        res = compare_arms(df, "arm", "converted", control="holdout", adjust=adjust)
        tests = res.comparisons[res.comparisons["quantity"] == "test"]
        assert tests["treatment"].tolist() == ["v1", "v2", "v3"]
        expected = multipletests(tests["p_value"].to_numpy(), method=adjust)[1]
        np.testing.assert_allclose(tests["p_adjusted"].to_numpy(), expected, atol=1e-12)
        assert [res.contrast(t).p_adjusted for t in ("v1", "v2", "v3")] == pytest.approx(expected, abs=1e-12)
        assert "3 treatment-vs-control" in res.adjust_method
        assert res.comparisons.attrs["p_adjusted_method"] == res.adjust_method
    # Holm is at least as conservative as the raw p-value, and equals it with a single treatment
    assert (tests["p_adjusted"] >= tests["p_value"] - 1e-15).all()
    one = compare_arms(df, "arm", "converted", control="holdout", treatments=["v2"])
    assert one.contrast().p_adjusted == one.contrast().test.p_value


def test_the_table_is_tidy_and_every_row_names_its_method():
    res = compare_arms(_table(), "arm", "converted", "A", strata="stratum", covariate="pre")
    assert tuple(res.comparisons.columns) == COMPARISON_COLUMNS
    assert res.comparisons["method"].str.len().gt(10).all()
    assert res.comparisons.groupby("treatment").size().tolist() == [9, 9]
    tested = res.comparisons["p_value"].notna()
    assert set(res.comparisons.loc[tested, "quantity"]) == {
        "test",
        "relative lift",  # the log-scale delta-method z test of no lift
        "adjusted difference",
        "CMH test",
        "Breslow-Day test",
    }
    assert res.comparisons.loc[~tested, "p_adjusted"].isna().all()


# ------------------------------------------------------------------ any arm names


@pytest.mark.parametrize("names", [("control", "treatment"), ("holdout", "B"), (0, 1), ("Z-old", "A-new")])
def test_results_do_not_depend_on_the_arm_names(names):
    base = _table(arms=("control", "treatment"), seed=4)
    renamed = base.assign(arm=base["arm"].map(dict(zip(("control", "treatment"), names))))
    a = compare_arms(base, "arm", "converted", "control", strata="stratum", covariate="pre")
    b = compare_arms(renamed, "arm", "converted", names[0], strata="stratum", covariate="pre")
    assert b.treatments == (names[1],)
    cols = ["quantity", "estimate", "low", "high", "statistic", "p_value", "p_adjusted", "method"]
    pd.testing.assert_frame_equal(a.comparisons[cols], b.comparisons[cols])
    assert b.comparisons["treatment"].eq(names[1]).all() and b.comparisons["control"].eq(names[0]).all()


def test_treatments_subset_order_and_categorical_arms():
    df = _table()
    res = compare_arms(df, "arm", "converted", "B", treatments=["C", "A"])
    assert res.treatments == ("C", "A") and res.arms["arm"].tolist() == ["B", "C", "A"]
    assert compare_arms(df, "arm", "converted", "B", treatments=pd.Index(["C", "A"])).treatments == ("C", "A")
    cat = df.assign(arm=pd.Categorical(df["arm"], categories=["C", "B", "A", "unused"]))
    res = compare_arms(cat, "arm", "converted", "A")
    assert res.treatments == ("C", "B")  # category order; the unused category is not an arm
    assert _row(res, "C", "difference").estimate == pytest.approx(
        df.loc[df.arm == "C", "converted"].mean() - df.loc[df.arm == "A", "converted"].mean(), abs=1e-12
    )


def test_boolean_outcome_is_binary_and_outcome_kind_can_force_means():
    df = _table(arms=("a", "b"))
    as_bool = compare_arms(df.assign(converted=df["converted"].astype(bool)), "arm", "converted", "a")
    as_int = compare_arms(df, "arm", "converted", "a")
    pd.testing.assert_frame_equal(as_bool.comparisons, as_int.comparisons)
    means = compare_arms(df, "arm", "converted", "a", outcome_kind="numeric")
    assert means.outcome_kind == "numeric" and "Welch" in means.contrast().test.method


# ------------------------------------------------------------------ numeric outcome


def test_numeric_arms_match_scipy_welch_and_t():
    df = _table()
    res = compare_arms(df, "arm", "spend", "A", level=0.99)
    assert res.outcome_kind == "numeric" and "sd" in res.arms and "successes" not in res.arms
    for rec in res.arms.itertuples():
        y = df.loc[df["arm"] == rec.arm, "spend"]
        low, high = stats.t.interval(0.99, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
        assert (rec.estimate, rec.low, rec.high, rec.sd) == pytest.approx((y.mean(), low, high, y.std()), abs=TOL)
    y0 = df.loc[df["arm"] == "A", "spend"]
    for t in ("B", "C"):
        y1 = df.loc[df["arm"] == t, "spend"]
        ref = stats.ttest_ind(y1, y0, equal_var=False)
        ci = ref.confidence_interval(0.99)
        diff, test = _row(res, t, "difference"), _row(res, t, "test")
        assert (diff.estimate, diff.low, diff.high) == pytest.approx((y1.mean() - y0.mean(), ci.low, ci.high), abs=TOL)
        assert (test.statistic, test.p_value) == pytest.approx((ref.statistic, ref.pvalue), abs=TOL)
        assert _row(res, t, "relative lift").estimate == pytest.approx(y1.mean() / y0.mean() - 1, abs=1e-12)
        assert res.contrast(t).bayes is None
    assert "probability treatment is better" not in set(res.comparisons["quantity"])


def test_numeric_lift_is_undefined_when_the_control_mean_is_zero():
    df = pd.DataFrame({"arm": ["c"] * 4 + ["t"] * 4, "y": [-1.0, 1.0, -2.0, 2.0, 1.0, 2.0, 3.0, 4.0]})
    lift = compare_arms(df, "arm", "y", "c").contrast().lift
    assert np.isnan(lift.estimate) and "control mean is 0" in lift.method


def test_binary_lift_is_undefined_without_successes():
    df = pd.DataFrame({"arm": ["c"] * 20 + ["t"] * 20, "y": [0] * 20 + [1] * 5 + [0] * 15})
    res = compare_arms(df, "arm", "y", "c")
    assert np.isnan(res.contrast().lift.estimate) and "no success" in res.contrast().lift.method
    assert res.contrast().test == compare_proportions(5, 20, 0, 20)  # the small-sample exact path
    assert res.contrast().difference.estimate == 0.25


# ------------------------------------------------------------------ covariate, strata, SRM


def test_covariate_adjustment_matches_statsmodels_hc2_on_each_pair():
    df = _table()
    res = compare_arms(df, "arm", "spend", "A", covariate="pre")
    for t in ("B", "C"):
        pair = df[df["arm"].isin(["A", t])]
        d = (pair["arm"] == t).to_numpy(float)
        x = pair["pre"].to_numpy()
        fit = sm.OLS(pair["spend"].to_numpy(), sm.add_constant(np.column_stack([d, x - x.mean()]))).fit(
            cov_type="HC2", use_t=True
        )
        row = _row(res, t, "adjusted difference")
        low, high = fit.conf_int()[1]
        assert (row.estimate, row.low, row.high, row.p_value) == pytest.approx(
            (fit.params[1], low, high, fit.pvalues[1]), abs=TOL
        )
        assert "ANCOVA" in row.method and "variance reduction" in row.method
        assert res.contrast(t).adjusted.variance_reduction > 0.3


def test_strata_match_statsmodels_stratified_table():
    df = _table(seed=5)
    res = compare_arms(df, "arm", "converted", "A", strata="stratum")
    for t in ("B", "C"):
        pair = df[df["arm"].isin(["A", t])]
        cells = []
        for _, part in pair.groupby("stratum"):
            y1 = part.loc[part["arm"] == t, "converted"]
            y0 = part.loc[part["arm"] == "A", "converted"]
            cells.append([[y1.sum(), len(y1) - y1.sum()], [y0.sum(), len(y0) - y0.sum()]])
        ref = StratifiedTable(np.array(cells, dtype=float).transpose(1, 2, 0))
        odds = _row(res, t, "Mantel-Haenszel odds ratio")
        low, high = ref.oddsratio_pooled_confint()
        assert (odds.estimate, odds.low, odds.high) == pytest.approx((ref.oddsratio_pooled, low, high), abs=TOL)
        cmh = ref.test_null_odds(correction=False)
        assert (_row(res, t, "CMH test").statistic, _row(res, t, "CMH test").p_value) == pytest.approx(
            (cmh.statistic, cmh.pvalue), abs=TOL
        )
        bd = ref.test_equal_odds(adjust=True)
        assert _row(res, t, "Breslow-Day test").p_value == pytest.approx(bd.pvalue, abs=TOL)
        per = res.contrast(t).stratified.per_stratum
        assert per["stratum"].tolist() == ["east", "north", "south"]


def test_sample_ratio_mismatch_over_every_arm():
    df = _table(n=900)
    counts = df["arm"].value_counts()
    shares = {"A": 0.5, "B": 0.25, "C": 0.25}
    res = compare_arms(df, "arm", "converted", "A", treatments=["B"], expected_shares=shares)
    ref = stats.chisquare([counts["A"], counts["B"], counts["C"]], [900 * 0.5, 900 * 0.25, 900 * 0.25])
    assert (res.srm.statistic, res.srm.p_value) == pytest.approx((ref.statistic, ref.pvalue), abs=TOL)
    assert "3 arms" in res.srm.method and res.srm.p_value < 1e-6
    assert compare_arms(df, "arm", "converted", "A").srm is None


# ------------------------------------------------------------------ errors


def _with(df, **changes):
    out = df.copy()
    for col, (row, value) in changes.items():
        out[col] = out[col].astype(object) if not isinstance(value, float) else out[col]
        out.loc[row, col] = value
    return out


BASE = _table(n=120, seed=9)


@pytest.mark.parametrize(
    "frame,args,kwargs,match",
    [
        (BASE.to_dict(), ("arm", "converted", "A"), {}, "must be a pandas DataFrame"),
        (BASE, ("group", "converted", "A"), {}, r"no column for arm='group'.*columns are"),
        (BASE, ("arm", "sales", "A"), {"covariate": "prior"}, r"outcome='sales', covariate='prior'"),
        (BASE, ("arm", "converted", "A"), {"strata": "arm"}, "both name column 'arm'"),
        (BASE, ("arm", "converted", "control"), {}, r"control arm 'control' is not in column 'arm'.*\['A', 'B', 'C'\]"),
        (BASE.assign(arm="A"), ("arm", "converted", "A"), {}, "single arm"),
        (BASE, ("arm", "converted", "A"), {"treatments": ["B", "D"]}, r"\['D'\] have no units in column 'arm'"),
        (BASE, ("arm", "converted", "A"), {"treatments": ["A", "B"]}, "cannot also be a treatment"),
        (BASE, ("arm", "converted", "A"), {"treatments": "B"}, "list of arm names"),
        (BASE, ("arm", "converted", "A"), {"treatments": []}, "treatments is empty"),
        (
            BASE.assign(converted=np.where(BASE.converted == 1, "yes", "no")),
            ("arm", "converted", "A"),
            {},
            "outcome column 'converted' must be boolean or numeric",
        ),
        (BASE, ("arm", "spend", "A"), {"outcome_kind": "binary"}, "values other than 0 and 1"),
        (BASE, ("arm", "spend", "A"), {"outcome_kind": "counts"}, "outcome_kind must be one of"),
        (_with(BASE, spend=(3, np.inf)), ("arm", "spend", "A"), {}, "infinite"),
        (_with(BASE, converted=(3, np.nan)), ("arm", "converted", "A"), {}, r"missing values in 'converted' \(1 row"),
        (_with(BASE, arm=(0, None)), ("arm", "converted", "A"), {}, "missing values in 'arm'"),
        (
            pd.concat(
                [BASE, pd.DataFrame({"arm": ["D"], "spend": [1.0], "converted": [1], "pre": [1.0], "stratum": ["x"]})]
            ),
            ("arm", "spend", "A"),
            {},
            "'D' has 1",
        ),
        (
            BASE.assign(spend=BASE["arm"].map({"A": 1.0, "B": 2.0, "C": 3.0})),
            ("arm", "spend", "A"),
            {},
            "'spend' is constant within arms 'A' and 'B'",
        ),
        (BASE, ("arm", "spend", "A"), {"strata": "stratum"}, "is for a binary outcome"),
        (BASE.assign(stratum="all"), ("arm", "converted", "A"), {"strata": "stratum"}, "single stratum"),
        (
            _with(BASE, stratum=(5, np.nan)),
            ("arm", "converted", "A"),
            {"strata": "stratum"},
            "missing values in 'stratum'",
        ),
        (
            BASE,
            ("arm", "converted", "A"),
            {"covariate": "stratum"},
            "covariate column 'stratum' must be boolean or numeric",
        ),
        (BASE.assign(pre=1.0), ("arm", "converted", "A"), {"covariate": "pre"}, "'pre' is constant"),
        (_with(BASE, pre=(2, np.nan)), ("arm", "converted", "A"), {"covariate": "pre"}, "missing values in 'pre'"),
        (BASE, ("arm", "converted", "A"), {"expected_shares": {"A": 0.5, "B": 0.5}}, "one planned share per arm"),
        (BASE, ("arm", "converted", "A"), {"expected_shares": {"A": 0.5, "B": 0.5, "C": 0.5}}, "sum to 1"),
        (BASE, ("arm", "converted", "A"), {"adjust": "sidak"}, "adjust must be one of"),
        (BASE, ("arm", "converted", "A"), {"level": 95}, "level must be"),
    ],
)
def test_bad_input_raises_parameter_error(frame, args, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        compare_arms(frame, *args, **kwargs)


def test_contrast_lookup_errors():
    res = compare_arms(BASE, "arm", "converted", "A")
    with pytest.raises(ParameterError, match="name the one you want"):
        res.contrast()
    with pytest.raises(ParameterError, match="not a compared treatment"):
        res.contrast("Z")


def test_dunnett_option_matches_scipy_and_is_named():
    df = _table()
    res = compare_arms(df, "arm", "spend", control="A", adjust="dunnett")
    ref = stats.dunnett(
        *(df.loc[df["arm"] == t, "spend"] for t in ("B", "C")), control=df.loc[df["arm"] == "A", "spend"]
    )
    assert [res.contrast(t).p_adjusted for t in ("B", "C")] == pytest.approx(ref.pvalue, abs=1e-4)
    tests = res.comparisons[res.comparisons["quantity"] == "test"]
    assert tests["p_adjusted"].to_numpy() == pytest.approx(ref.pvalue, abs=1e-4)
    assert "Dunnett" in res.adjust_method and "Holm" in res.adjust_method
    with pytest.raises(ParameterError, match="dunnett"):
        compare_arms(df, "arm", "converted", control="A", adjust="dunnett")


def test_bonferroni_wald_and_continuity_options_are_named():
    df = _table()
    res = compare_arms(
        df, "arm", "converted", "A", strata="stratum", adjust="bonferroni", interval="wald", correction=True
    )
    tests = res.comparisons[res.comparisons["quantity"] == "test"]
    expected = multipletests(tests["p_value"].to_numpy(), method="bonferroni")[1]
    np.testing.assert_allclose(tests["p_adjusted"].to_numpy(), expected, atol=1e-12)
    assert res.adjust_method.startswith("Bonferroni")
    c = res.contrast("B")
    assert "Wald" in c.difference.method and "Yates" in c.test.method
    assert "with continuity correction" in c.stratified.cmh.method
    # the CMH with continuity correction against statsmodels (correction=True)
    pair = df[df["arm"].isin(["A", "B"])]
    tables = [
        [[((g["arm"] == a) & (g["converted"] == v)).sum() for v in (1, 0)] for a in ("B", "A")]
        for _, g in pair.groupby("stratum")
    ]
    ref = StratifiedTable(np.array(tables, dtype=float).transpose(1, 2, 0)).test_null_odds(correction=True)
    assert c.stratified.cmh.p_value == pytest.approx(ref.pvalue, abs=1e-9)
