"""View mixins: login, the subject looked up among the visible ones, the permission at its site.

Rules (see ``saatrial/edc/README.md``):

- anonymous users are sent to the login page;
- a subject (or a query, a row) outside :func:`visible_subjects` is 404, so
  that pages do not reveal which subjects exist at other sites;
- an action the user's roles do not grant at the subject's site is 403
  (:func:`require_permission`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404

from saatrial.edc.accounts.access import check_permission, require_permission, visible_subjects
from saatrial.edc.trial.models import Subject

__all__ = ["PermissionMixin", "SubjectMixin"]


class PermissionMixin(LoginRequiredMixin):
    """Login required; ``permission`` (if set) checked for ``permission_site()``."""

    permission: ClassVar[str | None] = None

    def permission_site(self) -> str | None:
        """The site the permission is checked at (None = any site)."""
        return None

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        """Look up what the view is about (404 here) before the permission check."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.before_permission(request, **kwargs)
        if self.permission:
            require_permission(request.user, self.permission, self.permission_site())
        return super().dispatch(request, *args, **kwargs)

    def can(self, permission: str, site_id: str | None = None) -> bool:
        """Whether the user holds ``permission`` at ``site_id`` (for showing links)."""
        return check_permission(self.request.user, permission, site_id).allowed


class SubjectMixin(PermissionMixin):
    """The view's subject (URL ``subject_id``) among the visible ones, else 404."""

    subject: Subject

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        self.subject = get_object_or_404(
            visible_subjects(request.user).select_related("site", "arm"),
            subject_id=kwargs["subject_id"],
        )

    def permission_site(self) -> str | None:
        return self.subject.site_id
