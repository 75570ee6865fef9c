"""Every CMS and AMA example of ../shared/DOMAIN.md, table-driven."""

from __future__ import annotations

import pytest

from scribe.billing import ama_units, cms_units, compute_units, units_for_minutes
from scribe.errors import BillingError


@pytest.mark.parametrize(
    "minutes, units",
    [(0, 0), (7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4), (67, 4),
     (68, 5), (82, 5), (83, 6), (97, 6), (98, 7), (112, 7), (113, 8), (127, 8)],
)
def test_unit_table(minutes, units):
    assert units_for_minutes(minutes) == units


CMS_EXAMPLES = [
    # DOMAIN.md, CMS total-time method (Pub 100-04 ch. 5 section 20.2)
    ({"97112": 24, "97110": 23}, {"97112": 2, "97110": 1}, 47),
    ({"97110": 33, "97140": 7}, {"97110": 2, "97140": 1}, 40),
    ({"97110": 18, "97140": 13, "97116": 10, "97035": 8}, {"97110": 1, "97140": 1, "97116": 1, "97035": 0}, 49),
    ({"97112": 7, "97110": 7, "97140": 7}, {"97112": 1, "97110": 0, "97140": 0}, 21),
    ({"97110": 8, "97140": 8}, {"97110": 1, "97140": 0}, 16),
]


@pytest.mark.parametrize("minutes, expected, total", CMS_EXAMPLES)
def test_cms_examples(minutes, expected, total):
    result = compute_units(minutes, "cms")
    assert result.units == expected
    assert result.total_timed_minutes == total
    assert result.total_units == sum(expected.values())


def test_cms_tie_gives_two_of_either_and_one_of_the_other():
    # 20 min 97112 + 20 min 97110 = 40 min -> 3 units: 2 of either, 1 of the other
    units = cms_units({"97112": 20, "97110": 20})
    assert sorted(units.values()) == [1, 2]
    assert units == {"97112": 2, "97110": 1}  # ties go to the code dictated first


def test_cms_two_short_services_earn_one_unit_for_the_longer():
    assert cms_units({"97140": 5, "97112": 6}) == {"97140": 0, "97112": 1}


@pytest.mark.parametrize(
    "minutes, expected",
    [
        ({"97110": 8, "97140": 8}, {"97110": 1, "97140": 1}),  # DOMAIN.md: 2 under AMA, 1 under CMS
        ({"97112": 24, "97110": 23}, {"97112": 2, "97110": 2}),
        ({"97112": 7, "97110": 7, "97140": 7}, {"97112": 0, "97110": 0, "97140": 0}),
        ({"97110": 33, "97140": 7}, {"97110": 2, "97140": 0}),
    ],
)
def test_ama_examples(minutes, expected):
    assert ama_units(minutes) == expected


@pytest.mark.parametrize("code", ["97150", "97010", "97162", "97164"])
def test_untimed_codes_earn_no_units_and_no_timed_minutes(code):
    result = compute_units({"97112": 24, code: 30}, "cms")
    assert code not in result.units
    assert result.total_timed_minutes == 24
    assert result.units == {"97112": 2}


@pytest.mark.parametrize("minutes", [{"97112": -1}, {"97112": 2.5}, {"97112": "10"}])
def test_bad_minutes_are_refused(minutes):
    with pytest.raises(BillingError):
        compute_units(minutes)


def test_unknown_method_is_refused():
    with pytest.raises(BillingError):
        compute_units({"97112": 10}, "medicaid")
