"""insights.stats.table_checks: the collinear-column detector and the check built on it; column-name lists."""

import numpy as np
import pandas as pd
import pytest

from insights.errors import ParameterError
from insights.stats.table_checks import check_full_rank, collinear_columns, column_names

RNG = np.random.default_rng(3)
BASE = RNG.standard_normal((40, 4))  # columns a, b, c, d: independent


def _rank_deficiency(x):
    """Independent count: columns minus the rank of [1, x] plus the intercept's own rank."""
    with_intercept = np.column_stack([np.ones(len(x)), x])
    return x.shape[1] + 1 - np.linalg.matrix_rank(with_intercept)


def test_full_rank_has_no_collinear_columns():
    assert collinear_columns(BASE, list("abcd")) == ([], 0)
    assert _rank_deficiency(BASE) == 0


@pytest.mark.parametrize(
    ("extra", "names", "involved"),
    [
        (lambda x: 2 * x[:, 0] - 1, list("abcde"), ["a", "e"]),  # affine copy: collinear with the intercept
        (lambda x: x[:, 0] + 3 * x[:, 2], list("abcde"), ["a", "c", "e"]),
    ],
)
def test_one_dependency_names_exactly_its_columns(extra, names, involved):
    x = np.column_stack([BASE, extra(BASE)])
    assert collinear_columns(x, names) == (involved, _rank_deficiency(x))
    assert _rank_deficiency(x) == 1


def test_two_dependencies_are_counted():
    x = np.column_stack([BASE, BASE[:, 0] - BASE[:, 1], 5 * BASE[:, 3]])
    columns, deficiency = collinear_columns(x, list("abcdef"))
    assert deficiency == _rank_deficiency(x) == 2
    assert columns == ["a", "b", "d", "e", "f"]


def test_nearly_collinear_columns_pass():
    x = np.column_stack([BASE, BASE[:, 0] + 1e-3 * RNG.standard_normal(len(BASE))])
    assert collinear_columns(x, list("abcde")) == ([], 0)
    check_full_rank(x, list("abcde"))


def test_check_full_rank_names_constant_then_collinear_columns():
    with pytest.raises(ParameterError, match=r"driver\(s\) \['k'\] are constant"):
        check_full_rank(np.column_stack([BASE, np.full(len(BASE), 2.0)]), [*"abcd", "k"], "driver")
    with pytest.raises(ParameterError, match=r"covariate\(s\) \['b', 'e'\] are exactly collinear: 1 of them is"):
        check_full_rank(np.column_stack([BASE, -BASE[:, 1]]), list("abcde"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("a", ["a"]), (["b", "a"], ["b", "a"]), (("a",), ["a"]), ([], [])],
)
def test_column_names_takes_one_name_several_or_none(value, expected):
    assert column_names(value, "drivers") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["a", 1], r"drivers must be column names \(strings\), got \[1\]"),
        (["b", "a", "b", "a", "c"], r"drivers name column\(s\) \['a', 'b'\] more than once"),
    ],
)
def test_column_names_refuses_non_strings_and_repeats(value, message):
    with pytest.raises(ParameterError, match=message):
        column_names(value, "drivers")


def test_risk_features_and_model_drivers_share_the_rule():
    from insights.analyses.risk.model import fit_models
    from insights.stats.model_frame import model_frame

    with pytest.raises(ParameterError, match=r"features name column\(s\) \['x'\] more than once"):
        fit_models(pd.DataFrame(), features=["x", "y", "x"])
    with pytest.raises(ParameterError, match=r"controls name column\(s\) \['c'\] more than once"):
        model_frame(pd.DataFrame({"y": [0, 1], "a": [1.0, 2.0], "c": [1, 2]}), "y", ["a"], ["c", "c"])
