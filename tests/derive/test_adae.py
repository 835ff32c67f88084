"""ADAE derivation on hand-made events (expected values worked by hand).

Treatment-emergent = onset on or after study day 1 (1 Jan 2014, first rATG).
Related = any attribution POSSIBLE, PROBABLE or DEFINITE. Grade bands 1-2,
3-4, 5. CTCAE v4.03 defines Anaphylaxis only at grades 3-5; D17 codes the
paper's grade 1-2 "anaphylactic reactions" as "Allergic reaction".
"""

from __future__ import annotations

import pandas as pd
import pytest

from saatrial.derive import derive_all
from saatrial.derive.adae import grade_band

from ._builder import Builder, sd, vals


@pytest.fixture(scope="module")
def derived():
    b = Builder()
    b.subject("S1", "MSC", msc_days=(14, 21, 28))
    b.ae("S1", "AE01", "Fever", 3, sd(-1))  # before treatment: not emergent
    b.ae("S1", "AE02", "Fever", 1, sd(1), ratg="POSSIBLE")  # day 1: emergent
    b.ae("S1", "AE03", "Nausea", 2, sd(3), csa="UNLIKELY", ucmsc="UNRELATED")
    b.ae("S1", "AE04", "Fever", 2, sd(10), ucmsc="DEFINITE", csa="PROBABLE")
    b.ae("S1", "AE05", "Sepsis", 5, sd(150), serious="Y", ratg="UNLIKELY")
    b.subject("S2", "CONTROL")
    # an anaphylactic reaction of grade 2 coded "Anaphylaxis": invalid grade and D17
    b.ae("S2", "AE01", "Anaphylaxis", 2, sd(2), verbatim="anaphylactic reaction")
    b.ae("S2", "AE02", "Allergic reaction", 2, sd(3), verbatim="anaphylactic reaction")
    b.ae("S2", "AE03", "Lung infection", 3, sd(30))
    b.subject("S3", day1=None)
    b.ae("S3", "AE01", "Nausea", 1, sd(5))
    return derive_all(b.build())


def ae_rows(derived, sid):
    ae = derived.adae
    return ae[ae["SUBJID"] == sid].set_index("AESPID")


def test_treatment_emergence_and_study_days(derived):
    s1 = ae_rows(derived, "S1")
    assert vals(s1["TRTEMFL"]) == ["N", "Y", "Y", "Y", "Y"]
    assert vals(s1["ASTDY"]) == [-1, 1, 3, 10, 150]
    assert vals(s1["AENDY"]) == [2, 3, 5, 12, 152]  # end = start + 2 days; no day 0
    assert pd.isna(ae_rows(derived, "S3").loc["AE01", "TRTEMFL"])  # no TRTSDT
    assert any(
        str(n) == "ADAE: S3: AE01: no TRTSDT: treatment emergence unknown" for n in derived.notes
    )


def test_relatedness(derived):
    s1 = ae_rows(derived, "S1")
    assert vals(s1["AEREL"]) == ["N", "Y", "N", "Y", "N"]
    assert s1.loc["AE04", "AERELDRG"] == "CSA, UCMSC"
    assert s1.loc["AE02", "AERELDRG"] == "RATG"
    assert (s1.loc["AE04", "ARELMSC"], s1.loc["AE03", "ARELCSA"]) == ("DEFINITE", "UNLIKELY")


def test_grade_bands(derived):
    s1 = ae_rows(derived, "S1")
    assert vals(s1["GRDBAND"]) == ["3-4", "1-2", "1-2", "1-2", "5"]
    assert [grade_band(g) for g in (1, 2, 3, 4, 5)] == ["1-2", "1-2", "3-4", "3-4", "5"]
    with pytest.raises(ValueError, match="1-5"):
        grade_band(6)


def test_worst_grade_flags_among_treatment_emergent_events(derived):
    s1 = ae_rows(derived, "S1")
    # Fever: grade 3 before treatment does not count; grade 2 (day 10) beats grade 1
    assert vals(s1["AOCCPIFL"]) == [None, None, "Y", "Y", "Y"]
    # the subject's worst: Sepsis grade 5
    assert vals(s1["AOCCIFL"]) == [None, None, None, None, "Y"]
    s2 = ae_rows(derived, "S2")
    assert vals(s2["AOCCIFL"]) == [None, None, "Y"]


def test_worst_grade_ties_go_to_the_earliest():
    b = Builder()
    b.subject("S1")
    b.ae("S1", "AE01", "Nausea", 2, sd(3))
    b.ae("S1", "AE02", "Fever", 2, sd(10))
    b.ae("S1", "AE03", "Nausea", 2, sd(20))
    s1 = derive_all(b.build()).adae.set_index("AESPID")
    assert vals(s1["AOCCIFL"]) == ["Y", None, None]
    assert vals(s1["AOCCPIFL"]) == ["Y", "Y", None]


def test_invalid_grade_and_d17_coding_are_noted(derived):
    s2 = ae_rows(derived, "S2")
    assert vals(s2["GRDVALFL"]) == ["N", "Y", "Y"]
    assert "Anaphylaxis has no grade 2" in s2.loc["AE01", "GRDVALRS"]
    messages = [str(n) for n in derived.notes if n.subject_id == "S2"]
    assert any("AE01: Anaphylaxis grade 2: Anaphylaxis has no grade 2" in m for m in messages)
    d17 = [m for m in messages if "D17 expects" in m]
    assert len(d17) == 1 and "'Allergic reaction'" in d17[0] and "AE01" in d17[0]


def test_serious_and_identifiers(derived):
    s1 = ae_rows(derived, "S1")
    assert s1.loc["AE05", "AESER"] == "Y" and s1.loc["AE02", "AESER"] == "N"
    assert s1.loc["AE05", "AEDECOD"] == "Sepsis" and s1.loc["AE05", "AECTCV"] == "4.03"
    assert (s1["TRTA"] == "UC-MSC + IST").all()
    assert (ae_rows(derived, "S2")["TRTA"] == "IST alone").all()


def test_malformed_d17_protocol_block_becomes_a_note():
    from dataclasses import replace

    from saatrial.protocol import load_protocol

    b = Builder()
    b.subject("S1").ae("S1", "AE01", "Allergic reaction", 2, sd(2), verbatim="anaphylaxis")
    proto = load_protocol()
    bad = replace(proto, decisions={**proto.decisions, "D17_anaphylaxis_coding": {"x": 1}})
    ds = derive_all(b.build(), bad)
    assert len(ds.adae) == 1
    assert any("D17 coding not checked" in str(n) for n in ds.notes)
