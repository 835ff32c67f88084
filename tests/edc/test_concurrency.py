"""Concurrent audited saves from many threads keep ONE unforked audit chain.

Each thread has its own database connection and transaction; the chain head
row lock (SELECT ... FOR UPDATE) must serialise the appends so that no two
entries share a predecessor and the sequence has no gap.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connections

from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.service import audited_save, record_event
from saatrial.edc.audit.verify import verify_chain
from saatrial.edc.load import load_study
from saatrial.edc.trial.models import Lab, Subject

from .conftest import ALIASES

THREADS = 8
SAVES = 6  # per thread: create a lab, then update it (reason required) ...


@pytest.mark.django_db(transaction=True, databases=ALIASES)
def test_threads_saving_at_once_keep_the_chain_intact(postgres_alias, small_study):
    alias = postgres_alias
    load_study(small_study, Actor(None, "cli:test"), using=alias)
    before = AuditEntry.objects.using(alias).count()
    subjects = list(Subject.objects.using(alias).values_list("subject_id", flat=True))
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        actor = Actor(None, f"worker{n}")
        try:
            barrier.wait(timeout=30)
            subject = Subject.objects.using(alias).get(subject_id=subjects[n % len(subjects)])
            for i in range(SAVES):
                day = dt.date(2014, 3, 1) + dt.timedelta(days=n * SAVES + i)
                lab = Lab(subject=subject, lab_date=day, test="PLT", value=20.0, unit="10^9/L")
                audited_save(lab, actor, using=alias)  # 5 fields -> 5 entries
                lab.value = 21.0
                audited_save(lab, actor, reason="corrected", using=alias)  # 1 entry
                record_event(actor, "export", using=alias)  # 1 entry
        except BaseException as err:  # reported below
            errors.append(err)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    rows = list(
        AuditEntry.objects.using(alias).order_by("seq").values_list("seq", "prev_hash", "hash")
    )
    assert len(rows) == before + THREADS * SAVES * (5 + 1 + 1)
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
    prevs = [p for _, p, _ in rows]
    assert len(set(prevs)) == len(prevs), "two entries chained to the same predecessor"
    result = verify_chain(alias)
    assert result.intact, result.message()
    assert Lab.objects.using(alias).count() == THREADS * SAVES
    workers = set(
        AuditEntry.objects.using(alias)
        .filter(username__startswith="worker")
        .values_list("username", flat=True)
    )
    assert len(workers) == THREADS


def test_threads_saving_at_once_on_a_sqlite_file(tmp_path):
    """SQLite (a real file, as `saatrial serve` uses it): BEGIN IMMEDIATE queues the writers.

    Runs in a fresh interpreter because the test database of this process is in memory.
    """
    here = Path(__file__).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAATRIAL_", "DATABASE_URL"))}
    env.update({"SAATRIAL_DATA": str(tmp_path), "SAATRIAL_DEV": "1"})
    run = subprocess.run(
        [sys.executable, str(here / "scripts" / "sqlite_threads.py"), "8", "6", str(here)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["entries"] == result["expected"] == 8 * 6 * 6
    assert result["intact"], result["message"]
