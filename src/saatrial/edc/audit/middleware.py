"""Request middleware: changes made while serving a request are attributed to its user."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from saatrial.edc.audit.context import acting_as, actor_of

__all__ = ["AuditActorMiddleware"]


class AuditActorMiddleware:
    """Set the audit actor (:func:`~saatrial.edc.audit.context.acting_as`) per request.

    Must come after ``AuthenticationMiddleware``. Anonymous requests keep the
    system actor; login/logout signal handlers name their user explicitly.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            with acting_as(actor_of(user)):
                return self.get_response(request)
        return self.get_response(request)
