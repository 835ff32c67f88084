"""Tiny valid studies for the eCRF tests (no Django here: scripts import it too)."""

from __future__ import annotations

from typing import Any


def minimal_study_rows(sites: tuple[str, ...] = ("S1",), per_site: int = 1) -> dict[str, list]:
    """Records of a tiny valid study: one arm/dose level, ``per_site`` subjects per site.

    Subject ids are ``<site>-<n>``; dates are fixed so that tests can refer to them.
    """
    records: dict[str, list[dict[str, Any]]] = {
        "study": [
            {
                "study_id": "t1",
                "registry_id": "NCT00000000",
                "title": "test study",
                "protocol_id": "nct02218437",
                "enrolment_start": "2014-01-01",
                "enrolment_end": "2014-12-31",
                "data_cutoff_date": "2016-01-01",
                "dictionary_version": "1.0.0",
            }
        ],
        "sites": [{"site_id": s, "name": f"Site {s}", "country": "CN"} for s in sites],
        "arms": [{"arm_id": "CONTROL", "label": "IST alone"}],
        "dose_levels": [{"arm_id": "CONTROL", "dose_level_id": "NONE", "label": "none"}],
        "subjects": [],
    }
    for s in sites:
        for n in range(1, per_site + 1):
            records["subjects"].append(
                {
                    "subject_id": f"{s}-{n}",
                    "site_id": s,
                    "arm_id": "CONTROL",
                    "dose_level_id": "NONE",
                    "sex": "F",
                    "birth_date": "2008-03-01",
                    "diagnosis_date": "2014-02-01",
                    "weight_kg": 25.0,
                    "consent_date": "2014-02-10",
                    "enrolment_date": "2014-02-12",
                }
            )
    return records
