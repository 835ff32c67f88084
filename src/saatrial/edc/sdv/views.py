"""The source-verification page of one record (``can_verify_source``: the monitor of the site)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from saatrial.edc.crf.access import SubjectMixin
from saatrial.edc.crf.casebook import subject_table_names
from saatrial.edc.sdv.service import (
    SdvRefusedError,
    marks_of,
    record_sha256,
    record_values,
    sdv_status,
    verify_record,
)
from saatrial.edc.trial.models import TrialModel, model_for_table
from saatrial.study.dictionary import load_dictionary
from saatrial.study.values import format_value

__all__ = ["VerifyForm", "VerifyRecordView"]


class VerifyForm(forms.Form):
    """The monitor's statement, the hash of the values shown and an optional note."""

    compared = forms.BooleanField(
        required=True,
        label="I have compared every value above with the source documents",
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Note (optional)",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )
    content_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


class VerifyRecordView(SubjectMixin, TemplateView):
    """GET: the record's values, its SDV state and history; POST: mark it verified."""

    permission = "can_verify_source"
    template_name = "sdv/verify.html"
    table: str
    record: TrialModel

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        table = kwargs["table"]
        if table not in subject_table_names():
            raise Http404(f"no subject table {table!r}")
        self.table = table
        record = (
            model_for_table(table)
            .objects.filter(pk=kwargs["pk"], subject_id=self.subject.subject_id)
            .first()
        )
        if record is None:
            raise Http404(f"no {table} row {kwargs['pk']} for subject {self.subject.subject_id}")
        self.record = record

    def _digest(self) -> str:
        return record_sha256(
            self.subject.subject_id, self.table, record_values(self.table, self.record)
        )

    def _render(self, form: VerifyForm, problem: str = "") -> HttpResponse:
        spec = load_dictionary().table(self.table)
        cells = [
            (name, format_value(spec.fields[name].type, getattr(self.record, name)))
            for name in spec.field_names
        ]
        return self.render_to_response(
            self.get_context_data(
                form=form,
                subject=self.subject,
                table=self.table,
                record=self.record,
                cells=cells,
                status=sdv_status(self.subject, self.table, self.record.pk),
                marks=marks_of(self.subject.subject_id, self.table, self.record.pk),
                problem=problem,
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._render(VerifyForm(initial={"content_sha256": self._digest()}))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = VerifyForm(request.POST)
        if form.is_valid():
            try:
                mark = verify_record(
                    request.user,
                    self.subject,
                    self.table,
                    self.record.pk,
                    form.cleaned_data["content_sha256"],
                    form.cleaned_data["note"],
                )
            except SdvRefusedError as err:
                # show the values as they are now, with a form for them
                self.record.refresh_from_db()
                fresh = VerifyForm(initial={"content_sha256": self._digest()})
                return self._render(fresh, str(err))
            else:
                messages.success(
                    request, f"{self.table} {mark.record_key} marked source-verified (audited)."
                )
                url = reverse("crf:subject", args=[self.subject.subject_id])
                return HttpResponseRedirect(f"{url}#section-{self.table}")
        return self._render(form)
