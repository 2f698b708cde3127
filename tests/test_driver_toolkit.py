"""Generic driver ranking on a plain table: checks, odds ratios, dominance, bootstrap, sampled path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from insights.errors import ParameterError
from insights.stats import driver_ranking as dr
from insights.stats import shapley as sh
from insights.stats.model_frame import model_frame

DRV = ["a", "b", "c"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """300 rows, 150 customers with two rows each; three correlated drivers, a numeric and a categorical control."""
    rng = np.random.default_rng(3)
    n = 300
    L = np.linalg.cholesky(np.array([[1, 0.4, 0.2], [0.4, 1, 0.3], [0.2, 0.3, 1]]))
    Z = rng.standard_normal((n, 3)) @ L.T
    plan = rng.choice(["basic", "plus", "pro"], n)
    tenure = rng.gamma(2.0, 1.5, n)
    eta = -1.0 + Z @ np.array([0.9, 0.4, -0.2]) - 0.15 * tenure + 0.4 * (plan == "pro")
    return pd.DataFrame(
        {
            "a": Z[:, 0],
            "b": np.exp(Z[:, 1]),
            "c": Z[:, 2],
            "tenure": tenure,
            "plan": plan,
            "customer": np.repeat(np.arange(n // 2), 2),
            "churned": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int),
        }
    )


def _design(t: pd.DataFrame, drivers, transforms=None) -> pd.DataFrame:
    """Independent standardisation and dummy coding (statsmodels' own conventions: drop the first level)."""
    z = pd.DataFrame(
        {d: (transforms.get(d, lambda x: x) if transforms else (lambda x: x))(t[d].astype(float)) for d in drivers}
    )
    z = (z - z.mean()) / z.std(ddof=0)
    dummies = pd.get_dummies(t["plan"], prefix="plan", prefix_sep="[", drop_first=True, dtype=float)
    dummies.columns = [f"{c}]" for c in dummies.columns]
    return pd.concat([z, t[["tenure"]], dummies], axis=1)


# --------------------------------------------------------------------------- odds ratios


def test_odds_ratios_match_statsmodels_with_cluster_covariance(table):
    got = dr.odds_ratios(table, "churned", DRV, ["tenure", "plan"], cluster="customer", transforms={"b": "log"})
    X = sm.add_constant(_design(table, DRV, {"b": np.log}))
    ref = sm.Logit(table["churned"], X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": table["customer"]})
    assert list(got.index) == ["a", "b", "c", "tenure", "plan[plus]", "plan[pro]"]
    assert np.allclose(got["coef"], ref.params.drop("const"), atol=1e-8)
    assert np.allclose(got["se"], ref.bse.drop("const"), rtol=1e-6)
    ci = ref.conf_int().drop(index="const")
    assert np.allclose(got["or_low"], np.exp(ci[0]), rtol=1e-6) and np.allclose(
        got["or_high"], np.exp(ci[1]), rtol=1e-6
    )
    assert got["method"].str.contains("Wald 95% CI, SE clustered by customer").all()


def test_odds_ratios_without_cluster_are_model_based_and_level_is_honoured(table):
    got = dr.odds_ratios(table, "churned", DRV, level=0.9)
    ref = sm.Logit(table["churned"], sm.add_constant(_design(table, DRV)[DRV])).fit(disp=0)
    assert np.allclose(got["se"], ref.bse.drop("const"), rtol=1e-6)
    ci = ref.conf_int(alpha=0.1).drop(index="const")
    assert np.allclose(got["or_low"], np.exp(ci[0]), rtol=1e-6)
    assert got["method"].str.contains("Wald 90% CI, model-based SE").all()


# --------------------------------------------------------------------------- ranking


@pytest.fixture(scope="module")
def ranking(table):
    return dr.rank_drivers(
        table, "churned", DRV, ["tenure", "plan"], cluster="customer", n_boot=40, seed=5, groups=[[d] for d in DRV]
    )


def test_exact_dominance_matches_brute_force_over_statsmodels_fits(table, ranking):
    X = _design(table, DRV)
    controls = ["tenure", "plan[plus]", "plan[pro]"]

    def r2(subset):
        cols = controls + [DRV[j] for j in sorted(subset)]
        return sm.Logit(table["churned"], sm.add_constant(X[cols])).fit(disp=0).prsquared

    base = r2(())
    expected = sh.shapley_brute_force(lambda s: r2(s) - base, 3)
    got = ranking.importance["general_dominance"].reindex(DRV).to_numpy()
    assert np.allclose(got, expected, atol=1e-8)
    assert np.isclose(ranking.fit_base, base) and np.isclose(ranking.fit_full, r2((0, 1, 2)))
    assert np.allclose(ranking.importance["share"].sum(), 1.0)
    assert ranking.importance["share_mc_se"].eq(0).all() and ranking.shapley == "exact over all 8 subsets"


def test_ranking_structure_bootstrap_and_determinism(table, ranking):
    imp = ranking.importance
    assert ranking.n_rows == 300 and ranking.n_clusters == 150 and ranking.n_boot == 40 and ranking.n_dropped == 0
    assert (imp["share"].diff().dropna() <= 0).all()
    assert np.allclose(ranking.rank_probability.sum(axis=1), 1) and np.allclose(ranking.rank_probability.sum(axis=0), 1)
    assert (imp["share_low"] <= imp["share_high"]).all() and (imp["or_boot_low"] <= imp["or_boot_high"]).all()
    assert imp["method"].str.contains("resampling customer").all() and imp["method"].str.contains("95%").all()
    p = imp["p_above_next"].iloc[:-1]
    assert (imp["tied_with_next"].iloc[:-1] == (p < dr.TIE_PROBABILITY)).all()
    again = dr.rank_drivers(
        table, "churned", DRV, ["tenure", "plan"], cluster="customer", n_boot=40, seed=5, groups=[[d] for d in DRV]
    )
    pd.testing.assert_frame_equal(again.importance, imp)
    pd.testing.assert_frame_equal(again.boot_shares, ranking.boot_shares)


def test_cluster_bootstrap_draws_whole_clusters():
    codes = np.repeat(np.arange(50), 3)
    w = dr._bootstrap_counts(codes, 30, np.random.default_rng(0))
    assert w.shape == (30, 150) and np.allclose(w.sum(axis=1), 150)
    assert (w.reshape(30, 50, 3) == w.reshape(30, 50, 3)[:, :, :1]).all()  # rows of a cluster move together


def test_without_cluster_rows_are_resampled_and_level_sets_the_intervals(table):
    r95 = dr.rank_drivers(table, "churned", DRV, n_boot=60, seed=1)
    r80 = dr.rank_drivers(table, "churned", DRV, n_boot=60, seed=1, level=0.8)
    assert r95.n_clusters == 300 and r95.importance["method"].str.contains("resampling rows").all()
    width = lambda r: (r.importance["share_high"] - r.importance["share_low"]).sort_index()  # noqa: E731
    assert (width(r80) <= width(r95)).all() and (width(r80) < width(r95)).any()
    assert r80.importance["method"].str.contains("80% CIs").all()


def test_transforms_are_explicit_never_by_name(table):
    t = table.rename(columns={"b": "depth"})
    plain = model_frame(t, "churned", ["a", "depth"])
    logged = model_frame(t, "churned", ["a", "depth"], transforms={"depth": "log1p"})
    x = t["depth"]
    assert np.allclose(plain.drivers["depth"], (x - x.mean()) / x.std(ddof=0))
    lx = np.log1p(x)
    assert np.allclose(logged.drivers["depth"], (lx - lx.mean()) / lx.std(ddof=0))
    assert logged.transforms == {"depth": "log1p"}
    custom = model_frame(t, "churned", ["a", "depth"], transforms={"depth": np.sqrt})
    assert custom.transforms == {"depth": "sqrt"}


def test_missing_values_are_dropped_and_counted(table):
    t = table.copy()
    t.loc[[0, 5, 9], "a"] = np.nan
    t.loc[9, "plan"] = None
    t.loc[12, "customer"] = np.nan
    r = dr.rank_drivers(t, "churned", DRV, ["plan"], cluster="customer", n_boot=20, seed=0)
    assert r.n_dropped == 4 and r.n_rows == 296


def test_auto_switches_to_the_sampled_estimate_above_max_exact(table):
    four = [*DRV, "tenure"]  # with three players the six orderings of a cycle are all of them: exact
    kw = {"n_boot": 20, "seed": 2, "groups": [[d] for d in four]}
    r = dr.rank_drivers(table, "churned", four, **kw, max_exact=3, n_cycles=3)
    assert r.shapley.startswith("sampled: 3 random cyclic orders x 8 shifts and reversals = 24 permutations")
    assert np.isclose(r.importance["share"].sum(), 1.0) and (r.importance["share_mc_se"] > 0).all()
    assert r.importance["method"].str.contains("not in the bootstrap intervals").all()
    forced = dr.rank_drivers(table, "churned", four, **kw, shapley="sampled", n_cycles=3)
    pd.testing.assert_frame_equal(forced.importance, r.importance)
    exact = dr.rank_drivers(table, "churned", four, **kw)
    assert exact.shapley == "exact over all 16 subsets"
    diff = r.importance["general_dominance"] - exact.importance["general_dominance"].reindex(r.importance.index)
    assert (diff.abs() <= 5 * r.importance["share_mc_se"] * (r.fit_full - r.fit_base)).all()


def test_a_large_monte_carlo_error_is_a_warning(table, monkeypatch):
    monkeypatch.setattr(dr, "MC_WARN_RATIO", 0.0)
    r = dr.rank_drivers(
        table, "churned", [*DRV, "tenure"], n_boot=20, seed=2, shapley="sampled", groups=[[d] for d in [*DRV, "tenure"]]
    )
    assert r.warning and "raise n_cycles (now 4)" in r.warning


def test_correlated_drivers_form_a_block(table):
    t = table.assign(a2=table["a"] * 2 + np.random.default_rng(0).normal(0, 0.05, len(table)))
    r = dr.rank_drivers(t, "churned", ["a", "a2", "c"], n_boot=20, seed=0)
    assert r.groups == [["a", "a2"], ["c"]] and "a + a2" in r.importance.index
    assert np.isnan(r.importance.loc["a + a2", "odds_ratio"])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"drivers": ["a", "nope", "zip"]}, r"no column\(s\) \['nope', 'zip'\]"),
        ({"outcome": "plan"}, "outcome 'plan' must be 0/1"),
        ({"drivers": ["a", "plan"]}, r"driver column\(s\) \['plan'\] are not numeric"),
        ({"drivers": ["a", "a"]}, "more than once"),
        ({"controls": ["a"]}, "two roles"),
        ({"transforms": {"zz": "log"}}, "neither drivers nor controls"),
        ({"transforms": {"a": "log"}}, "transform 'log' of column 'a' needs values > 0"),
        ({"transforms": {"a": "cube"}}, "unknown transform 'cube'"),
        ({"controls": ["plan"], "transforms": {"plan": "log"}}, "categorical"),
        ({"min_events": 1_000}, r"at least 1000 of each .*min_events"),
        ({"n_boot": 5}, "n_boot"),
        ({"level": 95}, "level"),
        ({"shapley": "fast"}, "shapley"),
        ({"drivers": [f"x{j}" for j in range(17)], "shapley": "exact"}, "at most 16 drivers"),
        ({"groups": [["a"], ["b"]]}, "every driver in exactly one"),
        ({"cluster": "one"}, "single value"),
    ],
)
def test_bad_input_is_a_parameter_error_naming_the_columns(table, kwargs, match):
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(len(table), 17)), columns=[f"x{j}" for j in range(17)])
    args = {
        "frame": pd.concat([table.assign(one=1), wide], axis=1),
        "outcome": "churned",
        "drivers": DRV,
        "n_boot": 20,
    } | kwargs
    with pytest.raises(ParameterError, match=match):
        dr.rank_drivers(**args)


def test_outcome_with_a_single_class_or_too_few_events(table):
    with pytest.raises(ParameterError, match="single class"):
        dr.rank_drivers(table.assign(churned=0), "churned", DRV, n_boot=20)
    few = table.assign(churned=(np.arange(len(table)) < 4).astype(int))
    with pytest.raises(ParameterError, match="4 events"):
        dr.rank_drivers(few, "churned", DRV, n_boot=20)


def test_constant_columns_are_named(table):
    with pytest.raises(ParameterError, match=r"\['k'\] are constant"):
        dr.rank_drivers(table.assign(k=2.0), "churned", ["a", "k"], n_boot=20)
    with pytest.raises(ParameterError, match=r"control term\(s\) \['k'\] are constant"):
        dr.rank_drivers(table.assign(k=2.0), "churned", DRV, ["k"], n_boot=20)
    with pytest.raises(ParameterError, match="single level"):
        dr.rank_drivers(table.assign(k="x"), "churned", DRV, ["k"], n_boot=20)


def test_exactly_collinear_drivers_and_controls_are_named_before_any_fit(table):
    t = table.assign(s=table["a"] + 2 * table["c"], plan_is_pro=(table["plan"] == "pro").astype(float))
    with pytest.raises(ParameterError, match=r"\['a', 'c', 's'\] are exactly collinear: 1 of them"):
        dr.rank_drivers(t, "churned", ["a", "b", "c", "s"], n_boot=20)
    with pytest.raises(ParameterError, match=r"\['plan_is_pro', 'plan\[pro\]'\] are exactly collinear"):
        dr.odds_ratios(t, "churned", DRV, ["plan_is_pro", "plan"])
    # nearly collinear is allowed (the data decide; the intervals will be wide)
    near = table.assign(s=table["a"] + 1e-3 * np.random.default_rng(0).standard_normal(len(table)))
    assert "s" in dr.odds_ratios(near, "churned", ["a", "s"]).index


def test_threads_do_not_change_the_result(table):
    four = [*DRV, "tenure"]
    kw = {"n_boot": 20, "seed": 4, "groups": [[d] for d in four], "shapley": "sampled", "n_cycles": 2}
    one = dr.rank_drivers(table, "churned", four, n_jobs=1, **kw)
    two = dr.rank_drivers(table, "churned", four, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one.importance, two.importance)
    pd.testing.assert_frame_equal(one.boot_shares, two.boot_shares)


def test_m_out_of_n_bootstrap_above_max_resample(table):
    args = {"cluster": "customer", "n_boot": 300, "seed": 4, "groups": [[d] for d in DRV]}
    full = dr.rank_drivers(table, "churned", DRV, ["tenure", "plan"], max_resample=None, **args)
    at_n = dr.rank_drivers(table, "churned", DRV, ["tenure", "plan"], max_resample=150, **args)  # 150 customers
    pd.testing.assert_frame_equal(at_n.importance, full.importance)  # m = n: the ordinary bootstrap
    pd.testing.assert_frame_equal(at_n.boot_shares, full.boot_shares)
    sub = dr.rank_drivers(table, "churned", DRV, ["tenure", "plan"], max_resample=50, **args)
    assert sub.importance["method"].str.contains("m-out-of-n: 50 of 150 clusters per replicate").all()
    assert "m-out-of-n" not in full.importance["method"].iloc[0]
    pd.testing.assert_series_equal(sub.importance["share"], full.importance["share"])  # same point estimate
    # replicates on a third of the customers spread sqrt(3) times wider; scaled back, they match the full bootstrap
    ratio = sub.boot_shares.std() / full.boot_shares.std()
    assert ratio.between(0.75, 1.33).all(), ratio
    assert np.allclose(sub.boot_shares.sum(axis=1), 1)
    with pytest.raises(ParameterError, match="max_resample"):
        dr.rank_drivers(table, "churned", DRV, ["tenure", "plan"], max_resample=0, **args)
