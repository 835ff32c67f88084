"""The audit trail: who changed what, when, from what to what, and why.

Every create, update and delete of a clinical record goes through
:func:`~saatrial.edc.audit.service.audited_save` or
:func:`~saatrial.edc.audit.service.audited_delete`, which save the row and
append one :class:`~saatrial.edc.audit.models.AuditEntry` per changed field in
the same database transaction. Entries form a SHA-256 hash chain
(:mod:`saatrial.edc.audit.chain`); database triggers
(:mod:`saatrial.edc.audit.triggers`) refuse UPDATE and DELETE on the audit
tables; :func:`~saatrial.edc.audit.verify.verify_chain` recomputes the chain.

Import the service functions from :mod:`saatrial.edc.audit.service` (this
package module is imported before Django's app registry is ready and so
exports nothing itself).

References
----------
.. [1] 21 CFR Part 11 §11.10(e): secure, computer-generated, time-stamped
   audit trails that record the date and time of operator entries and actions
   that create, modify, or delete electronic records; record changes shall not
   obscure previously recorded information.
.. [2] EU GMP Annex 11 §9 (audit trails: record the reason for change).
.. [3] ICH E6(R3) (2025) §4.2 / Annex 1 3.16.1 (data integrity, audit trails).
"""
