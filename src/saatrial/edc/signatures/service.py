"""Sign a subject's casebook (password re-entry, stated meaning) and tell whether it still holds.

Signing (:func:`sign_casebook`) needs ``can_sign`` at the subject's site, the
signer's password typed again (checked by the authentication backend, so a
wrong password counts as a failed login towards the lockout and is audited),
and one of the meanings of ``meanings.yaml``. It stores a :class:`Signature`
with the SHA-256 of the casebook content and appends a ``signed`` audit entry,
in one transaction.

A signature is *void* (:func:`signature_status`) when the casebook content
hash differs from the signed one, or when any audited data change of the
subject (create/update/delete of a casebook row, the lock flag excepted)
follows the signature in the audit trail - so reverting a value does not
revive a signature: sign again.

References
----------
.. [1] 21 CFR 11.50 (signature manifestations), 11.70 (signature/record
   linking), 11.200(a)(1) (two components; both at each signing outside a
   continuous session - here always).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from saatrial.edc.accounts.access import require_permission
from saatrial.edc.audit.context import allow_audited_write, pinned_database
from saatrial.edc.audit.models import Action, AuditChainHead, AuditEntry
from saatrial.edc.audit.service import record_event
from saatrial.edc.crf.casebook import subject_records, subject_table_names
from saatrial.edc.signatures.content import casebook_sha256
from saatrial.edc.signatures.models import Signature
from saatrial.edc.trial.models import Subject

__all__ = [
    "SignatureMeanings",
    "SignatureRefusedError",
    "SignatureState",
    "SignatureStatus",
    "current_casebook_sha256",
    "load_meanings",
    "sign_casebook",
    "signature_status",
]


class SignatureRefusedError(ValueError):
    """Signing refused (wrong password, unknown meaning, nothing to sign); nothing written."""


@dataclass(frozen=True)
class SignatureMeanings:
    """The meanings table: version, source, code -> exact text."""

    version: str
    source: str
    meanings: Mapping[str, str]


@functools.lru_cache(maxsize=1)
def load_meanings() -> SignatureMeanings:
    """The package's signature meanings (``saatrial/edc/signatures/meanings.yaml``).

    Examples
    --------
    >>> load_meanings().meanings["approval"]
    'I approve the data of this casebook.'
    """
    text = resources.files("saatrial.edc.signatures").joinpath("meanings.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    for key in ("version", "source", "meanings"):
        if not raw.get(key):
            raise ValueError(f"saatrial/edc/signatures/meanings.yaml: '{key}' is missing")
    return SignatureMeanings(
        str(raw["version"]),
        " ".join(str(raw["source"]).split()),
        MappingProxyType({str(k): str(v) for k, v in raw["meanings"].items()}),
    )


def current_casebook_sha256(subject_id: str, using: str = "default") -> str:
    """SHA-256 of the subject's casebook as the database holds it now."""
    return casebook_sha256(subject_id, subject_records(subject_id, using))


#: Audit actions that change casebook data (they void a signature).
DATA_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DELETE)


def _later_change(signature: Signature, using: str) -> AuditEntry | None:
    return (
        AuditEntry.objects.using(using)
        .filter(
            subject_id=signature.subject_id,
            action__in=[str(a) for a in DATA_ACTIONS],
            table_name__in=subject_table_names(),
            seq__gt=signature.audit_seq,
        )
        .exclude(table_name="subjects", field_name="locked")  # locking is not a data change
        .order_by("seq")
        .first()
    )


def sign_casebook(
    user: Any,
    subject: Subject,
    password: str,
    meaning_code: str,
    *,
    request: Any = None,
    using: str | None = None,
) -> Signature:
    """Sign ``subject``'s casebook as ``user``.

    Parameters
    ----------
    user : User
        The signer; needs ``can_sign`` at the subject's site.
    subject : Subject
    password : str
        The signer's password, typed again at this signing.
    meaning_code : str
        A code of :func:`load_meanings`.
    request : HttpRequest, optional
        Passed to the authentication backend (failed-login auditing).
    using : str, optional

    Returns
    -------
    Signature

    Raises
    ------
    PermissionDenied
        No ``can_sign`` at the subject's site.
    SignatureRefusedError
        Wrong password (or account locked), unknown meaning.
    """
    alias = using or getattr(getattr(user, "_state", None), "db", None) or "default"
    require_permission(user, "can_sign", subject.site_id, alias)
    meanings = load_meanings().meanings
    if meaning_code not in meanings:
        raise SignatureRefusedError(
            f"meaning {meaning_code!r} unknown; choose one of {', '.join(meanings)}"
        )
    with pinned_database(alias):  # the backend reads the user from the signer's database
        checked = authenticate(request, username=user.get_username(), password=password or "")
    if checked is None or checked.pk != user.pk:
        raise SignatureRefusedError(
            "password not accepted: the casebook was not signed (the attempt is audited)"
        )
    with pinned_database(alias), transaction.atomic(using=alias):
        # lock the audit chain head: every audited change queues behind it, so no change
        # can slip between hashing the casebook and the `signed` entry (same order in both)
        AuditChainHead.objects.using(alias).select_for_update().filter(pk=1).first()
        digest = current_casebook_sha256(subject.subject_id, alias)
        now = timezone.now()
        entry = record_event(
            user,
            Action.SIGNED,
            using=alias,
            table_name="subjects",
            record_pk=str(subject.pk),
            record_key=subject.subject_id,
            subject_id=subject.subject_id,
            field_name="signature",
            new_value=digest,
            reason=meanings[meaning_code],
            detail=f"meaning={meaning_code}; content=sha256 of the casebook (signatures.content)",
        )
        signature = Signature(
            subject_id=subject.subject_id,
            signer=user,
            signer_username=user.get_username(),
            signer_full_name=user.get_full_name(),
            signed_at=now,
            meaning_code=meaning_code,
            meaning=meanings[meaning_code],
            content_sha256=digest,
            audit_seq=entry.seq,
        )
        with allow_audited_write():
            signature.save(using=alias)
    return signature


class SignatureState(StrEnum):
    """Whether a casebook is signed."""

    UNSIGNED = "unsigned"
    VALID = "valid"
    VOID = "void"


@dataclass(frozen=True)
class SignatureStatus:
    """The signature state of one casebook.

    Attributes
    ----------
    state : SignatureState
    signature : Signature or None
        The latest signature.
    current_sha256 : str
        Hash of the casebook now.
    change : AuditEntry or None
        The first audited data change after the signature (when void).
    text : str
        The state in words, e.g. ``void: data changed after signing on
        2025-01-02 10:00 UTC by cora``.
    """

    state: SignatureState
    signature: Signature | None
    current_sha256: str
    change: AuditEntry | None
    text: str


def signature_status(
    subject: Subject,
    using: str = "default",
    records: Mapping[str, Any] | None = None,
) -> SignatureStatus:
    """The state of the latest signature of ``subject``'s casebook (computed now).

    ``records`` may pass the casebook just read with
    :func:`~saatrial.edc.crf.casebook.subject_records` (the subject page has it)
    instead of reading it again.
    """
    if records is None:
        current = current_casebook_sha256(subject.subject_id, using)
    else:
        current = casebook_sha256(subject.subject_id, records)
    signature = (
        Signature.objects.using(using)
        .filter(subject_id=subject.subject_id)
        .order_by("-audit_seq")
        .first()
    )
    if signature is None:
        return SignatureStatus(SignatureState.UNSIGNED, None, current, None, "not signed")
    change = _later_change(signature, using)
    signed = (
        f"signed by {signature.signer_username} on "
        f"{signature.signed_at:%Y-%m-%d %H:%M} UTC ({signature.meaning})"
    )
    if change is not None:
        text = (
            f"void: data changed after signing on {change.timestamp:%Y-%m-%d %H:%M} UTC by "
            f"{change.username} ({change.table_name} {change.record_key} {change.field_name}); "
            f"was {signed}"
        )
        return SignatureStatus(SignatureState.VOID, signature, current, change, text)
    if current != signature.content_sha256:
        text = (
            "void: the casebook differs from the signed content but no audited change "
            f"follows the signature (run `saatrial audit verify`); was {signed}"
        )
        return SignatureStatus(SignatureState.VOID, signature, current, None, text)
    return SignatureStatus(SignatureState.VALID, signature, current, None, signed)
