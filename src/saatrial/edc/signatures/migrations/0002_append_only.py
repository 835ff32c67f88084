"""Make signatures append-only (database triggers; see audit.triggers): never changed or deleted."""

from django.db import migrations

from saatrial.edc.audit.triggers import AppendOnly


class Migration(migrations.Migration):
    dependencies = [
        ("signatures", "0001_initial"),
        ("audit", "0003_edc_actions"),
    ]

    operations = [AppendOnly(models=["signatures.Signature"])]
