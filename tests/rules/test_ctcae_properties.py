"""Property tests: CTCAE laboratory grades are monotone in the value.

For an "increased" term the grade never falls as the value rises; for a "decreased"
term it never falls as the value falls - for any LLN, ULN and baseline, in both
CTCAE versions. An unknown grade may only appear when an input is missing.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from saatrial.rules.ctcae import grade_lab, load_ctcae_table

VERSIONS = ("4.03", "5.0")
TERMS = sorted(load_ctcae_table("4.03").terms)
positive = st.floats(min_value=0.01, max_value=5000, allow_nan=False, allow_infinity=False)
value = st.floats(min_value=0.0, max_value=20000, allow_nan=False, allow_infinity=False)


def _unit(term: str, version: str) -> str:
    return load_ctcae_table(version).term(term).unit


@settings(max_examples=400, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    term=st.sampled_from(TERMS),
    a=value,
    b=value,
    lln=positive,
    width=positive,
    baseline=positive,
)
def test_grade_monotone_in_value(version, term, a, b, lln, width, baseline):
    low, high = sorted((a, b))
    uln = lln + width
    unit = _unit(term, version)
    kw = {"lln": lln, "uln": uln, "baseline": baseline, "version": version}
    g_low = grade_lab(term, low, unit, **kw).grade
    g_high = grade_lab(term, high, unit, **kw).grade
    assert g_low is not None and g_high is not None  # every input given: always decided
    if load_ctcae_table(version).term(term).direction == "increased":
        assert g_low <= g_high
    else:
        assert g_low >= g_high


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    term=st.sampled_from(TERMS),
    x=value,
    lln=st.none() | positive,
    width=positive,
    baseline=st.none() | positive,
    drop_uln=st.booleans(),
)
def test_known_grade_consistent_with_minimum(version, term, x, lln, width, baseline, drop_uln):
    """With inputs missing, a known grade equals the full-information grade, and an
    unknown grade's minimum never exceeds it."""
    unit = _unit(term, version)
    full_lln = lln if lln is not None else 1.0
    full_uln = full_lln + width
    full_baseline = baseline if baseline is not None else full_uln / 2  # a normal baseline
    full = grade_lab(
        term, x, unit, lln=full_lln, uln=full_uln, baseline=full_baseline, version=version
    )
    partial = grade_lab(
        term,
        x,
        unit,
        lln=lln,
        uln=None if drop_uln else full_uln,
        baseline=baseline,
        version=version,
    )
    if partial.grade is None:
        assert partial.missing
        assert partial.minimum_grade is not None and partial.minimum_grade <= full.grade
    else:
        assert partial.grade == full.grade
