"""The clinical models and the data dictionary cannot drift apart.

Checked both ways, with this file's own type table (not the code's): every
dictionary table has a model and every dictionary field a model field of the
right type, required-ness, code list, hard range and reference; every model
field is a dictionary field or a declared EDC field; every table key is a
unique constraint; and the migrations match the models.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from saatrial.edc.trial.models import Lab, Subject, trial_models
from saatrial.study import load_dictionary

from .conftest import ALL_DATABASES

DICTIONARY = load_dictionary()

# the Django field classes allowed for each dictionary type (written here, not imported)
ALLOWED = {
    "string": {"CharField", "TextField"},
    "code": {"CharField"},
    "integer": {"IntegerField"},
    "number": {"FloatField"},
    "date": {"DateField"},
    "boolean": {"BooleanField"},
}
TEXT = {"string", "code"}
# references that are not foreign keys, and why
NOT_FOREIGN_KEYS = {
    # dose_levels is keyed by (arm_id, dose_level_id): a composite reference, checked in clean()
    ("subjects", "dose_level_id"),
}
EDC_ONLY = {"study": {"id", "locked"}, "subjects": {"id", "locked"}}

MODELS = {m.DICTIONARY_TABLE: m for m in trial_models()}
FIELDS = [(t, f) for t, spec in DICTIONARY.tables.items() for f in spec.fields]


def model_field(table: str, name: str) -> models.Field:
    by_attname = {f.attname: f for f in MODELS[table]._meta.concrete_fields}
    assert name in by_attname, f"{table}.{name}: no model field with attname {name}"
    return by_attname[name]


def test_every_table_has_a_model_in_dictionary_order() -> None:
    assert list(MODELS) == list(DICTIONARY.tables)


@pytest.mark.parametrize(("table", "name"), FIELDS, ids=[f"{t}.{f}" for t, f in FIELDS])
def test_dictionary_field_has_matching_model_field(table: str, name: str) -> None:
    spec = DICTIONARY.field(table, name)
    field = model_field(table, name)
    where = f"{table}.{name}"
    if spec.references and (table, name) not in NOT_FOREIGN_KEYS:
        ref_table, ref_field = spec.references
        assert field.is_relation, f"{where}: references {ref_table}.{ref_field}, not a ForeignKey"
        assert field.related_model is MODELS[ref_table], where
        assert field.target_field.name == ref_field, where
        assert field.remote_field.on_delete is models.PROTECT, where
        target_type = DICTIONARY.field(ref_table, ref_field).type
        assert target_type == spec.type, where
    else:
        assert type(field).__name__ in ALLOWED[spec.type], (
            f"{where}: dictionary type {spec.type}, model field {type(field).__name__}"
        )
    # required-ness
    if spec.required:
        assert not field.null and not field.blank, f"{where}: required but null/blank allowed"
    else:
        assert field.blank, f"{where}: optional but blank not allowed"
        assert field.null is (spec.type not in TEXT), f"{where}: optional null={field.null}"
    # code list
    if spec.type == "code":
        assert field.choices is not None, where
        assert {c for c, _ in field.choices} == set(spec.codes or {}), where
    # hard range
    minimum = [v.limit_value for v in field.validators if isinstance(v, MinValueValidator)]
    maximum = [v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)]
    if spec.hard_range is None:
        assert not minimum and not maximum, f"{where}: range validators without a hard range"
    else:
        assert minimum == [spec.hard_range[0]] and maximum == [spec.hard_range[1]], where


@pytest.mark.parametrize("table", list(DICTIONARY.tables))
def test_model_has_no_field_outside_the_dictionary(table: str) -> None:
    model = MODELS[table]
    attnames = {f.attname for f in model._meta.concrete_fields}
    extra = attnames - set(DICTIONARY.tables[table].fields)
    assert extra == EDC_ONLY.get(table, {"id"})
    assert set(model.EDC_FIELDS) == EDC_ONLY.get(table, {"id"})


@pytest.mark.parametrize("table", list(DICTIONARY.tables))
def test_table_key_is_unique_in_the_database(table: str) -> None:
    model = MODELS[table]
    key = tuple(DICTIONARY.tables[table].key)
    by_name = {f.name: f.attname for f in model._meta.concrete_fields}
    keys = [
        tuple(by_name[n] for n in c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.condition is None
    ]
    keys += [(f.attname,) for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    assert key in keys, f"{table}: key {key} is not unique in the model (unique: {keys})"


def test_every_clinical_model_keeps_history() -> None:
    for model in trial_models():
        history = model.history.model
        tracked = {f.attname for f in history.tracked_fields}
        assert tracked == {f.attname for f in model._meta.concrete_fields}, model.__name__


def test_field_help_text_carries_the_unit() -> None:
    assert "[kg]" in Subject._meta.get_field("weight_kg").help_text
    assert Lab._meta.get_field("value").help_text.startswith("Result in the test's unit")


@ALL_DATABASES
def test_migrations_match_the_models() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()
