"""Subject pages: casebook with visit calendar, the forms of every table, screening, audit trail.

Every page selects subjects through ``visible_subjects`` (404 otherwise) and
checks the action's permission at the subject's site (403). Every write goes
through ``audited_save``/``audited_delete``; a confirmed warning opens a data
query linked to the audit entry of the change, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from saatrial.edc.accounts.access import check_permission, visible_sites, visible_subjects
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.service import (
    ChangeRecord,
    ReasonRequiredError,
    RecordLockedError,
    audited_delete,
    audited_save,
)
from saatrial.edc.crf.access import PermissionMixin, SubjectMixin
from saatrial.edc.crf.casebook import STUDY_LEVEL_TABLES, subject_study
from saatrial.edc.crf.forms import CONFIRM_FIELD, REASON_FIELD, CrfForm, DeleteForm, crf_form_class
from saatrial.edc.crf.plausibility import FieldWarning, protocol_dose
from saatrial.edc.crf.screening import assess_screening
from saatrial.edc.crf.summary import subject_summary
from saatrial.edc.crf.visits import visit_states
from saatrial.edc.queries.models import DataQuery
from saatrial.edc.queries.service import raise_query
from saatrial.edc.sdv.service import record_values, sdv_states
from saatrial.edc.trial.models import Site, Study, Subject, TrialModel, model_for_table
from saatrial.protocol.model import Protocol, load_protocol
from saatrial.protocol.schedule import build_schedule
from saatrial.study.dictionary import load_dictionary
from saatrial.study.values import format_value

__all__ = [
    "RowCreateView",
    "RowDeleteView",
    "RowEditView",
    "ScreeningView",
    "SearchView",
    "StudyTablesView",
    "SubjectAuditView",
    "SubjectCreateView",
    "SubjectDeleteView",
    "SubjectDetailView",
    "SubjectEditView",
    "child_tables",
    "study_protocol",
]


# --- helpers --------------------------------------------------------------------------------
def child_tables() -> tuple[str, ...]:
    """Dictionary tables of a subject's casebook other than ``subjects``, in dictionary order."""
    return tuple(
        name
        for name in load_dictionary().tables
        if name not in STUDY_LEVEL_TABLES and name != "subjects"
    )


@functools.lru_cache(maxsize=4)
def _protocol(protocol_id: str) -> Protocol:
    return load_protocol(protocol_id)


def study_protocol() -> tuple[Protocol | None, str]:
    """The protocol named by the study row, or None and why not."""
    study = Study.objects.first()
    if study is None:
        return None, "no study loaded"
    try:
        return _protocol(study.protocol_id), ""
    except (FileNotFoundError, KeyError, ValueError) as err:
        return None, f"protocol {study.protocol_id!r} cannot be loaded: {err}"


def _cell(table: str, name: str, value: Any) -> str:
    spec = load_dictionary().table(table).fields[name]
    return format_value(spec.type, value)


def _sites_with(user: Any, permission: str) -> list[str]:
    return [
        s
        for s in Site.objects.values_list("site_id", flat=True)
        if check_permission(user, permission, s).allowed
    ]


def _add_errors(form: CrfForm | DeleteForm, err: ValidationError) -> None:
    """Show a model ValidationError on the form (fields it names, else above the form)."""
    if hasattr(err, "error_dict"):
        for name, messages_ in err.message_dict.items():
            target = name if name in form.fields else None
            for message in messages_:
                form.add_error(target, message if target else f"{name}: {message}")
    else:
        for message in err.messages:
            form.add_error(None, message)


def _open_warning_queries(
    user: Any,
    subject: Subject,
    table: str,
    record: ChangeRecord,
    instance: TrialModel,
    warnings: Iterable[FieldWarning],
) -> list[DataQuery]:
    """One query per confirmed warning, linked to the audit entry of that field's change."""
    by_field = {e.field_name: e for e in record.entries}
    opened = []
    for w in warnings:
        entry = by_field.get(w.field)
        dose = w.rule.startswith("dose_tolerance")
        origin = "dose" if dose else "soft_range"  # QueryOrigin codes
        what = "Dose" if dose else "Value"
        limits = "the protocol tolerance" if dose else "the plausible range"
        text = (
            f"{what} confirmed at entry outside {limits} - {w.message}. "
            "Please verify against the source."
        )
        opened.append(
            raise_query(
                user, subject, table, instance.pk, w.field, text, origin=origin, audit_entry=entry
            )
        )
    return opened


def _save(
    request: HttpRequest, form: CrfForm, subject: Subject | None
) -> tuple[ChangeRecord | None, list[DataQuery]]:
    """Audited save of a valid form; errors are put on the form (returns None then)."""
    instance = form.instance
    reason = form.cleaned_data.get(REASON_FIELD, "")
    try:
        with transaction.atomic():
            record = audited_save(instance, request.user, reason)
            queries: list[DataQuery] = []
            if record.action != "none" and form.warnings:
                owner = (
                    subject
                    if subject is not None
                    else Subject.objects.get(subject_id=instance.subject_id)
                )
                queries = _open_warning_queries(
                    request.user, owner, form.table, record, instance, form.warnings
                )
    except ValidationError as err:
        _add_errors(form, err)
        return None, []
    except (RecordLockedError, ReasonRequiredError) as err:
        form.add_error(None, str(err))
        return None, []
    return record, queries


def _saved_message(request: HttpRequest, record: ChangeRecord, queries: list[DataQuery]) -> None:
    if record.action == "none":
        messages.info(request, "Nothing changed: nothing was saved.")
        return
    text = f"{record.table} {record.action}d ({len(record.entries)} audited field value(s))."
    if queries:
        text += f" {len(queries)} data query(ies) opened: " + ", ".join(
            f"#{q.pk} {q.field_name}" for q in queries
        )
    messages.success(request, text)


# --- subject list / search / study ----------------------------------------------------------
class SearchView(PermissionMixin, TemplateView):
    """Find subjects by id among the visible ones (``?q=``)."""

    template_name = "crf/search.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        q = self.request.GET.get("q", "").strip()
        results = visible_subjects(self.request.user).order_by("subject_id")
        if q:
            results = results.filter(subject_id__icontains=q)
        context.update(q=q, results=results[:200], total=results.count())
        return context


class StudyTablesView(PermissionMixin, TemplateView):
    """The study-level tables (study, sites, arms, dose levels, provenance), read-only."""

    template_name = "crf/study.html"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        user = request.user
        if not (
            check_permission(user, "can_read_all_sites").allowed
            or check_permission(user, "can_read_own_site").allowed
        ):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("no role that reads study data")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        visible_ids = list(visible_subjects(user).values_list("subject_id", flat=True))
        tables = []
        for name in STUDY_LEVEL_TABLES:
            model = model_for_table(name)
            spec = load_dictionary().table(name)
            rows = model.objects.all()
            if name == "sites":
                rows = visible_sites(user)
            elif name == "provenance":
                rows = rows.filter(Q(subject_id="") | Q(subject_id__in=visible_ids))
            tables.append(
                {
                    "name": name,
                    "meaning": spec.meaning,
                    "fields": list(spec.field_names),
                    "rows": [
                        # model attnames are the dictionary names (site_id, arm_id ...)
                        [_cell(name, f, getattr(r, f)) for f in spec.field_names]
                        for r in rows
                    ],
                }
            )
        context.update(
            tables=tables,
            study=Study.objects.first(),
            can_lock=self.can("can_lock"),
        )
        return context


# --- the subject page -----------------------------------------------------------------------
class SubjectDetailView(SubjectMixin, TemplateView):
    """A subject's casebook: header, visit calendar, one section per table, queries."""

    template_name = "crf/subject.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from saatrial.edc.signatures.service import signature_status

        context = super().get_context_data(**kwargs)
        subject = self.subject
        # each table read once: the rows shown, and their values (the casebook) for the
        # summary, the visit calendar, the signature and source-verification states
        objects = {
            table: list(
                model_for_table(table).objects.filter(subject_id=subject.subject_id).order_by("pk")
            )
            for table in child_tables()
        }
        records = {"subjects": [record_values("subjects", subject)]} | {
            table: [record_values(table, obj) for obj in objs] for table, objs in objects.items()
        }
        summary = subject_summary(records)
        protocol, protocol_problem = study_protocol()
        calendar: tuple[Any, ...] = ()
        calendar_problem = protocol_problem
        if protocol is not None:
            try:
                schedule = build_schedule(
                    protocol,
                    subject.arm_id,
                    subject.dose_level_id,
                    subject.weight_kg,
                    summary.day1,
                    subject.subject_id,
                )
                lab_dates = [r["lab_date"] for r in records["labs"]]
                calendar = visit_states(schedule, lab_dates, timezone.now().date())
            except ValueError as err:
                calendar_problem = str(err)
        per_record: dict[tuple[str, str], int] = {}
        for t, pk in DataQuery.objects.filter(
            subject_id=subject.subject_id, dm_status="open"
        ).values_list("table_name", "record_pk"):
            per_record[(t, pk)] = per_record.get((t, pk), 0) + 1
        sections = []
        dictionary = load_dictionary()
        sdv = sdv_states(  # source verification of every record, cleared by later changes
            subject.subject_id,
            {
                (table, str(obj.pk)): values
                for table, objs in [("subjects", [subject]), *objects.items()]
                for obj, values in zip(objs, records[table], strict=True)
            },
        )
        for table in child_tables():
            spec = dictionary.table(table)
            fields = [f for f in spec.field_names if f != "subject_id"]
            rows = []
            for obj in objects[table]:
                rows.append(
                    {
                        "pk": obj.pk,
                        "cells": [_cell(table, f, getattr(obj, f)) for f in fields],
                        "open_queries": per_record.get((table, str(obj.pk)), 0),
                        "sdv": sdv[(table, str(obj.pk))],
                    }
                )
            sections.append(
                {
                    "table": table,
                    "meaning": spec.meaning,
                    "fields": fields,
                    "rows": rows,
                    "one_row": table == "screening",
                }
            )
        study = Study.objects.first()
        site = subject.site_id
        context.update(
            subject=subject,
            summary=summary,
            subject_cells=[
                (f, _cell("subjects", f, getattr(subject, f)))
                for f in dictionary.table("subjects").field_names
            ],
            calendar=calendar,
            calendar_problem=calendar_problem,
            sections=sections,
            subject_open_queries=per_record.get(("subjects", str(subject.pk)), 0),
            subject_sdv=sdv[("subjects", str(subject.pk))],
            queries=DataQuery.objects.filter(subject_id=subject.subject_id).order_by("-raised_at")[
                :50
            ],
            signature=signature_status(subject, records=records),
            study_locked=bool(study and study.locked),
            can_enter=self.can("can_enter", site),
            can_edit=self.can("can_edit_own_site", site),
            can_sign=self.can("can_sign", site),
            can_lock=self.can("can_lock", site),
            can_raise=self.can("can_raise_query", site),
            can_read_audit=self.can("can_read_audit", site),
            can_verify=self.can("can_verify_source", site),
        )
        return context


# --- forms of rows --------------------------------------------------------------------------
class _RowFormView(SubjectMixin, TemplateView):
    """Shared GET/POST of a dictionary-table form on a subject page."""

    template_name = "crf/row_form.html"
    table: str

    def get_instance(self) -> TrialModel:
        raise NotImplementedError

    def get_initial(self) -> dict[str, Any]:
        return {}

    def make_form(self, data: Any = None) -> CrfForm:
        protocol, _ = study_protocol()
        cls = crf_form_class(self.table)
        return cls(
            data=data,
            instance=self.instance,
            initial=self.get_initial(),
            subject=self.subject,
            protocol=protocol,
        )

    def render_form(self, form: CrfForm, **extra: Any) -> HttpResponse:
        context = self.get_context_data(
            form=form,
            table=self.table,
            spec=load_dictionary().table(self.table),
            subject=self.subject,
            editing=form.editing,
            confirm_field=CONFIRM_FIELD,
            **extra,
        )
        return self.render_to_response(context)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_form(self.make_form())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.make_form(request.POST)
        if form.is_valid():
            record, queries = _save(request, form, self.subject)
            if record is not None:
                _saved_message(request, record, queries)
                return HttpResponseRedirect(self.success_url())
        return self.render_form(form)

    def success_url(self) -> str:
        url = reverse("crf:subject", args=[self.subject.subject_id])
        return f"{url}#section-{self.table}"


def _child_table(table: str) -> str:
    if table not in child_tables():
        raise Http404(f"no subject table {table!r}")
    return table


class RowCreateView(_RowFormView):
    """Add a row to one of the subject's tables (``can_enter``)."""

    permission = "can_enter"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        self.table = _child_table(kwargs["table"])
        model = model_for_table(self.table)
        self.instance = model(subject=self.subject)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.table == "screening":  # one row per subject
            existing = (
                model_for_table("screening")
                .objects.filter(subject_id=self.subject.subject_id)
                .first()
            )
            if existing is not None:
                return HttpResponseRedirect(
                    reverse(
                        "crf:row_edit", args=[self.subject.subject_id, "screening", existing.pk]
                    )
                )
        return super().get(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        if self.table != "exposures":
            return {}
        return self.prefill().get("initial", {})

    def prefill(self) -> dict[str, Any]:
        """Exposure prefill: protocol dose for the drug and weight (GET ``drug``, ``weight_kg``)."""
        protocol, problem = study_protocol()
        subject = self.subject
        if protocol is None or subject.arm_id not in protocol.arms:
            return {"problem": problem or f"arm {subject.arm_id} is not in the protocol"}
        drugs = protocol.arm_drugs(subject.arm_id)
        drug = self.request.GET.get("drug") or drugs[0]
        if drug not in drugs:
            return {"problem": f"{drug} is not given in arm {subject.arm_id}", "drugs": drugs}
        raw_weight = self.request.GET.get("weight_kg") or ""
        try:
            weight = float(raw_weight) if raw_weight else float(subject.weight_kg)
            if not 1 <= weight <= 200:
                raise ValueError
        except ValueError:
            return {
                "problem": f"weight_kg: hard_range [1, 200]: {raw_weight}",
                "drugs": drugs,
                "drug": drug,
            }
        try:
            dose = protocol_dose(protocol, drug, weight, subject.arm_id, subject.dose_level_id)
        except ValueError as err:
            return {"problem": str(err), "drugs": drugs, "drug": drug}
        return {
            "drugs": drugs,
            "drug": drug,
            "weight_kg": weight,
            "dose": dose,
            "initial": {
                "drug": drug,
                "dose": dose.dose,
                "dose_unit": dose.dose_unit,
                "frequency": dose.frequency,
                "weight_kg": weight,
            },
        }

    def render_form(self, form: CrfForm, **extra: Any) -> HttpResponse:
        if self.table == "exposures":
            extra["prefill"] = self.prefill()
        return super().render_form(form, **extra)


class RowEditView(_RowFormView):
    """Change a row of the subject's tables (``can_edit_own_site``; reason required)."""

    permission = "can_edit_own_site"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        self.table = _child_table(kwargs["table"])
        model = model_for_table(self.table)
        self.instance = model.objects.filter(
            subject_id=self.subject.subject_id, pk=kwargs["pk"]
        ).first()
        if self.instance is None:
            raise Http404(
                f"no {self.table} row {kwargs['pk']} for subject {self.subject.subject_id}"
            )


class RowDeleteView(SubjectMixin, TemplateView):
    """Delete a row with a reason (``can_edit_own_site``)."""

    permission = "can_edit_own_site"
    template_name = "crf/row_delete.html"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        self.table = _child_table(kwargs["table"])
        model = model_for_table(self.table)
        self.instance = model.objects.filter(
            subject_id=self.subject.subject_id, pk=kwargs["pk"]
        ).first()
        if self.instance is None:
            raise Http404(
                f"no {self.table} row {kwargs['pk']} for subject {self.subject.subject_id}"
            )

    def _render(self, form: DeleteForm) -> HttpResponse:
        spec = load_dictionary().table(self.table)
        cells = [(f, _cell(self.table, f, getattr(self.instance, f))) for f in spec.field_names]
        return self.render_to_response(
            self.get_context_data(
                form=form,
                table=self.table,
                subject=self.subject,
                instance=self.instance,
                cells=cells,
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._render(DeleteForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = DeleteForm(request.POST)
        if form.is_valid():
            try:
                record = audited_delete(self.instance, request.user, form.cleaned_data["reason"])
            except (RecordLockedError, ReasonRequiredError) as err:
                form.add_error(None, str(err))
            except ProtectedError as err:
                form.add_error(None, f"cannot delete: other records refer to it ({err.args[0]})")
            else:
                messages.success(
                    request,
                    f"{self.table} {self.instance.audit_key()} deleted "
                    f"({len(record.entries)} audited field value(s)).",
                )
                url = reverse("crf:subject", args=[self.subject.subject_id])
                return HttpResponseRedirect(f"{url}#section-{self.table}")
        return self._render(form)


# --- the subject row itself -----------------------------------------------------------------
class SubjectCreateView(PermissionMixin, TemplateView):
    """Enrol a subject at a site where the user may enter data (``can_enter``)."""

    permission = "can_enter"
    template_name = "crf/row_form.html"

    def make_form(self, data: Any = None) -> CrfForm:
        form = crf_form_class("subjects")(data=data, instance=Subject())
        sites = _sites_with(self.request.user, "can_enter")
        form.fields["site"].queryset = Site.objects.filter(site_id__in=sites)
        if len(sites) == 1:
            form.fields["site"].initial = sites[0]
        return form

    def render_form(self, form: CrfForm) -> HttpResponse:
        return self.render_to_response(
            self.get_context_data(
                form=form,
                table="subjects",
                spec=load_dictionary().table("subjects"),
                subject=None,
                editing=False,
                confirm_field=CONFIRM_FIELD,
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_form(self.make_form())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.make_form(request.POST)
        if form.is_valid():
            # the site's queryset already holds only sites where the user may enter data
            record, queries = _save(request, form, None)
            if record is not None:
                _saved_message(request, record, queries)
                return HttpResponseRedirect(reverse("crf:subject", args=[form.instance.subject_id]))
        return self.render_form(form)


class SubjectEditView(_RowFormView):
    """Change the subject row (``can_edit_own_site``; id and site fixed; reason required)."""

    permission = "can_edit_own_site"
    table = "subjects"

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        super().before_permission(request, **kwargs)
        self.instance = self.subject

    def success_url(self) -> str:
        return reverse("crf:subject", args=[self.subject.subject_id])


class SubjectDeleteView(RowDeleteView):
    """Delete a subject with no other rows (``can_edit_own_site``; reason required)."""

    def before_permission(self, request: HttpRequest, **kwargs: Any) -> None:
        SubjectMixin.before_permission(self, request, **kwargs)
        self.table = "subjects"
        self.instance = self.subject

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = DeleteForm(request.POST)
        if form.is_valid():
            try:
                audited_delete(self.instance, request.user, form.cleaned_data["reason"])
            except (RecordLockedError, ReasonRequiredError) as err:
                form.add_error(None, str(err))
            except ProtectedError:
                form.add_error(
                    None,
                    f"subject {self.subject.subject_id} still has casebook rows, queries, "
                    "signatures or source-verification marks: delete its rows first (signed, "
                    "queried or verified subjects stay)",
                )
            else:
                messages.success(request, f"subject {kwargs['subject_id']} deleted (audited).")
                return HttpResponseRedirect(reverse("home"))
        return self._render(form)


# --- screening ------------------------------------------------------------------------------
class ScreeningView(SubjectMixin, TemplateView):
    """Severity and eligibility computed live from the saved data, with every failed criterion."""

    template_name = "crf/screening.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        protocol, problem = study_protocol()
        planned_text = self.request.GET.get("planned_day1", "").strip()
        planned: dt.date | None = None
        planned_error = ""
        if planned_text:
            try:
                planned = dt.date.fromisoformat(planned_text)
            except ValueError:
                planned_error = f"planned_day1: date YYYY-MM-DD: {planned_text}"
        assessment = None
        if protocol is not None:
            assessment = assess_screening(
                subject_study(self.subject), self.subject.subject_id, protocol, planned
            )
        context.update(
            subject=self.subject,
            assessment=assessment,
            protocol=protocol,
            problem=problem,
            planned_day1=planned_text,
            planned_error=planned_error,
            checked_at=timezone.now(),
        )
        return context


# --- audit trail ----------------------------------------------------------------------------
class SubjectAuditView(SubjectMixin, TemplateView):
    """The audit trail of one subject (``can_read_audit``): who, when, old, new, why."""

    permission = "can_read_audit"
    template_name = "crf/audit.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        entries = AuditEntry.objects.filter(subject_id=self.subject.subject_id).order_by("seq")
        context.update(subject=self.subject, entries=entries[:2000], total=entries.count())
        return context
