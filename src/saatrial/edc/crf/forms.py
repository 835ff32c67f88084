"""Case report forms generated from the data dictionary: one ModelForm per table.

:func:`crf_form_class` builds the form of any dictionary table from its model
(whose fields carry the dictionary's types, code lists and hard ranges). On
top of Django's validation every form:

- refuses values outside the hard range (model validators; lab values per test);
- warns about values outside the soft range, and for exposures about a dose
  more than the protocol tolerance away from weight x protocol dose: the form
  is not saved until the user ticks ``confirm_warnings`` (the view then opens
  a data query linked to the audited change);
- asks for a ``reason`` (required) when it edits a saved record.

Only values that change are checked for plausibility: a confirmed value is
not flagged again when another field of the row is edited.
"""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from saatrial.edc.crf.plausibility import DoseCheck, FieldWarning, check_dose, soft_range_warnings
from saatrial.edc.trial.models import DoseLevel, Subject, TrialModel, model_for_table
from saatrial.protocol.model import Protocol
from saatrial.study.dictionary import load_dictionary

__all__ = [
    "CONFIRM_FIELD",
    "REASON_FIELD",
    "CrfForm",
    "DeleteForm",
    "ReasonForm",
    "crf_form_class",
    "field_label",
    "form_field_names",
]

#: Name of the checkbox that confirms flagged values.
CONFIRM_FIELD = "confirm_warnings"
#: Name of the reason-for-change field.
REASON_FIELD = "reason"


def _reason_field(label: str = "Reason for change") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=True,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Required for every change of a saved record (21 CFR 11.10(e)).",
    )


def form_field_names(model: type[TrialModel], *, with_subject: bool = False) -> list[str]:
    """Model field names of the dictionary fields of ``model``, in dictionary order.

    The ``subject`` reference of a subject's table is left out unless
    ``with_subject`` (the page's subject supplies it).
    """
    spec = load_dictionary().table(model.DICTIONARY_TABLE)
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    names = [by_attname[n] for n in spec.field_names]
    if not with_subject and model is not Subject:
        names = [n for n in names if n != "subject"]
    return names


def _dictionary_name(field: models.Field) -> str:
    return field.attname


#: How words of dictionary field names read in form labels (abbreviations, units); other
#: words are kept, the first one capitalised.
LABEL_WORDS: dict[str, str] = {
    "id": "ID",
    "lln": "LLN (lower limit of normal)",
    "uln": "ULN (upper limit of normal)",
    "ecog": "ECOG",
    "ngs": "NGS",
    "ibmfs": "IBMFS",
    "pnh": "PNH",
    "hla": "HLA",
    "ae": "AE",
    "ctcae": "CTCAE",
    "csa": "CsA",
    "ratg": "rATG",
    "ucmsc": "UC-MSC",
    "msc": "MSC",
    "gvhd": "GvHD",
    "cd3cd4": "CD3+CD4+",
    "cd3cd8": "CD3+CD8+",
    "cd4": "CD4",
    "treg": "Treg",
    "1e6": "10^6",
    "pct": "%",
    "ul": "uL",
}
#: Unit words that end a field name (``weight_kg``): shown in brackets.
LABEL_UNITS: dict[str, str] = {"kg": "kg", "cm": "cm", "ml": "mL", "pct": "%"}


def field_label(name: str) -> str:
    """A form label for a dictionary field name: abbreviations in capitals, unit in brackets.

    Examples
    --------
    >>> [field_label(n) for n in ("lln", "weight_kg", "pnh_clone_pct", "cd4_per_ul")]
    ['LLN (lower limit of normal)', 'Weight (kg)', 'PNH clone (%)', 'CD4 per uL']
    >>> field_label("hla_matched_sibling"), field_label("lab_date")
    ('HLA matched sibling', 'Lab date')
    """
    words = name.split("_")
    unit = ""
    if len(words) > 1 and words[-1] in LABEL_UNITS and words[-2] != "per":
        unit = f" ({LABEL_UNITS[words.pop()]})"
    shown = [LABEL_WORDS.get(w, w) for w in words]
    if shown and shown[0] == words[0]:
        shown[0] = shown[0][:1].upper() + shown[0][1:]
    return " ".join(shown) + unit


def _formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    kwargs.setdefault("label", field_label(field.name))
    if isinstance(field, models.DateField):
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    elif isinstance(field, models.FloatField):
        kwargs["widget"] = forms.NumberInput(attrs={"step": "any"})
    elif isinstance(field, models.TextField):
        kwargs["widget"] = forms.TextInput(attrs={"size": 40})
    return field.formfield(**kwargs)


class CrfForm(forms.ModelForm):
    """Base of the dictionary-table forms (see the module docstring).

    Parameters
    ----------
    subject : Subject, optional
        The subject whose casebook the row belongs to (child tables, exposures' dose check).
    protocol : Protocol, optional
        For the exposure dose check.

    Attributes
    ----------
    warnings : tuple of FieldWarning
        Values that need confirmation (set by ``clean``).
    dose_check : DoseCheck or None
        The exposure dose comparison (exposures only).
    """

    confirm_warnings = forms.BooleanField(
        required=False,
        label="I confirm the flagged value(s) (a data query will be opened)",
    )

    def __init__(
        self,
        *args: Any,
        subject: Subject | None = None,
        protocol: Protocol | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.subject = subject
        self.protocol = protocol
        self.editing = self.instance.pk is not None
        self.warnings: tuple[FieldWarning, ...] = ()
        self.dose_check: DoseCheck | None = None
        self.saved_values: dict[str, Any] = {}
        if self.editing:
            self.saved_values = {
                _dictionary_name(f): getattr(self.instance, f.attname)
                for f in self.instance._meta.concrete_fields
            }
            self.fields[REASON_FIELD] = _reason_field()
        # the confirmation box goes last, after the reason
        self.order_fields([n for n in self.fields if n != CONFIRM_FIELD] + [CONFIRM_FIELD])

    @property
    def table(self) -> str:
        """The dictionary table of the form."""
        return self._meta.model.DICTIONARY_TABLE

    def dictionary_values(self) -> dict[str, Any]:
        """Cleaned values by dictionary field name (references as their key value)."""
        out: dict[str, Any] = {}
        for f in self._meta.model._meta.concrete_fields:
            if f.name in self.cleaned_data:
                value = self.cleaned_data[f.name]
                if isinstance(value, models.Model) and f.is_relation:
                    value = getattr(value, f.target_field.attname)
                out[_dictionary_name(f)] = value
            elif f.attname == "subject_id" and self.subject is not None:
                out["subject_id"] = self.subject.subject_id
        return out

    def _changed(self, values: dict[str, Any]) -> dict[str, Any]:
        if not self.editing:
            return values
        changed = {k: v for k, v in values.items() if self.saved_values.get(k) != v}
        if self.table == "labs" and "test" in changed and "value" in values:
            changed["value"] = values["value"]  # a new test code re-judges the value
        return changed

    def plausibility(self, values: dict[str, Any]) -> tuple[FieldWarning, ...]:
        """Soft-range (and dose) warnings for the changed values among ``values``."""
        changed = self._changed(values)
        found = [w for w in soft_range_warnings(self.table, values) if w.field in changed]
        if self.table == "exposures" and self.protocol is not None and self.subject is not None:
            self.dose_check = check_dose(
                self.protocol,
                str(values.get("drug") or ""),
                values.get("dose"),
                values.get("dose_unit"),
                values.get("weight_kg"),
                self.subject.arm_id,
                self.subject.dose_level_id,
            )
            inputs = {"drug", "dose", "dose_unit", "weight_kg"}
            warning = self.dose_check.warning()
            if warning is not None and inputs & set(changed):
                found.append(warning)
        return tuple(found)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.table == "labs" and not cleaned.get("unit") and cleaned.get("test"):
            test = load_dictionary().lab_tests.get(cleaned["test"])
            if test is not None:
                cleaned["unit"] = test.unit  # the unit is the test's (lab_tests)
        if self.errors:
            return cleaned
        self.warnings = self.plausibility(self.dictionary_values())
        if self.warnings and not cleaned.get(CONFIRM_FIELD):
            raise ValidationError(
                "Please check the flagged value(s): tick the confirmation box to save them "
                "(a data query will be opened), or correct them.",
                code="unconfirmed_warning",
            )
        return cleaned


def _subject_form_init(form: CrfForm) -> None:
    levels = DoseLevel.objects.order_by("arm_id", "dose_level_id").values_list(
        "arm_id", "dose_level_id"
    )
    choices = [("", "---------")]
    seen: set[str] = set()
    for arm_id, level in levels:
        if level not in seen:
            seen.add(level)
            choices.append((level, f"{level} ({arm_id})"))
    form.fields["dose_level_id"] = forms.ChoiceField(
        choices=choices,
        label=form.fields["dose_level_id"].label,
        help_text=form.fields["dose_level_id"].help_text,
    )
    # the choices read as the site's name and the arm's label, not the rows' audit keys
    form.fields["site"].label_from_instance = lambda s: f"{s.site_id} ({s.name})"
    form.fields["arm"].label_from_instance = lambda a: f"{a.arm_id} ({a.label})"
    if form.editing:
        for name in ("subject_id", "site"):  # identifiers others refer to: fixed after creation
            form.fields[name].disabled = True


class SubjectForm(CrfForm):
    """The ``subjects`` form: dose level chosen from the dose levels; id and site fixed on edit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _subject_form_init(self)


class LabForm(CrfForm):
    """The ``labs`` form: the unit may be left empty (the test's unit is used)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].required = False
        self.fields["unit"].help_text = "Leave empty to use the test's unit (dictionary lab_tests)."


_BASES: dict[str, type[CrfForm]] = {"subjects": SubjectForm, "labs": LabForm}


@functools.lru_cache(maxsize=32)
def crf_form_class(table: str) -> type[CrfForm]:
    """The ModelForm class of dictionary table ``table``.

    Parameters
    ----------
    table : str
        Any table of the data dictionary.

    Returns
    -------
    type of CrfForm
        Fields = the table's dictionary fields (without the ``subject`` reference
        of subject tables), in dictionary order.

    Raises
    ------
    KeyError
        Unknown table.

    Examples
    --------
    >>> form = crf_form_class("labs")()
    >>> list(form.fields)[:4]
    ['lab_date', 'test', 'value', 'unit']
    """
    model = model_for_table(table)
    base = _BASES.get(table, CrfForm)
    return forms.modelform_factory(
        model,
        form=base,
        fields=form_field_names(model),
        formfield_callback=_formfield,
    )


class ReasonForm(forms.Form):
    """A reason alone (locking, unlocking)."""

    reason = _reason_field("Reason")


class DeleteForm(forms.Form):
    """Confirm a deletion with a reason."""

    reason = _reason_field("Reason for deletion")
