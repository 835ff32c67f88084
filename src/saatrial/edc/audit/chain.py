"""The audit hash chain: canonical text of an entry and its SHA-256 hash (pure functions).

Each audit entry stores ``prev_hash`` (the ``hash`` of the entry before it;
:data:`GENESIS_HASH` for the first) and ``hash = SHA-256(canonical JSON of the
entry's recorded fields, prev_hash included)``. Changing, removing or
inserting an entry behind the application's back breaks the chain at that
entry; :func:`saatrial.edc.audit.verify.verify_chain` finds the first break.

The canonical JSON is ``json.dumps(payload, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8; timestamps are
UTC ISO 8601 with microseconds (``2024-05-01T09:30:00.000123+00:00``).

Limits: the hash is not keyed. Someone able to rewrite the database can
recompute every hash after a forged entry *and* the chain head; to detect
that, keep the head hash that ``saatrial audit verify`` prints somewhere the
database administrator cannot write (a signed report, a ticket, an e-mail).

References
----------
.. [1] FIPS 180-4, Secure Hash Standard (SHA-256).
.. [2] RFC 8785 (JSON Canonicalization Scheme) - same idea, simpler rules here:
   only strings, integers and null are hashed, so no number formatting arises.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "canonical_json",
    "entry_hash",
    "timestamp_text",
    "value_text",
]

#: ``prev_hash`` of the first entry of a chain.
GENESIS_HASH = "0" * 64

#: The entry fields covered by the hash, in the order they are documented.
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "timestamp",
    "user_id",
    "username",
    "action",
    "table_name",
    "record_pk",
    "record_key",
    "subject_id",
    "field_name",
    "old_value",
    "new_value",
    "reason",
    "detail",
    "prev_hash",
)


def timestamp_text(moment: dt.datetime) -> str:
    """UTC ISO 8601 text with microseconds of an aware datetime.

    Raises
    ------
    ValueError
        ``moment`` is naive (has no time zone): audit times must be UTC.

    Examples
    --------
    >>> timestamp_text(dt.datetime(2024, 5, 1, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    '2024-05-01T09:30:00.000000+00:00'
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"audit timestamp {moment!r} has no time zone (must be UTC-aware)")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def value_text(value: Any) -> str | None:
    """The exact text recorded for a field value (None stays None).

    Dates are ISO 8601, booleans ``true``/``false``, floats their shortest
    round-trip ``repr`` (so 0.1 is ``0.1`` and no digit is lost), everything
    else ``str``.

    Examples
    --------
    >>> [value_text(v) for v in (None, True, 3, 0.1, 15.0, dt.date(2014, 3, 1), "Y")]
    [None, 'true', '3', '0.1', '15.0', '2014-03-01', 'Y']
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot audit a non-finite number {value!r}")
        return repr(value)
    if isinstance(value, dt.datetime):
        return timestamp_text(value) if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | decimal.Decimal):
        return str(value)
    return str(value)


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Canonical UTF-8 JSON of a mapping (sorted keys, no blanks).

    Examples
    --------
    >>> canonical_json({"b": 1, "a": "é", "c": None})
    b'{"a":"\\xc3\\xa9","b":1,"c":null}'
    """
    return json.dumps(
        dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def entry_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry's :data:`HASHED_FIELDS`.

    Parameters
    ----------
    payload : Mapping
        Must hold exactly the keys of :data:`HASHED_FIELDS`; values are str,
        int or None (``timestamp`` already as :func:`timestamp_text`).

    Raises
    ------
    ValueError
        A key is missing or extra, or a value is not str/int/None.

    Examples
    --------
    >>> p = dict.fromkeys(HASHED_FIELDS, "")
    >>> p.update(seq=1, user_id=None, old_value=None, new_value="15.0", prev_hash=GENESIS_HASH)
    >>> len(entry_hash(p)), entry_hash(p) == entry_hash(dict(p))
    (64, True)
    >>> entry_hash({**p, "new_value": "15.5"}) == entry_hash(p)
    False
    """
    keys = set(payload)
    expected = set(HASHED_FIELDS)
    if keys != expected:
        missing, extra = sorted(expected - keys), sorted(keys - expected)
        raise ValueError(f"audit payload keys differ: missing {missing}, extra {extra}")
    for key, value in payload.items():
        if (value is not None and not isinstance(value, str | int)) or isinstance(value, bool):
            raise ValueError(f"audit payload {key}={value!r}: must be str, int or None")
    return hashlib.sha256(canonical_json(payload)).hexdigest()
