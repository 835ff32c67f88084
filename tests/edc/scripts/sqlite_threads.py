"""Concurrent audited saves on a SQLite file (run by test_concurrency.py in a fresh interpreter).

Usage: python sqlite_threads.py THREADS SAVES   (SAATRIAL_DATA names an empty data directory)
Prints one JSON line: entries, expected, intact, errors.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading

from saatrial.edc.bootstrap import setup_django

setup_django(migrate=True)

from django.db import connections  # noqa: E402

from saatrial.edc.audit.context import Actor  # noqa: E402
from saatrial.edc.audit.models import AuditEntry  # noqa: E402
from saatrial.edc.audit.service import audited_save  # noqa: E402
from saatrial.edc.audit.verify import verify_chain  # noqa: E402
from saatrial.edc.load import load_study  # noqa: E402
from saatrial.edc.trial.models import Lab, Subject  # noqa: E402
from saatrial.study import StudyData  # noqa: E402

THREADS, SAVES = int(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from studies import minimal_study_rows  # noqa: E402

load_study(StudyData.from_records(minimal_study_rows(("S1",), 1)), Actor(None, "cli:test"))
before = AuditEntry.objects.count()
errors: list[str] = []
barrier = threading.Barrier(THREADS)


def work(n: int) -> None:
    try:
        barrier.wait(timeout=30)
        subject = Subject.objects.get(subject_id="S1-1")
        for i in range(SAVES):
            day = dt.date(2014, 3, 1) + dt.timedelta(days=n * SAVES + i)
            lab = Lab(subject=subject, lab_date=day, test="PLT", value=20.0, unit="10^9/L")
            audited_save(lab, Actor(None, f"worker{n}"))
            lab.value = 21.0
            audited_save(lab, Actor(None, f"worker{n}"), reason="corrected")
    except Exception as err:
        errors.append(repr(err))
    finally:
        connections.close_all()


threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=120)
result = verify_chain()
print(
    json.dumps(
        {
            "entries": AuditEntry.objects.count() - before,
            "expected": THREADS * SAVES * 6,
            "intact": result.intact,
            "message": result.message(),
            "errors": errors,
        }
    )
)
