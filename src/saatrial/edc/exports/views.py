"""Export page and analysis runs (``can_export``: the statistician).

The export page offers the whole study or one visible site as a StudyData
CSV folder (zip) or an XLSX workbook. The analysis page runs
:func:`~saatrial.edc.exports.service.run_analysis` and lists the runs; a
run's report is served only through the authenticated views below.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django import forms
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from saatrial.edc.accounts.access import visible_sites
from saatrial.edc.crf.access import PermissionMixin
from saatrial.edc.exports.service import (
    EXPORT_FORMATS,
    ReportUnavailableError,
    export_file,
    list_runs,
    report_path,
    run_analysis,
)

__all__ = ["AnalysisView", "ExportView", "ReportFileView"]

ALL_SITES = "__all__"


class ExportForm(forms.Form):
    """What to export and in which format."""

    scope = forms.ChoiceField(label="Scope")
    format = forms.ChoiceField(label="Format", choices=list(EXPORT_FORMATS.items()))

    def __init__(self, *args: Any, sites: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(ALL_SITES, "whole study (all sites you may see)")] + [
            (s, f"site {s}") for s in sites
        ]


class ExportView(PermissionMixin, TemplateView):
    """GET: the export form; POST: the file (audited export)."""

    permission = "can_export"
    template_name = "exports/export.html"

    def _form(self, data: Any = None) -> ExportForm:
        sites = list(visible_sites(self.request.user).values_list("site_id", flat=True))
        return ExportForm(data, sites=sites)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=self._form()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self._form(request.POST)
        if form.is_valid():
            scope = form.cleaned_data["scope"]
            site = None if scope == ALL_SITES else scope
            export = export_file(request.user, site, form.cleaned_data["format"])
            response = HttpResponse(export.data, content_type=export.content_type)
            response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
            return response
        return self.render_to_response(self.get_context_data(form=form))


class AnalysisForm(forms.Form):
    """Confirm an analysis run."""

    confirm = forms.BooleanField(
        required=True, label="Export the study as it is now and run the analysis"
    )


class AnalysisView(PermissionMixin, TemplateView):
    """GET: the runs and a form; POST: run the analysis and open its report."""

    permission = "can_export"
    template_name = "exports/analysis.html"

    def _render(self, form: AnalysisForm, problem: str = "") -> HttpResponse:
        return self.render_to_response(
            self.get_context_data(form=form, runs=list_runs(), problem=problem)
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._render(AnalysisForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = AnalysisForm(request.POST)
        if not form.is_valid():
            return self._render(form)
        try:
            run = run_analysis(request.user)
        except ReportUnavailableError as err:
            return self._render(form, str(err))
        except (ValueError, RuntimeError) as err:
            return self._render(form, f"the analysis failed: {err}")
        messages.success(request, f"analysis run {run.run_id} written.")
        return HttpResponseRedirect(reverse("exports:report", args=[run.run_id]))


class ReportFileView(PermissionMixin, View):
    """A file of an analysis run (``index.html`` by default), for authenticated statisticians."""

    permission = "can_export"

    def get(self, request: HttpRequest, run_id: str, name: str = "index.html") -> FileResponse:
        try:
            path = report_path(run_id, name)
        except FileNotFoundError as err:
            raise Http404(str(err)) from None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        return response
