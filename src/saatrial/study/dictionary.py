"""The data dictionary (``saatrial/dictionary.yaml``) as typed, read-only objects.

The dictionary names every table and field of a study with its type, unit,
ranges, code list, required-ness and meaning. Readers, writers, validation, the
template and the eCRF all work from these objects; nothing else hard-codes a
field list.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "FIELD_TYPES",
    "REQUIRED_TABLES",
    "Dictionary",
    "DictionaryError",
    "FieldSpec",
    "LabTestSpec",
    "TableSpec",
    "load_dictionary",
]

#: The value types a field may have.
FIELD_TYPES: tuple[str, ...] = ("string", "integer", "number", "date", "boolean", "code")

#: Tables a study cannot be read without (their file must exist, it may be empty).
#: A table may also declare ``required: true`` in the YAML.
REQUIRED_TABLES: tuple[str, ...] = ("study", "sites", "arms", "dose_levels", "subjects")


class DictionaryError(ValueError):
    """The dictionary YAML itself is inconsistent (a programming/configuration error)."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a table.

    Attributes
    ----------
    name : str
        Field (column) name.
    type : str
        One of :data:`FIELD_TYPES`.
    required : bool
        An empty value is a hard error.
    meaning : str
        One-line meaning.
    unit : str or None
        SI unit of the stored value.
    hard_range, soft_range : tuple of float, or None
        Inclusive ``(min, max)``; outside the hard range is an error, outside
        the soft range a warning.
    codes : Mapping[str, str] or None
        Allowed codes and their meanings (resolved from ``codes_from`` if given).
    codes_from : str or None
        Name of the dictionary section the codes come from (``lab_tests``).
    references : tuple of str, or None
        ``(table, field)`` that must hold the value (foreign key).
    """

    name: str
    type: str
    required: bool
    meaning: str
    unit: str | None = None
    hard_range: tuple[float, float] | None = None
    soft_range: tuple[float, float] | None = None
    codes: Mapping[str, str] | None = None
    codes_from: str | None = None
    references: tuple[str, str] | None = None


@dataclass(frozen=True)
class TableSpec:
    """One table of the dictionary.

    Attributes
    ----------
    name : str
        Table name.
    file : str
        CSV file stem / XLSX sheet name.
    meaning : str
        One-line meaning.
    key : tuple of str
        Fields that identify a row uniquely.
    fields : Mapping[str, FieldSpec]
        Fields in dictionary order.
    date_fields : tuple of str
        Fields that date a row (cross-table date rules).
    pre_consent_allowed : bool
        Rows may be dated before the subject's consent date.
    required : bool
        The table's file must be present for a study to be read.
    """

    name: str
    file: str
    meaning: str
    key: tuple[str, ...]
    fields: Mapping[str, FieldSpec]
    date_fields: tuple[str, ...] = ()
    pre_consent_allowed: bool = False
    required: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        """Field names in dictionary order."""
        return tuple(self.fields)

    @property
    def csv_name(self) -> str:
        """File name of the table in a CSV folder, e.g. ``labs.csv``."""
        return f"{self.file}.csv"


@dataclass(frozen=True)
class LabTestSpec:
    """A laboratory test code with its stored unit and ranges."""

    code: str
    name: str
    unit: str
    hard_range: tuple[float, float] | None = None
    soft_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Dictionary:
    """The whole data dictionary.

    Attributes
    ----------
    version : str
        Dictionary version (semantic versioning).
    name : str
        Title.
    tables : Mapping[str, TableSpec]
        Tables in dictionary order.
    lab_tests : Mapping[str, LabTestSpec]
        Lab test codes in dictionary order.
    source : str
        Where the dictionary was loaded from.

    Examples
    --------
    >>> d = load_dictionary()
    >>> d.tables["labs"].key
    ('subject_id', 'lab_date', 'test')
    >>> d.lab_tests["HGB"].unit
    'g/L'
    >>> d.field("subjects", "weight_kg").hard_range
    (1.0, 200.0)
    """

    version: str
    name: str
    tables: Mapping[str, TableSpec]
    lab_tests: Mapping[str, LabTestSpec]
    source: str = ""

    def table(self, name: str) -> TableSpec:
        """The spec of table ``name`` (``KeyError`` naming the known tables otherwise)."""
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(self.tables)}") from None

    def field(self, table: str, field: str) -> FieldSpec:
        """The spec of ``table.field``."""
        spec = self.table(table)
        try:
            return spec.fields[field]
        except KeyError:
            raise KeyError(f"unknown field {table}.{field}") from None

    @property
    def required_tables(self) -> tuple[str, ...]:
        """Tables whose file must exist."""
        return tuple(name for name, t in self.tables.items() if t.required)


def _range(value: Any, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise DictionaryError(f"{where}: a range must be [min, max], got {value!r}")
    low, high = float(value[0]), float(value[1])
    if low > high:
        raise DictionaryError(f"{where}: range min {low} > max {high}")
    return (low, high)


def _codes(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict) or not value:
        raise DictionaryError(f"{where}: codes must be a non-empty mapping, got {value!r}")
    return MappingProxyType({str(code): str(meaning) for code, meaning in value.items()})


def _lab_test(code: str, raw: dict[str, Any]) -> LabTestSpec:
    where = f"lab_tests.{code}"
    if "unit" not in raw:
        raise DictionaryError(f"{where}: no unit")
    return LabTestSpec(
        code=str(code),
        name=str(raw.get("name", code)),
        unit=str(raw["unit"]),
        hard_range=_range(raw.get("hard_range"), where + ".hard_range"),
        soft_range=_range(raw.get("soft_range"), where + ".soft_range"),
    )


def _field(
    table: str, name: str, raw: dict[str, Any], sections: dict[str, Mapping[str, str]]
) -> FieldSpec:
    where = f"tables.{table}.fields.{name}"
    ftype = raw.get("type")
    if ftype not in FIELD_TYPES:
        raise DictionaryError(f"{where}: type {ftype!r} is not one of {FIELD_TYPES}")
    codes: Mapping[str, str] | None = None
    codes_from = raw.get("codes_from")
    if codes_from is not None:
        if codes_from not in sections:
            raise DictionaryError(f"{where}: codes_from {codes_from!r} is not a dictionary section")
        codes = sections[codes_from]
    elif "codes" in raw:
        codes = _codes(raw["codes"], where)
    if ftype == "code" and codes is None:
        raise DictionaryError(f"{where}: a code field needs codes or codes_from")
    references = None
    if raw.get("references") is not None:
        parts = str(raw["references"]).split(".")
        if len(parts) != 2:
            raise DictionaryError(f"{where}: references must be table.field")
        references = (parts[0], parts[1])
    return FieldSpec(
        name=str(name),
        type=str(ftype),
        required=bool(raw.get("required", False)),
        meaning=str(raw.get("meaning", "")),
        unit=None if raw.get("unit") is None else str(raw["unit"]),
        hard_range=_range(raw.get("hard_range"), where + ".hard_range"),
        soft_range=_range(raw.get("soft_range"), where + ".soft_range"),
        codes=codes,
        codes_from=None if codes_from is None else str(codes_from),
        references=references,
    )


def _table(name: str, raw: dict[str, Any], sections: dict[str, Mapping[str, str]]) -> TableSpec:
    where = f"tables.{name}"
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise DictionaryError(f"{where}: no fields")
    fields = {str(f): _field(name, str(f), spec, sections) for f, spec in raw_fields.items()}
    key = tuple(str(k) for k in raw.get("key") or ())
    if not key:
        raise DictionaryError(f"{where}: no key")
    for k in key:
        if k not in fields:
            raise DictionaryError(f"{where}: key field {k!r} is not a field")
    date_fields = tuple(str(f) for f in raw.get("date_fields") or ())
    for f in date_fields:
        if f not in fields or fields[f].type != "date":
            raise DictionaryError(f"{where}: date_fields entry {f!r} is not a date field")
    return TableSpec(
        name=name,
        file=str(raw.get("file", name)),
        meaning=str(raw.get("meaning", "")),
        key=key,
        fields=MappingProxyType(fields),
        date_fields=date_fields,
        pre_consent_allowed=bool(raw.get("pre_consent_allowed", False)),
        required=bool(raw.get("required", name in REQUIRED_TABLES)),
    )


def parse_dictionary(raw: dict[str, Any], source: str = "") -> Dictionary:
    """Build a :class:`Dictionary` from the parsed YAML mapping and check it.

    Raises
    ------
    DictionaryError
        When a field type, range, code list, key, date field or reference is
        inconsistent.
    """
    if not isinstance(raw, dict) or "tables" not in raw:
        raise DictionaryError(f"{source}: not a data dictionary (no 'tables')")
    lab_tests = {
        str(code): _lab_test(str(code), spec) for code, spec in (raw.get("lab_tests") or {}).items()
    }
    sections: dict[str, Mapping[str, str]] = {
        "lab_tests": MappingProxyType({code: t.name for code, t in lab_tests.items()})
    }
    tables = {str(name): _table(str(name), spec, sections) for name, spec in raw["tables"].items()}
    for table in tables.values():
        for f in table.fields.values():
            if f.references is None:
                continue
            ref_table, ref_field = f.references
            if ref_table not in tables or ref_field not in tables[ref_table].fields:
                raise DictionaryError(
                    f"tables.{table.name}.fields.{f.name}: references "
                    f"{ref_table}.{ref_field}, which does not exist"
                )
    files = [t.file for t in tables.values()]
    if len(set(files)) != len(files):
        raise DictionaryError("two tables share a file name")
    return Dictionary(
        version=str(raw.get("version", "")),
        name=str(raw.get("name", "")),
        tables=MappingProxyType(tables),
        lab_tests=MappingProxyType(lab_tests),
        source=source,
    )


@functools.lru_cache(maxsize=8)
def _load_cached(path: str | None) -> Dictionary:
    if path is None:
        res = resources.files("saatrial").joinpath("dictionary.yaml")
        text = res.read_text(encoding="utf-8")
        source = "saatrial/dictionary.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        source = path
    return parse_dictionary(yaml.safe_load(text), source)


def load_dictionary(path: str | Path | None = None) -> Dictionary:
    """Load the data dictionary (cached).

    Parameters
    ----------
    path : str or Path, optional
        A dictionary YAML file; default: the package's ``saatrial/dictionary.yaml``.

    Returns
    -------
    Dictionary
        Read-only dictionary; YAML anchors are resolved, ``codes_from:
        lab_tests`` is replaced by the lab test codes.

    Raises
    ------
    DictionaryError
        The YAML is not a consistent dictionary.

    Examples
    --------
    >>> d = load_dictionary()
    >>> list(d.tables)[:5]
    ['study', 'sites', 'arms', 'dose_levels', 'subjects']
    >>> d.field("labs", "test").codes["ANC"]
    'absolute neutrophil count'
    >>> d.field("adverse_events", "attribution_csa").codes["NA"]
    'drug not given'
    """
    return _load_cached(None if path is None else str(Path(path).resolve()))
