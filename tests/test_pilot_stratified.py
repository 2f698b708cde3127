"""insights.stats.stratified against statsmodels and published CMH / Breslow-Day examples."""

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from insights.errors import ParameterError
from insights.stats.intervals import compare_proportions, risk_difference
from insights.stats.stratified import _breslow_day, _cmh, adjust_pvalues, stratified_proportions

TOL = 1e-6

# Smoking and lung cancer in eight Chinese cities (the case-control data of Agresti's categorical-data
# texts), per city (cases among smokers, controls among smokers, cases among non-smokers, controls among
# non-smokers). Published SAS PROC FREQ output (Stanford ED257 handout "A.4 SAS file for CMH analysis
# of Chinese smoking data in Table 3.3",
# http://www.stanford.edu/class/ed257/exs/chinasmokehndt):
# CMH = 280.138 (df 1); Mantel-Haenszel common odds ratio 2.174;
# Breslow-Day chi-square = 5.200, df 7, p = 0.636 (no Tarone adjustment).
CHINA = [
    (126, 100, 35, 61),
    (908, 688, 497, 807),
    (913, 747, 336, 598),
    (235, 172, 58, 121),
    (402, 308, 121, 215),
    (182, 156, 72, 98),
    (60, 99, 11, 43),
    (104, 89, 21, 36),
]

# R stats::mantelhaen.test documentation example (Agresti 1990, pp. 231-237): penicillin and rabbits,
# cured out of treated, immediate injection ("treatment") vs 1.5 h delay ("control"), 5 dose strata.
RABBITS = [((0, 6), (0, 5)), ((3, 6), (0, 6)), ((6, 6), (2, 6)), ((5, 6), (6, 6)), ((2, 2), (5, 5))]


def _frame(tables):
    """(a, b, c, d) per stratum -> long counts frame."""
    rows = []
    for i, (a, b, c, d) in enumerate(tables):
        rows.append({"stratum": f"s{i + 1}", "arm": "treatment", "successes": a, "n": a + b})
        rows.append({"stratum": f"s{i + 1}", "arm": "control", "successes": c, "n": c + d})
    return pd.DataFrame(rows)


def _arrays(tables):
    t = np.asarray(tables, dtype=float)
    return t[:, 0], t[:, 0] + t[:, 1], t[:, 2], t[:, 2] + t[:, 3]


def _statsmodels(tables):
    return StratifiedTable(np.array([[[a, b], [c, d]] for a, b, c, d in tables]).transpose(1, 2, 0))


RABBIT_TABLES = [(t[0], t[1] - t[0], c[0], c[1] - c[0]) for t, c in RABBITS]


# ------------------------------------------------------------------ published values


def test_chinese_smoking_published_sas_output():
    res = stratified_proportions(_frame(CHINA))
    assert res.cmh.statistic == pytest.approx(280.138, abs=5e-4)
    assert res.odds_ratio.estimate == pytest.approx(2.174, abs=5e-4)
    stat, p, df = _breslow_day(*_arrays(CHINA), res.odds_ratio.estimate, tarone=False)
    assert (stat, p, df) == (pytest.approx(5.200, abs=5e-4), pytest.approx(0.636, abs=5e-4), 7)
    assert "Mantel-Haenszel" in res.odds_ratio.method and "Robins-Breslow-Greenland" in res.odds_ratio.method
    assert "Cochran-Mantel-Haenszel" in res.cmh.method and "Tarone" in res.breslow_day.method


@pytest.mark.parametrize(
    "tables,stat,p",
    [
        # DescTools::BreslowDayTest examples as run in the Columbia P8120 notes (msph-p8120.github.io/breslow_day):
        # tetracycline and tooth discolouration by age: X-squared = 0.57493, df = 1, p = 0.4483
        ([(4, 6, 68, 94), (30, 25, 12, 17)], 0.57493, 0.4483),
        # smoking and cervical cancer by number of partners: X-squared = 4.2069, df = 1, p = 0.04026
        ([(96, 148, 92, 150), (12, 21, 25, 118)], 4.2069, 0.04026),
    ],
)
def test_breslow_day_published_desctools(tables, stat, p):
    a, n1, c, n0 = _arrays(tables)
    odds_ratio = stratified_proportions(_frame(tables)).odds_ratio.estimate
    got_stat, got_p, df = _breslow_day(a, n1, c, n0, odds_ratio, tarone=False)
    assert got_stat == pytest.approx(stat, abs=5e-5) and got_p == pytest.approx(p, abs=5e-5) and df == 1


def test_rabbits_r_documentation():
    # R's ?mantelhaen.test: the classical (continuity-corrected) test gives p = 0.047.
    _, p_corrected = _cmh(*_arrays(RABBIT_TABLES), correction=True)
    assert round(float(p_corrected), 3) == 0.047
    res = stratified_proportions(_frame(RABBIT_TABLES))
    st = _statsmodels(RABBIT_TABLES)
    assert res.odds_ratio.estimate == pytest.approx(st.oddsratio_pooled, abs=TOL)
    low, high = st.oddsratio_pooled_confint()
    assert (res.odds_ratio.low, res.odds_ratio.high) == pytest.approx((low, high), abs=TOL)
    ref = st.test_null_odds(correction=False)
    assert res.cmh.statistic == pytest.approx(ref.statistic, abs=TOL)
    assert res.cmh.p_value == pytest.approx(ref.pvalue, abs=TOL)
    ref_corrected = st.test_null_odds(correction=True)
    assert float(p_corrected) == pytest.approx(ref_corrected.pvalue, abs=TOL)


# ------------------------------------------------------------------ statsmodels on random tables


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_statsmodels_stratified_table(seed):
    rng = np.random.default_rng(seed)
    tables = []
    for n1, n0 in [(60, 55), (30, 34), (18, 22), (90, 80)]:
        a, c = rng.binomial(n1, 0.7), rng.binomial(n0, 0.6)
        tables.append((a, n1 - a, c, n0 - c))
    res = stratified_proportions(_frame(tables), level=0.9)
    st = _statsmodels(tables)
    assert res.odds_ratio.estimate == pytest.approx(st.oddsratio_pooled, abs=TOL)
    low, high = st.oddsratio_pooled_confint(alpha=0.1)
    assert (res.odds_ratio.low, res.odds_ratio.high) == pytest.approx((low, high), abs=TOL)
    null = st.test_null_odds(correction=False)
    assert (res.cmh.statistic, res.cmh.p_value) == pytest.approx((null.statistic, null.pvalue), abs=TOL)
    equal = st.test_equal_odds(adjust=True)  # Breslow-Day with Tarone's adjustment
    assert (res.breslow_day.statistic, res.breslow_day.p_value) == pytest.approx(
        (equal.statistic, equal.pvalue), abs=TOL
    )


# ------------------------------------------------------------------ MH risk difference


def test_mh_risk_difference_single_stratum_is_wald():
    # With one stratum the MH weighted difference is the plain difference and Sato's variance is the
    # unconditional binomial variance, so the interval is the Wald interval.
    res = stratified_proportions(_frame([(40, 10, 30, 25)]))
    low, high = confint_proportions_2indep(40, 50, 30, 55, method="wald", compare="diff")
    assert res.risk_difference.estimate == pytest.approx(40 / 50 - 30 / 55, abs=TOL)
    assert (res.risk_difference.low, res.risk_difference.high) == pytest.approx((low, high), abs=TOL)
    assert "Sato" in res.risk_difference.method


def test_mh_risk_difference_matches_direct_formula():
    # Sato (1989) variance, written out directly as in Newman (2001), Biostatistical Methods in
    # Epidemiology, Example 7.3: RD = (R - S)/T, var = (RD * U + V) / T^2.
    tables = CHINA[:4]
    a, n1, c, n0 = _arrays(tables)
    b, d, n = n1 - a, n0 - c, n1 + n0
    big_r, big_s, big_t = (a * n0 / n).sum(), (c * n1 / n).sum(), (n1 * n0 / n).sum()
    rd = (big_r - big_s) / big_t
    u = ((n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / n**2).sum()
    v = ((a * d + c * b) / (2 * n)).sum()
    se = np.sqrt((rd * u + v) / big_t**2)
    res = stratified_proportions(_frame(tables))
    assert res.risk_difference.estimate == pytest.approx(rd, abs=TOL)
    assert res.risk_difference.low == pytest.approx(rd - 1.959963985 * se, abs=TOL)


# ------------------------------------------------------------------ per stratum


@pytest.mark.parametrize("adjust", ["holm", "fdr_bh"])
def test_per_stratum_rows(adjust):
    tables = [(45, 5, 38, 12), (20, 10, 14, 16), (9, 1, 7, 3), (50, 50, 40, 60)]
    res = stratified_proportions(_frame(tables), adjust=adjust)
    per = res.per_stratum
    assert list(per.columns) == [
        "stratum",
        "n_treatment",
        "n_control",
        "p_treatment",
        "p_control",
        "difference",
        "low",
        "high",
        "p_value",
        "p_adjusted",
        "method",
    ]
    raw = []
    for row, (a, b, c, d) in zip(per.itertuples(), tables):
        ci = risk_difference(a, a + b, c, c + d)
        test = compare_proportions(a, a + b, c, c + d)
        assert (row.difference, row.low, row.high) == pytest.approx((ci.estimate, ci.low, ci.high), abs=TOL)
        assert row.p_value == pytest.approx(test.p_value, abs=TOL)
        assert test.method in row.method and "Newcombe" in row.method
        raw.append(test.p_value)
    expected = multipletests(raw, method=adjust)[1]
    np.testing.assert_allclose(per["p_adjusted"], expected, atol=TOL)


def test_empty_arm_is_kept_with_nan_and_left_out_of_mh():
    tables = [(45, 5, 38, 12), (20, 10, 14, 16)]
    counts = pd.concat(
        [
            _frame(tables),
            pd.DataFrame(
                [
                    {"stratum": "new", "arm": "treatment", "successes": 4, "n": 5},
                    {"stratum": "new", "arm": "control", "successes": 0, "n": 0},
                    {"stratum": "solo", "arm": "control", "successes": 3, "n": 4},
                ]
            ),
        ],
        ignore_index=True,
    )
    res = stratified_proportions(counts)
    base = stratified_proportions(_frame(tables))
    assert len(res.per_stratum) == 4 and res.strata_used == 2
    empty = res.per_stratum.set_index("stratum").loc[["new", "solo"]]
    assert empty[["difference", "low", "high", "p_value", "p_adjusted"]].isna().all().all()
    assert empty.loc["new", "method"].startswith("not compared: the control arm is empty")
    assert "treatment arm is empty" in empty.loc["solo", "method"]
    assert res.odds_ratio == base.odds_ratio and res.cmh == base.cmh


# ------------------------------------------------------------------ adjust_pvalues


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjust_pvalues_matches_multipletests(method):
    rng = np.random.default_rng(0)
    for p in (rng.uniform(0, 0.2, 12), np.array([0.01, 0.04, 0.04, 0.03, 0.5, 1.0]), np.array([0.2])):
        np.testing.assert_allclose(adjust_pvalues(p, method), multipletests(p, method=method)[1], atol=1e-12)
    out = adjust_pvalues([0.01, np.nan, 0.04], method)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], multipletests([0.01, 0.04], method=method)[1])


# ------------------------------------------------------------------ bad input


def _bad(row, col, value):
    frame = _frame([(45, 5, 38, 12), (20, 10, 14, 16)])
    frame[col] = frame[col].astype(object)
    frame.loc[row, col] = value
    return frame


@pytest.mark.parametrize(
    "counts,kwargs,match",
    [
        (_frame([(4, 1, 3, 2)]).drop(columns="n"), {}, "has no column"),
        (_bad(0, "arm", "variant"), {}, "arm must be"),
        (_bad(0, "successes", -1), {}, "non-negative"),
        (_bad(1, "successes", 99), {}, "cannot exceed"),
        (pd.concat([_frame([(4, 1, 3, 2)])] * 2), {}, "more than one row"),
        (_frame([(4, 1, 3, 2)]).iloc[:1], {}, "no stratum has accounts in both arms"),
        (_frame([(4, 1, 3, 2)]), {"adjust": "sidak"}, "adjust must be"),
        (_frame([(4, 1, 3, 2)]), {"level": 1.5}, "level"),
    ],
)
def test_bad_counts_raise_parameter_error(counts, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        stratified_proportions(counts, **kwargs)


def test_adjust_pvalues_rejects_bad_input():
    with pytest.raises(ParameterError, match="one of"):
        adjust_pvalues([0.1], "sidak")
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.2])


def test_no_warnings_on_degenerate_strata():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = stratified_proportions(_frame(RABBIT_TABLES))
    assert np.isfinite(res.breslow_day.statistic)  # the two all-same-outcome strata carry no information
    assert "df=2" in res.breslow_day.method
