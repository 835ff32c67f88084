"""``saatrial serve``: migrate, then run the eCRF on 127.0.0.1.

With ``SAATRIAL_DEV=1`` Django's development server runs (debug pages, no
auto-reload); otherwise gunicorn (threaded workers) serves
``saatrial.edc.wsgi:application``. ``SAATRIAL_WORKERS`` (default 2) and
``SAATRIAL_THREADS`` (default 8) size it.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["gunicorn_options", "serve"]


def gunicorn_options(host: str, port: int) -> dict[str, Any]:
    """gunicorn settings for the production server.

    Examples
    --------
    >>> gunicorn_options("127.0.0.1", 8000)["bind"]
    ['127.0.0.1:8000']
    """
    return {
        "bind": [f"{host}:{port}"],
        "workers": int(os.environ.get("SAATRIAL_WORKERS", "2")),
        "threads": int(os.environ.get("SAATRIAL_THREADS", "8")),
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "saatrial-edc",
    }


def serve(port: int = 8000, host: str = "127.0.0.1") -> None:
    """Apply migrations and serve until interrupted.

    Parameters
    ----------
    port : int
        TCP port on ``host``.
    host : str
        Interface; loopback by default (put a TLS-terminating proxy in front
        to serve other machines).
    """
    from django.conf import settings
    from django.db import connections

    from saatrial.edc.bootstrap import setup_django

    setup_django(migrate=True, verbosity=1)
    connections.close_all()  # never share a database connection with forked workers
    if settings.DEV:
        from django.core.management import call_command

        call_command("runserver", f"{host}:{port}", use_reloader=False)
        return
    from gunicorn.app.base import BaseApplication

    from saatrial.edc.wsgi import application

    class _Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(host, port).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    _Server().run()
