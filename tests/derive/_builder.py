"""A small-study builder for the derive tests.

:class:`Builder` writes hand-made studies with ``StudyData.from_records``. Dates are
written through :func:`sd`, the calendar date of a CDISC study day counted from
``DAY1`` (study day 1 = first rATG dose; day -1 is the day before; no day 0),
so that every expected value in the tests can be worked by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from saatrial.study import StudyData

DAY1 = date(2014, 1, 1)
CUTOFF = date(2015, 12, 31)


def sd(n: int, day1: date = DAY1) -> date:
    """Calendar date of CDISC study day ``n`` (1 = day1, -1 = the day before)."""
    if n == 0:
        raise ValueError("CDISC has no study day 0")
    return day1 + timedelta(days=n - 1 if n > 0 else n)


class Builder:
    """Build a small study table by table; ``build()`` returns a StudyData."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {
            "study": [
                {
                    "study_id": "t1",
                    "registry_id": "NCT00000000",
                    "title": "hand-made test study",
                    "protocol_id": "nct02218437",
                    "enrolment_start": "2013-01-01",
                    "enrolment_end": "2014-12-31",
                    "data_cutoff_date": CUTOFF,
                    "dictionary_version": "1.0.0",
                }
            ],
            "sites": [{"site_id": "S", "name": "Site", "country": "CN"}],
            "arms": [
                {"arm_id": "MSC", "label": "UC-MSC + IST"},
                {"arm_id": "CONTROL", "label": "IST alone"},
            ],
            "dose_levels": [
                {
                    "arm_id": "MSC",
                    "dose_level_id": "MSC-1",
                    "label": "1e6/kg",
                    "msc_dose_1e6_cells_per_kg": 1,
                },
                {"arm_id": "CONTROL", "dose_level_id": "NONE", "label": "none"},
            ],
        }

    def add(self, table: str, **row: Any) -> Builder:
        self.records.setdefault(table, []).append(row)
        return self

    def subject(
        self,
        sid: str,
        arm: str = "MSC",
        *,
        day1: date | None = DAY1,
        birth: str = "2009-12-01",
        diagnosis: str = "2013-11-30",
        sex: str = "F",
        weight_kg: float = 15.0,
        msc_days: tuple[int, ...] = (),
        csa: bool = True,
        screening: dict[str, Any] | None = None,
        cellularity_pct: float | None = 10.0,
    ) -> Builder:
        """A subject with rATG on days 1-5 (if ``day1``), CsA, optional UC-MSC doses."""
        anchor = day1 or DAY1
        self.add(
            "subjects",
            subject_id=sid,
            site_id="S",
            arm_id=arm,
            dose_level_id="MSC-1" if arm == "MSC" else "NONE",
            sex=sex,
            birth_date=birth,
            diagnosis_date=diagnosis,
            weight_kg=weight_kg,
            consent_date=sd(-7, anchor),
            enrolment_date=sd(-4, anchor),
        )
        scr = {
            "subject_id": sid,
            "screening_date": sd(-5, anchor),
            "mitomycin_c_test": "NEG",
            "comet_assay": "NEG",
            "ngs_ibmfs": "NEG",
            "hla_matched_sibling": "N",
            "lansky": 70,
        }
        self.add("screening", **{**scr, **(screening or {})})
        if cellularity_pct is not None:
            self.add(
                "marrow_exams",
                subject_id=sid,
                exam_date=sd(-5, anchor),
                cellularity_pct=cellularity_pct,
                cytogenetics="NORMAL",
            )
        if day1 is not None:
            self.add(
                "exposures",
                subject_id=sid,
                drug="RATG",
                start_date=sd(1, day1),
                end_date=sd(5, day1),
                dose=3 * weight_kg,
                dose_unit="mg",
                frequency="QD",
                weight_kg=weight_kg,
            )
        if csa:
            self.add(
                "exposures",
                subject_id=sid,
                drug="CSA",
                start_date=sd(1, anchor),
                end_date=sd(365, anchor),
                dose=2.5 * weight_kg,
                dose_unit="mg",
                frequency="Q12H",
                weight_kg=weight_kg,
            )
        for n in msc_days:
            self.add(
                "exposures",
                subject_id=sid,
                drug="UCMSC",
                start_date=sd(n, anchor),
                end_date=sd(n, anchor),
                dose=1e6 * weight_kg,
                dose_unit="cells",
                frequency="ONCE",
                weight_kg=weight_kg,
            )
        return self

    def lab(
        self,
        sid: str,
        on: date,
        test: str,
        value: float,
        *,
        lln: float | None = None,
        uln: float | None = None,
        pre: str | None = None,
    ) -> Builder:
        units = {
            "ANC": "10^9/L",
            "PLT": "10^9/L",
            "ARC": "10^9/L",
            "WBC": "10^9/L",
            "ALC": "10^9/L",
            "HGB": "g/L",
            "ALT": "U/L",
            "AST": "U/L",
            "CREAT": "umol/L",
            "BILI": "umol/L",
            "MG": "mmol/L",
            "K": "mmol/L",
        }
        return self.add(
            "labs",
            subject_id=sid,
            lab_date=on,
            test=test,
            value=value,
            unit=units[test],
            lln=lln,
            uln=uln,
            pre_transfusion=pre,
        )

    def counts(
        self,
        sid: str,
        on: date,
        anc: float,
        plt: float,
        hgb: float,
        arc: float,
        pre: str | None = "Y",
    ) -> Builder:
        for test, value in (("ANC", anc), ("PLT", plt), ("HGB", hgb), ("ARC", arc)):
            self.lab(sid, on, test, value, pre=pre)
        return self

    def tx(self, sid: str, on: date, product: str) -> Builder:
        return self.add("transfusions", subject_id=sid, transfusion_date=on, product=product)

    def event(self, sid: str, event_type: str, on: date, **kw: Any) -> Builder:
        return self.add(
            "outcome_events", subject_id=sid, event_type=event_type, event_date=on, **kw
        )

    def ae(
        self,
        sid: str,
        ae_id: str,
        term: str,
        grade: int,
        start: date,
        *,
        verbatim: str | None = None,
        ratg: str = "UNRELATED",
        csa: str = "UNRELATED",
        ucmsc: str = "NA",
        serious: str = "N",
        version: str = "4.03",
    ) -> Builder:
        return self.add(
            "adverse_events",
            subject_id=sid,
            ae_id=ae_id,
            verbatim_term=verbatim or term.lower(),
            ctcae_term=term,
            ctcae_version=version,
            grade=grade,
            start_date=start,
            end_date=start + timedelta(days=2),
            serious=serious,
            attribution_ratg=ratg,
            attribution_csa=csa,
            attribution_ucmsc=ucmsc,
            outcome="RECOVERED",
        )

    def response(self, sid: str, visit: str, on: date, response: str) -> Builder:
        return self.add(
            "response_assessments",
            subject_id=sid,
            visit=visit,
            assessment_date=on,
            response=response,
            criteria_set="cn-peds-2014",
        )

    def build(self) -> StudyData:
        return StudyData.from_records(self.records)


def vals(series) -> list:
    """A column as a list with missing values as ``None`` (pandas gives ``NA``)."""
    import pandas as pd

    return [None if pd.isna(x) else x for x in series.tolist()]
