"""Per-subject protocol calendar: doses (mg or cells for a body weight) and visit windows.

From a :class:`~saatrial.protocol.model.Protocol` and a subject (arm, dose level,
weight, optionally the study day 1 date) build the subject's dose rows and visit rows,
write them as a canonical CSV and as an iCalendar file, and render them as a table.

Study day 1 is the first rATG dose (D7); the date of study day ``d`` is
``day1 + (d - 1)`` days. Doses use the weight given (D7: actual weight on the day).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saatrial.atomic import write_bytes_atomic
from saatrial.protocol.ical import CalendarEvent, calendar_text
from saatrial.protocol.model import DrugRegimen, Protocol, load_protocol

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

__all__ = [
    "CSV_COLUMNS",
    "DoseRow",
    "ScheduleFiles",
    "SubjectInputs",
    "SubjectSchedule",
    "VisitRow",
    "build_schedule",
    "ical_events",
    "run_schedule_command",
    "schedule_csv_text",
    "schedule_ical_text",
    "schedule_table",
    "subject_inputs_from_tables",
    "write_ical",
    "write_schedule_csv",
]

ADMINISTRATIONS_PER_DAY = {"ONCE": 1, "QD": 1, "Q12H": 2, "Q8H": 3, "Q6H": 4}
FREQUENCY_TEXT = {
    "ONCE": "single infusion",
    "QD": "once daily",
    "Q12H": "every 12 h",
    "Q8H": "every 8 h",
    "Q6H": "every 6 h",
}
SHORT_NAMES = {"RATG": "rATG", "CSA": "CsA", "UCMSC": "UC-MSC"}
ROUTE_TEXT = {"oral": "orally"}
WEIGHT_RANGE_KG = (1.0, 200.0)  # dictionary.yaml subjects.weight_kg hard_range
CSV_COLUMNS = (
    "subject_id",
    "kind",
    "code",
    "label",
    "study_day",
    "end_study_day",
    "earliest_day",
    "latest_day",
    "date",
    "end_date",
    "earliest_date",
    "latest_date",
    "dose",
    "dose_unit",
    "administrations_per_day",
    "frequency",
    "daily_dose",
    "route",
    "text",
)


@dataclass(frozen=True)
class DoseRow:
    """Planned administrations of one drug over ``study_day`` .. ``end_study_day``.

    Attributes
    ----------
    drug : str
        Drug code (``RATG``, ``CSA``, ``UCMSC``).
    name : str
        Drug name from the protocol.
    route : str
        ``IV`` or ``oral``.
    study_day, end_study_day : int
        First and last study day of the row (equal for a single day).
    window_days : int
        Allowed deviation in days around ``study_day`` (D7: UC-MSC +/- 2).
    dose : float
        Dose per administration, in ``dose_unit`` (mg or cells).
    dose_unit : str
        ``mg`` or ``cells``.
    administrations_per_day : int
        From the protocol frequency (QD 1, Q12H 2, ONCE 1).
    frequency : str
        Protocol frequency code (``QD``, ``Q12H``, ``ONCE``).
    text : str
        The row in words.
    date, end_date : datetime.date or None
        Calendar dates of ``study_day`` and ``end_study_day`` when day 1 is known.
    """

    drug: str
    name: str
    route: str
    study_day: int
    end_study_day: int
    window_days: int
    dose: float
    dose_unit: str
    administrations_per_day: int
    frequency: str
    text: str
    date: dt.date | None = None
    end_date: dt.date | None = None

    @property
    def daily_dose(self) -> float:
        """Dose per day (dose per administration x administrations per day)."""
        return self.dose * self.administrations_per_day

    @property
    def earliest_day(self) -> int:
        return self.study_day - self.window_days

    @property
    def latest_day(self) -> int:
        return self.study_day + self.window_days


@dataclass(frozen=True)
class VisitRow:
    """A protocol visit with its window (D9), in study days and dates."""

    code: str
    label: str
    target_day: int
    earliest_day: int
    latest_day: int
    target_date: dt.date | None = None
    earliest_date: dt.date | None = None
    latest_date: dt.date | None = None


@dataclass(frozen=True)
class SubjectSchedule:
    """A subject's calendar of doses and visits."""

    subject_id: str
    protocol_id: str
    protocol_version: str
    arm_id: str
    dose_level_id: str
    weight_kg: float
    day1: dt.date | None
    doses: tuple[DoseRow, ...]
    visits: tuple[VisitRow, ...]

    def dose_rows(self, drug: str) -> tuple[DoseRow, ...]:
        """Dose rows of one drug, in study-day order."""
        return tuple(r for r in self.doses if r.drug == drug)

    def visit(self, code: str) -> VisitRow:
        """The visit row with this code."""
        for v in self.visits:
            if v.code == code:
                return v
        raise KeyError(f"no visit {code!r}; visits: {[v.code for v in self.visits]}")


def _fmt(x: float) -> str:
    return format(x, ".10g")


def _fmt_cells(x: float) -> str:
    """``15000000.0 -> '1.5e7'``."""
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    mantissa = round(x / 10**exponent, 6)
    if mantissa >= 10:  # rounding carried over, e.g. 9.9999999e6
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{format(mantissa, 'g')}e{exponent}"


def _fmt_dose(dose: float, unit: str) -> str:
    return f"{_fmt_cells(dose)} cells" if unit == "cells" else f"{_fmt(dose)} {unit}"


def _date_of(day1: dt.date | None, study_day: int) -> dt.date | None:
    return None if day1 is None else day1 + dt.timedelta(days=study_day - 1)  # D7


def _check_inputs(protocol: Protocol, arm_id: str, dose_level_id: str, weight_kg: float) -> float:
    if arm_id not in protocol.arms:
        raise ValueError(
            f"arm {arm_id!r} is not in protocol {protocol.protocol_id}; arms: "
            f"{', '.join(protocol.arms)}"
        )
    levels = protocol.arms[arm_id].get("dose_levels", {})
    if dose_level_id not in levels:
        raise ValueError(
            f"dose level {dose_level_id!r} is not in arm {arm_id} of protocol "
            f"{protocol.protocol_id}; dose levels: {', '.join(levels)}"
        )
    try:
        weight = float(weight_kg)
    except (TypeError, ValueError):
        raise ValueError(f"weight_kg: not a number: {weight_kg!r}") from None
    low, high = WEIGHT_RANGE_KG
    if not (math.isfinite(weight) and low <= weight <= high):
        raise ValueError(f"weight_kg: hard_range [{low:g}, {high:g}]: {weight_kg!r}")
    return weight


def _frequency(regimen: DrugRegimen) -> int:
    try:
        return ADMINISTRATIONS_PER_DAY[regimen.frequency]
    except KeyError:
        raise ValueError(
            f"drug {regimen.drug}: frequency {regimen.frequency!r} not one of "
            f"{', '.join(ADMINISTRATIONS_PER_DAY)}"
        ) from None


def _per_kg_text(regimen: DrugRegimen, per_day: int, dose: float, weight: float) -> str:
    if regimen.dose_unit == "cells":
        per_kg = dose / weight
        return f"{_fmt(per_kg / 1e6)} x 10^6 cells/kg x {_fmt(weight)} kg"
    daily_per_kg = regimen.dose_per_kg * per_day if regimen.dose_per_kg is not None else None
    return f"{_fmt(daily_per_kg or 0.0)} mg/kg/day x {_fmt(weight)} kg"


def _dose_rows(
    protocol: Protocol,
    regimen: DrugRegimen,
    arm_id: str,
    dose_level_id: str,
    weight: float,
    day1: dt.date | None,
) -> list[DoseRow]:
    short = SHORT_NAMES.get(regimen.drug, regimen.drug)
    per_day = _frequency(regimen)
    dose = protocol.dose_per_administration(regimen.drug, weight, arm_id, dose_level_id)
    every = FREQUENCY_TEXT[regimen.frequency]
    route = ROUTE_TEXT.get(regimen.route, regimen.route)
    how = f"{_fmt_dose(dose, regimen.dose_unit)} {route} {every}"
    basis = _per_kg_text(regimen, per_day, dose, weight)
    rows: list[DoseRow] = []
    if regimen.days:  # discrete dosing days (rATG days 1-5; UC-MSC days 14, 21, 28 - D7)
        for i, day in enumerate(regimen.days, start=1):
            window = ""
            if regimen.window_days:
                window = (
                    f"; window day {day - regimen.window_days}-{day + regimen.window_days} "
                    f"(+/- {regimen.window_days} days, D7)"
                )
            text = f"{short} {how} ({basis}), dose {i} of {len(regimen.days)}{window}"
            rows.append(
                DoseRow(
                    drug=regimen.drug,
                    name=regimen.name,
                    route=regimen.route,
                    study_day=day,
                    end_study_day=day,
                    window_days=regimen.window_days,
                    dose=dose,
                    dose_unit=regimen.dose_unit,
                    administrations_per_day=per_day,
                    frequency=regimen.frequency,
                    text=text,
                    date=_date_of(day1, day),
                    end_date=_date_of(day1, day),
                )
            )
        return rows
    if "start_day" not in regimen.raw:
        raise ValueError(f"drug {regimen.drug}: protocol gives neither 'days' nor 'start_day'")
    start = int(regimen.raw["start_day"])
    months = regimen.raw.get("full_dose_months")
    if months is None:
        raise ValueError(f"drug {regimen.drug}: continuous dosing needs 'full_dose_months'")
    # D8: full dose for at least `months` months; months = days / 30.4375 (TRIAL.md §5),
    # so the full-dose period must cover ceil(months x 30.4375) days.
    n_days = math.ceil(float(months) * protocol.days_per_month)
    end = start + n_days - 1
    text = (
        f"{short} {how} ({_fmt(dose * per_day)} {regimen.dose_unit}/day = {basis}) "
        f"from day {start}; full dose for at least {_fmt(float(months))} months "
        f"(to day {end}), then taper"
    )
    trough = regimen.raw.get("target_trough_ng_per_ml")
    if trough:
        text += f"; target trough {_fmt(trough[0])}-{_fmt(trough[1])} ng/mL (D8)"
    rows.append(
        DoseRow(
            drug=regimen.drug,
            name=regimen.name,
            route=regimen.route,
            study_day=start,
            end_study_day=end,
            window_days=0,
            dose=dose,
            dose_unit=regimen.dose_unit,
            administrations_per_day=per_day,
            frequency=regimen.frequency,
            text=text,
            date=_date_of(day1, start),
            end_date=_date_of(day1, end),
        )
    )
    return rows


def build_schedule(
    protocol: Protocol,
    arm_id: str,
    dose_level_id: str,
    weight_kg: float,
    day1: dt.date | None = None,
    subject_id: str = "",
) -> SubjectSchedule:
    """Build a subject's dose and visit calendar from the protocol.

    Parameters
    ----------
    protocol : Protocol
        Loaded protocol (``load_protocol("nct02218437")``).
    arm_id, dose_level_id : str
        The subject's arm and dose level (e.g. ``"MSC"``, ``"MSC-1"``).
    weight_kg : float
        Body weight the doses are calculated from (D7), 1-200 kg.
    day1 : datetime.date, optional
        Date of study day 1 (first rATG dose, D7); without it rows have no dates.
    subject_id : str
        Used in the output files and iCalendar UIDs.

    Returns
    -------
    SubjectSchedule
        One dose row per dosing day for drugs with listed days (rATG, UC-MSC), one row
        for continuous drugs (CsA: start and full-dose period), one row per visit.

    Raises
    ------
    ValueError
        Unknown arm or dose level, weight outside 1-200 kg.

    Examples
    --------
    >>> s = build_schedule(load_protocol("nct02218437"), "MSC", "MSC-1", 15.0)
    >>> [(r.study_day, r.dose) for r in s.dose_rows("RATG")][:2]
    [(1, 45.0), (2, 45.0)]
    >>> s.dose_rows("CSA")[0].dose, s.dose_rows("CSA")[0].administrations_per_day
    (37.5, 2)
    >>> [(r.study_day, r.dose) for r in s.dose_rows("UCMSC")]
    [(14, 15000000.0), (21, 15000000.0), (28, 15000000.0)]
    >>> v = s.visit("D90"); (v.earliest_day, v.latest_day)
    (76, 104)
    """
    weight = _check_inputs(protocol, arm_id, dose_level_id, weight_kg)
    if day1 is not None and not isinstance(day1, dt.date):
        raise ValueError(f"day1: not a date: {day1!r}")
    if isinstance(day1, dt.datetime):
        day1 = day1.date()
    doses: list[DoseRow] = []
    order = {drug: i for i, drug in enumerate(protocol.arm_drugs(arm_id))}
    for drug in protocol.arm_drugs(arm_id):
        if drug not in protocol.drugs:
            raise ValueError(f"arm {arm_id}: drug {drug!r} has no regimen in the protocol")
        doses += _dose_rows(protocol, protocol.drugs[drug], arm_id, dose_level_id, weight, day1)
    doses.sort(key=lambda r: (r.study_day, order[r.drug]))  # regimen order: rATG first
    visits = [
        VisitRow(
            code=v.code,
            label=v.label,
            target_day=v.target_day,
            earliest_day=v.earliest_day,  # D9 windows
            latest_day=v.latest_day,
            target_date=_date_of(day1, v.target_day),
            earliest_date=_date_of(day1, v.earliest_day),
            latest_date=_date_of(day1, v.latest_day),
        )
        for v in sorted(protocol.visits.values(), key=lambda v: (v.target_day, v.code))
    ]
    return SubjectSchedule(
        subject_id=str(subject_id),
        protocol_id=protocol.protocol_id,
        protocol_version=protocol.version,
        arm_id=arm_id,
        dose_level_id=dose_level_id,
        weight_kg=weight,
        day1=day1,
        doses=tuple(doses),
        visits=tuple(visits),
    )


# --------------------------------------------------------------------------- CSV
def _cell(x: object) -> str:
    if x is None:
        return ""
    if isinstance(x, dt.date):
        return x.isoformat()
    if isinstance(x, float):
        return _fmt(x)
    return str(x)


def _csv_rows(schedule: SubjectSchedule) -> list[dict[str, object]]:
    rows: list[tuple[tuple[int, int, int], dict[str, object]]] = []
    for r in schedule.doses:
        row: dict[str, object] = {
            "kind": "DOSE",
            "code": r.drug,
            "label": r.name,
            "study_day": r.study_day,
            "end_study_day": r.end_study_day,
            "earliest_day": r.earliest_day,
            "latest_day": r.latest_day,
            "date": r.date,
            "end_date": r.end_date,
            "earliest_date": _date_of(schedule.day1, r.earliest_day),
            "latest_date": _date_of(schedule.day1, r.latest_day),
            "dose": r.dose,
            "dose_unit": r.dose_unit,
            "administrations_per_day": r.administrations_per_day,
            "frequency": r.frequency,
            "daily_dose": r.daily_dose,
            "route": r.route,
            "text": r.text,
        }
        rows.append(((r.study_day, 0, len(rows)), row))  # doses already in regimen order
    for v in schedule.visits:
        row = {
            "kind": "VISIT",
            "code": v.code,
            "label": v.label,
            "study_day": v.target_day,
            "earliest_day": v.earliest_day,
            "latest_day": v.latest_day,
            "date": v.target_date,
            "earliest_date": v.earliest_date,
            "latest_date": v.latest_date,
            "text": f"{v.label}: target day {v.target_day}, window day "
            f"{v.earliest_day}-{v.latest_day} (D9)",
        }
        rows.append(((v.target_day, 1, len(rows)), row))
    rows.sort(key=lambda item: item[0])
    return [{"subject_id": schedule.subject_id, **row} for _, row in rows]


def schedule_csv_text(schedule: SubjectSchedule) -> str:
    """The schedule as canonical CSV text (UTF-8, ``\\n``, header, numbers ``.10g``).

    Columns are :data:`CSV_COLUMNS`; one row per dose row and per visit, sorted by
    study day (doses before visits on the same day); empty cells for what does not
    apply (e.g. dates when day 1 is unknown).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(schedule):
        writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _atomic_write(path: Path, data: bytes) -> Path:
    """Write to a temporary file beside ``path`` (folder created if needed) and rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, data, overwrite=True)


def write_schedule_csv(schedule: SubjectSchedule, path: str | Path) -> Path:
    """Write :func:`schedule_csv_text` to ``path`` atomically; returns the path."""
    return _atomic_write(Path(path), schedule_csv_text(schedule).encode("utf-8"))


# --------------------------------------------------------------------------- iCalendar
def _uid_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def ical_events(schedule: SubjectSchedule) -> list[CalendarEvent]:
    """Calendar events of a schedule (needs day 1).

    One event per dosing day of rATG and UC-MSC (the UC-MSC window in DESCRIPTION),
    one event on the first day of a continuous drug (CsA) with the regimen and the
    full-dose period, and one event per visit on its target day with the window in
    DESCRIPTION. UIDs are built from protocol, subject, kind, code and study day, so
    the same schedule always gives the same UIDs.
    """
    if schedule.day1 is None:
        raise ValueError(
            f"subject {schedule.subject_id!r}: the iCalendar file needs the study day 1 date"
        )
    prefix = f"{_uid_part(schedule.protocol_id)}-{_uid_part(schedule.subject_id)}"
    events: list[CalendarEvent] = []
    for r in schedule.doses:
        assert r.date is not None
        short = SHORT_NAMES.get(r.drug, r.drug)
        per_admin = _fmt_dose(r.dose, r.dose_unit)
        if r.end_study_day > r.study_day:
            summary = f"Start {short} {per_admin} {FREQUENCY_TEXT.get(r.frequency, r.frequency)}"
        else:
            summary = f"{short} {per_admin} {r.route} (day {r.study_day})"
        events.append(
            CalendarEvent(
                uid=f"{prefix}-dose-{_uid_part(r.drug)}-d{r.study_day}@saatrial",
                start=r.date,
                end_inclusive=r.date,
                summary=" ".join(summary.split()),
                description=f"{schedule.subject_id}: {r.text}",
                categories="DOSE",
            )
        )
    for v in schedule.visits:
        assert v.target_date is not None and v.earliest_date and v.latest_date
        events.append(
            CalendarEvent(
                uid=f"{prefix}-visit-{_uid_part(v.code)}-d{v.target_day}@saatrial",
                start=v.target_date,
                end_inclusive=v.target_date,
                summary=f"Visit {v.code}: {v.label} (day {v.target_day})",
                description=(
                    f"{schedule.subject_id}: {v.label}, target day {v.target_day} "
                    f"({v.target_date.isoformat()}); window day {v.earliest_day}-"
                    f"{v.latest_day} ({v.earliest_date.isoformat()} to "
                    f"{v.latest_date.isoformat()}) (D9)"
                ),
                categories="VISIT",
            )
        )
    return events


def schedule_ical_text(schedule: SubjectSchedule) -> str:
    """The schedule as iCalendar text (RFC 5545; DTSTAMP = day 1, for determinism)."""
    events = ical_events(schedule)
    assert schedule.day1 is not None
    return calendar_text(events, dtstamp=schedule.day1)


def write_ical(schedule: SubjectSchedule, path: str | Path) -> Path:
    """Write :func:`schedule_ical_text` to ``path`` atomically (CRLF kept); returns the path."""
    return _atomic_write(Path(path), schedule_ical_text(schedule).encode("utf-8"))


# --------------------------------------------------------------------------- from a study
@dataclass(frozen=True)
class SubjectInputs:
    """What a schedule needs about one subject, as found in a study."""

    subject_id: str
    protocol_id: str | None
    arm_id: str
    dose_level_id: str
    weight_kg: float
    day1: dt.date | None


def _as_date(x: Any) -> dt.date | None:
    if x is None or type(x).__name__ in {"NAType", "NaTType"}:
        return None
    if isinstance(x, dt.datetime) or hasattr(x, "to_pydatetime"):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return dt.date.fromisoformat(str(x))


def subject_inputs_from_tables(
    tables: Mapping[str, pd.DataFrame], subject_id: str
) -> SubjectInputs:
    """Read a subject's arm, dose level, weight and day 1 from study tables.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Study tables with the dictionary's column names (``StudyData.tables``):
        ``subjects`` is required; ``exposures`` and ``study`` are used if present.
    subject_id : str

    Returns
    -------
    SubjectInputs
        ``day1`` is the first rATG exposure start date (D7), None if none recorded;
        ``weight_kg`` the subject's baseline weight.
    """
    if "subjects" not in tables:
        raise ValueError("study has no subjects table")
    subjects = tables["subjects"]
    match = subjects[subjects["subject_id"].astype(str) == str(subject_id)]
    if match.empty:
        known = ", ".join(sorted(subjects["subject_id"].astype(str)))
        raise ValueError(f"subjects.csv: subject_id: no such subject: {subject_id!r} ({known})")
    row = match.iloc[0]
    day1: dt.date | None = None
    exposures = tables.get("exposures")
    if exposures is not None and not exposures.empty:
        mine = exposures[
            (exposures["subject_id"].astype(str) == str(subject_id))
            & (exposures["drug"].astype(str) == "RATG")
        ]
        starts = [d for d in (_as_date(x) for x in mine["start_date"]) if d is not None]
        day1 = min(starts) if starts else None  # D7: study day 1 = first rATG dose
    protocol_id = None
    study = tables.get("study")
    if study is not None and not study.empty and "protocol_id" in study:
        protocol_id = str(study["protocol_id"].iloc[0])
    return SubjectInputs(
        subject_id=str(subject_id),
        protocol_id=protocol_id,
        arm_id=str(row["arm_id"]),
        dose_level_id=str(row["dose_level_id"]),
        weight_kg=float(row["weight_kg"]),
        day1=day1,
    )


# --------------------------------------------------------------------------- CLI helper
@dataclass(frozen=True)
class ScheduleFiles:
    """What ``saatrial schedule`` produced."""

    schedule: SubjectSchedule
    csv_path: Path
    ics_path: Path | None


def _dose_display(dose: float, unit: str, frequency: str, daily: float) -> str:
    """``45 mg/day``, ``37.5 mg every 12 h (75 mg/day)``, ``1.5e7 cells``."""
    if frequency == "QD":
        return f"{_fmt_dose(dose, unit)}/day"
    if frequency == "ONCE":
        return _fmt_dose(dose, unit)
    return (
        f"{_fmt_dose(dose, unit)} {FREQUENCY_TEXT.get(frequency, frequency)} "
        f"({_fmt_dose(daily, unit)}/day)"
    )


def schedule_table(schedule: SubjectSchedule) -> Table:
    """A rich table of the schedule (for printing)."""
    from rich.table import Table

    title = (
        f"{schedule.subject_id or 'subject'}: {schedule.protocol_id} arm {schedule.arm_id} "
        f"({schedule.dose_level_id}), {_fmt(schedule.weight_kg)} kg, day 1 = "
        f"{schedule.day1.isoformat() if schedule.day1 else 'not set'}"
    )
    table = Table(title=title)
    for col in ("Kind", "What", "Study day", "Date", "Dose", "Notes"):
        table.add_column(col)
    for row in _csv_rows(schedule):
        kind = str(row["kind"])
        if kind == "DOSE":
            days = f"{row['study_day']}"
            if row["end_study_day"] != row["study_day"]:
                days += f"-{row['end_study_day']}"
            dose = _dose_display(
                float(row["dose"]),  # type: ignore[arg-type]
                str(row["dose_unit"]),
                str(row["frequency"]),
                float(row["daily_dose"]),  # type: ignore[arg-type]
            )
        else:
            days = f"{row['study_day']} ({row['earliest_day']}-{row['latest_day']})"
            dose = ""
        date = _cell(row.get("date"))
        if kind == "VISIT" and row.get("earliest_date"):
            date += f" ({_cell(row['earliest_date'])} to {_cell(row['latest_date'])})"
        elif row.get("end_date") and row.get("end_date") != row.get("date"):
            date += f" to {_cell(row['end_date'])}"
        table.add_row(kind, str(row["code"]), days, date, dose, str(row["text"]))
    return table


def run_schedule_command(
    tables: Mapping[str, pd.DataFrame] | None,
    subject_id: str,
    out_dir: str | Path = ".",
    *,
    protocol: str | None = None,
    arm_id: str | None = None,
    dose_level_id: str | None = None,
    weight_kg: float | None = None,
    day1: dt.date | None = None,
    console: Console | None = None,
) -> ScheduleFiles:
    """Build, print and write a subject's schedule (the ``saatrial schedule`` command).

    Parameters
    ----------
    tables : mapping of DataFrames or None
        Study tables (``StudyData.tables``) to take the subject from; None to give
        everything by the keyword arguments.
    subject_id : str
        Subject in the study, or a label for the files when ``tables`` is None.
    out_dir : path
        Folder for ``<subject>_schedule.csv`` and ``<subject>_schedule.ics``.
    protocol : str, optional
        Protocol name or YAML path; default the study's ``protocol_id``, else
        ``nct02218437``.
    arm_id, dose_level_id, weight_kg, day1 : optional
        Override (or, without a study, give) the subject's values.
    console : rich Console, optional
        Where to print the table and the written paths.

    Returns
    -------
    ScheduleFiles
        The iCalendar file is written only when day 1 is known (``ics_path`` None
        otherwise, with a note printed).
    """
    found: SubjectInputs | None = None
    if tables is not None:
        found = subject_inputs_from_tables(tables, subject_id)
    arm = arm_id if arm_id is not None else (found.arm_id if found else None)
    level = dose_level_id if dose_level_id is not None else (found.dose_level_id if found else None)
    weight = weight_kg if weight_kg is not None else (found.weight_kg if found else None)
    first = day1 if day1 is not None else (found.day1 if found else None)
    if arm is None or level is None or weight is None:
        missing = [
            name
            for name, value in (("--arm", arm), ("--dose-level", level), ("--weight-kg", weight))
            if value is None
        ]
        raise ValueError(f"without a study give {', '.join(missing)}")
    name = protocol or (found.protocol_id if found and found.protocol_id else "nct02218437")
    schedule = build_schedule(load_protocol(name), arm, level, weight, first, subject_id)
    out = Path(out_dir)
    stem = _uid_part(subject_id)
    csv_path = write_schedule_csv(schedule, out / f"{stem}_schedule.csv")
    ics_path = write_ical(schedule, out / f"{stem}_schedule.ics") if first else None
    if console is not None:
        console.print(schedule_table(schedule))
        console.print(f"wrote {csv_path}")
        if ics_path is not None:
            console.print(f"wrote {ics_path}")
        else:
            console.print("no iCalendar file: study day 1 unknown (give --day1)")
    return ScheduleFiles(schedule, csv_path, ics_path)
