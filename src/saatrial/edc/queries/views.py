"""Pages of data queries: list, detail with history, raise, answer / re-open / close.

Queries are shown only for visible subjects (404 otherwise). Raising needs
``can_raise_query``; each action needs the permission the workflow table
gives it (answer: the site; re-open: monitor or data manager; close: data
manager only), checked at the subject's site (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import ListView, TemplateView

from saatrial.edc.accounts.access import check_permission, require_permission, visible_subjects
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.crf.access import PermissionMixin, SubjectMixin
from saatrial.edc.crf.casebook import subject_table_names
from saatrial.edc.queries.models import DataQuery
from saatrial.edc.queries.service import (
    AUDIT_TABLE,
    QueryRefusedError,
    raise_query,
    transition_query,
)
from saatrial.edc.queries.workflow import Transition, load_workflow, plan_transition
from saatrial.edc.trial.models import model_for_table
from saatrial.study.dictionary import load_dictionary

__all__ = ["QueryActionView", "QueryDetailView", "QueryListView", "RaiseQueryView"]


def visible_queries(user: Any) -> Any:
    """Queries of the subjects ``user`` may see."""
    return DataQuery.objects.filter(subject__in=visible_subjects(user))


class QueryListView(PermissionMixin, ListView):
    """Queries of the visible subjects, filtered by status (``?status=open|answered|closed``)."""

    template_name = "queries/list.html"
    context_object_name = "queries"
    paginate_by = 100

    def get_queryset(self) -> Any:
        qs = (
            visible_queries(self.request.user)
            .select_related("subject")
            .order_by("-raised_at", "-id")
        )
        status = self.request.GET.get("status", "")
        spec = load_workflow().statuses.get(status)
        if spec is not None:
            qs = qs.filter(dm_status=spec["dm_status"])
            if "site_status" in spec:
                qs = qs.filter(site_status=spec["site_status"])
        subject = self.request.GET.get("subject", "").strip()
        if subject:
            qs = qs.filter(subject_id=subject)
        return qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            status=self.request.GET.get("status", ""),
            statuses=list(load_workflow().statuses),
            subject_filter=self.request.GET.get("subject", ""),
        )
        return context


class _QueryMixin(PermissionMixin):
    """The URL's query among the visible ones, else 404."""

    query: DataQuery

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        self.query = get_object_or_404(
            visible_queries(request.user).select_related("subject"), pk=kwargs["pk"]
        )

    def permission_site(self) -> str | None:
        return self.query.subject.site_id


class QueryDetailView(_QueryMixin, TemplateView):
    """A query with its history (every stored version) and its audit entries."""

    template_name = "queries/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        q = self.query
        site = q.subject.site_id
        workflow = load_workflow()
        actions = []
        for name, t in workflow.transitions.items():
            plan = plan_transition(q.site_status, q.dm_status, name, workflow)
            if plan.allowed and check_permission(self.request.user, t.permission, site).allowed:
                actions.append({"name": name, "label": t.label})
        context.update(
            query=q,
            history=q.history.all().order_by("history_date", "history_id"),
            audit=AuditEntry.objects.filter(table_name=AUDIT_TABLE, record_pk=str(q.pk)).order_by(
                "seq"
            ),
            actions=actions,
            cause=q.audit_entry,
        )
        return context


class QueryTextForm(forms.Form):
    """The text of a query action (answer, reason to re-open, closing note)."""

    text = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


class QueryActionView(_QueryMixin, TemplateView):
    """Answer, re-open or close a query (``/queries/<pk>/<action>/``)."""

    template_name = "queries/action.html"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        transition = load_workflow().transitions.get(kwargs["action"])
        if transition is None:
            raise Http404(f"no query action {kwargs['action']!r}")
        self.transition: Transition = transition
        require_permission(request.user, self.transition.permission, self.query.subject.site_id)

    def _render(self, form: QueryTextForm) -> HttpResponse:
        q = self.query
        plan = plan_transition(q.site_status, q.dm_status, self.transition.name)
        return self.render_to_response(
            self.get_context_data(query=q, transition=self.transition, plan=plan, form=form)
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._render(QueryTextForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = QueryTextForm(request.POST)
        if form.is_valid():
            try:
                transition_query(
                    request.user, self.query, self.transition.name, form.cleaned_data["text"]
                )
            except QueryRefusedError as err:
                form.add_error("text", str(err))
            else:
                done = {"answer": "answered", "reopen": "re-opened", "close": "closed"}
                what = done.get(self.transition.name, f"{self.transition.label.lower()} done")
                messages.success(request, f"query #{self.query.pk} {what}.")
                return HttpResponseRedirect(reverse("queries:detail", args=[self.query.pk]))
        return self._render(form)


class RaiseQueryForm(forms.Form):
    """Raise a query: the field it is about and the question."""

    field = forms.ChoiceField(required=False)
    text = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args: Any, fields: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "(the whole record)")] + [(f, f) for f in fields]


class RaiseQueryView(SubjectMixin, TemplateView):
    """Raise a query on a record of the subject (``can_raise_query``)."""

    permission = "can_raise_query"
    template_name = "queries/raise.html"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        table = kwargs["table"]
        if table not in subject_table_names():
            raise Http404(f"no subject table {table!r}")
        self.table = table
        self.record = (
            model_for_table(table)
            .objects.filter(pk=kwargs["pk"], subject_id=self.subject.subject_id)
            .first()
        )
        if self.record is None:
            raise Http404(f"no {table} row {kwargs['pk']} for subject {self.subject.subject_id}")
        self.field_names = [
            f for f in load_dictionary().table(table).field_names if f != "subject_id"
        ]

    def _render(self, form: RaiseQueryForm) -> HttpResponse:
        return self.render_to_response(
            self.get_context_data(
                form=form, subject=self.subject, table=self.table, record=self.record
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        initial = {"field": request.GET.get("field", "")}
        return self._render(RaiseQueryForm(fields=self.field_names, initial=initial))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = RaiseQueryForm(request.POST, fields=self.field_names)
        if form.is_valid():
            try:
                query = raise_query(
                    request.user,
                    self.subject,
                    self.table,
                    self.record.pk,
                    form.cleaned_data["field"],
                    form.cleaned_data["text"],
                )
            except QueryRefusedError as err:
                form.add_error(None, str(err))
            except PermissionDenied:  # pragma: no cover - checked in dispatch already
                raise
            else:
                messages.success(request, f"query #{query.pk} raised on {query.target}.")
                return HttpResponseRedirect(reverse("queries:detail", args=[query.pk]))
        return self._render(form)
