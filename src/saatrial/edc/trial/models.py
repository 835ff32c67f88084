"""One model per data-dictionary table; the database holds one study.

Field types, code lists, required-ness and hard ranges come from the data
dictionary (:mod:`saatrial.edc.trial.fields`); each model's table key is a
unique constraint; references are foreign keys on the natural keys, so the
attribute names are the dictionary names (``lab.subject_id == "CTL01"``).
Subject belongs to a Site; every other subject table to a Subject. The EDC
adds ``locked`` to Study and Subject.

Writes go through :func:`saatrial.edc.audit.service.audited_save` /
:func:`~saatrial.edc.audit.service.audited_delete`: ``save()``/``delete()``
called directly, ``QuerySet.update()``/``delete()`` and ``bulk_create`` outside
the audit service raise :class:`~saatrial.edc.audit.service.UnauditedWriteError`.
Every model keeps a django-simple-history table of whole-row versions.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from saatrial.edc.audit.context import audited_write_allowed
from saatrial.edc.audit.service import UnauditedWriteError
from saatrial.edc.trial.fields import dictionary_field, dictionary_fk, key_constraint
from saatrial.study.dictionary import load_dictionary
from saatrial.study.values import format_value

__all__ = [
    "AdverseEvent",
    "Arm",
    "DoseLevel",
    "Exposure",
    "Lab",
    "MarrowExam",
    "OutcomeEvent",
    "Provenance",
    "ResponseAssessment",
    "Screening",
    "Site",
    "Study",
    "Subject",
    "TcellSubset",
    "Transfusion",
    "TrialModel",
    "model_for_table",
    "trial_models",
]


class TrialQuerySet(models.QuerySet):
    """Queries on clinical tables: bulk writes only through the audit service."""

    def update(self, **kwargs: Any) -> int:
        """Refused: an update would bypass the audit trail."""
        raise UnauditedWriteError(
            f"{self.model.__name__}: QuerySet.update bypasses the audit trail; "
            "use saatrial.edc.audit.service.audited_save per row"
        )

    def delete(self) -> tuple[int, dict[str, int]]:
        """Refused: a bulk delete would bypass the audit trail."""
        raise UnauditedWriteError(
            f"{self.model.__name__}: QuerySet.delete bypasses the audit trail; "
            "use saatrial.edc.audit.service.audited_delete per row"
        )

    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        """Refused: bulk updates bypass the audit trail."""
        raise UnauditedWriteError(f"{self.model.__name__}: bulk_update bypasses the audit trail")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        """Allowed only inside the audit service (``saatrial.edc.load`` audits every row)."""
        if not audited_write_allowed():
            raise UnauditedWriteError(
                f"{self.model.__name__}: bulk_create outside the audit service; "
                "use saatrial.edc.load.load_study or audited_save"
            )
        return super().bulk_create(objs, *args, **kwargs)


class TrialModel(models.Model):
    """Base of every clinical model: audited writes, dictionary metadata, lock rules.

    Class attributes
    ----------------
    DICTIONARY_TABLE : str
        The data-dictionary table the model mirrors (also its audit table name).
    EDC_FIELDS : tuple of str
        Model fields that are not dictionary fields (``id``, ``locked``).
    """

    DICTIONARY_TABLE: ClassVar[str] = ""
    EDC_FIELDS: ClassVar[tuple[str, ...]] = ("id",)

    objects = TrialQuerySet.as_manager()
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True

    # --- audit hooks (see saatrial.edc.audit.service) -------------------------------------
    @property
    def audit_table(self) -> str:
        """Audit trail table name: the dictionary table."""
        return self.DICTIONARY_TABLE

    def audit_key(self) -> str:
        """Natural key: the dictionary key values in canonical text, joined by ``|``."""
        spec = load_dictionary().table(self.DICTIONARY_TABLE)
        return "|".join(
            format_value(spec.fields[name].type, getattr(self, name)) for name in spec.key
        )

    def audit_subject_id(self) -> str | None:
        """The subject this row belongs to (None for study-level tables)."""
        value = getattr(self, "subject_id", None)
        return None if value in (None, "") else str(value)

    def write_refusal(self, action: str, fields: frozenset[str], using: str) -> str | None:
        """Why this write must be refused (locked study or subject), or None.

        A lock blocks every change except of the ``locked`` flag itself.
        """
        if fields <= {"locked"} and action == "update":
            return None
        locked = Study.objects.using(using).filter(locked=True).values_list("study_id", flat=True)
        study = next(iter(locked), None)
        if study is not None:
            return f"study {study} is locked; unlock it (data manager) to change data"
        subject_id = self.audit_subject_id()
        if subject_id is not None:
            row = Subject.objects.using(using).filter(subject_id=subject_id).values("locked")
            if row and row[0]["locked"]:
                return f"subject {subject_id} is locked; unlock it (data manager) to change data"
        return None

    # --- refuse unaudited writes ------------------------------------------------------------
    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save (only inside :func:`~saatrial.edc.audit.service.audited_save`)."""
        if not audited_write_allowed():
            raise UnauditedWriteError(
                f"{self.DICTIONARY_TABLE} {self.audit_key()}: save() bypasses the audit trail; "
                "use saatrial.edc.audit.service.audited_save"
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete (only inside :func:`~saatrial.edc.audit.service.audited_delete`)."""
        if not audited_write_allowed():
            raise UnauditedWriteError(
                f"{self.DICTIONARY_TABLE} {self.audit_key()}: delete() bypasses the audit trail; "
                "use saatrial.edc.audit.service.audited_delete"
            )
        return super().delete(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.DICTIONARY_TABLE} {self.audit_key()}"


def _f(table: str, name: str, **overrides: Any) -> models.Field:
    return dictionary_field(table, name, **overrides)


class Study(TrialModel):
    """The study (one row)."""

    DICTIONARY_TABLE = "study"
    EDC_FIELDS = ("id", "locked")

    study_id = _f("study", "study_id", unique=True)
    registry_id = _f("study", "registry_id")
    title = _f("study", "title")
    protocol_id = _f("study", "protocol_id")
    enrolment_start = _f("study", "enrolment_start")
    enrolment_end = _f("study", "enrolment_end")
    data_cutoff_date = _f("study", "data_cutoff_date")
    dictionary_version = _f("study", "dictionary_version")
    locked = models.BooleanField(default=False, help_text="No data of the study may change.")

    class Meta:
        db_table = "trial_study"
        verbose_name_plural = "studies"

    def write_refusal(self, action: str, fields: frozenset[str], using: str) -> str | None:
        """A locked study refuses every change except unlocking; a second study is refused."""
        if action == "create" and Study.objects.using(using).exists():
            return "the database already holds a study (one study per database)"
        if action == "update" and fields <= {"locked"}:
            return None
        stored = Study.objects.using(using).filter(pk=self.pk, locked=True).exists()
        if stored:
            return f"study {self.study_id} is locked; unlock it (data manager) to change data"
        return None


class Site(TrialModel):
    """A participating site."""

    DICTIONARY_TABLE = "sites"

    site_id = _f("sites", "site_id", unique=True)
    name = _f("sites", "name")
    country = _f("sites", "country")

    class Meta:
        db_table = "trial_sites"
        ordering = ("site_id",)


class Arm(TrialModel):
    """A treatment arm."""

    DICTIONARY_TABLE = "arms"

    arm_id = _f("arms", "arm_id", unique=True)
    label = _f("arms", "label")
    description = _f("arms", "description")

    class Meta:
        db_table = "trial_arms"
        ordering = ("arm_id",)


class DoseLevel(TrialModel):
    """A dose level within an arm."""

    DICTIONARY_TABLE = "dose_levels"

    arm = dictionary_fk("dose_levels", "arm_id", "Arm", related_name="dose_levels")
    dose_level_id = _f("dose_levels", "dose_level_id")
    label = _f("dose_levels", "label")
    msc_dose_1e6_cells_per_kg = _f("dose_levels", "msc_dose_1e6_cells_per_kg")

    class Meta:
        db_table = "trial_dose_levels"
        ordering = ("arm_id", "dose_level_id")
        constraints = (key_constraint("dose_levels", ["arm", "dose_level_id"]),)


class Subject(TrialModel):
    """An enrolled subject; belongs to a site."""

    DICTIONARY_TABLE = "subjects"
    EDC_FIELDS = ("id", "locked")

    subject_id = _f("subjects", "subject_id", unique=True)
    site = dictionary_fk("subjects", "site_id", "Site", related_name="subjects")
    arm = dictionary_fk("subjects", "arm_id", "Arm", related_name="subjects")
    # dose_levels is keyed by (arm_id, dose_level_id): checked in clean(), not a foreign key
    dose_level_id = _f("subjects", "dose_level_id")
    sex = _f("subjects", "sex")
    birth_date = _f("subjects", "birth_date")
    diagnosis_date = _f("subjects", "diagnosis_date")
    weight_kg = _f("subjects", "weight_kg")
    height_cm = _f("subjects", "height_cm")
    consent_date = _f("subjects", "consent_date")
    enrolment_date = _f("subjects", "enrolment_date")
    locked = models.BooleanField(
        default=False, help_text="No data of this subject may change (casebook locked)."
    )

    class Meta:
        db_table = "trial_subjects"
        ordering = ("subject_id",)

    def audit_subject_id(self) -> str | None:
        """The subject itself."""
        return self.subject_id or None

    def clean(self) -> None:
        """The dose level must be one of the subject's arm (dictionary rule dose_level_arm)."""
        super().clean()
        if self.arm_id and self.dose_level_id:
            using = self._state.db or "default"
            exists = (
                DoseLevel.objects.using(using)
                .filter(arm_id=self.arm_id, dose_level_id=self.dose_level_id)
                .exists()
            )
            if not exists:
                raise ValidationError(
                    {
                        "dose_level_id": (
                            f"dose_level_arm: dose level {self.dose_level_id!r} is not a dose "
                            f"level of arm {self.arm_id!r}"
                        )
                    }
                )


def _subject_fk(table: str, related_name: str) -> models.ForeignKey:
    return dictionary_fk(table, "subject_id", "Subject", related_name=related_name)


class Screening(TrialModel):
    """Screening assessments (one row per subject)."""

    DICTIONARY_TABLE = "screening"

    subject = dictionary_fk(
        "screening", "subject_id", "Subject", one_to_one=True, related_name="screening"
    )
    screening_date = _f("screening", "screening_date")
    mitomycin_c_test = _f("screening", "mitomycin_c_test")
    comet_assay = _f("screening", "comet_assay")
    ngs_ibmfs = _f("screening", "ngs_ibmfs")
    pnh_clone_pct = _f("screening", "pnh_clone_pct")
    hla_matched_sibling = _f("screening", "hla_matched_sibling")
    ecog = _f("screening", "ecog")
    lansky = _f("screening", "lansky")

    class Meta:
        db_table = "trial_screening"
        ordering = ("subject_id",)


class MarrowExam(TrialModel):
    """A bone marrow examination."""

    DICTIONARY_TABLE = "marrow_exams"

    subject = _subject_fk("marrow_exams", "marrow_exams")
    exam_date = _f("marrow_exams", "exam_date")
    cellularity_pct = _f("marrow_exams", "cellularity_pct")
    residual_hematopoietic_pct = _f("marrow_exams", "residual_hematopoietic_pct")
    cytogenetics = _f("marrow_exams", "cytogenetics")
    karyotype = _f("marrow_exams", "karyotype")

    class Meta:
        db_table = "trial_marrow_exams"
        ordering = ("subject_id", "exam_date")
        constraints = (key_constraint("marrow_exams", ["subject", "exam_date"]),)


class Lab(TrialModel):
    """One laboratory result (long form)."""

    DICTIONARY_TABLE = "labs"

    subject = _subject_fk("labs", "labs")
    lab_date = _f("labs", "lab_date")
    test = _f("labs", "test")
    value = _f("labs", "value")
    unit = _f("labs", "unit")
    lln = _f("labs", "lln")
    uln = _f("labs", "uln")
    pre_transfusion = _f("labs", "pre_transfusion")

    class Meta:
        db_table = "trial_labs"
        ordering = ("subject_id", "lab_date", "test")
        constraints = (key_constraint("labs", ["subject", "lab_date", "test"]),)

    def clean(self) -> None:
        """Unit must be the test's unit; value within the test's hard range (lab_tests)."""
        super().clean()
        test = load_dictionary().lab_tests.get(self.test or "")
        if test is None:
            return  # the code list check reports it
        errors: dict[str, str] = {}
        if self.unit and self.unit != test.unit:
            errors["unit"] = f"lab_unit ({test.code} is stored in {test.unit}): {self.unit}"
        if self.value is not None and test.hard_range is not None:
            low, high = test.hard_range
            if not low <= float(self.value) <= high:
                errors["value"] = (
                    f"hard_range [{low:g}, {high:g}] for {test.code} ({test.unit}): {self.value:g}"
                )
        if errors:
            raise ValidationError(errors)


class Transfusion(TrialModel):
    """A blood product transfusion."""

    DICTIONARY_TABLE = "transfusions"

    subject = _subject_fk("transfusions", "transfusions")
    transfusion_date = _f("transfusions", "transfusion_date")
    product = _f("transfusions", "product")
    volume_ml = _f("transfusions", "volume_ml")

    class Meta:
        db_table = "trial_transfusions"
        ordering = ("subject_id", "transfusion_date", "product")
        constraints = (key_constraint("transfusions", ["subject", "transfusion_date", "product"]),)


class Exposure(TrialModel):
    """A study drug dosing record."""

    DICTIONARY_TABLE = "exposures"

    subject = _subject_fk("exposures", "exposures")
    drug = _f("exposures", "drug")
    start_date = _f("exposures", "start_date")
    end_date = _f("exposures", "end_date")
    dose = _f("exposures", "dose")
    dose_unit = _f("exposures", "dose_unit")
    frequency = _f("exposures", "frequency")
    weight_kg = _f("exposures", "weight_kg")

    class Meta:
        db_table = "trial_exposures"
        ordering = ("subject_id", "drug", "start_date")
        constraints = (key_constraint("exposures", ["subject", "drug", "start_date"]),)


class TcellSubset(TrialModel):
    """Peripheral-blood T-cell subsets of one sample."""

    DICTIONARY_TABLE = "tcell_subsets"

    subject = _subject_fk("tcell_subsets", "tcell_subsets")
    sample_date = _f("tcell_subsets", "sample_date")
    cd3cd4_pct = _f("tcell_subsets", "cd3cd4_pct")
    cd3cd8_pct = _f("tcell_subsets", "cd3cd8_pct")
    treg_pct_of_cd4 = _f("tcell_subsets", "treg_pct_of_cd4")
    cd4_per_ul = _f("tcell_subsets", "cd4_per_ul")
    treg_per_ul = _f("tcell_subsets", "treg_per_ul")
    method = _f("tcell_subsets", "method")

    class Meta:
        db_table = "trial_tcell_subsets"
        ordering = ("subject_id", "sample_date")
        constraints = (key_constraint("tcell_subsets", ["subject", "sample_date"]),)


class AdverseEvent(TrialModel):
    """An adverse event (CTCAE-coded)."""

    DICTIONARY_TABLE = "adverse_events"

    subject = _subject_fk("adverse_events", "adverse_events")
    ae_id = _f("adverse_events", "ae_id")
    verbatim_term = _f("adverse_events", "verbatim_term")
    ctcae_term = _f("adverse_events", "ctcae_term")
    ctcae_version = _f("adverse_events", "ctcae_version")
    grade = _f("adverse_events", "grade")
    start_date = _f("adverse_events", "start_date")
    end_date = _f("adverse_events", "end_date")
    serious = _f("adverse_events", "serious")
    attribution_ratg = _f("adverse_events", "attribution_ratg")
    attribution_csa = _f("adverse_events", "attribution_csa")
    attribution_ucmsc = _f("adverse_events", "attribution_ucmsc")
    outcome = _f("adverse_events", "outcome")

    class Meta:
        db_table = "trial_adverse_events"
        ordering = ("subject_id", "ae_id")
        constraints = (key_constraint("adverse_events", ["subject", "ae_id"]),)


class ResponseAssessment(TrialModel):
    """Investigator-recorded haematologic response at a protocol visit."""

    DICTIONARY_TABLE = "response_assessments"

    subject = _subject_fk("response_assessments", "response_assessments")
    visit = _f("response_assessments", "visit")
    assessment_date = _f("response_assessments", "assessment_date")
    response = _f("response_assessments", "response")
    criteria_set = _f("response_assessments", "criteria_set")

    class Meta:
        db_table = "trial_response_assessments"
        ordering = ("subject_id", "visit")
        constraints = (key_constraint("response_assessments", ["subject", "visit"]),)


class OutcomeEvent(TrialModel):
    """A long-term outcome event."""

    DICTIONARY_TABLE = "outcome_events"

    subject = _subject_fk("outcome_events", "outcome_events")
    event_type = _f("outcome_events", "event_type")
    event_date = _f("outcome_events", "event_date")
    donor_type = _f("outcome_events", "donor_type")
    stem_cell_source = _f("outcome_events", "stem_cell_source")
    death_cause = _f("outcome_events", "death_cause")
    gvhd_organ = _f("outcome_events", "gvhd_organ")
    gvhd_grade = _f("outcome_events", "gvhd_grade")
    details = _f("outcome_events", "details")

    class Meta:
        db_table = "trial_outcome_events"
        ordering = ("subject_id", "event_type", "event_date")
        constraints = (key_constraint("outcome_events", ["subject", "event_type", "event_date"]),)


class Provenance(TrialModel):
    """Where values come from (published, constrained, imputed, derived)."""

    DICTIONARY_TABLE = "provenance"

    table_name = _f("provenance", "table_name")
    field_name = _f("provenance", "field_name")
    # not a reference in the dictionary: empty = all subjects
    subject_id = _f("provenance", "subject_id")
    status = _f("provenance", "status")
    source = _f("provenance", "source")

    class Meta:
        db_table = "trial_provenance"
        ordering = ("table_name", "field_name", "subject_id")
        constraints = (key_constraint("provenance", ["table_name", "field_name", "subject_id"]),)

    def audit_subject_id(self) -> str | None:
        """Provenance rows are study documentation, not subject data."""
        return None


def trial_models() -> tuple[type[TrialModel], ...]:
    """The clinical models in data-dictionary table order."""
    by_table = {m.DICTIONARY_TABLE: m for m in TrialModel.__subclasses__()}
    return tuple(by_table[name] for name in load_dictionary().tables if name in by_table)


def model_for_table(table: str) -> type[TrialModel]:
    """The model of dictionary table ``table`` (KeyError naming the known tables otherwise)."""
    for model in trial_models():
        if model.DICTIONARY_TABLE == table:
            return model
    known = ", ".join(m.DICTIONARY_TABLE for m in trial_models())
    raise KeyError(f"no model for table {table!r}; known: {known}")
