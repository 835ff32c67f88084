"""Django model fields built from the data dictionary (``saatrial/dictionary.yaml``).

Models list their fields by hand (so that a reader sees them) but take each
field's type, required-ness, code list, hard-range validators and help text
from the dictionary with :func:`dictionary_field` / :func:`dictionary_fk`.
``tests/edc/test_models_dictionary.py`` checks the result against the
dictionary independently, and that the migrations match the models.

=========  =====================================================
dictionary Django field
=========  =====================================================
string     ``CharField(max_length=64)`` for keys and references,
           ``TextField`` otherwise; optional -> ``blank=True``
           (stored as ``""``)
code       ``CharField`` with ``choices`` = the dictionary codes
integer    ``IntegerField`` (+ Min/MaxValueValidator = hard range)
number     ``FloatField`` (+ Min/MaxValueValidator = hard range)
date       ``DateField``
boolean    ``BooleanField``
=========  =====================================================

Optional non-text fields are ``null=True, blank=True``.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from saatrial.study.dictionary import FieldSpec, load_dictionary

__all__ = ["KEY_MAX_LENGTH", "dictionary_field", "dictionary_fk", "field_spec", "key_constraint"]

#: Length of identifier (key / reference) text columns.
KEY_MAX_LENGTH = 64


def field_spec(table: str, name: str) -> FieldSpec:
    """The dictionary spec of ``table.name`` (KeyError naming it otherwise)."""
    return load_dictionary().field(table, name)


def _is_identifier(table: str, name: str) -> bool:
    spec = load_dictionary().table(table)
    return name in spec.key or field_spec(table, name).references is not None


def _validators(spec: FieldSpec) -> list[Any]:
    if spec.hard_range is None:
        return []
    low, high = spec.hard_range
    if spec.type == "integer":
        return [MinValueValidator(int(low)), MaxValueValidator(int(high))]
    return [MinValueValidator(low), MaxValueValidator(high)]


def dictionary_field(table: str, name: str, **overrides: Any) -> models.Field:
    """A Django field for ``table.name`` as the dictionary describes it.

    Parameters
    ----------
    table, name : str
        Dictionary table and field.
    **overrides
        Extra keyword arguments for the field (e.g. ``unique=True``).

    Returns
    -------
    django.db.models.Field

    Examples
    --------
    >>> f = dictionary_field("subjects", "weight_kg")
    >>> type(f).__name__, f.null, f.blank, [v.limit_value for v in f.validators]
    ('FloatField', False, False, [1.0, 200.0])
    >>> dictionary_field("subjects", "sex").choices
    [('M', 'M: male'), ('F', 'F: female')]
    """
    spec = field_spec(table, name)
    optional = not spec.required
    kwargs: dict[str, Any] = {"help_text": spec.meaning, "blank": optional}
    if spec.unit:
        kwargs["help_text"] = f"{spec.meaning} [{spec.unit}]"
    kind = spec.type
    if kind in ("string", "code"):
        if optional:
            kwargs["default"] = ""
        if kind == "code":
            assert spec.codes is not None  # the dictionary loader guarantees it
            kwargs["choices"] = [
                (code, f"{code}: {meaning}") for code, meaning in spec.codes.items()
            ]
            kwargs["max_length"] = max(16, *(len(c) for c in spec.codes))
            field: models.Field = models.CharField(**{**kwargs, **overrides})
        elif _is_identifier(table, name):
            field = models.CharField(max_length=KEY_MAX_LENGTH, **{**kwargs, **overrides})
        else:
            field = models.TextField(**{**kwargs, **overrides})
        return field
    kwargs["null"] = optional
    kwargs["validators"] = _validators(spec)
    classes: dict[str, type[models.Field]] = {
        "integer": models.IntegerField,
        "number": models.FloatField,
        "date": models.DateField,
        "boolean": models.BooleanField,
    }
    return classes[kind](**{**kwargs, **overrides})


def dictionary_fk(
    table: str, name: str, to: str, *, one_to_one: bool = False, **overrides: Any
) -> models.ForeignKey:
    """A foreign key for the reference field ``table.name`` (e.g. ``subjects.site_id``).

    The key points at the referenced table's natural key (``to_field``) and its
    column keeps the dictionary name, so ``subject.site_id == "IHBDH"``.
    Deleting a referenced row is refused while rows refer to it (PROTECT).

    Parameters
    ----------
    table, name : str
        Dictionary table and reference field.
    to : str
        Target model (``"Site"``).
    one_to_one : bool
        A one-to-one relation (a table keyed by the reference alone, e.g. screening).
    """
    spec = field_spec(table, name)
    if spec.references is None:
        raise ValueError(f"{table}.{name} is not a reference in the dictionary")
    kwargs: dict[str, Any] = {
        "to": to,
        "to_field": spec.references[1],
        "db_column": name,
        "on_delete": models.PROTECT,
        "help_text": spec.meaning,
        "related_name": overrides.pop("related_name", "+"),
    }
    kwargs.update(overrides)
    if one_to_one:
        return models.OneToOneField(**kwargs)
    return models.ForeignKey(**kwargs)


def key_constraint(table: str, fields: list[str]) -> models.UniqueConstraint:
    """The unique constraint of a dictionary table's key, named ``<table>_key``."""
    return models.UniqueConstraint(fields=fields, name=f"{table}_key")
