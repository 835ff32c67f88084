"""Recompute the audit hash chain and report the first broken link.

Checks, entry by entry in ``seq`` order: the sequence has no gap (1, 2, 3 ...),
``prev_hash`` equals the previous entry's ``hash`` (genesis for the first),
and ``hash`` equals the SHA-256 of the entry's content. Finally the chain head
must point at the last entry (a removed tail shows up there).
"""

from __future__ import annotations

from dataclasses import dataclass

from saatrial.edc.audit.chain import GENESIS_HASH
from saatrial.edc.audit.models import AuditChainHead, AuditEntry

__all__ = ["ChainVerification", "verify_chain"]


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of :func:`verify_chain`.

    Attributes
    ----------
    rows : int
        Audit entries read.
    intact : bool
        True when every check passed.
    broken_seq : int or None
        ``seq`` of the first entry that fails (None when intact or when the
        head is at fault).
    broken_id : int or None
        Database id of that entry.
    problem : str
        What is wrong (empty when intact).
    head_hash : str
        Hash of the last entry (anchor it outside the database to detect a
        rewritten chain).
    database : str
        Alias checked.
    """

    rows: int
    intact: bool
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""
    head_hash: str = GENESIS_HASH
    database: str = "default"

    def message(self) -> str:
        """One line for people: ``N rows, chain intact`` or where it breaks.

        Examples
        --------
        >>> ChainVerification(3, True, head_hash="ab" * 32).message()
        '3 rows, chain intact (head abababababab...)'
        >>> ChainVerification(3, False, 2, 17, "hash mismatch").message()
        'audit chain BROKEN at seq 2 (id 17): hash mismatch (3 rows read)'
        """
        if self.intact:
            return f"{self.rows} rows, chain intact (head {self.head_hash[:12]}...)"
        where = (
            "" if self.broken_seq is None else f" at seq {self.broken_seq} (id {self.broken_id})"
        )
        return f"audit chain BROKEN{where}: {self.problem} ({self.rows} rows read)"


def verify_chain(using: str = "default", chunk_size: int = 2000) -> ChainVerification:
    """Recompute the whole audit chain of database ``using``.

    Parameters
    ----------
    using : str
        Database alias.
    chunk_size : int
        Entries fetched per round trip.

    Returns
    -------
    ChainVerification
        The first problem found, or ``intact``.
    """
    heads = AuditChainHead.objects.using(using)
    # read the head first: entries appended while we read are checked but not required
    head_before = heads.filter(pk=1).first()
    rows = 0
    expected_seq = 1
    prev = GENESIS_HASH
    hash_at_head: str | None = None
    entries = AuditEntry.objects.using(using).order_by("seq")
    for entry in entries.iterator(chunk_size=chunk_size):
        rows += 1
        problem = ""
        computed = entry.computed_hash()
        if entry.seq != expected_seq:
            problem = f"sequence gap: expected seq {expected_seq}, found {entry.seq}"
        elif entry.prev_hash != prev:
            problem = "prev_hash does not match the previous entry's hash (entry removed?)"
        elif entry.hash != computed:
            problem = (
                f"hash mismatch: stored {entry.hash[:12]}..., content gives {computed[:12]}... "
                f"(row altered: {entry})"
            )
        if problem:
            return ChainVerification(
                rows, False, int(entry.seq), int(entry.pk), problem, prev, using
            )
        prev = entry.hash
        if head_before is not None and entry.seq == head_before.last_seq:
            hash_at_head = entry.hash
        expected_seq += 1
    head_after = heads.filter(pk=1).first()
    if head_before is None or head_after is None:
        if rows:
            return ChainVerification(rows, False, None, None, "chain head row missing", prev, using)
        return ChainVerification(0, True, head_hash=prev, database=using)
    if head_before.last_seq and hash_at_head != head_before.last_hash:
        return ChainVerification(
            rows,
            False,
            None,
            None,
            f"chain head says seq {head_before.last_seq} / {head_before.last_hash[:12]}..., "
            f"but the entries end at seq {rows} / {prev[:12]}... (entries removed from the end?)",
            prev,
            using,
        )
    if rows > head_after.last_seq:
        return ChainVerification(
            rows,
            False,
            head_after.last_seq + 1,
            None,
            f"{rows - head_after.last_seq} entries beyond the chain head "
            f"(seq {head_after.last_seq}) were not appended by saatrial",
            prev,
            using,
        )
    return ChainVerification(rows, True, head_hash=prev, database=using)
