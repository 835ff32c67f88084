"""Lock and unlock a subject's casebook or the whole study (data manager, ``can_lock``).

A lock is the ``locked`` flag of the subject or study row, changed with
``audited_save`` and a reason; while it is set the models refuse every
other change (``TrialModel.write_refusal``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from saatrial.edc.audit.service import RecordLockedError, audited_save
from saatrial.edc.crf.access import PermissionMixin, SubjectMixin
from saatrial.edc.crf.forms import ReasonForm
from saatrial.edc.trial.models import Study, TrialModel

__all__ = ["StudyLockView", "SubjectLockView"]


class _LockView(TemplateView):
    """GET: the lock state and a reason form; POST: toggle the lock (audited)."""

    template_name = "crf/lock.html"
    target: TrialModel
    what: str

    def done_url(self) -> str:
        raise NotImplementedError

    def _render(self, form: ReasonForm) -> HttpResponse:
        return self.render_to_response(
            self.get_context_data(
                form=form,
                target=self.target,
                what=self.what,
                locked=self.target.locked,
                back=self.done_url(),
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._render(ReasonForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ReasonForm(request.POST)
        if form.is_valid():
            wanted = not self.target.locked
            self.target.locked = wanted
            try:
                audited_save(self.target, request.user, form.cleaned_data["reason"])
            except RecordLockedError as err:  # pragma: no cover - a lock flag change is allowed
                form.add_error(None, str(err))
            else:
                state = "locked" if wanted else "unlocked"
                messages.success(request, f"{self.what} {state} (audited).")
                return HttpResponseRedirect(self.done_url())
        return self._render(form)


class SubjectLockView(SubjectMixin, _LockView):
    """Lock/unlock one subject's casebook."""

    permission = "can_lock"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        self.target = self.subject
        self.what = f"subject {self.subject.subject_id}"

    def done_url(self) -> str:
        return reverse("crf:subject", args=[self.subject.subject_id])


class StudyLockView(PermissionMixin, _LockView):
    """Lock/unlock the whole study."""

    permission = "can_lock"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        study = Study.objects.first()
        if study is None:
            raise Http404("no study loaded")
        self.target = study
        self.what = f"study {study.study_id}"

    def done_url(self) -> str:
        return reverse("crf:study")
