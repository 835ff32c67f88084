"""The reproduction check: every published number beside the reproduced one.

Hand-made cases cover each rule (absolute tolerance, printed precision,
counts, lists, dates, text by meaning, versions, the GVHD sentence, the
"well matched" statement, missing values) at its boundary, plus deliberate
failures; the bundled study must pass every row.
"""

from __future__ import annotations

import copy
import datetime as dt
import doctest

import pytest

from saatrial.report import reproduction
from saatrial.report.reproduction import check_reproduction, gvhd_meaning, printed_decimals

from ._r1_support import bundled, published, single_arm

TOL = {"km_estimate": 0.001, "km_se": 0.001, "p_value": 0.001,
       "medians_and_ranges": "exact", "counts": "exact"}


def one(published_doc: dict, results: dict):
    """The single row of a one-leaf document."""
    rows = check_reproduction(results, {**published_doc, "tolerances": TOL})
    assert len(rows) == 1
    return rows[0]


def leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, (*path, str(i)))
    else:
        yield ".".join(path)


# ---------------------------------------------------------------------------
# The bundled study
# ---------------------------------------------------------------------------
def test_bundled_study_reproduces_every_published_number() -> None:
    _, analysis = bundled()
    rows = check_reproduction(analysis.results, published())
    failed = [(r.key, r.published, r.reproduced, r.note) for r in rows if not r.passed]
    assert failed == []


def test_one_row_per_published_leaf_in_document_order() -> None:
    _, analysis = bundled()
    doc = published()
    rows = check_reproduction(analysis.results, doc)
    expected = list(leaves({k: v for k, v in doc.items() if k != "tolerances"}))
    assert [r.key for r in rows] == expected
    assert len(rows) == 81


def test_deliberate_failure_on_the_bundled_results() -> None:
    _, analysis = bundled()
    results = copy.deepcopy(analysis.results)
    results["long_term"]["ffs_logrank_p"] += 0.0015
    results["response_day90"]["MSC"]["PR"] = 2
    rows = {r.key: r for r in check_reproduction(results, published())}
    assert not rows["long_term.ffs_logrank_p"].passed
    assert rows["long_term.ffs_logrank_p"].difference == pytest.approx(0.0015 - 0.000106, abs=1e-5)
    assert not rows["response_day90.MSC.PR"].passed
    assert sum(not r.passed for r in rows.values()) == 2


def test_single_arm_study_fails_control_rows_with_a_note() -> None:
    _, analysis = single_arm()
    rows = {r.key: r for r in check_reproduction(analysis.results, published())}
    assert len(rows) == 81  # never dropped
    assert rows["baseline_msc.age_median"].passed
    ffs_p = rows["long_term.ffs_logrank_p"]
    assert not ffs_p.passed and ffs_p.reproduced is None
    assert "needs 2 arms" in ffs_p.note
    assert not rows["long_term.ffs_4y.CONTROL.est"].passed
    assert rows["long_term.ffs_4y.CONTROL.est"].note == "not in the reproduced results"


# ---------------------------------------------------------------------------
# Absolute tolerances (p-values, KM estimates and SEs)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reproduced", "passed"),
    [(0.153, True), (0.1529, True), (0.154, True), (0.152, True),  # boundary: |diff| = 0.001
     (0.1541, False), (0.1519, False)],
)
def test_p_value_tolerance(reproduced: float, passed: bool) -> None:
    row = one({"long_term": {"ffs_logrank_p": 0.153}},
              {"long_term": {"ffs_logrank_p": reproduced}})
    assert row.passed is passed
    assert row.tolerance == "±0.001 (p_value)"
    assert row.difference == pytest.approx(reproduced - 0.153)


@pytest.mark.parametrize(("leaf", "label"), [("est", "km_estimate"), ("se", "km_se")])
def test_km_tolerances_come_from_the_document(leaf: str, label: str) -> None:
    pub = {"os_4y": {"MSC": {leaf: 0.889}}}
    res = {"os_4y": {"MSC": {leaf: 0.8875}}}  # 0.0015 away
    assert not check_reproduction(res, {**pub, "tolerances": TOL})[0].passed
    wide = {**TOL, label: 0.002}
    row = check_reproduction(res, {**pub, "tolerances": wide})[0]
    assert row.passed and row.tolerance == f"±0.002 ({label})"


def test_anova_block_leaves_are_p_values() -> None:
    row = one({"repeated_measures_anova_p": {"PLT": 0.192}},
              {"repeated_measures_anova_p": {"PLT": 0.19301}})
    assert row.tolerance == "±0.001 (p_value)" and not row.passed


# ---------------------------------------------------------------------------
# Printed precision (medians, ranges, months)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("published_value", "reproduced", "passed"),
    [
        (48, 48.0, True),      # "48 months vs 48.00 -> pass"
        (48, 48.49, True),
        (48, 48.5, False),     # prints 49 (half away from zero)
        (48, 47.5, True),      # prints 48
        (0.07, 0.07, True),
        (0.07, 0.0749, True),
        (0.07, 0.075, False),  # prints 0.08
        (0.07, 0.065, True),   # prints 0.07
        (5.4, 5.449, True),
        (5.4, 5.45, False),
        (0.0, 0.04, True),     # published "0.0": one decimal
        (0.0, 0.05, False),
    ],
)
def test_medians_compare_at_printed_precision(
    published_value: float, reproduced: float, passed: bool
) -> None:
    row = one({"baseline": {"x_median": published_value}},
              {"baseline": {"x_median": reproduced}})
    assert row.passed is passed
    assert row.tolerance.startswith("as printed")


def test_printed_decimals() -> None:
    assert [printed_decimals(v) for v in (48, 48.0, 0.07, 5.4, 0.36, 159)] == [0, 1, 2, 1, 2, 0]


def test_month_of_a_death_is_compared_as_printed() -> None:
    row = one({"deaths": [{"month": 5}]}, {"deaths": [{"month": 5.19}]})
    assert row.key == "deaths.0.month" and row.passed
    assert not one({"deaths": [{"month": 5}]}, {"deaths": [{"month": 5.5}]}).passed


# ---------------------------------------------------------------------------
# Counts
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("reproduced", "passed"), [(4, True), (4.0, True), (5, False),
                                                    (3, False), (4.2, False)])
def test_counts_are_exact(reproduced: float, passed: bool) -> None:
    row = one({"safety": {"msc_anaphylaxis_any": 4}},
              {"safety": {"msc_anaphylaxis_any": reproduced}})
    assert row.passed is passed and row.tolerance == "exact (counts)"


def test_a_count_that_is_not_a_number_fails() -> None:
    row = one({"a": {"n": 9}}, {"a": {"n": "9"}})
    assert not row.passed and "not a number" in row.note


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------
def test_lists_compare_elementwise() -> None:
    rows = check_reproduction({"follow_up_range_months": [5.19, 55.6]},
                              {"follow_up_range_months": [5, 54], "tolerances": TOL})
    assert [(r.key, r.passed) for r in rows] == [("follow_up_range_months.0", True),
                                                 ("follow_up_range_months.1", False)]
    assert rows[1].note == "reproduced prints as 56"


def test_whole_numbers_without_a_median_or_range_name_are_counts() -> None:
    rows = check_reproduction({"n": [5.19, 54.0]}, {"n": [5, 54], "tolerances": TOL})
    assert [(r.passed, r.tolerance) for r in rows] == [(False, "exact (counts)"),
                                                       (True, "exact (counts)")]


def test_list_length_mismatch_fails_every_row_of_the_list() -> None:
    pub = {"deaths": [{"arm": "MSC", "month": 5}], "tolerances": TOL}
    res = {"deaths": [{"arm": "MSC", "month": 5.2}, {"arm": "CONTROL", "month": 7.3}]}
    rows = check_reproduction(res, pub)
    assert [r.key for r in rows] == ["deaths.0.arm", "deaths.0.month"]
    assert not any(r.passed for r in rows)
    assert all("list length differs: published 1, reproduced 2" in r.note for r in rows)


def test_shorter_reproduced_list_fails_the_missing_element() -> None:
    rows = check_reproduction({"w": ["2013-10"]}, {"w": ["2013-10", "2014-10"]})
    assert [r.passed for r in rows] == [False, False]
    assert rows[1].reproduced is None


# ---------------------------------------------------------------------------
# Text, dates, versions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("published_text", "reproduced", "passed"),
    [
        ("serious infection", "serious infection (sepsis)", True),
        ("intracranial hemorrhage", "intracranial haemorrhage", True),
        ("UC-MSC + IST", "UC-MSC + IST", True),
        ("vSAA", "VSAA", True),
        ("serious infection", "intracranial hemorrhage", False),
        ("IST alone", "IST", False),
        ("infection", "reinfections", False),  # whole words only
    ],
)
def test_text_compares_by_meaning(published_text: str, reproduced: str, passed: bool) -> None:
    assert one({"cause": published_text}, {"cause": reproduced}).passed is passed


def test_text_against_a_number_fails() -> None:
    row = one({"label": "IST alone"}, {"label": 9})
    assert not row.passed and "not text" in row.note


@pytest.mark.parametrize(("reproduced", "passed"),
                         [("2018-04-13", True), (dt.date(2018, 4, 13), True),
                          ("2018-04-14", False), ("April 2018", False)])
def test_dates(reproduced: object, passed: bool) -> None:
    row = one({"cutoff": dt.date(2018, 4, 13)}, {"cutoff": reproduced})
    assert row.passed is passed and row.published == "2018-04-13"


@pytest.mark.parametrize(("reproduced", "passed"),
                         [("4.03", True), ("4.0", True), ("5.0", False), ("4.1", False)])
def test_ctcae_version(reproduced: str, passed: bool) -> None:
    assert one({"ctcae_version": "4.0"}, {"ctcae_version": reproduced}).passed is passed


GVHD = ("one MSC-arm HSCT patient: grade 3 gut aGVHD, grade 2 skin and eye aGVHD, "
        "then joint and eye cGVHD")


def test_gvhd_meaning_parses_organs_and_grades() -> None:
    acute, chronic = gvhd_meaning(GVHD)
    assert acute == {"gut": 3, "skin": 2, "eye": 2}
    assert chronic == {"joint", "eye"}


@pytest.mark.parametrize(
    ("reproduced", "passed"),
    [
        ("one MSC-arm HSCT patient (MSC03): grade 3 gut aGVHD, grade 2 skin and eye aGVHD, "
         "then joint and eye cGVHD", True),
        ("one MSC-arm HSCT patient: grade 2 eye and skin aGVHD, grade 3 intestinal aGVHD, "
         "then eye and joint cGVHD", True),
        ("one MSC-arm HSCT patient: grade 3 gut aGVHD, grade 2 skin aGVHD, "
         "then joint and eye cGVHD", False),  # eye aGVHD missing
        ("one MSC-arm HSCT patient: grade 3 gut aGVHD, grade 3 skin and eye aGVHD, "
         "then joint and eye cGVHD", False),  # wrong grade
        ("one MSC-arm HSCT patient: grade 3 gut aGVHD, grade 2 skin and eye aGVHD, "
         "then joint cGVHD", False),  # chronic eye missing
        ("one CONTROL-arm HSCT patient: grade 3 gut aGVHD, grade 2 skin and eye aGVHD, "
         "then joint and eye cGVHD", False),  # wrong arm
        ("two patients: MSC-arm HSCT patient (MSC03): grade 3 gut aGVHD, grade 2 skin and eye "
         "aGVHD, then joint and eye cGVHD", False),  # wrong count
        ("no GVHD", False),
    ],
)
def test_gvhd_compares_by_meaning(reproduced: str, passed: bool) -> None:
    row = one({"long_term": {"gvhd": GVHD}}, {"long_term": {"gvhd": reproduced}})
    assert row.passed is passed


@pytest.mark.parametrize(
    ("reproduced", "passed"),
    [("well matched: no baseline characteristic differs (smallest p = 0.289)", True),
     ("not well matched: ANC differ between the arms (smallest p = 0.010)", False),
     ("not assessed: no baseline characteristic could be tested", False)],
)
def test_well_matched_statement(reproduced: str, passed: bool) -> None:
    pub = {"baseline_control": {"note": "other baseline features 'well matched' (Table 1 "
                                        "not in the text)"}}
    assert one(pub, {"baseline_control": {"note": reproduced}}).passed is passed


# ---------------------------------------------------------------------------
# Missing values and the tolerances block
# ---------------------------------------------------------------------------
def test_missing_leaf_fails_with_the_recorded_reason() -> None:
    results = {"long_term": {"ffs_logrank_p": None},
               "extra": {"not_computed": {"long_term.ffs_logrank_p": "only one arm"}}}
    row = one({"long_term": {"ffs_logrank_p": 0.153}}, results)
    assert not row.passed and row.reproduced is None and row.note == "only one arm"
    assert row.difference is None


def test_absent_leaf_fails_and_is_never_dropped() -> None:
    rows = check_reproduction({}, {"a": {"b": 1, "c": [1, 2]}, "tolerances": TOL})
    assert [(r.key, r.passed, r.note) for r in rows] == [
        ("a.b", False, "not in the reproduced results"),
        ("a.c.0", False, "not in the reproduced results"),
        ("a.c.1", False, "not in the reproduced results"),
    ]


def test_nan_is_not_a_reproduced_number() -> None:
    assert not one({"p": {"x_p": 0.1}}, {"p": {"x_p": float("nan")}}).passed


def test_tolerances_block_is_not_a_row_and_defaults_apply_without_it() -> None:
    rows = check_reproduction({"x": {"y_p": 0.1529}}, {"x": {"y_p": 0.153}})
    assert [r.key for r in rows] == ["x.y_p"] and rows[0].passed
    assert rows[0].tolerance == "±0.001 (p_value)"


def test_doctests() -> None:
    assert doctest.testmod(reproduction, raise_on_error=False).failed == 0
