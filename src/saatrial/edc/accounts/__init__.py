"""Accounts: roles as data, site memberships, who sees which subjects, login auditing, lockout.

- :mod:`~saatrial.edc.accounts.roles`: the role table (``roles.yaml``).
- :mod:`~saatrial.edc.accounts.models`: :class:`SiteMembership` (user, site, role).
- :mod:`~saatrial.edc.accounts.access`: :func:`visible_subjects` - every view,
  export and search must select subjects through it - and permission checks.
- :mod:`~saatrial.edc.accounts.lockout`: lock an account name after repeated
  failed logins.
- :mod:`~saatrial.edc.accounts.services`: create users, grant/revoke roles,
  unlock accounts (all audited).
"""
