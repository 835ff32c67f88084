"""The role table (``roles.yaml``): what each role may do, as versioned data.

Examples
--------
>>> roles = load_roles()
>>> roles.version
'1.0.0'
>>> roles["monitor"].grants("can_raise_query"), roles["monitor"].grants("can_enter")
(True, False)
>>> roles["statistician"].site_scoped
False
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

__all__ = ["PERMISSIONS", "Role", "RoleTable", "RoleTableError", "load_roles", "parse_roles"]

#: Permission names every role table must describe (and the only ones a role may grant).
PERMISSIONS: tuple[str, ...] = (
    "can_read_own_site",
    "can_read_all_sites",
    "can_enter",
    "can_edit_own_site",
    "can_raise_query",
    "can_close_query",
    "can_verify_source",
    "can_lock",
    "can_export",
    "can_sign",
    "can_read_audit",
    "can_admin_users",
)


class RoleTableError(ValueError):
    """The role table YAML is inconsistent."""


@dataclass(frozen=True)
class Role:
    """One role.

    Attributes
    ----------
    name : str
        Role code (``investigator``).
    label : str
        Label for people.
    site_scoped : bool
        True: a membership names one site and the role acts on it only.
        False: a study-wide membership (no site) acting on every site.
    permissions : frozenset of str
        Granted permissions (subset of :data:`PERMISSIONS`).
    """

    name: str
    label: str
    site_scoped: bool
    permissions: frozenset[str]

    def grants(self, permission: str) -> bool:
        """True if the role grants ``permission`` (ValueError for an unknown permission)."""
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
        return permission in self.permissions

    @property
    def reads_subject_data(self) -> bool:
        """True if the role may read subject data at all."""
        return bool(self.permissions & {"can_read_own_site", "can_read_all_sites"})


@dataclass(frozen=True)
class RoleTable:
    """All roles with the table's version and source."""

    version: str
    source: str
    permission_meanings: Mapping[str, str]
    roles: Mapping[str, Role]

    def __getitem__(self, name: str) -> Role:
        try:
            return self.roles[name]
        except KeyError:
            raise KeyError(f"unknown role {name!r}; known: {', '.join(self.roles)}") from None

    def __iter__(self) -> Iterator[Role]:
        return iter(self.roles.values())

    def __contains__(self, name: object) -> bool:
        return name in self.roles

    @property
    def choices(self) -> list[tuple[str, str]]:
        """``(name, label)`` pairs for a model field."""
        return [(r.name, r.label) for r in self.roles.values()]


def parse_roles(raw: Any, source: str = "roles.yaml") -> RoleTable:
    """Build and check a :class:`RoleTable` from parsed YAML.

    Raises
    ------
    RoleTableError
        No version/source, a permission list that differs from
        :data:`PERMISSIONS`, or a role granting an unknown permission.
    """
    if not isinstance(raw, dict):
        raise RoleTableError(f"{source}: not a mapping")
    for key in ("version", "source", "permissions", "roles"):
        if not raw.get(key):
            raise RoleTableError(f"{source}: '{key}' is missing")
    meanings = {str(k): str(v) for k, v in raw["permissions"].items()}
    if tuple(meanings) != PERMISSIONS:
        raise RoleTableError(
            f"{source}: permissions must be exactly {', '.join(PERMISSIONS)} in that order"
        )
    roles: dict[str, Role] = {}
    for name, spec in raw["roles"].items():
        grants = [str(g) for g in spec.get("grants") or ()]
        unknown = sorted(set(grants) - set(PERMISSIONS))
        if unknown:
            raise RoleTableError(f"{source}: roles.{name}: unknown permission(s) {unknown}")
        if "site_scoped" not in spec:
            raise RoleTableError(f"{source}: roles.{name}: site_scoped is missing")
        roles[str(name)] = Role(
            name=str(name),
            label=str(spec.get("label", name)),
            site_scoped=bool(spec["site_scoped"]),
            permissions=frozenset(grants),
        )
    return RoleTable(
        version=str(raw["version"]),
        source=" ".join(str(raw["source"]).split()),
        permission_meanings=MappingProxyType(meanings),
        roles=MappingProxyType(roles),
    )


@functools.lru_cache(maxsize=1)
def load_roles() -> RoleTable:
    """The package's role table (``saatrial/edc/accounts/roles.yaml``), cached."""
    text = resources.files("saatrial.edc.accounts").joinpath("roles.yaml").read_text("utf-8")
    return parse_roles(yaml.safe_load(text), "saatrial/edc/accounts/roles.yaml")
