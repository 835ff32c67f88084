"""Per-subject schedule: doses and visit windows, CSV and iCalendar output.

Expected numbers are worked by hand from TRIAL.md §2-§3: rATG 3 mg/kg/day on days
1-5, CsA 5 mg/kg/day as 2.5 mg/kg every 12 h for >= 12 months, UC-MSC 1 x 10^6
cells/kg on days 14, 21, 28 (+/- 2), visits day 40 +/- 7, 90 +/- 14, 180 +/- 30.
Dates for study day 1 = 2014-01-06 were counted on a calendar.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest

from saatrial.protocol import load_protocol
from saatrial.protocol.ical import CalendarEvent, calendar_text, escape_text, fold_line
from saatrial.protocol.schedule import (
    CSV_COLUMNS,
    build_schedule,
    schedule_csv_text,
    schedule_ical_text,
    subject_inputs_from_tables,
    write_ical,
    write_schedule_csv,
)

DAY1 = dt.date(2014, 1, 6)


@pytest.fixture(scope="module")
def protocol():
    return load_protocol("nct02218437")


@pytest.fixture(scope="module")
def child15(protocol):
    return build_schedule(protocol, "MSC", "MSC-1", 15.0, DAY1, subject_id="MSC-01")


# ------------------------------------------------------------------ the done-when numbers
def test_ratg_45_mg_per_day_days_1_to_5(child15):
    rows = child15.dose_rows("RATG")
    assert [r.study_day for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.dose == 45.0 and r.dose_unit == "mg" for r in rows)
    assert all(r.administrations_per_day == 1 and r.daily_dose == 45.0 for r in rows)
    assert [r.date for r in rows] == [dt.date(2014, 1, d) for d in (6, 7, 8, 9, 10)]


def test_csa_one_row_37_5_mg_every_12_h(child15):
    (row,) = child15.dose_rows("CSA")  # one row, not 730
    assert row.dose == 37.5 and row.dose_unit == "mg"
    assert row.frequency == "Q12H" and row.administrations_per_day == 2
    assert row.daily_dose == 75.0  # 5 mg/kg/day x 15 kg
    assert row.study_day == 1 and row.date == DAY1
    # 12 months = 12 x 30.4375 = 365.25 days -> full dose through study day 366
    assert row.end_study_day == 366 and row.end_date == dt.date(2015, 1, 6)
    assert "every 12 h" in row.text and "12 months" in row.text


def test_ucmsc_1_5e7_cells_days_14_21_28(child15):
    rows = child15.dose_rows("UCMSC")
    assert [r.study_day for r in rows] == [14, 21, 28]
    assert all(r.dose == 1.5e7 and r.dose_unit == "cells" for r in rows)
    assert [(r.earliest_day, r.latest_day) for r in rows] == [(12, 16), (19, 23), (26, 30)]
    assert [r.date for r in rows] == [
        dt.date(2014, 1, 19),
        dt.date(2014, 1, 26),
        dt.date(2014, 2, 2),
    ]


def test_visit_windows(child15):
    got = [(v.code, v.target_day, v.earliest_day, v.latest_day) for v in child15.visits]
    assert got == [("D40", 40, 33, 47), ("D90", 90, 76, 104), ("D180", 180, 150, 210)]
    d90 = child15.visit("D90")
    assert (d90.earliest_date, d90.target_date, d90.latest_date) == (
        dt.date(2014, 3, 22),
        dt.date(2014, 4, 5),
        dt.date(2014, 4, 19),
    )
    d40 = child15.visit("D40")
    assert (d40.earliest_date, d40.target_date, d40.latest_date) == (
        dt.date(2014, 2, 7),
        dt.date(2014, 2, 14),
        dt.date(2014, 2, 21),
    )
    d180 = child15.visit("D180")
    assert (d180.earliest_date, d180.target_date, d180.latest_date) == (
        dt.date(2014, 6, 4),
        dt.date(2014, 7, 4),
        dt.date(2014, 8, 3),
    )


def test_other_weight(protocol):
    s = build_schedule(protocol, "MSC", "MSC-1", 22.4)
    assert s.dose_rows("RATG")[0].dose == pytest.approx(67.2)  # 3 x 22.4
    assert s.dose_rows("CSA")[0].dose == pytest.approx(56.0)  # 2.5 x 22.4
    assert s.dose_rows("UCMSC")[0].dose == pytest.approx(2.24e7)
    text = schedule_csv_text(s)
    assert ",67.2,mg," in text and ",56,mg," in text and ",22400000,cells," in text


def test_control_arm_has_no_msc(protocol):
    s = build_schedule(protocol, "CONTROL", "NONE", 15.0)
    assert {r.drug for r in s.doses} == {"RATG", "CSA"}
    assert len(s.visits) == 3


def test_without_day1_no_dates(protocol):
    s = build_schedule(protocol, "MSC", "MSC-1", 15.0)
    assert all(r.date is None for r in s.doses) and all(v.target_date is None for v in s.visits)
    rows = list(csv.DictReader(io.StringIO(schedule_csv_text(s))))
    assert all(r["date"] == "" for r in rows)
    with pytest.raises(ValueError, match="day 1"):
        schedule_ical_text(s)


@pytest.mark.parametrize(
    ("arm", "level", "weight", "match"),
    [
        ("MSC", "MSC-1", 0.5, "weight_kg: hard_range"),
        ("MSC", "MSC-1", 250, "weight_kg: hard_range"),
        ("MSC", "MSC-1", float("nan"), "weight_kg"),
        ("MSC", "MSC-1", "heavy", "weight_kg: not a number"),
        ("PLACEBO", "MSC-1", 15, "arm 'PLACEBO'"),
        ("MSC", "NONE", 15, "dose level 'NONE'"),
    ],
)
def test_bad_inputs_refused(protocol, arm, level, weight, match):
    with pytest.raises(ValueError, match=match):
        build_schedule(protocol, arm, level, weight)


# ------------------------------------------------------------------ CSV
def test_csv_content(child15):
    text = schedule_csv_text(child15)
    assert "\r" not in text and text.endswith("\n") and not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 5 + 1 + 3 + 3
    first = rows[0]  # day 1: rATG first (regimen order), then CsA
    assert (first["kind"], first["code"], first["dose"], first["date"]) == (
        "DOSE",
        "RATG",
        "45",
        "2014-01-06",
    )
    csa = next(r for r in rows if r["code"] == "CSA")
    assert (csa["dose"], csa["administrations_per_day"], csa["daily_dose"]) == ("37.5", "2", "75")
    assert (csa["study_day"], csa["end_study_day"], csa["end_date"]) == ("1", "366", "2015-01-06")
    msc = [r for r in rows if r["code"] == "UCMSC"]
    assert [r["dose"] for r in msc] == ["15000000"] * 3
    assert (msc[0]["earliest_date"], msc[0]["latest_date"]) == ("2014-01-17", "2014-01-21")
    visits = [r for r in rows if r["kind"] == "VISIT"]
    assert [(r["code"], r["earliest_day"], r["latest_day"]) for r in visits] == [
        ("D40", "33", "47"),
        ("D90", "76", "104"),
        ("D180", "150", "210"),
    ]
    assert all(r["subject_id"] == "MSC-01" for r in rows)
    assert [int(r["study_day"]) for r in rows] == sorted(int(r["study_day"]) for r in rows)


def test_write_csv_atomic_and_byte_stable(child15, tmp_path):
    path = tmp_path / "sub" / "MSC-01_schedule.csv"
    write_schedule_csv(child15, path)
    first = path.read_bytes()
    path.write_text("stale", encoding="utf-8")
    write_schedule_csv(child15, path)  # replaces an existing file
    assert path.read_bytes() == first == schedule_csv_text(child15).encode("utf-8")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


# ------------------------------------------------------------------ iCalendar
def _unfold(text: str) -> list[str]:
    """RFC 5545 §3.1 unfolding: CRLF followed by one space continues the line."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def _events(text: str) -> list[dict[str, str]]:
    events, current = [], None
    for line in _unfold(text):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, value = line.split(":", 1)
            current[name] = value
    return events


def test_ical_structure(child15):
    text = schedule_ical_text(child15)
    raw = text.encode("utf-8")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded at 75 octets
    assert any(line.startswith(b" ") for line in raw.split(b"\r\n"))  # folding happened
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(x.startswith("PRODID:") for x in lines)
    events = _events(text)
    assert len(events) == 12  # 5 rATG + 1 CsA start + 3 UC-MSC + 3 visits
    starts = sorted(e["DTSTART;VALUE=DATE"] for e in events)
    assert starts == sorted(
        ["20140106"] * 2
        + ["20140107", "20140108", "20140109", "20140110"]
        + ["20140119", "20140126", "20140202"]
        + ["20140214", "20140405", "20140704"]
    )
    assert all(e["DTSTAMP"] == "20140106T000000Z" for e in events)  # fixed to day 1
    uids = [e["UID"] for e in events]
    assert len(set(uids)) == len(uids)
    visit_d90 = next(e for e in events if "visit-D90" in e["UID"])
    assert visit_d90["DTEND;VALUE=DATE"] == "20140406"  # all-day: DTEND is exclusive
    assert "2014-03-22 to 2014-04-19" in visit_d90["DESCRIPTION"]
    assert "window day 76-104" in visit_d90["DESCRIPTION"]
    csa = next(e for e in events if "dose-CSA" in e["UID"])
    assert csa["SUMMARY"] == "Start CsA 37.5 mg every 12 h"
    assert "\\;" in csa["DESCRIPTION"] and "\\," in csa["DESCRIPTION"]  # TEXT escaping


def test_ical_stable_and_atomic(child15, protocol, tmp_path):
    again = build_schedule(protocol, "MSC", "MSC-1", 15.0, DAY1, subject_id="MSC-01")
    assert schedule_ical_text(again) == schedule_ical_text(child15)
    path = write_ical(child15, tmp_path / "x.ics")
    assert path.read_bytes() == schedule_ical_text(child15).encode("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.ics"]


def test_write_ical_without_day1_writes_nothing(protocol, tmp_path):
    s = build_schedule(protocol, "MSC", "MSC-1", 15.0)
    with pytest.raises(ValueError, match="day 1"):
        write_ical(s, tmp_path / "x.ics")
    assert list(tmp_path.iterdir()) == []


def test_fold_line_never_splits_utf8():
    line = "DESCRIPTION:" + "é" * 100  # 2 octets each
    parts = fold_line(line)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    # 12 + 2 x 31 = 74 (a 32nd "é" would make 76); then " " + 37 x "é" = 75; then
    # " " + the remaining 32 x "é" = 65
    assert [len(p.encode("utf-8")) for p in parts] == [74, 75, 65]
    assert fold_line("short") == ["short"]
    assert [len(p) for p in fold_line("x" * 75)] == [75]
    assert [len(p) for p in fold_line("x" * 76)] == [75, 2]


def test_escape_and_calendar_text():
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    ev = CalendarEvent("u1@x", dt.date(2014, 1, 6), dt.date(2014, 1, 8), "S", "D", "VISIT")
    text = calendar_text([ev], dt.date(2014, 1, 1))
    assert "DTSTART;VALUE=DATE:20140106\r\nDTEND;VALUE=DATE:20140109\r\n" in text
    assert "DTSTAMP:20140101T000000Z" in text
    bad = CalendarEvent("u2@x", dt.date(2014, 1, 6), dt.date(2014, 1, 5), "S")
    with pytest.raises(ValueError, match="before start"):
        calendar_text([bad], dt.date(2014, 1, 1))


def test_non_ascii_subject_label(protocol):
    s = build_schedule(protocol, "CONTROL", "NONE", 12.0, DAY1, subject_id="Zhāng Wěi/02")
    text = schedule_ical_text(s)
    assert all(len(x) <= 75 for x in text.encode("utf-8").split(b"\r\n"))
    events = _events(text)
    assert all(e["DESCRIPTION"].startswith("Zhāng Wěi/02:") for e in events)
    assert all(e["UID"].isascii() and " " not in e["UID"] for e in events)


# ------------------------------------------------------------------ from study tables
def _tables():
    subjects = pd.DataFrame(
        {
            "subject_id": ["S1", "S2"],
            "arm_id": ["MSC", "CONTROL"],
            "dose_level_id": ["MSC-1", "NONE"],
            "weight_kg": [15.0, 30.0],
        }
    )
    exposures = pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1", "S2"],
            "drug": ["CSA", "RATG", "UCMSC", "CSA"],
            "start_date": pd.to_datetime(["2014-01-05", "2014-01-06", "2014-01-19", "2014-02-01"]),
        }
    )
    study = pd.DataFrame({"protocol_id": ["nct02218437"]})
    return {"subjects": subjects, "exposures": exposures, "study": study}


def test_subject_inputs_from_tables():
    got = subject_inputs_from_tables(_tables(), "S1")
    assert (got.arm_id, got.dose_level_id, got.weight_kg) == ("MSC", "MSC-1", 15.0)
    assert got.day1 == DAY1  # D7: first rATG dose, not the earlier CsA record
    assert got.protocol_id == "nct02218437"
    assert subject_inputs_from_tables(_tables(), "S2").day1 is None  # no rATG recorded
    with pytest.raises(ValueError, match=r"subjects\.csv: subject_id: no such subject"):
        subject_inputs_from_tables(_tables(), "S9")


def test_docstring_examples_run():
    import doctest

    import saatrial.protocol.ical as ical
    import saatrial.protocol.model as model
    import saatrial.protocol.schedule as schedule

    for module in (ical, model, schedule):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
