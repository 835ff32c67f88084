"""Haematologic response: criteria sets as data, a tiny engine, visit assessment.

A criteria set (``rules/criteria/<id>.yaml``: ``cn-peds-2014`` — this trial —,
``nih``, ``bsh-2016``) is an ordered list of rules. Each rule names a category
(CR, PR, NR) and conditions on named variables; the first rule whose
conditions all hold decides. Conditions are three-valued: a condition on a
missing value is *unknown*. If an earlier rule is unknown when a later one
holds, the result is ``NE`` (not evaluable) with the missing values listed,
never a guess. When no rule holds the set's fallback decides (D14: NR,
flagged ``by_fallback``).

Variables the engine knows (units in names):

========================== ==========================================================
``anc_1e9_per_l``          ANC
``plt_1e9_per_l``          platelets
``hgb_g_per_l``            haemoglobin
``arc_1e9_per_l``          absolute reticulocytes
``baseline_arc_1e9_per_l`` baseline ARC (last on or before study day 1)
``arc_increase_1e9_per_l`` ARC - baseline ARC (D10)
``hgb_normal_for_age``     Hb at or above the age/sex table limit (D13)
``transfusion_independent`` no RBC/PLT transfusion in the window (D11)
``saa_blood_criteria_met`` at least two SAA blood criteria (D2 pre-transfusion rule)
``died``                   died before the assessment
========================== ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from saatrial.rules.frames import (
    LabValue,
    lab_values,
    last_on_or_before,
    nearest_in_window,
    transfusion_records,
)
from saatrial.rules.hgb_normal import hgb_normal_for_age
from saatrial.rules.severity import saa_blood_criteria
from saatrial.rules.transfusion import independence_from_records, pre_transfusion_check
from saatrial.rules.types import (
    DECIMALS,
    DateLike,
    RuleTableError,
    ge,
    gt,
    le,
    load_rule_table,
    lt,
    optional_bool,
    optional_float,
    to_date,
    to_optional_date,
)

DEFAULT_CRITERIA_SET = "cn-peds-2014"


class ResponseCategory(StrEnum):
    """Response categories. ``NE`` = not evaluable (values missing)."""

    CR = "CR"
    PR = "PR"
    NR = "NR"
    NE = "NE"


#: Order of the evaluable categories, best highest.
RESPONSE_RANK: Mapping[ResponseCategory, int] = {
    ResponseCategory.NR: 0,
    ResponseCategory.PR: 1,
    ResponseCategory.CR: 2,
}

NUMERIC_VARIABLES = frozenset(
    {
        "anc_1e9_per_l",
        "plt_1e9_per_l",
        "hgb_g_per_l",
        "arc_1e9_per_l",
        "baseline_arc_1e9_per_l",
        "arc_increase_1e9_per_l",
    }
)
BOOLEAN_VARIABLES = frozenset(
    {"hgb_normal_for_age", "transfusion_independent", "saa_blood_criteria_met", "died"}
)
VARIABLES = NUMERIC_VARIABLES | BOOLEAN_VARIABLES
_INPUT_KEYS = frozenset(
    {
        "anc_1e9_per_l",
        "plt_1e9_per_l",
        "hgb_g_per_l",
        "arc_1e9_per_l",
        "transfusion_independent",
        "hgb_normal_for_age",
        "saa_blood_criteria_met",
        "plt_pre_transfusion",
        "arc_pre_transfusion",
    }
)
_OPS = {">": gt, ">=": ge, "<": lt, "<=": le}
#: Inputs of the derived variables, reported with the values used.
_DERIVED_FROM: Mapping[str, tuple[str, ...]] = {
    "arc_increase_1e9_per_l": ("arc_1e9_per_l", "baseline_arc_1e9_per_l"),
    "hgb_normal_for_age": ("hgb_g_per_l",),
    "saa_blood_criteria_met": ("anc_1e9_per_l", "plt_1e9_per_l", "arc_1e9_per_l"),
}


# ----------------------------------------------------------------------------- criteria sets
@dataclass(frozen=True)
class Condition:
    """One condition: ``var op value``, ``var op ref`` or ``var is True/False``."""

    var: str
    op: str
    value: Any = None
    ref: str | None = None
    decision: str | None = None

    def describe(self) -> str:
        """The condition as text, e.g. ``"anc_1e9_per_l > 1.5"``."""
        rhs = self.ref if self.ref is not None else self.value
        return f"{self.var} {self.op} {rhs}"

    def evaluate(self, values: Mapping[str, Any]) -> bool | None:
        """True/False, or None when a value it needs is missing."""
        left = values.get(self.var)
        if left is None:
            return None
        if self.op == "is":
            return bool(left) is bool(self.value)
        right = values.get(self.ref) if self.ref is not None else self.value
        if right is None:
            return None
        return _OPS[self.op](float(left), float(right))  # D1: strict ops as written


@dataclass(frozen=True)
class Rule:
    """A category rule: all conditions (after options are resolved) must hold."""

    category: ResponseCategory
    name: str
    items: tuple[Condition | str, ...]  # str = name of an option


@dataclass(frozen=True)
class RuleOption:
    """A named alternative inside a criteria set (e.g. the D10 ARC rule)."""

    name: str
    decision: str | None
    default: str
    choices: Mapping[str, tuple[Condition, ...]]


@dataclass(frozen=True)
class CriteriaSet:
    """A response criteria set loaded from YAML."""

    id: str
    version: str
    name: str
    source: str
    decisions: tuple[str, ...]
    assessment_visit: str | None
    rules: tuple[Rule, ...]
    fallback_category: ResponseCategory
    fallback_name: str
    options: Mapping[str, RuleOption]

    def resolve_options(self, options: Mapping[str, str] | None) -> dict[str, str]:
        """Chosen option values (defaults filled in); unknown names/choices are errors."""
        chosen = {name: opt.default for name, opt in self.options.items()}
        for name, choice in (options or {}).items():
            if name not in self.options:
                raise ValueError(
                    f"criteria set {self.id}: option {name!r}: unknown "
                    f"(have {sorted(self.options)})"
                )
            if choice not in self.options[name].choices:
                raise ValueError(
                    f"criteria set {self.id}: option {name}: one of "
                    f"{sorted(self.options[name].choices)}: {choice!r}"
                )
            chosen[name] = choice
        return chosen

    def conditions(self, rule: Rule, chosen: Mapping[str, str]) -> tuple[Condition, ...]:
        """A rule's conditions with options expanded."""
        out: list[Condition] = []
        for item in rule.items:
            if isinstance(item, Condition):
                out.append(item)
            else:
                out.extend(self.options[item].choices[chosen[item]])
        return tuple(out)

    def variables(self, chosen: Mapping[str, str]) -> frozenset[str]:
        """Every variable the set reads under the chosen options."""
        names: set[str] = set()
        for rule in self.rules:
            for c in self.conditions(rule, chosen):
                names.add(c.var)
                if c.ref:
                    names.add(c.ref)
        return frozenset(names)


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict) or "var" not in raw or "op" not in raw:
        raise RuleTableError(f"{where}: condition needs var and op: {raw!r}")
    cond = Condition(
        var=str(raw["var"]),
        op=str(raw["op"]),
        value=raw.get("value"),
        ref=None if raw.get("ref") is None else str(raw["ref"]),
        decision=raw.get("decision"),
    )
    if cond.var not in VARIABLES:
        raise RuleTableError(f"{where}: var: one of {sorted(VARIABLES)}: {cond.var!r}")
    if cond.op == "is":
        if cond.var not in BOOLEAN_VARIABLES or not isinstance(cond.value, bool):
            raise RuleTableError(f"{where}: 'is' needs a boolean variable and true/false")
    elif cond.op in _OPS:
        if cond.var not in NUMERIC_VARIABLES:
            raise RuleTableError(f"{where}: {cond.op} needs a numeric variable: {cond.var}")
        if cond.ref is None and not isinstance(cond.value, int | float):
            raise RuleTableError(f"{where}: numeric value or ref required")
        if cond.ref is not None and cond.ref not in NUMERIC_VARIABLES:
            raise RuleTableError(f"{where}: ref: numeric variable: {cond.ref!r}")
    else:
        raise RuleTableError(f"{where}: op: one of {sorted([*_OPS, 'is'])}: {cond.op!r}")
    return cond


def _category(raw: Any, where: str) -> ResponseCategory:
    try:
        cat = ResponseCategory(str(raw))
    except ValueError:
        raise RuleTableError(f"{where}: category: CR/PR/NR: {raw!r}") from None
    if cat is ResponseCategory.NE:
        raise RuleTableError(f"{where}: category: NE is decided by the engine, not by rules")
    return cat


def parse_criteria_set(raw: Mapping[str, Any]) -> CriteriaSet:
    """Validate and build a :class:`CriteriaSet` from its YAML mapping."""
    label = str(raw.get("_label", raw.get("id", "?")))
    options: dict[str, RuleOption] = {}
    for name, spec in (raw.get("options") or {}).items():
        where = f"{label}: options.{name}"
        choices = {
            str(choice): tuple(
                _condition(c, f"{where}.{choice}[{i}]") for i, c in enumerate(conds or [])
            )
            for choice, conds in (spec.get("choices") or {}).items()
        }
        default = str(spec.get("default"))
        if default not in choices:
            raise RuleTableError(f"{where}: default {default!r} is not a choice")
        options[str(name)] = RuleOption(str(name), spec.get("decision"), default, choices)
    rules: list[Rule] = []
    for i, r in enumerate(raw.get("rules") or []):
        where = f"{label}: rules[{i}]"
        items: list[Condition | str] = []
        for j, c in enumerate(r.get("all") or []):
            if isinstance(c, dict) and "option" in c:
                if c["option"] not in options:
                    raise RuleTableError(f"{where}.all[{j}]: unknown option {c['option']!r}")
                items.append(str(c["option"]))
            else:
                items.append(_condition(c, f"{where}.all[{j}]"))
        if not items:
            raise RuleTableError(f"{where}: all: at least one condition")
        cat = _category(r.get("category"), where)
        rules.append(Rule(cat, str(r.get("name", cat.value)), tuple(items)))
    if not rules:
        raise RuleTableError(f"{label}: rules: required: missing")
    fb = raw.get("fallback") or {}
    return CriteriaSet(
        id=str(raw.get("id", label)),
        version=str(raw["version"]),
        name=str(raw.get("name", raw.get("id", label))),
        source=str(raw["source"]),
        decisions=tuple(str(d) for d in raw.get("decisions") or ()),
        assessment_visit=raw.get("assessment_visit"),
        rules=tuple(rules),
        fallback_category=_category(fb.get("category", "NR"), f"{label}: fallback"),
        fallback_name=str(fb.get("name", "fallback")),
        options=options,
    )


@lru_cache(maxsize=16)
def load_criteria_set(name: str = DEFAULT_CRITERIA_SET) -> CriteriaSet:
    """Load a response criteria set by id (``cn-peds-2014``, ``nih``, ``bsh-2016``) or path.

    Examples
    --------
    >>> cs = load_criteria_set("cn-peds-2014")
    >>> [r.category.value for r in cs.rules]
    ['NR', 'CR', 'PR', 'NR']
    """
    path = Path(name)
    raw = load_rule_table("criteria", path if path.suffix in {".yaml", ".yml"} else name)
    return parse_criteria_set(raw)


def options_from_decisions(
    decisions: Mapping[str, Any], criteria_set: str | CriteriaSet = DEFAULT_CRITERIA_SET
) -> dict[str, str]:
    """Criteria-set options from a protocol's ``decisions`` block (D10, D12).

    Only options the criteria set defines are returned, so the result can be
    passed to any set.

    Examples
    --------
    >>> options_from_decisions({"D10_arc_rule": "above_threshold_and_baseline",
    ...                         "D12_cr_requires_ti": False})
    {'arc_rule': 'above_threshold_and_baseline', 'cr_transfusion_independence': 'not_required'}
    >>> options_from_decisions({"D10_arc_rule": "above_baseline_by"}, "nih")
    {}
    """
    cs = _as_set(criteria_set)
    wanted = {
        "arc_rule": str(decisions.get("D10_arc_rule", "above_baseline_by")),  # D10
        "cr_transfusion_independence": (  # D12
            "required" if decisions.get("D12_cr_requires_ti", True) else "not_required"
        ),
    }
    return {k: v for k, v in wanted.items() if k in cs.options}


def _as_set(criteria_set: str | CriteriaSet) -> CriteriaSet:
    return (
        criteria_set if isinstance(criteria_set, CriteriaSet) else load_criteria_set(criteria_set)
    )


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class ResponseAssessment:
    """A response assessment.

    Attributes
    ----------
    category : ResponseCategory
        CR, PR, NR or NE.
    decided_by : str
        Name of the rule that decided (or the fallback, or why NE).
    values : Mapping[str, Any]
        Every variable the criteria set read, with its value (``None`` = missing).
    criteria_set, criteria_set_version : str
        Which criteria set, which version.
    by_fallback : bool
        NR only because neither CR nor PR held (D14).
    reasons : tuple of str
        For each rule tried before the deciding one, why it did not hold.
    missing : tuple of str
        Variables that were needed and missing (NE).
    options : Mapping[str, str]
        Option choices applied (e.g. ``{"arc_rule": "above_baseline_by"}``).
    visit, assessment_date, study_day
        Set by :func:`assess_visit`.
    value_dates : Mapping[str, datetime.date]
        Sample date of each lab value used (visit assessments).
    """

    category: ResponseCategory
    decided_by: str
    values: Mapping[str, Any]
    criteria_set: str
    criteria_set_version: str
    by_fallback: bool = False
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    visit: str | None = None
    assessment_date: date | None = None
    study_day: int | None = None
    value_dates: Mapping[str, date] = field(default_factory=dict)


# ----------------------------------------------------------------------------- engine
def evaluate_criteria(
    criteria_set: str | CriteriaSet,
    values: Mapping[str, Any],
    options: Mapping[str, str] | None = None,
) -> ResponseAssessment:
    """Apply a criteria set to a complete mapping of engine variables.

    Parameters
    ----------
    criteria_set : str or CriteriaSet
        Set id or loaded set.
    values : Mapping[str, Any]
        Engine variables (see module docstring); ``None`` = missing.
    options : Mapping[str, str], optional
        Option choices, e.g. ``{"arc_rule": "above_threshold_and_baseline"}`` (D10).

    Returns
    -------
    ResponseAssessment

    Examples
    --------
    >>> v = {"died": False, "anc_1e9_per_l": 0.8, "plt_1e9_per_l": 30, "arc_1e9_per_l": 50,
    ...      "baseline_arc_1e9_per_l": 5, "arc_increase_1e9_per_l": 45,
    ...      "hgb_normal_for_age": False, "transfusion_independent": True}
    >>> evaluate_criteria("cn-peds-2014", v).category
    <ResponseCategory.PR: 'PR'>
    """
    cs = _as_set(criteria_set)
    chosen = cs.resolve_options(options)
    names = set(cs.variables(chosen))
    for name in list(names):
        names.update(_DERIVED_FROM.get(name, ()))
    used = {name: values.get(name) for name in sorted(names)}
    reasons: list[str] = []
    unknown_rules: list[str] = []
    missing: list[str] = []

    def make(
        category: ResponseCategory, decided_by: str, by_fallback: bool = False
    ) -> ResponseAssessment:
        return ResponseAssessment(
            category=category,
            decided_by=decided_by,
            values=used,
            criteria_set=cs.id,
            criteria_set_version=cs.version,
            by_fallback=by_fallback,
            reasons=tuple(reasons),
            missing=tuple(dict.fromkeys(missing)),
            options=chosen,
        )

    for rule in cs.rules:
        conds = cs.conditions(rule, chosen)
        results = [(c, c.evaluate(values)) for c in conds]
        failed = [c for c, r in results if r is False]
        unknown = [c for c, r in results if r is None]
        if failed:
            reasons.append(
                f"{rule.name}: not met: "
                + "; ".join(f"{c.describe()} (value {values.get(c.var)})" for c in failed)
            )
            continue
        if unknown:
            unknown_rules.append(rule.name)
            for c in unknown:
                missing.append(c.var if values.get(c.var) is None else str(c.ref))
            reasons.append(f"{rule.name}: unknown: " + "; ".join(c.describe() for c in unknown))
            continue
        if unknown_rules:
            return make(
                ResponseCategory.NE,
                f"not evaluable: {rule.name} holds but earlier rule(s) "
                f"{unknown_rules} could not be judged",
            )
        return make(rule.category, rule.name)
    if unknown_rules:
        return make(ResponseCategory.NE, f"not evaluable: {unknown_rules} could not be judged")
    # D14: neither CR nor PR -> NR (counted as NR by fallback)
    return make(cs.fallback_category, cs.fallback_name, by_fallback=True)


def assess_response(
    values: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
    criteria_set: str | CriteriaSet = DEFAULT_CRITERIA_SET,
    *,
    sex: str | None = None,
    birth_date: DateLike | None = None,
    on_date: DateLike | None = None,
    age_days: int | None = None,
    hgb_table: str = "who-2011",
    options: Mapping[str, str] | None = None,
    died: bool = False,
) -> ResponseAssessment:
    """Assess haematologic response from values at one assessment.

    Parameters
    ----------
    values : Mapping[str, Any]
        ``anc_1e9_per_l``, ``plt_1e9_per_l``, ``hgb_g_per_l``, ``arc_1e9_per_l``,
        ``transfusion_independent`` (bool, D11); optionally ``hgb_normal_for_age``
        (overrides the table), ``saa_blood_criteria_met`` and
        ``plt_pre_transfusion``/``arc_pre_transfusion`` (D2; when absent, a
        transfusion-independent patient's counts count as pre-transfusion, which
        assumes a TI window of at least 14 days, as D11's 28).
        Missing keys or ``None`` = not available.
    baseline : Mapping[str, Any], optional
        Baseline values; ``arc_1e9_per_l`` is used (D10).
    criteria_set : str or CriteriaSet, default "cn-peds-2014"
        The criteria set.
    sex, birth_date, on_date, age_days
        For haemoglobin normal for age (D13); dates preferred to ``age_days``.
    hgb_table : str, default "who-2011"
        Haemoglobin table (D13).
    options : Mapping[str, str], optional
        Criteria-set options, e.g. ``{"arc_rule": "above_threshold_and_baseline"}``.
    died : bool, default False
        The patient died before the assessment (-> NR "death").

    Returns
    -------
    ResponseAssessment

    References
    ----------
    Lan Y et al. BMC Pediatr 2021;21:102 (Methods). TRIAL.md section 4, D10-D14.

    Examples
    --------
    >>> v = {"anc_1e9_per_l": 2.0, "plt_1e9_per_l": 120, "hgb_g_per_l": 118,
    ...      "arc_1e9_per_l": 60, "transfusion_independent": True}
    >>> r = assess_response(v, {"arc_1e9_per_l": 5}, sex="F",
    ...                     birth_date="2008-05-01", on_date="2014-05-01")
    >>> r.category, r.decided_by[:3]
    (<ResponseCategory.CR: 'CR'>, 'CR:')
    >>> assess_response({**v, "transfusion_independent": False}, {"arc_1e9_per_l": 5},
    ...                 sex="F", birth_date="2008-05-01", on_date="2014-05-01").category
    <ResponseCategory.NR: 'NR'>
    """
    unknown_keys = set(values) - _INPUT_KEYS
    if unknown_keys:
        raise ValueError(f"assess_response: values: unknown key(s) {sorted(unknown_keys)}")
    cs = _as_set(criteria_set)
    chosen = cs.resolve_options(options)
    needed = cs.variables(chosen)
    v: dict[str, Any] = {
        name: optional_float(values.get(name), name)
        for name in ("anc_1e9_per_l", "plt_1e9_per_l", "hgb_g_per_l", "arc_1e9_per_l")
    }
    ti = optional_bool(values.get("transfusion_independent"), "transfusion_independent")
    v["transfusion_independent"] = ti
    v["died"] = bool(died)
    base_arc = optional_float((baseline or {}).get("arc_1e9_per_l"), "baseline arc_1e9_per_l")
    v["baseline_arc_1e9_per_l"] = base_arc
    v["arc_increase_1e9_per_l"] = (
        None
        if v["arc_1e9_per_l"] is None or base_arc is None
        else round(v["arc_1e9_per_l"] - base_arc, DECIMALS)  # D10: ARC - baseline ARC
    )
    hgb_normal = optional_bool(values.get("hgb_normal_for_age"), "hgb_normal_for_age")
    if hgb_normal is None and "hgb_normal_for_age" in needed and v["hgb_g_per_l"] is not None:
        if age_days is not None or (birth_date is not None and on_date is not None):
            hgb_normal = hgb_normal_for_age(  # D13
                v["hgb_g_per_l"],
                sex,
                age_days=age_days,
                birth_date=birth_date,
                on_date=on_date,
                table=hgb_table,
            ).normal
    v["hgb_normal_for_age"] = hgb_normal
    saa = optional_bool(values.get("saa_blood_criteria_met"), "saa_blood_criteria_met")
    if saa is None and "saa_blood_criteria_met" in needed:
        # D2; a patient with no transfusion for 28 days has pre-transfusion counts
        default_flag = True if ti is True else None
        plt_flag = optional_bool(values.get("plt_pre_transfusion"), "plt_pre_transfusion")
        arc_flag = optional_bool(values.get("arc_pre_transfusion"), "arc_pre_transfusion")
        saa = saa_blood_criteria(
            v["anc_1e9_per_l"],
            v["plt_1e9_per_l"],
            v["arc_1e9_per_l"],
            plt_pre_transfusion=default_flag if plt_flag is None else plt_flag,
            arc_pre_transfusion=default_flag if arc_flag is None else arc_flag,
        ).saa_range
    v["saa_blood_criteria_met"] = saa
    return evaluate_criteria(cs, v, chosen)


# ----------------------------------------------------------------------------- visits
class _VisitLike(Protocol):
    code: str
    target_day: int
    window_days: int


VisitSpec = tuple[str, int, int] | _VisitLike


def _visit(visit: VisitSpec) -> tuple[str, int, int]:
    if isinstance(visit, tuple):
        if len(visit) != 3:
            raise ValueError(f"visit: (code, target_day, window_days): {visit!r}")
        code, target, window = visit
    else:
        code, target, window = visit.code, visit.target_day, visit.window_days
    if int(window) < 0:
        raise ValueError(f"visit {code}: window_days: >= 0: {window}")
    return str(code), int(target), int(window)


def study_date(day1: date, study_day: int) -> date:
    """Calendar date of a study day (study day 1 = ``day1``, D7).

    Examples
    --------
    >>> study_date(date(2014, 1, 1), 90)
    datetime.date(2014, 3, 31)
    """
    return day1 + timedelta(days=study_day - 1)


def study_day_of(day1: date, on: date) -> int:
    """Study day of a date (``(on - day1).days + 1``).

    Examples
    --------
    >>> study_day_of(date(2014, 1, 1), date(2014, 3, 31))
    90
    """
    return (on - day1).days + 1


def assess_visit(
    subject_id: str,
    visit: VisitSpec,
    day1: DateLike,
    labs: pd.DataFrame,
    transfusions: pd.DataFrame,
    *,
    sex: str | None = None,
    birth_date: DateLike | None = None,
    criteria_set: str | CriteriaSet = DEFAULT_CRITERIA_SET,
    baseline: Mapping[str, Any] | None = None,
    death_date: DateLike | None = None,
    ti_window_days: int = 28,
    ti_products: Iterable[str] = ("RBC", "PLT"),
    hgb_table: str = "who-2011",
    options: Mapping[str, str] | None = None,
    plt_pretransfusion_days: int = 3,
    arc_pretransfusion_days: int = 14,
) -> ResponseAssessment:
    """Assess response at a protocol visit from the labs and transfusions tables.

    For each of ANC, PLT, HGB and ARC, the value nearest the visit's target day
    inside its window is used; ties go to the earlier sample (D9). The
    assessment date is the latest sample date used; transfusion independence is
    judged at that date (D11). Baseline ARC defaults to the last ARC on or
    before study day 1. A patient who died on or before the target day is NR
    ("death").

    Parameters
    ----------
    subject_id : str
        Subject.
    visit : (code, target_day, window_days) or protocol Visit
        E.g. ``("D90", 90, 14)`` (D9).
    day1 : date-like
        Study day 1 (first rATG dose, D7).
    labs, transfusions : pandas.DataFrame
        Study tables.
    sex, birth_date
        For haemoglobin normal for age (D13).
    criteria_set : str or CriteriaSet
        Default ``cn-peds-2014``.
    baseline : Mapping, optional
        ``{"arc_1e9_per_l": ...}``; computed from ``labs`` when omitted.
    death_date : date-like, optional
        Date of death, if the patient died.
    ti_window_days, ti_products
        D11 parameters.
    hgb_table : str
        D13 table.
    options : Mapping[str, str], optional
        Criteria-set options (D10, D12).
    plt_pretransfusion_days, arc_pretransfusion_days : int
        D2 windows for judging "no longer SAA" (NIH, BSH sets).

    Returns
    -------
    ResponseAssessment

    Examples
    --------
    >>> labs = pd.DataFrame({"subject_id": ["S1"] * 5,
    ...     "lab_date": ["2014-01-01", "2014-03-28", "2014-03-28", "2014-03-28", "2014-03-28"],
    ...     "test": ["ARC", "ANC", "PLT", "HGB", "ARC"], "value": [5, 0.9, 35, 95, 48]})
    >>> tx = pd.DataFrame({"subject_id": ["S1"], "transfusion_date": ["2014-02-10"],
    ...                    "product": ["RBC"]})
    >>> r = assess_visit("S1", ("D90", 90, 14), "2014-01-01", labs, tx, sex="F",
    ...                  birth_date="2010-01-01")
    >>> r.category, r.study_day, r.values["arc_increase_1e9_per_l"]
    (<ResponseCategory.PR: 'PR'>, 87, 43.0)
    """
    d1 = to_date(day1, "day1")
    code, target_day, window = _visit(visit)
    cs = _as_set(criteria_set)
    target = study_date(d1, target_day)
    died_on = to_optional_date(death_date, "death_date")

    def stamp(
        r: ResponseAssessment, on: date | None, dates: Mapping[str, date]
    ) -> ResponseAssessment:
        return replace(
            r,
            visit=code,
            assessment_date=on,
            study_day=None if on is None else study_day_of(d1, on),
            value_dates=dict(dates),
        )

    if died_on is not None and died_on <= target:
        r = assess_response({}, None, cs, options=options, died=True)
        return stamp(r, died_on, {})

    if baseline is None:
        base = last_on_or_before(lab_values(labs, subject_id, "ARC"), d1)
        baseline = {"arc_1e9_per_l": base.value if base else None}
    picked: dict[str, LabValue | None] = {
        test: nearest_in_window(lab_values(labs, subject_id, test), target, window)  # D9
        for test in ("ANC", "PLT", "HGB", "ARC")
    }
    found = {t: lv for t, lv in picked.items() if lv is not None}
    if not found:
        lo, hi = target - timedelta(days=window), target + timedelta(days=window)
        chosen = cs.resolve_options(options)
        ne = ResponseAssessment(
            category=ResponseCategory.NE,
            decided_by=f"not evaluable: no blood counts in window {lo}..{hi}",
            values={name: None for name in sorted(cs.variables(chosen))},
            criteria_set=cs.id,
            criteria_set_version=cs.version,
            missing=("anc_1e9_per_l", "plt_1e9_per_l", "hgb_g_per_l", "arc_1e9_per_l"),
            options=chosen,
        )
        return stamp(ne, None, {})
    on = max(lv.lab_date for lv in found.values())
    records = transfusion_records(transfusions, subject_id)
    ti = independence_from_records(records, on, ti_window_days, ti_products)  # D11
    values: dict[str, Any] = {
        "anc_1e9_per_l": picked["ANC"].value if picked["ANC"] else None,
        "plt_1e9_per_l": picked["PLT"].value if picked["PLT"] else None,
        "hgb_g_per_l": picked["HGB"].value if picked["HGB"] else None,
        "arc_1e9_per_l": picked["ARC"].value if picked["ARC"] else None,
        "transfusion_independent": ti.independent,
    }
    if picked["PLT"] is not None:  # D2 for "no longer SAA"
        values["plt_pre_transfusion"] = pre_transfusion_check(
            picked["PLT"].lab_date,
            picked["PLT"].pre_transfusion,
            records,
            "PLT",
            plt_pretransfusion_days,
        ).usable
    if picked["ARC"] is not None:
        values["arc_pre_transfusion"] = pre_transfusion_check(
            picked["ARC"].lab_date,
            picked["ARC"].pre_transfusion,
            records,
            "RBC",
            arc_pretransfusion_days,
        ).usable
    hgb_date = picked["HGB"].lab_date if picked["HGB"] else on
    r = assess_response(
        values,
        baseline,
        cs,
        sex=sex,
        birth_date=birth_date,
        on_date=hgb_date if birth_date is not None else None,
        hgb_table=hgb_table,
        options=options,
    )
    return stamp(r, on, {t: lv.lab_date for t, lv in found.items()})


def assess_visits(
    subject_id: str,
    visits: Sequence[VisitSpec],
    day1: DateLike,
    labs: pd.DataFrame,
    transfusions: pd.DataFrame,
    **kwargs: Any,
) -> list[ResponseAssessment]:
    """:func:`assess_visit` for several visits (same keyword arguments).

    Examples
    --------
    >>> labs = pd.DataFrame({"subject_id": ["S1"], "lab_date": ["2014-02-09"],
    ...                      "test": ["ANC"], "value": [0.1]})
    >>> tx = pd.DataFrame({"subject_id": ["S1"], "transfusion_date": ["2014-02-01"],
    ...                    "product": ["RBC"]})
    >>> [r.category.value for r in assess_visits("S1", [("D40", 40, 7), ("D90", 90, 14)],
    ...                                         "2014-01-01", labs, tx)]
    ['NR', 'NE']
    """
    return [assess_visit(subject_id, v, day1, labs, transfusions, **kwargs) for v in visits]


def best_response_by(
    assessments: Iterable[ResponseAssessment], day: int
) -> ResponseAssessment | None:
    """The best response among assessments on or before a study day.

    CR > PR > NR; NE counts only if nothing else was assessed. Ties go to the
    earliest assessment (the day the response was first reached).

    Parameters
    ----------
    assessments : iterable of ResponseAssessment
        With ``study_day`` set (visit assessments).
    day : int
        Study day limit (inclusive).

    Returns
    -------
    ResponseAssessment or None
        ``None`` if there is no assessment by that day.

    Examples
    --------
    >>> a = ResponseAssessment(ResponseCategory.PR, "PR", {}, "cn-peds-2014", "1", study_day=40)
    >>> b = ResponseAssessment(ResponseCategory.NR, "NR", {}, "cn-peds-2014", "1", study_day=90)
    >>> best_response_by([a, b], 100).category
    <ResponseCategory.PR: 'PR'>
    >>> best_response_by([a, b], 30) is None
    True
    """
    eligible = [a for a in assessments if a.study_day is not None and a.study_day <= day]
    if not eligible:
        return None

    def key(a: ResponseAssessment) -> tuple[int, int]:
        return (RESPONSE_RANK.get(a.category, -1), -int(a.study_day or 0))

    return max(eligible, key=key)
