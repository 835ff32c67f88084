"""The data query workflow (``workflow.yaml``) and its pure transition rule.

A query holds a *site status* (``awaiting_response`` / ``answered``) and a
*data-management status* (``open`` / ``closed``), kept apart; the overall
status (``open`` -> ``answered`` -> ``closed``) is derived from both.

Examples
--------
>>> wf = load_workflow()
>>> wf.version
'1.0.0'
>>> overall_status("awaiting_response", "open")
'open'
>>> step = plan_transition("answered", "open", "close")
>>> step.allowed, step.dm_status, step.status
(True, 'closed', 'closed')
>>> plan_transition("awaiting_response", "open", "reopen").reason
"reopen: not allowed while the query is 'open' (allowed from: answered)"
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from saatrial.edc.accounts.roles import PERMISSIONS

__all__ = [
    "Transition",
    "TransitionPlan",
    "Workflow",
    "WorkflowError",
    "load_workflow",
    "overall_status",
    "parse_workflow",
    "plan_transition",
]


class WorkflowError(ValueError):
    """The workflow YAML is inconsistent."""


@dataclass(frozen=True)
class Transition:
    """One action on a query.

    Attributes
    ----------
    name : str
        ``answer``, ``reopen``, ``close``.
    label : str
    permission : str
        Permission needed at the subject's site.
    sources : tuple of str
        Overall statuses the action may start from.
    sets : Mapping[str, str]
        ``site_status`` and/or ``dm_status`` values the action sets.
    text_required : bool
        The action needs a text (the answer, the reason to re-open).
    audit_action : str
        The audit trail action recorded.
    """

    name: str
    label: str
    permission: str
    sources: tuple[str, ...]
    sets: Mapping[str, str]
    text_required: bool
    audit_action: str


@dataclass(frozen=True)
class Workflow:
    """The whole workflow table."""

    version: str
    source: str
    site_statuses: Mapping[str, str]
    dm_statuses: Mapping[str, str]
    statuses: Mapping[str, Mapping[str, str]]
    raise_permission: str
    transitions: Mapping[str, Transition]


def parse_workflow(raw: Any, source: str = "workflow.yaml") -> Workflow:
    """Build and check a :class:`Workflow` from parsed YAML.

    Raises
    ------
    WorkflowError
        Missing version/source, unknown permission, status or field.
    """
    if not isinstance(raw, dict):
        raise WorkflowError(f"{source}: not a mapping")
    for key in ("version", "source", "site_statuses", "dm_statuses", "statuses", "transitions"):
        if not raw.get(key):
            raise WorkflowError(f"{source}: '{key}' is missing")
    site = {str(k): str(v) for k, v in raw["site_statuses"].items()}
    dm = {str(k): str(v) for k, v in raw["dm_statuses"].items()}
    statuses = {str(k): MappingProxyType(dict(v)) for k, v in raw["statuses"].items()}
    raise_permission = str(raw.get("raise_permission", ""))
    if raise_permission not in PERMISSIONS:
        raise WorkflowError(f"{source}: raise_permission {raise_permission!r} is not a permission")
    transitions: dict[str, Transition] = {}
    for name, spec in raw["transitions"].items():
        where = f"{source}: transitions.{name}"
        if spec.get("permission") not in PERMISSIONS:
            raise WorkflowError(f"{where}: unknown permission {spec.get('permission')!r}")
        sources = tuple(str(s) for s in spec.get("from") or ())
        if not sources or any(s not in statuses for s in sources):
            raise WorkflowError(f"{where}: 'from' must list statuses of {sorted(statuses)}")
        sets = {str(k): str(v) for k, v in (spec.get("set") or {}).items()}
        for field_name, value in sets.items():
            allowed = {"site_status": site, "dm_status": dm}.get(field_name)
            if allowed is None or value not in allowed:
                raise WorkflowError(f"{where}: set {field_name}={value!r} is not a known status")
        transitions[str(name)] = Transition(
            name=str(name),
            label=str(spec.get("label", name)),
            permission=str(spec["permission"]),
            sources=sources,
            sets=MappingProxyType(sets),
            text_required=bool(spec.get("text_required", False)),
            audit_action=str(spec["audit_action"]),
        )
    return Workflow(
        version=str(raw["version"]),
        source=" ".join(str(raw["source"]).split()),
        site_statuses=MappingProxyType(site),
        dm_statuses=MappingProxyType(dm),
        statuses=MappingProxyType(statuses),
        raise_permission=raise_permission,
        transitions=MappingProxyType(transitions),
    )


@functools.lru_cache(maxsize=1)
def load_workflow() -> Workflow:
    """The package's workflow table (``saatrial/edc/queries/workflow.yaml``), cached."""
    text = resources.files("saatrial.edc.queries").joinpath("workflow.yaml").read_text("utf-8")
    return parse_workflow(yaml.safe_load(text), "saatrial/edc/queries/workflow.yaml")


def overall_status(site_status: str, dm_status: str, workflow: Workflow | None = None) -> str:
    """The overall status of a query from its site and data-management statuses.

    Raises
    ------
    ValueError
        The pair matches no status of the table.
    """
    wf = workflow or load_workflow()
    for name, spec in wf.statuses.items():
        if (
            spec.get("dm_status", dm_status) == dm_status
            and spec.get("site_status", site_status) == site_status
        ):
            return name
    raise ValueError(f"query status: no status for site {site_status!r} / dm {dm_status!r}")


@dataclass(frozen=True)
class TransitionPlan:
    """What an action would do to a query (nothing is changed here).

    Attributes
    ----------
    action : str
    allowed : bool
        The action may start from the query's current status.
    reason : str
        Why not, when refused.
    site_status, dm_status, status : str
        The statuses after the action (the current ones when refused).
    transition : Transition or None
        The table row (None for an unknown action).
    """

    action: str
    allowed: bool
    reason: str
    site_status: str
    dm_status: str
    status: str
    transition: Transition | None


def plan_transition(
    site_status: str, dm_status: str, action: str, workflow: Workflow | None = None
) -> TransitionPlan:
    """Apply ``action`` to a query's statuses, by the workflow table.

    Parameters
    ----------
    site_status, dm_status : str
        The query's current statuses.
    action : str
        A transition name (``answer``, ``reopen``, ``close``).
    workflow : Workflow, optional

    Returns
    -------
    TransitionPlan
    """
    wf = workflow or load_workflow()
    current = overall_status(site_status, dm_status, wf)
    transition = wf.transitions.get(action)
    if transition is None:
        known = ", ".join(wf.transitions)
        return TransitionPlan(
            action,
            False,
            f"unknown action {action!r} (known: {known})",
            site_status,
            dm_status,
            current,
            None,
        )
    if current not in transition.sources:
        reason = (
            f"{action}: not allowed while the query is {current!r} "
            f"(allowed from: {', '.join(transition.sources)})"
        )
        return TransitionPlan(action, False, reason, site_status, dm_status, current, transition)
    new_site = transition.sets.get("site_status", site_status)
    new_dm = transition.sets.get("dm_status", dm_status)
    return TransitionPlan(
        action, True, "", new_site, new_dm, overall_status(new_site, new_dm, wf), transition
    )
