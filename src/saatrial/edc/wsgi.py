"""WSGI entry point (``saatrial.edc.wsgi:application``) for production servers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saatrial.edc.settings")
application = get_wsgi_application()
