"""insights.stats.levels: the one check, label and critical value of a confidence level."""

import math

import pytest

from insights.errors import ParameterError
from insights.stats.levels import check_level, level_label, z_value


@pytest.mark.parametrize(
    ("level", "z"), [(0.95, 1.959963984540054), (0.90, 1.6448536269514722), (0.99, 2.5758293035489)]
)
def test_z_value_matches_published_normal_quantiles(level, z):
    assert z_value(level) == pytest.approx(z, abs=1e-12)


def test_z_value_covers_the_level():
    z = z_value(0.8)
    assert math.erf(z / math.sqrt(2)) == pytest.approx(0.8, abs=1e-12)


@pytest.mark.parametrize(("level", "label"), [(0.95, "95%"), (0.9, "90%"), (0.995, "99.5%")])
def test_level_label(level, label):
    assert level_label(level) == label


@pytest.mark.parametrize("level", [0, 1, 95, -0.1, float("nan"), "0.95", None])
def test_check_level_rejects_non_levels(level):
    with pytest.raises(ParameterError, match="level must be a confidence level strictly between 0 and 1"):
        check_level(level)


def test_check_level_accepts_a_level():
    check_level(0.95)
