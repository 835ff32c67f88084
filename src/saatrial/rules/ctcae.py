"""CTCAE adverse-event grading: laboratory terms from values, clinical terms validated.

Laboratory grading is data (``ctcae_tables/v4.03.yaml``, ``ctcae_tables/v5.0.yaml``):
one record per term with its unit, direction and, per grade, the CTCAE text and the
alternative criteria. One short engine (:func:`grade_lab`) applies any table, so a new
CTCAE version is a new YAML file, not new code. Investigator-graded (clinical) terms
are validated against the grades CTCAE defines for them
(``ctcae_tables/clinical_terms.yaml``).

Decisions of TRIAL.md implemented here: §6 (v4.03 tables for the paper's "v4.0",
v5.0 selectable; grade 1 of a "decreased" term needs the LLN, otherwise the grade is
unknown, never 0), D17 (coding of the paper's "anaphylactic reactions") and D18
(treatment-emergent only when worse than baseline).

This module imports nothing of saatrial (rules layer).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "DEFAULT_VERSION",
    "ClinicalTermTable",
    "CodedTerm",
    "CtcaeTable",
    "GradeCheck",
    "GradeCriteria",
    "LabCriterion",
    "LabGrade",
    "LabTerm",
    "TreatmentEmergence",
    "available_versions",
    "code_anaphylactic_reaction",
    "grade_lab",
    "grade_lab_test",
    "load_clinical_terms",
    "load_ctcae_table",
    "normalize_version",
    "term_for_lab_test",
    "treatment_emergent",
    "validate_clinical_grade",
]

DEFAULT_VERSION = "4.03"  # TRIAL.md §6: the paper's CTCAE v4.0 is graded with v4.03 tables
_TABLE_PACKAGE = "saatrial.rules"
_TABLE_DIR = "ctcae_tables"
_VERSION_ALIASES = {"4": "4.03", "4.0": "4.03", "4.03": "4.03", "5": "5.0", "5.0": "5.0"}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_REFS = ("lln", "uln", "baseline")
_WHEN = ("baseline_normal", "baseline_abnormal")
_DIRECTIONS = ("increased", "decreased")
_SIGNIFICANT_DIGITS = 12  # comparisons ignore float noise such as 1.5 * 17.1 = 25.650000000000002


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class LabCriterion:
    """One alternative of a CTCAE grade, e.g. ``value > 3.0 x ULN``.

    Attributes
    ----------
    op : str
        ``"<"``, ``"<="``, ``">"`` or ``">="``; the value is on the left.
    value : float or None
        Absolute threshold in the term's unit (when ``of`` is None).
    k : float or None
        Multiplier of ``of`` (when ``of`` is given).
    of : str or None
        ``"lln"``, ``"uln"`` or ``"baseline"``.
    when : str or None
        ``"baseline_normal"`` or ``"baseline_abnormal"``: the alternative applies only
        then (CTCAE v5.0 "if baseline was normal/abnormal").
    """

    op: str
    value: float | None = None
    k: float | None = None
    of: str | None = None
    when: str | None = None

    def threshold_text(self) -> str:
        """The right-hand side, e.g. ``"3 x ULN"`` or ``"0.5"``."""
        if self.of is None:
            return format(self.value, "g")
        name = "baseline" if self.of == "baseline" else self.of.upper()
        return name if self.k == 1.0 else f"{format(self.k, 'g')} x {name}"

    def describe(self) -> str:
        """Short human form, e.g. ``"> 3 x ULN (if baseline normal)"``."""
        when = f" (if {self.when.replace('_', ' ')})" if self.when else ""
        return f"{self.op} {self.threshold_text()}{when}"


@dataclass(frozen=True)
class GradeCriteria:
    """The CTCAE text of one grade and its alternatives (met when any holds)."""

    grade: int
    text: str
    any: tuple[LabCriterion, ...]


@dataclass(frozen=True)
class LabTerm:
    """A laboratory CTCAE term of one version.

    Attributes
    ----------
    term : str
        CTCAE term, e.g. ``"Neutrophil count decreased"``.
    lab_test : str
        saatrial lab test code graded by this term (``ANC``).
    unit : str
        The only unit accepted for values, LLN, ULN and baseline.
    direction : str
        ``"increased"`` or ``"decreased"``.
    allowed_grades : tuple of int
        Grades CTCAE defines for the term (for investigator-entered grades).
    grades : tuple of GradeCriteria
        Laboratory-gradable grades, highest first.
    """

    term: str
    lab_test: str
    unit: str
    direction: str
    allowed_grades: tuple[int, ...]
    grades: tuple[GradeCriteria, ...]


@dataclass(frozen=True)
class CtcaeTable:
    """A CTCAE version's laboratory grading table, loaded from YAML."""

    ctcae_version: str
    version: str
    source: str
    terms: Mapping[str, LabTerm]

    def term(self, name: str) -> LabTerm:
        """Look a term up by its CTCAE name (case-insensitive)."""
        found = _lookup(self.terms, name)
        if found is None:
            raise ValueError(
                f"CTCAE v{self.ctcae_version}: no laboratory term {name!r}; "
                f"known: {', '.join(sorted(self.terms))}"
            )
        return found

    def term_for_lab_test(self, test: str) -> LabTerm:
        """The term that grades a saatrial lab test code (e.g. ``ANC``)."""
        for spec in self.terms.values():
            if spec.lab_test == str(test).strip().upper():
                return spec
        known = ", ".join(sorted(s.lab_test for s in self.terms.values()))
        raise ValueError(
            f"CTCAE v{self.ctcae_version}: lab test {test!r} has no CTCAE term; graded tests: "
            f"{known}"
        )


@dataclass(frozen=True)
class ClinicalTermTable:
    """Allowed grades of investigator-graded CTCAE terms, per CTCAE version."""

    version: str
    source: str
    terms: Mapping[str, Mapping[str, tuple[int, ...]]]


def normalize_version(version: str | float) -> str:
    """Return the canonical CTCAE version string (``"4.03"`` or ``"5.0"``).

    ``"4.0"`` and ``"4"`` mean v4.03 (TRIAL.md §6); a leading ``v`` is ignored.

    Examples
    --------
    >>> normalize_version("v4.0")
    '4.03'
    >>> normalize_version("5")
    '5.0'
    """
    text = str(version).strip().lower().removeprefix("v")
    if text in _VERSION_ALIASES:
        return _VERSION_ALIASES[text]
    if text in available_versions():
        return text
    raise ValueError(
        f"CTCAE version {version!r} is not available; available: {', '.join(available_versions())}"
    )


@cache
def available_versions() -> tuple[str, ...]:
    """CTCAE versions with a laboratory table (one ``v<version>.yaml`` file each)."""
    folder = resources.files(_TABLE_PACKAGE).joinpath(_TABLE_DIR)
    names = [p.name for p in folder.iterdir() if p.name.startswith("v")]
    names = [n for n in names if n.endswith(".yaml")]
    return tuple(sorted(n[1:-5] for n in names))


@cache
def load_ctcae_table(version: str = DEFAULT_VERSION) -> CtcaeTable:
    """Load and check the laboratory grading table of a CTCAE version.

    Parameters
    ----------
    version : str
        ``"4.03"`` (default; ``"4.0"`` is accepted) or ``"5.0"``.

    Returns
    -------
    CtcaeTable

    Examples
    --------
    >>> t = load_ctcae_table("4.03")
    >>> t.term_for_lab_test("ANC").term
    'Neutrophil count decreased'
    """
    canonical = normalize_version(version)
    name = f"v{canonical}.yaml"
    text = resources.files(_TABLE_PACKAGE).joinpath(_TABLE_DIR, name).read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    where = f"{_TABLE_DIR}/{name}"
    for key in ("ctcae_version", "version", "source", "terms"):
        if key not in raw:
            raise ValueError(f"{where}: missing top-level key {key!r}")
    if str(raw["ctcae_version"]) != canonical:
        raise ValueError(
            f"{where}: ctcae_version {raw['ctcae_version']!r} does not match the file name"
        )
    terms = {term: _parse_term(where, term, spec) for term, spec in raw["terms"].items()}
    return CtcaeTable(
        ctcae_version=canonical,
        version=str(raw["version"]),
        source=" ".join(str(raw["source"]).split()),
        terms=MappingProxyType(terms),
    )


def _parse_term(where: str, term: str, spec: dict[str, Any]) -> LabTerm:
    here = f"{where}: {term}"
    for key in ("lab_test", "unit", "direction", "allowed_grades", "grades"):
        if key not in spec:
            raise ValueError(f"{here}: missing {key!r}")
    if spec["direction"] not in _DIRECTIONS:
        raise ValueError(f"{here}: direction must be one of {_DIRECTIONS}: {spec['direction']!r}")
    grades = []
    for grade, g in sorted(spec["grades"].items(), reverse=True):
        if int(grade) not in range(1, 5):
            raise ValueError(f"{here}: laboratory grade must be 1-4: {grade!r}")
        alternatives = tuple(_parse_criterion(f"{here}: grade {grade}", c) for c in g["any"])
        if not alternatives:
            raise ValueError(f"{here}: grade {grade}: no criterion")
        grades.append(GradeCriteria(int(grade), str(g["text"]), alternatives))
    return LabTerm(
        term=term,
        lab_test=str(spec["lab_test"]).upper(),
        unit=str(spec["unit"]),
        direction=str(spec["direction"]),
        allowed_grades=tuple(int(g) for g in spec["allowed_grades"]),
        grades=tuple(grades),
    )


def _parse_criterion(here: str, c: dict[str, Any]) -> LabCriterion:
    op = c.get("op")
    if op not in _OPS:
        raise ValueError(f"{here}: op must be one of {sorted(_OPS)}: {op!r}")
    when = c.get("when")
    if when is not None and when not in _WHEN:
        raise ValueError(f"{here}: when must be one of {_WHEN}: {when!r}")
    if "of" in c:
        if c["of"] not in _REFS or "value" in c:
            raise ValueError(f"{here}: 'of' must be one of {_REFS} (and no 'value'): {c!r}")
        return LabCriterion(op=op, k=float(c.get("k", 1.0)), of=str(c["of"]), when=when)
    if "value" not in c:
        raise ValueError(f"{here}: criterion needs 'value' or 'of': {c!r}")
    return LabCriterion(op=op, value=float(c["value"]), when=when)


@cache
def load_clinical_terms() -> ClinicalTermTable:
    """Load the allowed-grade table of investigator-graded CTCAE terms.

    Examples
    --------
    >>> load_clinical_terms().terms["Anaphylaxis"]["4.03"]
    (3, 4, 5)
    """
    where = f"{_TABLE_DIR}/clinical_terms.yaml"
    text = (
        resources.files(_TABLE_PACKAGE)
        .joinpath(_TABLE_DIR, "clinical_terms.yaml")
        .read_text(encoding="utf-8")
    )
    raw = yaml.safe_load(text)
    terms: dict[str, Mapping[str, tuple[int, ...]]] = {}
    for term, per_version in raw["terms"].items():
        grades: dict[str, tuple[int, ...]] = {}
        for version, allowed in per_version.items():
            values = tuple(int(g) for g in allowed)
            if not values or any(g not in range(1, 6) for g in values):
                raise ValueError(f"{where}: {term}: v{version}: grades must be 1-5: {allowed!r}")
            grades[normalize_version(version)] = values
        terms[term] = MappingProxyType(grades)
    return ClinicalTermTable(
        version=str(raw["version"]),
        source=" ".join(str(raw["source"]).split()),
        terms=MappingProxyType(terms),
    )


def _lookup(mapping: Mapping[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    wanted = " ".join(str(name).split()).casefold()
    for key, item in mapping.items():
        if key.casefold() == wanted:
            return item
    return None


# --------------------------------------------------------------------------- lab grading
@dataclass(frozen=True)
class LabGrade:
    """CTCAE grade of one laboratory value.

    Attributes
    ----------
    term : str
        CTCAE term graded.
    version : str
        CTCAE version used.
    grade : int or None
        0-4; ``None`` when the grade cannot be decided (an LLN, ULN or baseline that a
        criterion needs is missing). Never 0 in that case (TRIAL.md §6).
    criterion : str
        CTCAE text of the grade met ("" for grade 0 and for an unknown grade).
    reason : str
        Which comparison decided the grade, or what is missing.
    minimum_grade : int or None
        For an unknown grade, the highest grade the available inputs establish (the
        true grade is at least this); ``None`` when ``grade`` is known.
    missing : tuple of str
        Inputs whose absence left the grade unknown (``"lln"``, ``"uln"``, ``"baseline"``).
    """

    term: str
    version: str
    grade: int | None
    criterion: str
    reason: str
    minimum_grade: int | None = None
    missing: tuple[str, ...] = ()


def _is_missing(x: object) -> bool:
    if x is None or type(x).__name__ in {"NAType", "NaTType"}:
        return True
    return isinstance(x, float) and math.isnan(x)


def _number(name: str, x: object, *, term: str) -> float:
    if isinstance(x, bool) or (not isinstance(x, int | float) and not hasattr(x, "__float__")):
        raise ValueError(f"{term}: {name}: not a number: {x!r}")
    value = float(x)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{term}: {name}: must be a finite number >= 0: {x!r}")
    return value


def _sig(x: float) -> float:
    return float(f"{x:.{_SIGNIFICANT_DIGITS}g}")


def _norm_unit(unit: str) -> str:
    u = "".join(str(unit).split()).replace("µ", "u").replace("μ", "u").lower()
    for prefix in ("x10^9", "x10e9", "x10*9", "10e9", "10*9"):
        if u.startswith(prefix):
            u = "10^9" + u[len(prefix) :]
    return u


def grade_lab(
    term: str,
    value: float,
    unit: str,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    version: str = DEFAULT_VERSION,
) -> LabGrade:
    """Grade a laboratory value by CTCAE.

    Grades are checked from the highest down; the first grade with an alternative
    that holds is the grade. If a criterion that could give a higher grade needs an
    input that is missing, the grade is unknown (``None``, with ``minimum_grade``)
    rather than a guess - in particular grade 1 of a "decreased" term needs the LLN,
    so a value above the grade-2 threshold without an LLN is unknown, never 0.

    Parameters
    ----------
    term : str
        CTCAE term, e.g. ``"Neutrophil count decreased"`` (case-insensitive).
    value : float
        The result, in the term's unit (saatrial SI units: 10^9/L, g/L, U/L,
        umol/L, mmol/L).
    unit : str
        Unit of ``value``, ``lln``, ``uln`` and ``baseline``; any other unit than the
        term's is refused (no silent conversion).
    lln, uln : float, optional
        Age- and sex-specific limits of normal; ``None`` or NaN when unknown.
    baseline : float, optional
        The subject's baseline value of the same test. Used by the "x baseline"
        criteria (creatinine; v5.0 ALT/AST/bilirubin). Missing baseline: a plain
        "x baseline" alternative cannot be evaluated (grade unknown if it could
        decide); for v5.0's "if baseline was abnormal" the baseline is taken as
        normal, so the ULN criteria apply - the highest grade the value can have
        whatever the baseline - and the reason says so.
    version : str
        ``"4.03"`` (default, TRIAL.md §6) or ``"5.0"``.

    Returns
    -------
    LabGrade

    Raises
    ------
    ValueError
        Unknown term or version, wrong unit, or a value that is not a finite
        number >= 0.

    References
    ----------
    .. [1] National Cancer Institute. Common Terminology Criteria for Adverse Events
       v4.03 (2010) and v5.0 (2017).

    Examples
    --------
    >>> grade_lab("Neutrophil count decreased", 0.3, "10^9/L").grade
    4
    >>> grade_lab("Neutrophil count decreased", 1.6, "10^9/L").grade is None
    True
    >>> grade_lab("Neutrophil count decreased", 1.6, "10^9/L", lln=1.8).grade
    1
    >>> grade_lab("Alanine aminotransferase increased", 130, "U/L", uln=40).grade
    2
    """
    table = load_ctcae_table(version)
    spec = table.term(term)
    if _norm_unit(unit) != _norm_unit(spec.unit):
        raise ValueError(
            f"{spec.term}: unit {unit!r} refused: CTCAE v{table.ctcae_version} grading here "
            f"takes {spec.term!r} in {spec.unit} (convert at the reader)"
        )
    x = _number("value", value, term=spec.term)
    refs: dict[str, float | None] = {
        name: None if _is_missing(v) else _number(name, v, term=spec.term)
        for name, v in (("lln", lln), ("uln", uln), ("baseline", baseline))
    }
    if refs["lln"] is not None and refs["uln"] is not None and refs["lln"] > refs["uln"]:
        raise ValueError(f"{spec.term}: lln {lln!r} is above uln {uln!r}")

    notes: list[str] = []
    status = _baseline_status(spec, refs, notes)
    limit_name = "uln" if spec.direction == "increased" else "lln"
    undecided: list[tuple[GradeCriteria, tuple[str, ...]]] = []
    for grade in spec.grades:
        met: str | None = None
        missing: list[str] = []
        for criterion in grade.any:
            holds, why = _evaluate(criterion, x, refs, status, limit_name)
            if holds is True:
                met = why
                break
            if holds is None:
                missing.append(why)
        if met is not None:
            if undecided:
                return _unknown(spec, table, undecided, minimum=grade, notes=notes)
            reason = "; ".join([f"value {format(x, 'g')} {spec.unit} {met}", *notes])
            return LabGrade(spec.term, table.ctcae_version, grade.grade, grade.text, reason)
        if missing:
            undecided.append((grade, tuple(dict.fromkeys(missing))))
    if undecided:
        return _unknown(spec, table, undecided, minimum=None, notes=notes)
    lowest = spec.grades[-1].grade if spec.grades else 1
    reason = "; ".join(
        [
            f"value {format(x, 'g')} {spec.unit} meets no criterion of grade {lowest} or above",
            *notes,
        ]
    )
    return LabGrade(spec.term, table.ctcae_version, 0, "", reason)


def _baseline_status(
    spec: LabTerm, refs: Mapping[str, float | None], notes: list[str]
) -> str | None:
    """'normal' / 'abnormal' for terms with v5.0 'if baseline was ...' criteria."""
    if not any(c.when for g in spec.grades for c in g.any):
        return None
    baseline = refs["baseline"]
    limit = refs["uln"] if spec.direction == "increased" else refs["lln"]
    if baseline is None:
        notes.append("baseline not given: graded as if baseline normal (highest possible grade)")
        return "normal"
    if limit is None:
        return None
    if spec.direction == "increased":
        abnormal = _sig(baseline) > _sig(limit)
    else:
        abnormal = _sig(baseline) < _sig(limit)
    notes.append(f"baseline {format(baseline, 'g')} {'abnormal' if abnormal else 'normal'}")
    return "abnormal" if abnormal else "normal"


def _evaluate(
    c: LabCriterion,
    x: float,
    refs: Mapping[str, float | None],
    status: str | None,
    limit_name: str,
) -> tuple[bool | None, str]:
    """True/False with the comparison made, or None with the missing input's name."""
    if c.when is not None:
        if status is None:  # baseline given but the limit deciding "abnormal" is not
            return None, limit_name
        if c.when != f"baseline_{status}":
            return False, ""
    if c.of is None:
        threshold = float(c.value)  # type: ignore[arg-type]
        shown = c.threshold_text()
    else:
        ref = refs[c.of]
        if ref is None:
            return None, c.of
        threshold = float(c.k) * ref  # type: ignore[arg-type]
        shown = f"{c.threshold_text()} = {format(_sig(threshold), 'g')}"
    holds = _OPS[c.op](_sig(x), _sig(threshold))
    return holds, f"{c.op} {shown}"


def _input_name(name: str) -> str:
    return name if name == "baseline" else name.upper()


def _unknown(
    spec: LabTerm,
    table: CtcaeTable,
    undecided: list[tuple[GradeCriteria, tuple[str, ...]]],
    minimum: GradeCriteria | None,
    notes: list[str],
) -> LabGrade:
    missing = tuple(dict.fromkeys(m for _, ms in undecided for m in ms))
    parts = [
        f"grade {g.grade} ({g.text!r}) needs {' and '.join(_input_name(m) for m in ms)}"
        for g, ms in undecided
    ]
    at_least = minimum.grade if minimum is not None else 0
    tail = f"at least grade {at_least} ({minimum.text!r})" if minimum is not None else "not 0"
    reason = "; ".join([f"grade unknown: {', '.join(parts)}, not given; {tail}", *notes])
    return LabGrade(
        spec.term,
        table.ctcae_version,
        None,
        "",
        reason,
        minimum_grade=at_least,
        missing=missing,
    )


def term_for_lab_test(test: str, version: str = DEFAULT_VERSION) -> str:
    """CTCAE term that grades a saatrial lab test code.

    Examples
    --------
    >>> term_for_lab_test("HGB")
    'Anemia'
    >>> term_for_lab_test("CREAT", "5.0")
    'Creatinine increased'
    """
    return load_ctcae_table(version).term_for_lab_test(test).term


def grade_lab_test(
    test: str,
    value: float,
    unit: str,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    version: str = DEFAULT_VERSION,
) -> LabGrade:
    """:func:`grade_lab` for a saatrial lab test code (``ANC``, ``PLT``, ... ``K``).

    Examples
    --------
    >>> grade_lab_test("PLT", 10, "10^9/L").grade
    4
    """
    return grade_lab(term_for_lab_test(test, version), value, unit, lln, uln, baseline, version)


# --------------------------------------------------------------------------- D18
@dataclass(frozen=True)
class TreatmentEmergence:
    """Whether a lab grade is treatment-emergent (D18).

    ``bool(result)`` is True only when ``emergent`` is True; an unknown answer
    (``emergent is None``) is falsy, so check ``emergent is None`` to find them.
    """

    emergent: bool | None
    grade: int | None
    baseline_grade: int | None
    reason: str

    def __bool__(self) -> bool:
        return self.emergent is True


def _as_grade(g: object, low: int) -> int | None:
    """``g`` as an int in low..5 (numpy integers accepted), else None."""
    if isinstance(g, bool) or not isinstance(g, numbers.Integral) or not low <= int(g) <= 5:
        return None
    return int(g)


def _grade_or_none(name: str, g: object) -> int | None:
    if _is_missing(g):
        return None
    grade = _as_grade(g, 0)
    if grade is None:
        raise ValueError(f"{name}: CTCAE grade must be an integer 0-5 or None: {g!r}")
    return grade


def treatment_emergent(grade: int | None, baseline_grade: int | None) -> TreatmentEmergence:
    """Decide whether a graded lab value is a treatment-emergent adverse event (D18).

    SAA patients start with grade 4 cytopenias, so a lab abnormality counts only when
    its grade is worse than the baseline grade.

    Parameters
    ----------
    grade : int or None
        On-treatment grade (0-5); None = unknown.
    baseline_grade : int or None
        Grade at baseline; None = no baseline value.

    Returns
    -------
    TreatmentEmergence
        ``emergent`` is None when ``grade`` is unknown. With no baseline grade, any
        grade >= 1 is counted as treatment-emergent (the conservative choice for
        safety reporting; the reason says so).

    Examples
    --------
    >>> treatment_emergent(4, 4).emergent
    False
    >>> bool(treatment_emergent(3, 1))
    True
    >>> treatment_emergent(2, None).emergent
    True
    """
    g = _grade_or_none("grade", grade)
    b = _grade_or_none("baseline_grade", baseline_grade)
    if g is None:
        return TreatmentEmergence(None, g, b, "grade unknown: cannot tell")
    if g == 0:
        return TreatmentEmergence(False, g, b, "grade 0 is not an adverse event")
    if b is None:
        return TreatmentEmergence(
            True, g, b, f"grade {g} with no baseline grade: counted as treatment-emergent (D18)"
        )
    if g > b:
        return TreatmentEmergence(True, g, b, f"grade {g} worse than baseline grade {b} (D18)")
    return TreatmentEmergence(False, g, b, f"grade {g} not worse than baseline grade {b} (D18)")


# --------------------------------------------------------------------------- clinical terms
@dataclass(frozen=True)
class GradeCheck:
    """Result of validating an investigator-entered CTCAE grade.

    Attributes
    ----------
    ok : bool
        The term exists in the tables and the grade is one CTCAE defines for it.
    term : str
        The term as found in the tables (canonical spelling) or as given.
    version : str
        CTCAE version.
    grade : object
        The grade as given.
    allowed : tuple of int
        Grades the term allows in that version (empty when the term is unknown).
    reason : str
        Why the grade was accepted or refused.
    """

    ok: bool
    term: str
    version: str
    grade: object
    allowed: tuple[int, ...]
    reason: str


def _allowed_text(allowed: tuple[int, ...]) -> str:
    if len(allowed) > 1 and allowed == tuple(range(allowed[0], allowed[-1] + 1)):
        return f"{allowed[0]}-{allowed[-1]}"
    return ", ".join(str(g) for g in allowed)


def validate_clinical_grade(term: str, grade: object, version: str = DEFAULT_VERSION) -> GradeCheck:
    """Check an investigator's grade against the grades CTCAE defines for the term.

    Laboratory terms (e.g. "Alanine aminotransferase increased") are accepted too,
    with their grade range from the laboratory tables.

    Parameters
    ----------
    term : str
        CTCAE term (case-insensitive).
    grade : int
        Grade 1-5 as recorded.
    version : str
        ``"4.03"`` (default) or ``"5.0"``.

    Returns
    -------
    GradeCheck

    Examples
    --------
    >>> validate_clinical_grade("Anaphylaxis", 2).ok
    False
    >>> validate_clinical_grade("Anaphylaxis", 3).ok
    True
    >>> validate_clinical_grade("Allergic reaction", 1).allowed
    (1, 2, 3, 4, 5)
    """
    canonical = normalize_version(version)
    clinical = load_clinical_terms()
    per_version = _lookup(clinical.terms, term)
    allowed: tuple[int, ...] | None = None
    name = str(term)
    if per_version is not None:
        name = next(k for k, v in clinical.terms.items() if v is per_version)
        allowed = per_version.get(canonical)
    else:
        lab = _lookup(load_ctcae_table(canonical).terms, term)
        if lab is not None:
            name, allowed = lab.term, lab.allowed_grades
    if allowed is None:
        return GradeCheck(
            False,
            name,
            canonical,
            grade,
            (),
            f"{term!r} is not a CTCAE v{canonical} term in saatrial's tables "
            "(ctcae_tables/clinical_terms.yaml, laboratory tables); add it with its grades",
        )
    number = _as_grade(grade, 1)
    if number is None:
        return GradeCheck(
            False, name, canonical, grade, allowed, f"grade must be an integer 1-5: {grade!r}"
        )
    grade = number
    if grade not in allowed:
        return GradeCheck(
            False,
            name,
            canonical,
            grade,
            allowed,
            f"{name} has no grade {grade} in CTCAE v{canonical} "
            f"(allowed: {_allowed_text(allowed)})",
        )
    return GradeCheck(
        True,
        name,
        canonical,
        grade,
        allowed,
        f"grade {grade} is defined for {name} in CTCAE v{canonical}",
    )


# --------------------------------------------------------------------------- D17
@dataclass(frozen=True)
class CodedTerm:
    """A verbatim adverse-event term coded to a CTCAE term (D17)."""

    verbatim: str
    ctcae_term: str
    grade: int
    reason: str


def code_anaphylactic_reaction(
    grade: int,
    verbatim: str = "anaphylactic reaction",
    *,
    low_grade_term: str = "Allergic reaction",
    high_grade_term: str = "Anaphylaxis",
    high_grade_from: int = 3,
) -> CodedTerm:
    """Code the paper's "anaphylactic reaction" to a CTCAE term by grade (D17).

    CTCAE "Anaphylaxis" has no grade 1-2, so grade 1-2 reactions are coded
    "Allergic reaction" and grade 3+ "Anaphylaxis"; the verbatim term is kept.
    The keyword arguments are the protocol's ``D17_anaphylaxis_coding`` parameters.

    Parameters
    ----------
    grade : int
        Investigator's grade, 1-5.
    verbatim : str
        The term as written (kept unchanged).

    Returns
    -------
    CodedTerm

    Examples
    --------
    >>> code_anaphylactic_reaction(2).ctcae_term
    'Allergic reaction'
    >>> code_anaphylactic_reaction(3, "drug fever").ctcae_term
    'Anaphylaxis'
    """
    number = _as_grade(grade, 1)
    if number is None:
        raise ValueError(f"{verbatim!r}: grade must be an integer 1-5: {grade!r}")
    grade = number
    if grade >= high_grade_from:  # D17: grade 3+ -> Anaphylaxis
        term = high_grade_term
        why = f"grade {grade} >= {high_grade_from}: coded {high_grade_term!r} (D17)"
    else:  # D17: grade 1-2 -> Allergic reaction
        term = low_grade_term
        why = f"grade {grade} < {high_grade_from}: coded {low_grade_term!r} (D17)"
    return CodedTerm(verbatim=verbatim, ctcae_term=term, grade=grade, reason=why)
