"""The validation rules, as a registry: one :class:`Rule` entry (name, severity, check) per rule.

A check is a function ``check(ctx) -> Iterable[Finding]`` over a
:class:`Context` (the study, its dictionary and the protocol); the engine turns
findings into located :class:`~saatrial.study.problems.Problem` objects
(``file:row: field: rule: value``). Adding a rule is writing one check
function and adding one entry to :data:`RULES`.

Rules marked ``at_read`` also run when a study is read: a reader refuses data
that breaks them (type, code list, hard range).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from saatrial.study.problems import ANY_FIELD, HEADER_ROW, Problem, Severity
from saatrial.study.values import format_number, format_value, is_missing

if TYPE_CHECKING:
    from saatrial.protocol import Protocol
    from saatrial.study.data import StudyData

__all__ = [
    "DATE_ORDER",
    "EXPOSURE_WEIGHT_TOLERANCE",
    "RULES",
    "Context",
    "Finding",
    "Rule",
    "run_checks",
    "run_read_checks",
]

#: Warn when an exposure's weight differs from the baseline weight by more than this fraction.
EXPOSURE_WEIGHT_TOLERANCE = 0.20

#: Dates that must be in order within a row: (table, earlier, operator, later).
DATE_ORDER: tuple[tuple[str, str, str, str], ...] = (
    ("study", "enrolment_start", "<=", "enrolment_end"),
    ("subjects", "birth_date", "<", "diagnosis_date"),
    ("subjects", "diagnosis_date", "<=", "consent_date"),
    ("subjects", "consent_date", "<=", "enrolment_date"),
    ("exposures", "start_date", "<=", "end_date"),
    ("adverse_events", "start_date", "<=", "end_date"),
)

LAB_TABLE = "labs"
LAB_TEST_FIELD = "test"
LAB_VALUE_FIELD = "value"
LAB_UNIT_FIELD = "unit"


@dataclass(frozen=True)
class Finding:
    """What a check found, located by table and row position.

    ``position`` is the row's position in the table (``None``: the table as a
    whole, reported on the header row).
    """

    table: str
    position: int | None
    field: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Rule:
    """One validation rule.

    Attributes
    ----------
    name : str
        Stable rule name printed in messages.
    severity : Severity
        ``error`` (refuse) or ``warning`` (plausibility).
    check : callable
        ``check(ctx) -> Iterable[Finding]``.
    description : str
        One line for documentation.
    at_read : bool
        Readers refuse data that breaks this rule.
    needs_protocol : bool
        Skipped when no protocol could be loaded.
    """

    name: str
    severity: Severity
    check: Callable[[Context], Iterable[Finding]]
    description: str
    at_read: bool = False
    needs_protocol: bool = False


class Context:
    """What checks look at: the study, its dictionary, the protocol and shared lookups."""

    def __init__(
        self, study: StudyData, protocol: Protocol | None = None, protocol_error: str | None = None
    ):
        self.study = study
        self.dictionary = study.dictionary
        self.protocol = protocol
        self.protocol_error = protocol_error

    def frame(self, table: str) -> pd.DataFrame:
        return self.study.tables[table]

    def records(self, table: str) -> list[dict[str, Any]]:
        """Rows as dicts (NA -> None), in table order."""
        frame = self.frame(table)
        cols = {c: frame[c].tolist() for c in frame.columns}
        return [
            {c: (None if is_missing(v[i]) else v[i]) for c, v in cols.items()}
            for i in range(len(frame))
        ]

    @cached_property
    def subjects(self) -> dict[str, dict[str, Any]]:
        """Subject id -> subject row (first row if duplicated)."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.records("subjects"):
            if row["subject_id"] is not None:
                out.setdefault(row["subject_id"], row)
        return out

    @cached_property
    def death_dates(self) -> dict[str, pd.Timestamp]:
        """Subject id -> date of the (first) DEATH event."""
        out: dict[str, pd.Timestamp] = {}
        for row in self.records("outcome_events"):
            sid, date = row["subject_id"], row["event_date"]
            if row["event_type"] == "DEATH" and sid is not None and date is not None:
                out[sid] = min(date, out.get(sid, date))
        return out

    def subject_tables(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """Tables with a subject_id and dating fields: (table, date fields)."""
        for name, spec in self.dictionary.tables.items():
            if "subject_id" in spec.fields and spec.date_fields:
                yield name, spec.date_fields


def _text(ctx: Context, table: str, field: str, value: Any) -> str:
    return format_value(ctx.dictionary.field(table, field).type, value)


def _range_text(bounds: tuple[float, float]) -> str:
    return f"[{format_number(bounds[0])}, {format_number(bounds[1])}]"


def _day(value: Any) -> str:
    return format_value("date", value)


# --- field rules ---------------------------------------------------------------------------
def check_required(ctx: Context) -> Iterator[Finding]:
    """A required field is empty."""
    for name, spec in ctx.dictionary.tables.items():
        frame = ctx.frame(name)
        for fname, f in spec.fields.items():
            if f.required:
                for pos in np.flatnonzero(frame[fname].isna().to_numpy()):
                    yield Finding(name, int(pos), fname, "")


def check_codes(ctx: Context) -> Iterator[Finding]:
    """A coded value is not in the field's code list."""
    for name, spec in ctx.dictionary.tables.items():
        frame = ctx.frame(name)
        for fname, f in spec.fields.items():
            if f.codes is None:
                continue
            allowed = set(f.codes)
            detail = "{" + ", ".join(f.codes) + "}"
            for pos, value in enumerate(frame[fname].tolist()):
                if not is_missing(value) and value not in allowed:
                    yield Finding(name, pos, fname, str(value), detail)


def _range_findings(ctx: Context, hard: bool) -> Iterator[Finding]:
    for name, spec in ctx.dictionary.tables.items():
        frame = ctx.frame(name)
        for fname, f in spec.fields.items():
            bounds = f.hard_range if hard else f.soft_range
            if bounds is None or f.type not in ("number", "integer"):
                continue
            outer = f.hard_range if not hard else None
            for pos, value in enumerate(frame[fname].tolist()):
                if is_missing(value) or bounds[0] <= value <= bounds[1]:
                    continue
                if outer is not None and not outer[0] <= value <= outer[1]:
                    continue  # already a hard_range error
                yield Finding(name, pos, fname, _text(ctx, name, fname, value), _range_text(bounds))
    if LAB_TABLE not in ctx.dictionary.tables:
        return
    labs = ctx.frame(LAB_TABLE)
    for pos, (test, value) in enumerate(
        zip(labs[LAB_TEST_FIELD].tolist(), labs[LAB_VALUE_FIELD].tolist(), strict=True)
    ):
        spec_t = ctx.dictionary.lab_tests.get(test) if not is_missing(test) else None
        if spec_t is None or is_missing(value):
            continue
        bounds = spec_t.hard_range if hard else spec_t.soft_range
        if bounds is None or bounds[0] <= value <= bounds[1]:
            continue
        if (
            not hard
            and spec_t.hard_range
            and not spec_t.hard_range[0] <= value <= spec_t.hard_range[1]
        ):
            continue
        yield Finding(LAB_TABLE, pos, LAB_VALUE_FIELD, format_number(value), _range_text(bounds))


def check_hard_range(ctx: Context) -> Iterator[Finding]:
    """A value is outside its hard range (field, or per lab test for lab values)."""
    return _range_findings(ctx, hard=True)


def check_soft_range(ctx: Context) -> Iterator[Finding]:
    """A value is inside its hard range but outside its soft (plausible) range."""
    return _range_findings(ctx, hard=False)


def check_lab_unit(ctx: Context) -> Iterator[Finding]:
    """A lab value's unit differs from the unit of its test in ``lab_tests``."""
    labs = ctx.frame(LAB_TABLE)
    for pos, (test, unit) in enumerate(
        zip(labs[LAB_TEST_FIELD].tolist(), labs[LAB_UNIT_FIELD].tolist(), strict=True)
    ):
        spec_t = ctx.dictionary.lab_tests.get(test) if not is_missing(test) else None
        if spec_t is not None and not is_missing(unit) and unit != spec_t.unit:
            yield Finding(LAB_TABLE, pos, LAB_UNIT_FIELD, str(unit), f"({test} in {spec_t.unit})")


def check_unique_key(ctx: Context) -> Iterator[Finding]:
    """Two rows share the table's key."""
    for name, spec in ctx.dictionary.tables.items():
        frame = ctx.frame(name)
        texts = [
            [format_value(spec.fields[k].type, v) for v in frame[k].tolist()] for k in spec.key
        ]
        seen: dict[tuple[str, ...], int] = {}
        for pos in range(len(frame)):
            key = tuple(col[pos] for col in texts)
            if key in seen:
                first = ctx.study.row_number(name, seen[key])
                yield Finding(
                    name, pos, "+".join(spec.key), "|".join(key), f"(same key as row {first})"
                )
            else:
                seen[key] = pos


def check_references(ctx: Context) -> Iterator[Finding]:
    """A value is not present in the table.field it references (foreign key)."""
    for name, spec in ctx.dictionary.tables.items():
        frame = ctx.frame(name)
        for fname, f in spec.fields.items():
            if f.references is None:
                continue
            ref_table, ref_field = f.references
            known = set(ctx.frame(ref_table)[ref_field].dropna().tolist())
            for pos, value in enumerate(frame[fname].tolist()):
                if not is_missing(value) and value not in known:
                    yield Finding(
                        name, pos, fname, _text(ctx, name, fname, value), f"{ref_table}.{ref_field}"
                    )


# --- table and cross-table rules --------------------------------------------------------
def check_one_study_row(ctx: Context) -> Iterator[Finding]:
    """The study table must hold exactly one row."""
    n = len(ctx.frame("study"))
    if n != 1:
        yield Finding("study", None, ANY_FIELD, f"{n} rows", "(exactly one study row)")


def check_dose_level_arm(ctx: Context) -> Iterator[Finding]:
    """A subject's dose level exists, but not in the subject's arm."""
    levels = ctx.frame("dose_levels")
    pairs = set(zip(levels["arm_id"].tolist(), levels["dose_level_id"].tolist(), strict=True))
    level_ids = {lvl for _, lvl in pairs}
    for pos, row in enumerate(ctx.records("subjects")):
        arm, level = row["arm_id"], row["dose_level_id"]
        if arm is not None and level in level_ids and (arm, level) not in pairs:
            yield Finding(
                "subjects", pos, "dose_level_id", level, f"(not a dose level of arm {arm})"
            )


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def check_date_order(ctx: Context) -> Iterator[Finding]:
    """Dates within a row are out of order (see :data:`DATE_ORDER`)."""
    for table, earlier, op, later in DATE_ORDER:
        if table not in ctx.dictionary.tables:
            continue
        frame = ctx.frame(table)
        for pos, (a, b) in enumerate(
            zip(frame[earlier].tolist(), frame[later].tolist(), strict=True)
        ):
            if is_missing(a) or is_missing(b) or _COMPARE[op](a, b):
                continue
            yield Finding(table, pos, later, _day(b), f"{earlier} ({_day(a)}) {op} {later}")


def check_before_consent(ctx: Context) -> Iterator[Finding]:
    """A row of a table without ``pre_consent_allowed`` is dated before the subject's consent."""
    for table, date_fields in ctx.subject_tables():
        if ctx.dictionary.tables[table].pre_consent_allowed:
            continue
        for pos, row in enumerate(ctx.records(table)):
            subject = ctx.subjects.get(row["subject_id"])
            consent = None if subject is None else subject["consent_date"]
            if consent is None:
                continue
            for fname in date_fields:
                if row[fname] is not None and row[fname] < consent:
                    yield Finding(table, pos, fname, _day(row[fname]), f"(consent {_day(consent)})")
                    break


def check_after_death(ctx: Context) -> Iterator[Finding]:
    """A row is dated after the subject's death (a death is the last event)."""
    deaths = ctx.death_dates
    for table, date_fields in ctx.subject_tables():
        for pos, row in enumerate(ctx.records(table)):
            death = deaths.get(row["subject_id"])
            if death is None:
                continue
            for fname in date_fields:
                if row[fname] is not None and row[fname] > death:
                    yield Finding(table, pos, fname, _day(row[fname]), f"(death {_day(death)})")
                    break


# --- protocol rules ---------------------------------------------------------------------
def check_protocol_found(ctx: Context) -> Iterator[Finding]:
    """The study's protocol_id names no loadable protocol."""
    if ctx.protocol is None and ctx.protocol_error is not None and len(ctx.frame("study")):
        value = ctx.frame("study")["protocol_id"].iloc[0]
        yield Finding(
            "study",
            0,
            "protocol_id",
            "" if is_missing(value) else str(value),
            f"({ctx.protocol_error})",
        )


def check_arm_in_protocol(ctx: Context) -> Iterator[Finding]:
    """A subject's arm or dose level is not defined in the protocol."""
    assert ctx.protocol is not None
    arms = ctx.protocol.arms
    for pos, row in enumerate(ctx.records("subjects")):
        arm, level = row["arm_id"], row["dose_level_id"]
        if arm is None:
            continue
        if arm not in arms:
            yield Finding(
                "subjects",
                pos,
                "arm_id",
                arm,
                f"(protocol {ctx.protocol.protocol_id} arms: {', '.join(arms)})",
            )
        elif level is not None and level not in arms[arm].get("dose_levels", {}):
            yield Finding(
                "subjects",
                pos,
                "dose_level_id",
                level,
                f"(protocol dose levels of {arm}: {', '.join(arms[arm]['dose_levels'])})",
            )


def _exposure_rows(ctx: Context) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    """Exposure rows of known subjects whose arm is in the protocol: (position, row, subject)."""
    assert ctx.protocol is not None
    for pos, row in enumerate(ctx.records("exposures")):
        subject = ctx.subjects.get(row["subject_id"])
        if subject is None or subject["arm_id"] not in ctx.protocol.arms or row["drug"] is None:
            continue
        yield pos, row, subject


def check_drug_in_arm(ctx: Context) -> Iterator[Finding]:
    """A drug was given that is not in the regimen of the subject's arm."""
    assert ctx.protocol is not None
    for pos, row, subject in _exposure_rows(ctx):
        drugs = ctx.protocol.arm_drugs(subject["arm_id"])
        if row["drug"] not in drugs:
            yield Finding(
                "exposures",
                pos,
                "drug",
                row["drug"],
                f"(arm {subject['arm_id']}: {', '.join(drugs)})",
            )


def check_dose_unit(ctx: Context) -> Iterator[Finding]:
    """The dose unit differs from the protocol's unit for the drug."""
    assert ctx.protocol is not None
    for pos, row, subject in _exposure_rows(ctx):
        if row["drug"] not in ctx.protocol.arm_drugs(subject["arm_id"]):
            continue  # drug_not_in_arm
        regimen = ctx.protocol.drugs.get(row["drug"])
        unit = row["dose_unit"]
        if regimen is not None and unit is not None and unit != regimen.dose_unit:
            yield Finding(
                "exposures", pos, "dose_unit", unit, f"({row['drug']} in {regimen.dose_unit})"
            )


def check_dose_within_tolerance(ctx: Context) -> Iterator[Finding]:
    """A dose differs from weight x protocol dose per administration by more than the tolerance."""
    protocol = ctx.protocol
    assert protocol is not None
    tolerance = protocol.dose_tolerance_fraction
    for pos, row, subject in _exposure_rows(ctx):
        drug, dose, weight = row["drug"], row["dose"], row["weight_kg"]
        regimen = protocol.drugs.get(drug)
        if (
            regimen is None
            or dose is None
            or weight is None
            or drug not in protocol.arm_drugs(subject["arm_id"])
            or row["dose_unit"] != regimen.dose_unit
        ):
            continue
        try:
            # D7: doses use the actual body weight on the day (the exposure's weight_kg)
            expected = protocol.dose_per_administration(
                drug, weight, subject["arm_id"], subject["dose_level_id"]
            )
        except (KeyError, ValueError):
            continue
        # boundary included; 1e-9 relative slack absorbs binary rounding of e.g. 1.1 x 45
        if abs(dose - expected) > tolerance * expected * (1 + 1e-9):
            yield Finding(
                "exposures",
                pos,
                "dose",
                format_number(dose),
                f"(expected {format_number(expected)} {regimen.dose_unit} "
                f"± {format_number(tolerance * 100)} % for {format_number(weight)} kg)",
            )


def check_exposure_weight(ctx: Context) -> Iterator[Finding]:
    """The weight a dose was calculated from differs from the baseline weight by > 20 %."""
    for pos, row in enumerate(ctx.records("exposures")):
        subject = ctx.subjects.get(row["subject_id"])
        weight = row["weight_kg"]
        baseline = None if subject is None else subject["weight_kg"]
        if weight is None or baseline is None:
            continue
        if abs(weight - baseline) > EXPOSURE_WEIGHT_TOLERANCE * baseline * (1 + 1e-9):
            yield Finding(
                "exposures",
                pos,
                "weight_kg",
                format_number(weight),
                f"(baseline {format_number(baseline)} kg ± "
                f"{format_number(EXPOSURE_WEIGHT_TOLERANCE * 100)} %)",
            )


E, W = Severity.ERROR, Severity.WARNING

#: The registry: every validation rule, in reporting order.
RULES: tuple[Rule, ...] = (
    Rule("required", E, check_required, "A required field is empty."),
    Rule("codes", E, check_codes, "A code is not in the field's code list.", at_read=True),
    Rule(
        "hard_range",
        E,
        check_hard_range,
        "Outside the hard range (field or lab test).",
        at_read=True,
    ),
    Rule("soft_range", W, check_soft_range, "Outside the plausible (soft) range."),
    Rule("lab_unit", E, check_lab_unit, "Lab unit differs from the test's unit."),
    Rule("unique_key", E, check_unique_key, "Two rows share a key."),
    Rule("references", E, check_references, "Foreign key not found."),
    Rule("one_row", E, check_one_study_row, "The study table needs exactly one row."),
    Rule("dose_level_arm", E, check_dose_level_arm, "Dose level not in the subject's arm."),
    Rule("date_order", E, check_date_order, "Dates within a row out of order."),
    Rule("before_consent", E, check_before_consent, "Dated before the subject's consent."),
    Rule("after_death", E, check_after_death, "Dated after the subject's death."),
    Rule("protocol_not_found", E, check_protocol_found, "protocol_id names no protocol."),
    Rule(
        "arm_in_protocol",
        E,
        check_arm_in_protocol,
        "Arm/dose level not in the protocol.",
        needs_protocol=True,
    ),
    Rule(
        "drug_not_in_arm",
        E,
        check_drug_in_arm,
        "Drug not in the arm's regimen.",
        needs_protocol=True,
    ),
    Rule(
        "dose_unit",
        E,
        check_dose_unit,
        "Dose unit differs from the protocol's.",
        needs_protocol=True,
    ),
    Rule(
        "dose_within_tolerance",
        E,
        check_dose_within_tolerance,
        "Dose not within the protocol tolerance of weight x dose per kg.",
        needs_protocol=True,
    ),
    Rule(
        "exposure_weight",
        W,
        check_exposure_weight,
        "Dosing weight differs from baseline weight by more than 20 %.",
    ),
)


def _to_problem(ctx: Context, rule: Rule, finding: Finding) -> Problem:
    study = ctx.study
    row = (
        HEADER_ROW
        if finding.position is None
        else study.row_number(finding.table, finding.position)
    )
    return Problem(
        file=study.file_label(finding.table),
        row=row,
        field=finding.field,
        rule=rule.name,
        value=finding.value,
        severity=rule.severity,
        detail=finding.detail,
        table=finding.table,
    )


def run_checks(ctx: Context, rules: Iterable[Rule] = RULES) -> list[Problem]:
    """Run ``rules`` (protocol rules only when a protocol is known); problems in rule order."""
    problems: list[Problem] = []
    for rule in rules:
        if rule.needs_protocol and ctx.protocol is None:
            continue
        problems.extend(_to_problem(ctx, rule, f) for f in rule.check(ctx))
    return problems


def run_read_checks(study: StudyData) -> list[Problem]:
    """The rules a reader enforces (codes, hard ranges)."""
    return run_checks(Context(study), [r for r in RULES if r.at_read])
