"""Haemoglobin normal for age (D13), hand-worked from the published cut-offs.

WHO 2011: 6-59 months 110 g/L; 5-11 y 115; 12-14 y 120; >= 15 y female 120,
male 130. Below 6 months (Dallman -2 SD): 1 month 100, 2 months 90, 3-6
months 95. "Normal" = at or above the cut-off. Dallman (Nathan & Oski
appendix) and CDC (MMWR 1998;47(RR-3) Table 6) values typed from the sources.
"""

from __future__ import annotations

import pytest

from saatrial.rules.hgb_normal import hgb_normal_for_age, load_hgb_table
from saatrial.rules.types import RuleTableError


def normal(hgb, born, on, sex=None, table="who-2011"):
    return hgb_normal_for_age(hgb, sex, birth_date=born, on_date=on, table=table).normal


# Child born 15 Jan 2013: 1 month on 15 Feb, 2 months on 15 Mar, 3 months on
# 15 Apr, 6 months on 15 Jul 2013.
@pytest.mark.parametrize(
    ("on", "limit"),
    [
        ("2013-02-15", 100),  # 1 month
        ("2013-03-14", 100),  # still 1 completed month
        ("2013-03-15", 90),  # 2 months
        ("2013-04-15", 95),  # 3 months
        ("2013-07-14", 95),  # 5 completed months
        ("2013-07-15", 110),  # 6 months: WHO
    ],
)
def test_who_2011_infants(on, limit):
    assert normal(limit, "2013-01-15", on)
    assert not normal(limit - 1, "2013-01-15", on)
    assert normal(limit + 1, "2013-01-15", on)


# Child born 15 Jan 2010: 59 completed months on 14 Jan 2015, 5 years on 15 Jan 2015
@pytest.mark.parametrize(
    ("on", "limit"),
    [
        ("2015-01-14", 110),  # 59 months
        ("2015-01-15", 115),  # 5 years
        ("2022-01-14", 115),  # 11 years 364 days
        ("2022-01-15", 120),  # 12 years
        ("2025-01-14", 120),  # 14 years
    ],
)
def test_who_2011_children(on, limit):
    for sex in ("M", "F", None):
        assert normal(limit, "2010-01-15", on, sex)
        assert not normal(limit - 0.1, "2010-01-15", on, sex)


@pytest.mark.parametrize(("sex", "limit"), [("F", 120), ("M", 130)])
def test_who_2011_from_15_years_by_sex(sex, limit):
    on = "2025-01-15"  # 15th birthday of a child born 15 Jan 2010
    assert normal(limit, "2010-01-15", on, sex)
    assert not normal(limit - 1, "2010-01-15", on, sex)
    assert normal(limit + 1, "2010-01-15", on, sex)


def test_who_2011_sex_needed_from_15_and_not_before():
    with pytest.raises(ValueError, match="sex: required"):
        hgb_normal_for_age(125, None, birth_date="2010-01-15", on_date="2025-01-15")
    assert normal(125, "2010-01-15", "2025-01-14", None)  # 14 y: sex not needed


def test_who_2011_below_one_month_not_covered():
    with pytest.raises(ValueError, match="no band for age 0 completed months"):
        hgb_normal_for_age(150, "F", birth_date="2013-01-15", on_date="2013-02-14")


def test_age_days_approximation():
    # 183 days -> floor(183 / 30.4375) = 6 months -> WHO 110
    r = hgb_normal_for_age(110, age_days=183)
    assert r.normal and r.age_months == 6 and r.lower_limit_g_per_l == 110
    assert not hgb_normal_for_age(109, age_days=183).normal


def test_result_fields():
    r = hgb_normal_for_age(112, "M", birth_date="2008-06-01", on_date="2014-06-01")
    assert (r.table, r.table_version, r.lower_limit_g_per_l, r.age_months) == (
        "who-2011",
        "1.0.0",
        115,
        72,
    )
    assert r.band == "5-11 years (WHO)"
    assert r.normal is False


# Dallman -2 SD (g/dL in the source): 0.5-2 y 10.5; 2-6 y 11.5; 6-12 y 11.5;
# 12-18 y F 12.0, M 13.0; 18-49 y F 12.0, M 13.5.
@pytest.mark.parametrize(
    ("on", "sex", "limit"),
    [
        ("2010-07-15", None, 105),  # 6 months
        ("2012-01-14", None, 105),  # 23 months
        ("2012-01-15", None, 115),  # 2 years
        ("2016-01-15", None, 115),  # 6 years
        ("2022-01-15", "F", 120),  # 12 years
        ("2022-01-15", "M", 130),
        ("2028-01-15", "M", 135),  # 18 years
    ],
)
def test_dallman(on, sex, limit):
    assert normal(limit, "2010-01-15", on, sex, table="dallman")
    assert not normal(limit - 1, "2010-01-15", on, sex, table="dallman")


# CDC 1998: 1-<2 y 11.0; 2-<5 11.1; 5-<8 11.5; 8-<12 11.9; men 12-<15 12.5,
# 15-<18 13.3, >=18 13.5; women 12-<15 11.8, 15-<18 12.0, >=18 12.0 (g/dL)
@pytest.mark.parametrize(
    ("on", "sex", "limit"),
    [
        ("2011-01-15", None, 110),
        ("2012-01-15", None, 111),
        ("2015-01-15", None, 115),
        ("2018-01-15", None, 119),
        ("2022-01-15", "M", 125),
        ("2022-01-15", "F", 118),
        ("2025-01-15", "M", 133),
        ("2025-01-15", "F", 120),
        ("2028-01-15", "M", 135),
    ],
)
def test_cdc(on, sex, limit):
    assert normal(limit, "2010-01-15", on, sex, table="cdc")
    assert not normal(limit - 1, "2010-01-15", on, sex, table="cdc")


def test_cdc_does_not_cover_infants():
    with pytest.raises(ValueError, match="table starts at 12 months"):
        normal(120, "2010-01-15", "2010-12-15", None, table="cdc")


def test_tables_are_versioned_with_source():
    for name in ("who-2011", "dallman", "cdc"):
        t = load_hgb_table(name)
        assert t.version and t.source and t.id == name


def test_local_table_by_path_and_validation(tmp_path):
    good = tmp_path / "local.yaml"
    good.write_text(
        "id: local-lab\nversion: '2'\nsource: our lab 2020\n"
        "bands:\n  - {from_months: 1, to_months: null, sex: any, lower_g_per_l: 105}\n",
        encoding="utf-8",
    )
    assert hgb_normal_for_age(105, age_days=400, table=str(good)).normal
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nversion: '1'\nsource: x\nbands:\n"
        "  - {from_months: 1, to_months: 12, lower_g_per_l: 100}\n"
        "  - {from_months: 6, to_months: 24, lower_g_per_l: 105}\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleTableError, match="bands overlap"):
        hgb_normal_for_age(105, age_days=400, table=str(bad))
    noversion = tmp_path / "nov.yaml"
    noversion.write_text("id: x\nsource: y\nbands: []\n", encoding="utf-8")
    with pytest.raises(RuleTableError, match="version: required"):
        load_hgb_table(str(noversion))
    with pytest.raises(RuleTableError, match="no such rule table"):
        load_hgb_table("who-2099")
