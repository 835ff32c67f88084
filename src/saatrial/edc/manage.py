"""``manage.py`` of the eCRF: ``saatrial-edc <command>`` or ``python -m saatrial.edc.manage``.

Runs any Django management command (``migrate``, ``makemigrations``,
``createsuperuser``, ``shell`` ...) with ``saatrial.edc.settings``.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command (``argv`` default: ``sys.argv``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saatrial.edc.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv if argv is not None else sys.argv)


if __name__ == "__main__":
    main()
