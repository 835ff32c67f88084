"""Site memberships: which user holds which role at which site."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from saatrial.edc.accounts.roles import load_roles

__all__ = ["SiteMembership"]


class SiteMembership(models.Model):
    """A user's role at a site (site-scoped roles) or study-wide (``site`` empty).

    Granting, changing and revoking memberships is audited (signal handlers in
    :mod:`saatrial.edc.accounts.signals`). Users with memberships cannot be
    deleted (deactivate them instead: ``is_active = False``).
    """

    AUDIT_IGNORED: ClassVar[tuple[str, ...]] = ()

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="site_memberships"
    )
    site = models.ForeignKey(
        "trial.Site",
        to_field="site_id",
        db_column="site_id",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        help_text="Site of a site-scoped role; empty for study-wide roles.",
    )
    role = models.CharField(max_length=32, choices=load_roles().choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_site_membership"
        ordering = ("user_id", "site_id", "role")
        constraints = (
            models.UniqueConstraint(
                fields=["user", "site", "role"],
                condition=models.Q(site__isnull=False),
                name="membership_unique_site_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(site__isnull=True),
                name="membership_unique_study_role",
            ),
        )

    @property
    def audit_table(self) -> str:
        """Audit trail table name."""
        return "site_membership"

    def audit_key(self) -> str:
        """``username|site|role``."""
        return f"{self.user.get_username()}|{self.site_id or '*'}|{self.role}"

    def clean(self) -> None:
        """Site-scoped roles need a site; study-wide roles must have none."""
        super().clean()
        roles = load_roles()
        if self.role not in roles:
            return  # the choices check reports it
        role = roles[self.role]
        if role.site_scoped and not self.site_id:
            raise ValidationError({"site": f"role {role.name} is site-scoped: give a site"})
        if not role.site_scoped and self.site_id:
            raise ValidationError(
                {"site": f"role {role.name} is study-wide: give no site (it covers every site)"}
            )

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role} @ {self.site_id or 'all sites'}"
