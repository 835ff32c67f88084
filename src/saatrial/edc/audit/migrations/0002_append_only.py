"""Make the audit trail and the clinical history tables append-only with database triggers.

SQLite: BEFORE UPDATE / BEFORE DELETE triggers raising ABORT. PostgreSQL: a
PL/pgSQL function raising integrity_constraint_violation, called by row
triggers (UPDATE, DELETE) and a statement trigger (TRUNCATE). See
saatrial.edc.audit.triggers. Tables added later (e.g. history tables of new
apps) are protected by an AppendOnly operation in their own migration.
"""

from django.db import migrations

from saatrial.edc.audit.triggers import AppendOnly

HISTORY_MODELS = [
    "trial.HistoricalStudy",
    "trial.HistoricalSite",
    "trial.HistoricalArm",
    "trial.HistoricalDoseLevel",
    "trial.HistoricalSubject",
    "trial.HistoricalScreening",
    "trial.HistoricalMarrowExam",
    "trial.HistoricalLab",
    "trial.HistoricalTransfusion",
    "trial.HistoricalExposure",
    "trial.HistoricalTcellSubset",
    "trial.HistoricalAdverseEvent",
    "trial.HistoricalResponseAssessment",
    "trial.HistoricalOutcomeEvent",
    "trial.HistoricalProvenance",
]


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("trial", "0001_initial"),
    ]

    operations = [AppendOnly(models=["audit.AuditEntry", *HISTORY_MODELS])]
