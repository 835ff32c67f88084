"""Make the history of data queries append-only (database triggers; see audit.triggers)."""

from django.db import migrations

from saatrial.edc.audit.triggers import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("queries", "0001_initial"),
        ("audit", "0003_edc_actions"),
    ]

    operations = [AppendOnly(models=["queries.HistoricalDataQuery"])]
