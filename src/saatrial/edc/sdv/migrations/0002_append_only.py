"""Make source-verification marks append-only (database triggers; see audit.triggers)."""

from django.db import migrations

from saatrial.edc.audit.triggers import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("sdv", "0001_initial"),
        ("audit", "0004_source_verified_action"),
    ]

    operations = [AppendOnly(models=["sdv.SourceVerification"])]
