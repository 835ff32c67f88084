"""Transfusion independence (D11), hand-worked.

Decision on the window edge (documented in docs/rules.md): the 28-day window
before an assessment on day d is [d - 28, d], both ends inclusive, so a
transfusion exactly 28 days before still makes the patient dependent, one 29
days before does not, and one on the assessment day does.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from saatrial.rules.transfusion import transfusion_independent

ON = "2014-03-01"  # 28 days before = 1 Feb 2014 (February 2014 has 28 days)


def tx(*rows):
    return pd.DataFrame(
        {
            "subject_id": [r[0] for r in rows],
            "transfusion_date": [r[1] for r in rows],
            "product": [r[2] for r in rows],
        },
        columns=["subject_id", "transfusion_date", "product"],
    )


@pytest.mark.parametrize(
    ("when", "independent"),
    [
        ("2014-01-31", True),  # 29 days before: outside
        ("2014-02-01", False),  # exactly 28 days before: inside (decision)
        ("2014-02-02", False),  # 27 days before
        ("2014-03-01", False),  # on the assessment day
        ("2014-03-02", True),  # after the assessment: irrelevant
    ],
)
def test_28_day_window_edge(when, independent):
    for product in ("RBC", "PLT"):
        s = transfusion_independent(tx(("S1", when, product)), "S1", ON)
        assert s.independent is independent, (when, product)


def test_no_transfusions_is_independent():
    s = transfusion_independent(tx(), "S1", ON)
    assert s.independent
    assert s.last_transfusion == {"RBC": None, "PLT": None}
    assert s.window_start == date(2014, 2, 1)


def test_last_transfusion_per_product_and_other_subjects_ignored():
    df = tx(
        ("S1", "2013-12-01", "RBC"),
        ("S1", "2014-01-10", "RBC"),
        ("S1", "2014-01-20", "PLT"),
        ("S2", "2014-02-20", "RBC"),
    )
    s = transfusion_independent(df, "S1", ON)
    assert s.independent
    assert s.last_transfusion == {"RBC": date(2014, 1, 10), "PLT": date(2014, 1, 20)}


def test_dependent_lists_transfusions_in_window():
    df = tx(("S1", "2014-02-10", "RBC"), ("S1", "2014-02-20", "PLT"))
    s = transfusion_independent(df, "S1", ON)
    assert not s.independent
    assert s.transfusions_in_window == ((date(2014, 2, 10), "RBC"), (date(2014, 2, 20), "PLT"))
    assert "last PLT on 2014-02-20" in s.reason


def test_window_and_products_are_parameters():
    df = tx(("S1", "2014-01-15", "RBC"))  # 45 days before
    assert transfusion_independent(df, "S1", ON).independent
    assert not transfusion_independent(df, "S1", ON, window_days=56).independent
    # only platelets count -> an RBC transfusion does not make the patient dependent
    df = tx(("S1", "2014-02-20", "RBC"))
    assert transfusion_independent(df, "S1", ON, products=("PLT",)).independent
    assert not transfusion_independent(df, "S1", ON, products=("RBC",)).independent


def test_bad_input():
    with pytest.raises(ValueError, match="products"):
        transfusion_independent(tx(), "S1", ON, products=("FFP",))
    with pytest.raises(ValueError, match="transfusion_date"):
        transfusion_independent(tx(("S1", "2014-02-30", "RBC")), "S1", ON)
    with pytest.raises(ValueError, match="missing column"):
        transfusion_independent(pd.DataFrame({"subject_id": ["S1"]}), "S1", ON)
