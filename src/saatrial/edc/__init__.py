"""saatrial.edc: the electronic data capture (eCRF) web app, a Django project.

Apps
----
``saatrial.edc.trial``
    One model per data-dictionary table (Study, Site, Arm, DoseLevel, Subject,
    Screening, MarrowExam, Lab, Transfusion, Exposure, TcellSubset,
    AdverseEvent, ResponseAssessment, OutcomeEvent, Provenance), with
    django-simple-history on every one of them.
``saatrial.edc.audit``
    The append-only, hash-chained audit trail (:class:`AuditEntry`), the
    write API every change must go through (:func:`audited_save`,
    :func:`audited_delete`, :func:`record_change`), the database triggers that
    refuse UPDATE/DELETE on audit tables and :func:`verify_chain`.
``saatrial.edc.accounts``
    Roles as data (``roles.yaml``), site memberships, :func:`visible_subjects`,
    permission checks, login auditing and account lockout.

:mod:`saatrial.edc.load` moves a :class:`~saatrial.study.StudyData` into the
database and back. The rules for writing code on top of this core are in
``saatrial/edc/README.md``.
"""
