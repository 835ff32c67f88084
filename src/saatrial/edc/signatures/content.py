"""What an e-signature signs: a canonical serialisation of a subject's casebook (pure).

The signed content of subject S is the UTF-8 bytes of::

    json.dumps({"subject_id": S,
                "tables": {table: {"fields": [...], "rows": [[text, ...], ...]}, ...}},
               sort_keys=True, separators=(",", ":"), ensure_ascii=False)

with one entry per subject table of the data dictionary (``subjects`` and
every table keyed by ``subject_id``, empty ones included), ``fields`` the
dictionary fields in dictionary order, each value as canonical text
(:func:`saatrial.study.values.format_value`: dates ``YYYY-MM-DD``, booleans
``Y``/``N``, numbers ``format(x, ".10g")``, missing ``""``), and the rows
sorted by their texts. The signature stores SHA-256 of these bytes; the
eCRF's own fields (``id``, ``locked``) are not part of it, so locking a
casebook does not change what was signed.

Examples
--------
>>> records = {"subjects": [{"subject_id": "S1", "weight_kg": 25.0}]}
>>> casebook_bytes("S1", records, {"subjects": ("subject_id", "weight_kg")})
b'{"subject_id":"S1","tables":{"subjects":{"fields":["subject_id","weight_kg"],"rows":[["S1","25"]]}}}'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from saatrial.study.dictionary import load_dictionary
from saatrial.study.values import format_value

__all__ = ["casebook_bytes", "casebook_sha256"]


def casebook_bytes(
    subject_id: str,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    fields: Mapping[str, Sequence[str]] | None = None,
) -> bytes:
    """The canonical bytes of a subject's casebook (see the module docstring).

    Parameters
    ----------
    subject_id : str
    records : Mapping[str, sequence of Mapping]
        Table -> rows (field name -> Python value), as
        :func:`saatrial.edc.crf.casebook.subject_records` returns them.
    fields : Mapping[str, sequence of str], optional
        Table -> field names to serialise, in order; default the dictionary's
        fields of each table in ``records``.

    Returns
    -------
    bytes
    """
    dictionary = load_dictionary()
    tables: dict[str, Any] = {}
    for table, rows in records.items():
        names = list(fields[table]) if fields is not None else list(dictionary.table(table).fields)
        types = {n: dictionary.field(table, n).type for n in names}
        texts = sorted([format_value(types[n], row.get(n)) for n in names] for row in rows)
        tables[table] = {"fields": names, "rows": texts}
    payload = {"subject_id": subject_id, "tables": tables}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def casebook_sha256(
    subject_id: str,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    fields: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """SHA-256 (hex) of :func:`casebook_bytes`.

    Examples
    --------
    >>> rows = {"subjects": [{"subject_id": "S1"}]}
    >>> h = casebook_sha256("S1", rows, {"subjects": ["subject_id"]})
    >>> len(h), h == hashlib.sha256(b'{"subject_id":"S1","tables":{"subjects":'
    ...     b'{"fields":["subject_id"],"rows":[["S1"]]}}}').hexdigest()
    (64, True)
    """
    return hashlib.sha256(casebook_bytes(subject_id, records, fields)).hexdigest()
