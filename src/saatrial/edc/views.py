"""Minimal pages of the core: login/logout (Django's views) and the list of visible subjects.

The real eCRF pages are built on top of this core; every one of them selects
subjects through :func:`saatrial.edc.accounts.access.visible_subjects`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.views.generic import ListView

from saatrial.edc.accounts.access import grants_of, visible_subjects
from saatrial.edc.accounts.roles import load_roles
from saatrial.edc.trial.models import Study, Subject

__all__ = ["HomeView"]


class HomeView(LoginRequiredMixin, ListView):
    """The subjects the user may see, with the user's roles."""

    template_name = "edc/home.html"
    context_object_name = "subjects"
    paginate_by = 100

    def get_queryset(self) -> QuerySet[Subject]:
        return visible_subjects(self.request.user).order_by("subject_id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        roles = load_roles()
        context["grants"] = [
            (roles[g.role].label if g.role in roles else g.role, g.site_id or "all sites")
            for g in grants_of(self.request.user)
        ]
        context["study"] = Study.objects.first()
        return context
