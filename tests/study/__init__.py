"""Shared test data for the study layer: a small valid study written by hand.

Three subjects (S01 MSC 20 kg, S02 CONTROL 15 kg, S03 MSC 30 kg who died on
2014-08-10), every table with a few rows, each table listed in key order so
that the CSV line of each row is known: line = index in the list + 2.

Doses follow NCT02218437 (rATG 3 mg/kg/day, CsA 2.5 mg/kg every 12 h, UC-MSC
1e6 cells/kg), worked by hand: S01 20 kg -> rATG 60 mg, CsA 50 mg, UC-MSC
20000000 cells; S02 15 kg -> 45 mg, 37.5 mg; S03 30 kg -> 90 mg, 75 mg,
30000000 cells.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any


def _rows(header: str, *rows: str) -> list[dict[str, str]]:
    names = header.split("|")
    out = []
    for row in rows:
        cells = row.split("|")
        assert len(cells) == len(names), (header, row)
        out.append(dict(zip(names, cells, strict=True)))
    return out


VALID: dict[str, list[dict[str, str]]] = {
    "study": _rows(
        "study_id|registry_id|title|protocol_id|enrolment_start|enrolment_end|data_cutoff_date"
        "|dictionary_version",
        "demo|NCT02218437|UC-MSC + IST in paediatric SAA (test)|nct02218437|2013-10-01|2014-10-31"
        "|2018-04-13|1.0.0",
    ),
    "sites": _rows(
        "site_id|name|country",
        'BJ|Hospital "North", Beijing|CN',
        "TJ|Institute of Hematology|CN",
    ),
    "arms": _rows(
        "arm_id|label|description",
        "CONTROL|IST alone|",
        "MSC|UC-MSC + IST|rATG + CsA + UC-MSC",
    ),
    "dose_levels": _rows(
        "arm_id|dose_level_id|label|msc_dose_1e6_cells_per_kg",
        "CONTROL|NONE|no UC-MSC|",
        "MSC|MSC-1|UC-MSC 1 x 10^6 cells/kg weekly x 3|1",
    ),
    "subjects": _rows(
        "subject_id|site_id|arm_id|dose_level_id|sex|birth_date|diagnosis_date|weight_kg|height_cm"
        "|consent_date|enrolment_date",
        "S01|TJ|MSC|MSC-1|F|2009-05-10|2014-01-02|20|110|2014-01-20|2014-01-21",
        "S02|TJ|CONTROL|NONE|M|2006-02-01|2014-02-10|15||2014-02-18|2014-02-19",
        "S03|BJ|MSC|MSC-1|M|2004-07-15|2014-03-01|30|135.5|2014-03-10|2014-03-11",
    ),
    "screening": _rows(
        "subject_id|screening_date|mitomycin_c_test|comet_assay|ngs_ibmfs|pnh_clone_pct"
        "|hla_matched_sibling|ecog|lansky",
        "S01|2014-01-15|NEG|NEG|NEG|0.5|N||80",
        "S02|2014-02-17|NEG|ND|NEG||N||70",
        "S03|2014-03-09|NEG|NEG|NEG|0|N||90",
    ),
    "marrow_exams": _rows(
        "subject_id|exam_date|cellularity_pct|residual_hematopoietic_pct|cytogenetics|karyotype",
        "S01|2014-01-10|15|20|NORMAL|",
        "S01|2014-03-03|20||NORMAL|",
        "S02|2014-02-12|10|25|NORMAL|",
        "S03|2014-03-05|5||FAILED|",
    ),
    "labs": _rows(
        "subject_id|lab_date|test|value|unit|lln|uln|pre_transfusion",
        "S01|2014-01-21|ANC|0.07|10^9/L|1.5|7|",  # line 2
        "S01|2014-01-21|ARC|5.4|10^9/L|20|100|",  # line 3
        "S01|2014-01-21|HGB|76|g/L|110|145|",  # line 4
        "S01|2014-01-21|PLT|10|10^9/L|100|450|Y",  # line 5
        "S01|2014-03-02|ANC|0.6|10^9/L|1.5|7|",  # line 6
        "S01|2014-03-02|PLT|25|10^9/L|100|450|Y",  # line 7
        "S02|2014-02-21|ANC|0.13|10^9/L|1.5|7|",  # line 8
        "S02|2014-02-21|PLT|12|10^9/L|100|450|N",  # line 9
        "S03|2014-03-11|ANC|0.2|10^9/L|1.5|7|",  # line 10
        "S03|2014-03-11|HGB|90|g/L|120|160|",  # line 11
        "S03|2014-06-09|ANC|0.3|10^9/L|1.5|7|",  # line 12
    ),
    "transfusions": _rows(
        "subject_id|transfusion_date|product|volume_ml",
        "S01|2014-01-25|PLT|200",
        "S02|2014-02-20|RBC|150",
    ),
    "exposures": _rows(
        "subject_id|drug|start_date|end_date|dose|dose_unit|frequency|weight_kg",
        "S01|CSA|2014-01-22|2014-07-21|50|mg|Q12H|20",  # line 2
        "S01|RATG|2014-01-22|2014-01-26|60|mg|QD|20",  # line 3
        "S01|UCMSC|2014-02-04|2014-02-04|20000000|cells|ONCE|20",  # line 4
        "S01|UCMSC|2014-02-11|2014-02-11|20000000|cells|ONCE|20",  # line 5
        "S01|UCMSC|2014-02-18|2014-02-18|20000000|cells|ONCE|20",  # line 6
        "S02|CSA|2014-02-24|2014-08-23|37.5|mg|Q12H|15",  # line 7
        "S02|RATG|2014-02-24|2014-02-28|45|mg|QD|15",  # line 8
        "S03|CSA|2014-03-12|2014-08-09|75|mg|Q12H|30",  # line 9
        "S03|RATG|2014-03-12|2014-03-16|90|mg|QD|30",  # line 10
        "S03|UCMSC|2014-03-25|2014-03-25|30000000|cells|ONCE|30",  # line 11
        "S03|UCMSC|2014-04-01|2014-04-01|30000000|cells|ONCE|30",  # line 12
    ),
    "tcell_subsets": _rows(
        "subject_id|sample_date|cd3cd4_pct|cd3cd8_pct|treg_pct_of_cd4|cd4_per_ul|treg_per_ul|method",
        "S01|2014-01-21|30.5|25|5.2|450|23.4|MANUAL",
        "S01|2014-03-02|20|35.25|3.1|||MANUAL",
        "S02|2014-02-21|28|30|4.8|||",
    ),
    "adverse_events": _rows(
        "subject_id|ae_id|verbatim_term|ctcae_term|ctcae_version|grade|start_date|end_date|serious"
        "|attribution_ratg|attribution_csa|attribution_ucmsc|outcome",
        "S01|AE01|anaphylactic reaction|Allergic reaction|4.03|2|2014-01-22|2014-01-22|N|PROBABLE"
        "|UNRELATED|UNRELATED|RECOVERED",
        "S01|AE02|fever, chills|Fever|4.03|1|2014-01-23|2014-01-24|N|POSSIBLE|UNRELATED|UNRELATED"
        "|RECOVERED",
        'S03|AE01|severe "pneumonia"|Lung infection|4.03|5|2014-07-20|2014-08-10|Y|UNLIKELY'
        "|UNLIKELY|UNRELATED|FATAL",
    ),
    "response_assessments": _rows(
        "subject_id|visit|assessment_date|response|criteria_set",
        "S01|D40|2014-03-02|NR|cn-peds-2014",
        "S01|D90|2014-04-21|PR|cn-peds-2014",
        "S02|D90|2014-05-24|NR|cn-peds-2014",
        "S03|D90|2014-06-09|NR|cn-peds-2014",
    ),
    "outcome_events": _rows(
        "subject_id|event_type|event_date|donor_type|stem_cell_source|death_cause|gvhd_organ"
        "|gvhd_grade|details",
        "S01|LAST_CONTACT|2018-04-13||||||",  # line 2
        "S02|AGVHD|2014-10-01||||SKIN|2|",  # line 3
        "S02|HSCT|2014-09-01|HAPLO|BM_PBSC||||salvage after NR at day 90",  # line 4
        "S02|LAST_CONTACT|2018-04-10||||||",  # line 5
        "S03|DEATH|2014-08-10|||serious infection|||",  # line 6
    ),
    "provenance": _rows(
        "table_name|field_name|subject_id|status|source",
        "labs|value|S01|PUBLISHED|Results, patient characteristics",
        "subjects|*||IMPUTED|test fixture",
    ),
}


def valid_records() -> dict[str, list[dict[str, str]]]:
    """A fresh deep copy of :data:`VALID`."""
    return copy.deepcopy(VALID)


def valid_study() -> Any:
    """:data:`VALID` as a StudyData."""
    from saatrial.study import StudyData

    return StudyData.from_records(valid_records())


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_csv_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def edit_csv(folder: Path, table: str, line: int, **changes: str) -> None:
    """Set fields of the row on CSV ``line`` (header = line 1) of ``<table>.csv``."""
    path = folder / f"{table}.csv"
    header, rows = read_csv_rows(path)
    row = rows[line - 2]
    for name, value in changes.items():
        row[header.index(name)] = value
    write_csv_rows(path, header, rows)


def append_csv(folder: Path, table: str, **values: str) -> int:
    """Append a row to ``<table>.csv``; returns its line number."""
    path = folder / f"{table}.csv"
    header, rows = read_csv_rows(path)
    rows.append([values.get(name, "") for name in header])
    write_csv_rows(path, header, rows)
    return len(rows) + 1


def delete_csv_line(folder: Path, table: str, line: int) -> None:
    """Delete the row on CSV ``line`` of ``<table>.csv``."""
    path = folder / f"{table}.csv"
    header, rows = read_csv_rows(path)
    del rows[line - 2]
    write_csv_rows(path, header, rows)


def tree_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with (size, mtime_ns): to prove nothing was written."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.stat()
        out[str(p.relative_to(root))] = (st.st_size if p.is_file() else -1, st.st_mtime_ns)
    return out
