"""Property tests (hypothesis) of the clinical rules.

- Raising a blood count never worsens severity (vSAA worst).
- Raising a blood count never worsens the response (NR < PR < CR), for every
  criteria set and option.
- A transfusion, added or moved later (up to the assessment day), never makes
  a patient more transfusion independent.
- A higher haemoglobin is never "less normal".
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from saatrial.rules.hgb_normal import hgb_normal_for_age
from saatrial.rules.response import RESPONSE_RANK, assess_response
from saatrial.rules.severity import SEVERITY_RANK, SeverityLevel, assess_severity
from saatrial.rules.transfusion import transfusion_independent

SETTINGS = settings(max_examples=150, deadline=None)

# values on a 0.05 grid so that boundary values (0.2, 0.5, 20, ...) are hit often
anc = st.integers(0, 60).map(lambda i: i * 0.05)
plt = st.integers(0, 400).map(lambda i: i * 0.5)
arc = st.integers(0, 200).map(lambda i: i * 0.5)
hgb = st.integers(40, 170).map(float)
bump = st.integers(0, 40).map(lambda i: i * 0.05)
big_bump = st.integers(0, 100).map(lambda i: i * 0.5)
cell = st.sampled_from([5.0, 24.9, 25.0, 30.0, 50.0, 50.1, 70.0])
residual = st.sampled_from([None, 10.0, 29.9, 30.0, 60.0])
flag = st.sampled_from([True, False, None])


def rank(level: SeverityLevel) -> int | None:
    return SEVERITY_RANK.get(level)


@SETTINGS
@given(anc, plt, arc, cell, residual, bump, big_bump, big_bump)
def test_raising_counts_never_worsens_severity_complete_data(a, p, r, c, res, da, dp, dr):
    before = assess_severity(a, p, r, c, res, plt_pre_transfusion=True, arc_pre_transfusion=True)
    after = assess_severity(
        a + da, p + dp, r + dr, c, res, plt_pre_transfusion=True, arc_pre_transfusion=True
    )
    if before.level is SeverityLevel.NOT_ASSESSABLE:
        return  # only a missing residual % can cause it here
    assert after.level is not SeverityLevel.NOT_ASSESSABLE
    assert rank(after.level) >= rank(before.level), (before, after)


@SETTINGS
@given(anc, plt, arc, cell, residual, flag, flag, bump, big_bump, big_bump)
def test_raising_counts_never_worsens_severity_with_unknowns(a, p, r, c, res, fp, fa, da, dp, dr):
    before = assess_severity(a, p, r, c, res, plt_pre_transfusion=fp, arc_pre_transfusion=fa)
    after = assess_severity(
        a + da, p + dp, r + dr, c, res, plt_pre_transfusion=fp, arc_pre_transfusion=fa
    )
    if rank(before.level) is not None and rank(after.level) is not None:
        assert rank(after.level) >= rank(before.level), (before, after)
    if before.level is SeverityLevel.NSAA:
        # once not severe, higher counts cannot make it severe (or undecidable)
        assert after.level is SeverityLevel.NSAA


criteria = st.sampled_from(
    [
        ("cn-peds-2014", None),
        ("cn-peds-2014", {"arc_rule": "above_threshold_and_baseline"}),
        ("cn-peds-2014", {"cr_transfusion_independence": "not_required"}),
        ("nih", None),
        ("bsh-2016", None),
    ]
)


@SETTINGS
@given(
    anc,
    plt,
    hgb,
    arc,
    arc,
    st.booleans(),
    criteria,
    bump,
    big_bump,
    st.integers(0, 40).map(float),
    big_bump,
    st.sampled_from(["M", "F"]),
    st.integers(40, 6500),
)
def test_raising_counts_never_worsens_response(
    a, p, h, r, base, ti, cs, da, dp, dh, dr, sex, age_days
):
    name, options = cs
    kw = {"sex": sex, "age_days": age_days, "options": options}
    # counts known to be pre-transfusion, so that "no longer SAA" (NIH, BSH) is decidable
    flags = {
        "transfusion_independent": ti,
        "plt_pre_transfusion": True,
        "arc_pre_transfusion": True,
    }
    v = {"anc_1e9_per_l": a, "plt_1e9_per_l": p, "hgb_g_per_l": h, "arc_1e9_per_l": r, **flags}
    up = {
        "anc_1e9_per_l": a + da,
        "plt_1e9_per_l": p + dp,
        "hgb_g_per_l": h + dh,
        "arc_1e9_per_l": r + dr,
        **flags,
    }
    before = assess_response(v, {"arc_1e9_per_l": base}, name, **kw)
    after = assess_response(up, {"arc_1e9_per_l": base}, name, **kw)
    assert RESPONSE_RANK[after.category] >= RESPONSE_RANK[before.category], (before, after)


ON = date(2014, 3, 1)
tx_day = st.integers(-80, 5)  # days relative to the assessment (positive = after it)
product = st.sampled_from(["RBC", "PLT"])


def frame(records):
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * len(records),
            "transfusion_date": [ON + timedelta(days=d) for d, _ in records],
            "product": [p for _, p in records],
        },
        columns=["subject_id", "transfusion_date", "product"],
    )


@SETTINGS
@given(st.lists(st.tuples(tx_day, product), max_size=6), tx_day, product, st.sampled_from([28, 56]))
def test_adding_a_transfusion_never_makes_more_independent(records, d, p, window):
    before = transfusion_independent(frame(records), "S1", ON, window_days=window)
    after = transfusion_independent(frame([*records, (d, p)]), "S1", ON, window_days=window)
    assert not (after.independent and not before.independent)


@SETTINGS
@given(
    st.lists(st.tuples(tx_day, product), max_size=6),
    st.integers(-80, 0),
    product,
    st.integers(0, 60),
)
def test_a_later_transfusion_never_makes_more_independent(records, d, p, shift):
    later = min(d + shift, 0)  # moved later, but not past the assessment day
    early = transfusion_independent(frame([*records, (d, p)]), "S1", ON)
    late = transfusion_independent(frame([*records, (later, p)]), "S1", ON)
    assert not (late.independent and not early.independent)


@SETTINGS
@given(
    hgb,
    st.integers(0, 40).map(float),
    st.integers(31, 6500),
    st.sampled_from(["M", "F"]),
    st.sampled_from(["who-2011", "dallman"]),
)
def test_higher_hgb_never_less_normal(h, dh, age_days, sex, table):
    lo = hgb_normal_for_age(h, sex, age_days=age_days, table=table)
    hi = hgb_normal_for_age(h + dh, sex, age_days=age_days, table=table)
    assert hi.normal or not lo.normal
