"""What every derivation needs about the study, gathered once.

:func:`build_context` reads the study tables and the protocol and returns a
:class:`StudyContext`: study identifiers, the data cut-off, the protocol
parameters the derivations use (visit windows D9, D2 and D11 windows, D10/D12
options, D13 table, D15/D16 endpoint options, CTCAE version), one
:class:`SubjectInfo` per subject (with study day 1 = first rATG dose, D7) and
each subject's rows of every table, split once so that the per-subject rules
never scan the whole study.

Nothing here raises for a gap in the data: a missing study day 1, cut-off or
arm label becomes ``None`` plus a :class:`~saatrial.derive.common.Note`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from saatrial.derive.common import Note
from saatrial.protocol import Protocol, Visit, load_protocol
from saatrial.rules.age import completed_years
from saatrial.rules.ctcae import DEFAULT_VERSION, normalize_version
from saatrial.rules.endpoints import EndpointOptions
from saatrial.rules.frames import LabValue, first_ratg_date
from saatrial.rules.response import options_from_decisions
from saatrial.rules.types import is_missing, optional_bool, optional_float, to_optional_date
from saatrial.study import StudyData

__all__ = ["StudyContext", "SubjectInfo", "build_context"]

DEFAULT_PROTOCOL = "nct02218437"
#: Tables split per subject (all tables with a subject_id field).
SUBJECT_TABLES = (
    "screening",
    "marrow_exams",
    "labs",
    "transfusions",
    "exposures",
    "tcell_subsets",
    "adverse_events",
    "response_assessments",
    "outcome_events",
)


@dataclass(frozen=True)
class SubjectInfo:
    """One subject's identifying and anchor values.

    Attributes
    ----------
    subject_id, usubjid : str
        Subject identifier and ``STUDYID-SUBJID``.
    site_id, arm_id, arm_label, dose_level_id, sex : str or None
        From ``subjects`` (arm label from ``arms``, else the protocol).
    birth_date, diagnosis_date, consent_date, enrolment_date : datetime.date or None
        From ``subjects``.
    weight_kg, height_cm : float or None
        Baseline body size.
    trtsdt : datetime.date or None
        Study day 1: the first rATG dose (D7); ``None`` if never given.
    death_date : datetime.date or None
        Earliest ``DEATH`` outcome event.
    """

    subject_id: str
    usubjid: str
    site_id: str | None
    arm_id: str | None
    arm_label: str | None
    dose_level_id: str | None
    sex: str | None
    birth_date: date | None
    diagnosis_date: date | None
    consent_date: date | None
    enrolment_date: date | None
    weight_kg: float | None
    height_cm: float | None
    trtsdt: date | None
    death_date: date | None

    @property
    def age_at_diagnosis_years(self) -> int | None:
        """Completed years at diagnosis (``None`` if a date is missing or inverted)."""
        if self.birth_date is None or self.diagnosis_date is None:
            return None
        if self.diagnosis_date < self.birth_date:
            return None
        return completed_years(self.birth_date, self.diagnosis_date)


@dataclass(frozen=True, eq=False)
class StudyContext:
    """The study, the protocol parameters and every subject, ready for the derivations.

    Attributes
    ----------
    study : StudyData
    protocol : Protocol
    studyid : str
        ``study.study_id`` (or the protocol id when the study table is empty).
    cutoff : datetime.date or None
        Data cut-off (``study.data_cutoff_date``; else the latest date in the data).
    subjects : tuple of SubjectInfo
        In ``USUBJID`` order.
    tables : Mapping[str, Mapping[str, DataFrame]]
        ``tables[table][subject_id]``: that subject's rows (empty frame if none).
    visits : tuple of Visit
        Protocol visits by target day (D9).
    ctcae_version : str
        CTCAE version for laboratory grading (TRIAL.md 6: v4.03).
    criteria_set : str
        Response criteria set (the protocol's).
    response_options : Mapping[str, str]
        Criteria-set options from the protocol decisions (D10, D12).
    endpoint_options : EndpointOptions
        D15, D16 and days per month.
    ti_window_days : int
        D11 window.
    ti_products : tuple of str
        D11 products.
    plt_pretransfusion_days, arc_pretransfusion_days : int
        D2 windows.
    hgb_table : str
        D13 table.
    arm_regimens : Mapping[str, tuple[str, ...]]
        Protocol arm -> drugs given in it.
    arm_labels : Mapping[str, str]
        Arm -> label (study ``arms`` table, else the protocol).
    notes : tuple of Note
        Gaps found while building the context.
    """

    study: StudyData
    protocol: Protocol
    studyid: str
    cutoff: date | None
    subjects: tuple[SubjectInfo, ...]
    tables: Mapping[str, Mapping[str, pd.DataFrame]]
    visits: tuple[Visit, ...]
    ctcae_version: str
    criteria_set: str
    response_options: Mapping[str, str]
    endpoint_options: EndpointOptions
    ti_window_days: int
    ti_products: tuple[str, ...]
    plt_pretransfusion_days: int
    arc_pretransfusion_days: int
    hgb_table: str
    arm_regimens: Mapping[str, tuple[str, ...]]
    arm_labels: Mapping[str, str]
    notes: tuple[Note, ...]
    _lab_cache: dict[str, Mapping[str, tuple[LabValue, ...]]] = field(
        default_factory=dict, repr=False
    )

    def lab_values(self, subject_id: str) -> Mapping[str, tuple[LabValue, ...]]:
        """A subject's lab results per test, sorted by date (built once, then cached).

        The same values :func:`saatrial.rules.frames.lab_values` returns, read in
        one pass over the subject's rows.
        """
        cached = self._lab_cache.get(subject_id)
        if cached is not None:
            return cached
        per_test: dict[str, list[LabValue]] = {}
        where = f"labs: subject {subject_id}"
        for r in self.rows("labs", subject_id).to_dict("records"):
            value = optional_float(r["value"], f"{where}: value")
            if value is None or is_missing(r["test"]) or is_missing(r["lab_date"]):
                continue
            test = str(r["test"])
            per_test.setdefault(test, []).append(
                LabValue(
                    test=test,
                    lab_date=r["lab_date"].date(),
                    value=value,
                    lln=optional_float(r["lln"], f"{where}: {test}: lln"),
                    uln=optional_float(r["uln"], f"{where}: {test}: uln"),
                    pre_transfusion=optional_bool(
                        r["pre_transfusion"], f"{where}: {test}: pre_transfusion"
                    ),
                )
            )
        result = {t: tuple(sorted(vs, key=lambda v: v.lab_date)) for t, vs in per_test.items()}
        self._lab_cache[subject_id] = result
        return result

    def rows(self, table: str, subject_id: str) -> pd.DataFrame:
        """A subject's rows of a table (an empty frame with the table's columns if none)."""
        per = self.tables[table]
        found = per.get(subject_id)
        if found is None:
            return self.study[table].iloc[0:0]
        return found


def _text(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def _date(value: Any, what: str) -> date | None:
    return to_optional_date(value, what)


def _latest_date(study: StudyData) -> date | None:
    latest: pd.Timestamp | None = None
    for name, frame in study.tables.items():
        spec = study.spec(name)
        for fname, f in spec.fields.items():
            if f.type != "date" or frame.empty:
                continue
            m = frame[fname].max()
            if not pd.isna(m) and (latest is None or m > latest):
                latest = m
    return None if latest is None else latest.date()


def _resolve_protocol(
    study: StudyData, protocol: Protocol | str | None
) -> tuple[Protocol, list[Note]]:
    notes: list[Note] = []
    if isinstance(protocol, Protocol):
        return protocol, notes
    if protocol is not None:
        return load_protocol(protocol), notes
    ids = study["study"]["protocol_id"].dropna()
    name = str(ids.iloc[0]) if len(ids) else DEFAULT_PROTOCOL
    try:
        return load_protocol(name), notes
    except FileNotFoundError:
        notes.append(
            Note("STUDY", None, f"protocol {name!r} not found: using {DEFAULT_PROTOCOL!r}")
        )
        return load_protocol(DEFAULT_PROTOCOL), notes


def build_context(
    study: StudyData,
    protocol: Protocol | str | None = None,
    ctcae_version: str | None = None,
) -> StudyContext:
    """Gather the study, protocol parameters and per-subject tables for the derivations.

    Parameters
    ----------
    study : StudyData
        The study.
    protocol : Protocol or str, optional
        The protocol (or its name/path). Default: the study's ``protocol_id``,
        else ``nct02218437``.
    ctcae_version : str, optional
        CTCAE version for laboratory grading; default the protocol's
        ``ctcae_version`` if it has one, else v4.03 (TRIAL.md 6).

    Returns
    -------
    StudyContext

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> ctx = build_context(load_bundled_study())
    >>> len(ctx.subjects), str(ctx.cutoff), [v.code for v in ctx.visits]
    (18, '2018-04-13', ['D40', 'D90', 'D180'])
    """
    notes: list[Note] = []
    proto, proto_notes = _resolve_protocol(study, protocol)
    notes.extend(proto_notes)
    decisions = proto.decisions

    study_rows = study["study"]
    studyid = (
        str(study_rows["study_id"].iloc[0])
        if len(study_rows) and not is_missing(study_rows["study_id"].iloc[0])
        else proto.protocol_id
    )
    cutoff = None
    if len(study_rows) and not is_missing(study_rows["data_cutoff_date"].iloc[0]):
        cutoff = _date(study_rows["data_cutoff_date"].iloc[0], "study.data_cutoff_date")
    else:
        cutoff = _latest_date(study)
        notes.append(
            Note(
                "STUDY",
                None,
                "no data_cutoff_date in study.csv: using the latest date in the data "
                f"({cutoff}) as the cut-off",
            )
        )

    arm_labels: dict[str, str] = {
        str(code): str(spec.get("label", code)) for code, spec in proto.arms.items()
    }
    for _, row in study["arms"].iterrows():
        if not is_missing(row["arm_id"]) and not is_missing(row["label"]):
            arm_labels[str(row["arm_id"])] = str(row["label"])
    arm_regimens = {
        str(code): tuple(str(d) for d in spec.get("regimen") or ())
        for code, spec in proto.arms.items()
    }

    tables: dict[str, dict[str, pd.DataFrame]] = {}
    for name in SUBJECT_TABLES:
        frame = study[name]
        tables[name] = {
            str(sid): grp for sid, grp in frame.groupby("subject_id", sort=False, dropna=True)
        }

    subjects: list[SubjectInfo] = []
    for _, row in study["subjects"].iterrows():
        if is_missing(row["subject_id"]):
            continue
        sid = str(row["subject_id"])
        where = f"subjects: {sid}"
        ex = tables["exposures"].get(sid)
        day1 = first_ratg_date(ex, sid) if ex is not None else None  # D7: first rATG dose
        if day1 is None:
            notes.append(
                Note(
                    "ADSL",
                    sid,
                    "no rATG exposure: study day 1 (TRTSDT, D7) missing; study days, "
                    "visits, baseline, response and time-to-event not derived",
                )
            )
        events = tables["outcome_events"].get(sid)
        death = None
        if events is not None:
            dd = events.loc[events["event_type"] == "DEATH", "event_date"].dropna()
            if len(dd):
                death = dd.min().date()
                if len(dd) > 1:
                    notes.append(
                        Note("ADSL", sid, f"{len(dd)} DEATH events: the earliest ({death}) used")
                    )
        arm = _text(row["arm_id"])
        label = arm_labels.get(arm) if arm else None
        if arm and label is None:
            notes.append(Note("ADSL", sid, f"arm {arm!r} has no label in arms.csv or protocol"))
        subjects.append(
            SubjectInfo(
                subject_id=sid,
                usubjid=f"{studyid}-{sid}",
                site_id=_text(row["site_id"]),
                arm_id=arm,
                arm_label=label,
                dose_level_id=_text(row["dose_level_id"]),
                sex=_text(row["sex"]),
                birth_date=_date(row["birth_date"], f"{where}: birth_date"),
                diagnosis_date=_date(row["diagnosis_date"], f"{where}: diagnosis_date"),
                consent_date=_date(row["consent_date"], f"{where}: consent_date"),
                enrolment_date=_date(row["enrolment_date"], f"{where}: enrolment_date"),
                weight_kg=optional_float(row["weight_kg"], f"{where}: weight_kg"),
                height_cm=optional_float(row["height_cm"], f"{where}: height_cm"),
                trtsdt=day1,
                death_date=death,
            )
        )
    subjects.sort(key=lambda s: s.usubjid)

    version = ctcae_version or str(proto.raw.get("ctcae_version", DEFAULT_VERSION))
    ti_products = tuple(str(p) for p in decisions.get("D11_ti_products", ("RBC", "PLT")))
    return StudyContext(
        study=study,
        protocol=proto,
        studyid=studyid,
        cutoff=cutoff,
        subjects=tuple(subjects),
        tables=tables,
        visits=tuple(sorted(proto.visits.values(), key=lambda v: v.target_day)),  # D9
        ctcae_version=normalize_version(version),
        criteria_set=proto.response_criteria_set,
        response_options=options_from_decisions(decisions, proto.response_criteria_set),
        endpoint_options=EndpointOptions.from_decisions(decisions, proto.days_per_month),
        ti_window_days=int(decisions.get("D11_ti_window_days", 28)),  # D11: 28-day window
        ti_products=ti_products,  # D11: RBC and PLT
        plt_pretransfusion_days=int(decisions.get("D2_plt_pretransfusion_days", 3)),  # D2
        arc_pretransfusion_days=int(decisions.get("D2_arc_pretransfusion_days", 14)),  # D2
        hgb_table=str(decisions.get("D13_hgb_table", "who-2011")),  # D13
        arm_regimens=arm_regimens,
        arm_labels=arm_labels,
        notes=tuple(notes),
    )
