"""Severity of aplastic anaemia: modified Camitta (SAA) and Bacigalupo (vSAA).

Rules (TRIAL.md section 1, decisions D1-D3; thresholds in
``rules/tables/severity-camitta.yaml``):

- marrow criterion: cellularity < 25 %, or 25-50 % with < 30 % residual
  haematopoietic cells; cellularity above 50 % is "not aplastic" (``NOT_AA``);
- blood criteria: at least two of ANC < 0.5, pre-transfusion PLT < 20,
  pre-transfusion ARC < 20 (x 10^9/L);
- SAA = marrow criterion and blood criteria; vSAA = SAA and ANC < 0.2 (D3);
  NSAA = hypocellular marrow (<= 50 %) that is not SAA. The function grades
  severity of a patient with aplastic anaemia; it does not diagnose aplastic
  anaemia from cytopenias.

Every comparison is strict (D1). A PLT (ARC) value counts only if it is
pre-transfusion (D2); a criterion that cannot be judged is "unknown", and the
level is ``NOT_ASSESSABLE`` only when the unknowns could change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

import pandas as pd

from saatrial.rules.frames import (
    lab_values,
    last_on_or_before,
    require_columns,
    subject_rows,
    transfusion_records,
)
from saatrial.rules.transfusion import pre_transfusion_check
from saatrial.rules.types import (
    DateLike,
    ge,
    gt,
    le,
    load_rule_table,
    lt,
    optional_float,
    to_date,
)

DEFAULT_TABLE = "severity-camitta"


class SeverityLevel(StrEnum):
    """Severity levels, worst first."""

    VSAA = "VSAA"
    SAA = "SAA"
    NSAA = "NSAA"
    NOT_AA = "NOT_AA"
    NOT_ASSESSABLE = "NOT_ASSESSABLE"


#: Order of the assessable levels from worst (0) to best; NOT_ASSESSABLE has no rank.
SEVERITY_RANK: Mapping[SeverityLevel, int] = {
    SeverityLevel.VSAA: 0,
    SeverityLevel.SAA: 1,
    SeverityLevel.NSAA: 2,
    SeverityLevel.NOT_AA: 3,
}


@dataclass(frozen=True)
class SeverityInputs:
    """The values a severity assessment used, with their dates when picked from tables.

    Attributes
    ----------
    anc_1e9_per_l, plt_1e9_per_l, arc_1e9_per_l : float or None
        Blood counts (x 10^9/L).
    cellularity_pct, residual_hematopoietic_pct : float or None
        Marrow cellularity and residual haematopoietic cells (%).
    plt_pre_transfusion, arc_pre_transfusion : bool or None
        Whether the PLT/ARC value counts as pre-transfusion (D2).
    dates : Mapping[str, datetime.date or None]
        Sample date per input (``ANC``, ``PLT``, ``ARC``, ``MARROW``), if known.
    notes : tuple of str
        How the pre-transfusion status was decided.
    """

    anc_1e9_per_l: float | None
    plt_1e9_per_l: float | None
    arc_1e9_per_l: float | None
    cellularity_pct: float | None
    residual_hematopoietic_pct: float | None
    plt_pre_transfusion: bool | None
    arc_pre_transfusion: bool | None
    dates: Mapping[str, date | None] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BloodCriteria:
    """The three SAA blood criteria, each met, not met or unknown.

    Attributes
    ----------
    met, not_met, unknown : tuple of str
        Descriptions of the criteria in each state (``unknown`` says why).
    saa_range : bool or None
        At least two criteria met (``True``), impossible (``False``) or
        undecidable because of unknowns (``None``).
    """

    met: tuple[str, ...]
    not_met: tuple[str, ...]
    unknown: tuple[str, ...]
    saa_range: bool | None


@dataclass(frozen=True)
class Severity:
    """Result of a severity assessment.

    Attributes
    ----------
    level : SeverityLevel
        ``VSAA``, ``SAA``, ``NSAA``, ``NOT_AA`` or ``NOT_ASSESSABLE``.
    criteria_met : tuple of str
        The criteria that hold (e.g. ``"ANC 0.07 < 0.5"``).
    reasons : tuple of str
        Why this level; for ``NOT_ASSESSABLE``, what is missing.
    blood : BloodCriteria
        The blood criteria in detail.
    inputs : SeverityInputs
        The values used.
    table_version : str
        Version of the severity table applied.
    """

    level: SeverityLevel
    criteria_met: tuple[str, ...]
    reasons: tuple[str, ...]
    blood: BloodCriteria
    inputs: SeverityInputs
    table_version: str


@lru_cache(maxsize=8)
def _table(name: str) -> Mapping[str, Any]:
    return load_rule_table("tables", name)


def _fmt(x: float) -> str:
    return format(x, "g")


def saa_blood_criteria(
    anc_1e9_per_l: float | None,
    plt_1e9_per_l: float | None,
    arc_1e9_per_l: float | None,
    *,
    plt_pre_transfusion: bool | None,
    arc_pre_transfusion: bool | None,
    table: str = DEFAULT_TABLE,
) -> BloodCriteria:
    """Evaluate the three SAA blood criteria (D1 strict, D2 pre-transfusion).

    Parameters
    ----------
    anc_1e9_per_l, plt_1e9_per_l, arc_1e9_per_l : float or None
        Counts in 10^9/L; ``None`` = not available.
    plt_pre_transfusion, arc_pre_transfusion : bool or None
        ``True`` if the value counts as pre-transfusion (D2); ``False``/``None``
        make that criterion unknown.
    table : str
        Severity table name.

    Returns
    -------
    BloodCriteria

    Examples
    --------
    >>> b = saa_blood_criteria(0.4, 19, 25, plt_pre_transfusion=True, arc_pre_transfusion=True)
    >>> b.saa_range, len(b.met)
    (True, 2)
    """
    t = _table(table)["blood"]
    anc = optional_float(anc_1e9_per_l, "anc_1e9_per_l")
    plt = optional_float(plt_1e9_per_l, "plt_1e9_per_l")
    arc = optional_float(arc_1e9_per_l, "arc_1e9_per_l")
    met: list[str] = []
    not_met: list[str] = []
    unknown: list[str] = []

    def judge(name: str, value: float | None, threshold: float, usable: bool | None) -> None:
        if value is None:
            unknown.append(f"no {name} value")
        elif usable is not True:
            unknown.append(f"no pre-transfusion {name} value (D2)")
        elif lt(value, threshold):  # D1: strict
            met.append(f"{name} {_fmt(value)} < {_fmt(threshold)}")
        else:
            not_met.append(f"{name} {_fmt(value)} >= {_fmt(threshold)}")

    judge("ANC", anc, float(t["anc_lt_1e9_per_l"]), True)
    judge("PLT", plt, float(t["plt_lt_1e9_per_l"]), plt_pre_transfusion)  # D2
    judge("ARC", arc, float(t["arc_lt_1e9_per_l"]), arc_pre_transfusion)  # D2
    need = int(t["min_criteria"])
    saa_range: bool | None
    if len(met) >= need:
        saa_range = True
    elif len(met) + len(unknown) < need:
        saa_range = False
    else:
        saa_range = None
    return BloodCriteria(tuple(met), tuple(not_met), tuple(unknown), saa_range)


def assess_severity(
    anc_1e9_per_l: float | None,
    plt_1e9_per_l: float | None,
    arc_1e9_per_l: float | None,
    cellularity_pct: float | None,
    residual_hematopoietic_pct: float | None = None,
    *,
    plt_pre_transfusion: bool | None,
    arc_pre_transfusion: bool | None,
    table: str = DEFAULT_TABLE,
    dates: Mapping[str, date | None] | None = None,
    notes: tuple[str, ...] = (),
) -> Severity:
    """Classify aplastic anaemia severity from values (modified Camitta, Bacigalupo).

    Parameters
    ----------
    anc_1e9_per_l, plt_1e9_per_l, arc_1e9_per_l : float or None
        Blood counts in 10^9/L.
    cellularity_pct : float or None
        Marrow cellularity (%).
    residual_hematopoietic_pct : float or None
        Residual haematopoietic cells (%); needed only for 25-50 % cellularity.
    plt_pre_transfusion, arc_pre_transfusion : bool or None
        Whether the PLT/ARC value is pre-transfusion (D2). Required: say
        ``True`` only when the sample is known to be pre-transfusion.
    table : str, default "severity-camitta"
        Severity thresholds table.
    dates, notes
        Provenance recorded in ``Severity.inputs`` (used by :func:`severity_at`).

    Returns
    -------
    Severity

    References
    ----------
    Camitta BM et al. Blood 1975;45:355-63. Bacigalupo A et al. Br J Haematol
    1988;70:177-82. Lan Y et al. BMC Pediatr 2021;21:102 (Methods). TRIAL.md D1-D3.

    Examples
    --------
    >>> s = assess_severity(0.07, 10, 5.4, 10, plt_pre_transfusion=True,
    ...                     arc_pre_transfusion=True)
    >>> s.level
    <SeverityLevel.VSAA: 'VSAA'>
    >>> assess_severity(0.07, 10, 5.4, 10, plt_pre_transfusion=False,
    ...                 arc_pre_transfusion=True).level   # ANC + ARC suffice
    <SeverityLevel.VSAA: 'VSAA'>
    >>> assess_severity(0.3, 10, 25, 10, plt_pre_transfusion=False,
    ...                 arc_pre_transfusion=True).reasons[-1]
    'no pre-transfusion PLT value (D2)'
    """
    tab = _table(table)
    m = tab["marrow"]
    inputs = SeverityInputs(
        anc_1e9_per_l=optional_float(anc_1e9_per_l, "anc_1e9_per_l"),
        plt_1e9_per_l=optional_float(plt_1e9_per_l, "plt_1e9_per_l"),
        arc_1e9_per_l=optional_float(arc_1e9_per_l, "arc_1e9_per_l"),
        cellularity_pct=optional_float(cellularity_pct, "cellularity_pct"),
        residual_hematopoietic_pct=optional_float(
            residual_hematopoietic_pct, "residual_hematopoietic_pct"
        ),
        plt_pre_transfusion=plt_pre_transfusion,
        arc_pre_transfusion=arc_pre_transfusion,
        dates=dict(dates or {}),
        notes=tuple(notes),
    )
    for name in ("cellularity_pct", "residual_hematopoietic_pct"):
        v = getattr(inputs, name)
        if v is not None and not 0 <= v <= 100:
            raise ValueError(f"{name}: range [0, 100]: {v}")
    for name in ("anc_1e9_per_l", "plt_1e9_per_l", "arc_1e9_per_l"):
        v = getattr(inputs, name)
        if v is not None and v < 0:
            raise ValueError(f"{name}: >= 0: {v}")

    blood = saa_blood_criteria(
        inputs.anc_1e9_per_l,
        inputs.plt_1e9_per_l,
        inputs.arc_1e9_per_l,
        plt_pre_transfusion=plt_pre_transfusion,
        arc_pre_transfusion=arc_pre_transfusion,
        table=table,
    )
    version = str(tab["version"])

    def result(level: SeverityLevel, met: list[str], reasons: list[str]) -> Severity:
        return Severity(level, tuple(met), tuple(reasons), blood, inputs, version)

    cell = inputs.cellularity_pct
    if cell is None:
        return result(
            SeverityLevel.NOT_ASSESSABLE, list(blood.met), ["no marrow cellularity", *blood.unknown]
        )
    hypo_max = float(m["hypocellular_max_pct"])
    if gt(cell, hypo_max):
        return result(
            SeverityLevel.NOT_AA,
            [],
            [f"marrow not hypocellular: cellularity {_fmt(cell)} % > {_fmt(hypo_max)} %"],
        )

    # Marrow criterion (D1: strict <; the 25-50 % band is inclusive at both ends)
    marrow_met: bool | None
    residual = inputs.residual_hematopoietic_pct
    if lt(cell, float(m["cellularity_lt_pct"])):
        marrow_met = True
        marrow_text = f"cellularity {_fmt(cell)} % < {_fmt(m['cellularity_lt_pct'])} %"
    elif ge(cell, float(m["partial_cellularity_min_pct"])) and le(
        cell, float(m["partial_cellularity_max_pct"])
    ):
        if residual is None:
            marrow_met = None
            marrow_text = (
                f"no residual haematopoietic % for cellularity {_fmt(cell)} % "
                f"({_fmt(m['partial_cellularity_min_pct'])}-"
                f"{_fmt(m['partial_cellularity_max_pct'])} %)"
            )
        elif lt(residual, float(m["residual_hematopoietic_lt_pct"])):
            marrow_met = True
            marrow_text = (
                f"cellularity {_fmt(cell)} % with residual haematopoietic cells "
                f"{_fmt(residual)} % < {_fmt(m['residual_hematopoietic_lt_pct'])} %"
            )
        else:
            marrow_met = False
            marrow_text = (
                f"cellularity {_fmt(cell)} % with residual haematopoietic cells "
                f"{_fmt(residual)} % >= {_fmt(m['residual_hematopoietic_lt_pct'])} %"
            )
    else:  # pragma: no cover - only reachable with an inconsistent table
        marrow_met = False
        marrow_text = f"cellularity {_fmt(cell)} % outside the SAA marrow criterion"

    met = ([marrow_text] if marrow_met else []) + list(blood.met)
    blood_text = f"{len(blood.met)} of 3 blood criteria met" + (
        f", {len(blood.unknown)} unknown" if blood.unknown else ""
    )
    if marrow_met is False or blood.saa_range is False:
        reasons = [f"not SAA: {marrow_text}" if marrow_met is False else marrow_text, blood_text]
        return result(SeverityLevel.NSAA, met, reasons)
    if marrow_met is None or blood.saa_range is None:
        missing = ([marrow_text] if marrow_met is None else []) + list(blood.unknown)
        return result(SeverityLevel.NOT_ASSESSABLE, met, [blood_text, *missing])

    # SAA holds; D3: vSAA needs SAA first, then ANC < 0.2
    vsaa_lt = float(tab["vsaa"]["anc_lt_1e9_per_l"])
    anc = inputs.anc_1e9_per_l
    if anc is None:
        return result(
            SeverityLevel.NOT_ASSESSABLE,
            met,
            ["SAA criteria met", "vSAA undecidable: no ANC value"],
        )
    if lt(anc, vsaa_lt):
        met.append(f"ANC {_fmt(anc)} < {_fmt(vsaa_lt)} (vSAA)")
        return result(
            SeverityLevel.VSAA, met, ["SAA criteria met", f"ANC {_fmt(anc)} < {_fmt(vsaa_lt)}"]
        )
    return result(
        SeverityLevel.SAA,
        met,
        ["SAA criteria met", f"ANC {_fmt(anc)} >= {_fmt(vsaa_lt)}: not vSAA"],
    )


def severity_at(
    subject_id: str,
    on_date: DateLike,
    labs: pd.DataFrame,
    transfusions: pd.DataFrame,
    marrow_exams: pd.DataFrame,
    *,
    table: str = DEFAULT_TABLE,
    plt_pretransfusion_days: int | None = None,
    arc_pretransfusion_days: int | None = None,
) -> Severity:
    """Severity of a subject at a date, from the study tables.

    For each of ANC, PLT and ARC the last value on or before ``on_date`` is used
    (the baseline rule when ``on_date`` is study day 1), and the last marrow
    examination on or before ``on_date``. The PLT (ARC) value counts only if its
    record is flagged pre-transfusion or no PLT (RBC) transfusion was given in the
    3 (14) days before it, the sample day included (D2).

    Parameters
    ----------
    subject_id : str
        Subject.
    on_date : date-like
        Assessment date (study day 1 for baseline).
    labs, transfusions, marrow_exams : pandas.DataFrame
        Study tables with the data dictionary's columns.
    table : str
        Severity table name.
    plt_pretransfusion_days, arc_pretransfusion_days : int, optional
        D2 windows; default from the table (3 and 14).

    Returns
    -------
    Severity
        ``inputs.dates`` holds the date of every value used.

    Examples
    --------
    >>> labs = pd.DataFrame({
    ...     "subject_id": ["S1"] * 3, "lab_date": ["2014-01-02"] * 3,
    ...     "test": ["ANC", "PLT", "ARC"], "value": [0.1, 8.0, 4.0],
    ...     "pre_transfusion": [pd.NA, pd.NA, pd.NA]})
    >>> tx = pd.DataFrame({"subject_id": ["S1"], "transfusion_date": ["2014-01-01"],
    ...                    "product": ["PLT"]})
    >>> marrow = pd.DataFrame({"subject_id": ["S1"], "exam_date": ["2013-12-30"],
    ...                        "cellularity_pct": [10.0], "residual_hematopoietic_pct": [pd.NA]})
    >>> s = severity_at("S1", "2014-01-03", labs, tx, marrow)
    >>> s.level, s.inputs.plt_pre_transfusion
    (<SeverityLevel.VSAA: 'VSAA'>, False)
    """
    day = to_date(on_date, "on_date")
    tab = _table(table)
    plt_days = int(
        tab["pre_transfusion"]["plt_no_plt_transfusion_days"]
        if plt_pretransfusion_days is None
        else plt_pretransfusion_days
    )
    arc_days = int(
        tab["pre_transfusion"]["arc_no_rbc_transfusion_days"]
        if arc_pretransfusion_days is None
        else arc_pretransfusion_days
    )
    records = transfusion_records(transfusions, subject_id)
    anc = last_on_or_before(lab_values(labs, subject_id, "ANC"), day)
    plt = last_on_or_before(lab_values(labs, subject_id, "PLT"), day)
    arc = last_on_or_before(lab_values(labs, subject_id, "ARC"), day)
    notes: list[str] = []
    plt_ok: bool | None = None
    arc_ok: bool | None = None
    if plt is not None:
        check = pre_transfusion_check(plt.lab_date, plt.pre_transfusion, records, "PLT", plt_days)
        plt_ok = check.usable  # D2: 3 days for PLT
        notes.append(f"PLT: {check.reason}")
    if arc is not None:
        check = pre_transfusion_check(arc.lab_date, arc.pre_transfusion, records, "RBC", arc_days)
        arc_ok = check.usable  # D2: 14 days for ARC
        notes.append(f"ARC: {check.reason}")

    require_columns(marrow_exams, "marrow_exams", ["subject_id", "exam_date", "cellularity_pct"])
    exams = subject_rows(marrow_exams, subject_id, "marrow_exams")
    best: tuple[date, float | None, float | None] | None = None
    for _, row in exams.iterrows():
        where = f"marrow_exams: subject {subject_id}"
        d = to_date(row["exam_date"], f"{where}: exam_date")
        if d > day or (best is not None and d <= best[0]):
            continue
        best = (
            d,
            optional_float(row["cellularity_pct"], f"{where}: cellularity_pct"),
            optional_float(
                row.get("residual_hematopoietic_pct"), f"{where}: residual_hematopoietic_pct"
            ),
        )
    dates = {
        "ANC": anc.lab_date if anc else None,
        "PLT": plt.lab_date if plt else None,
        "ARC": arc.lab_date if arc else None,
        "MARROW": best[0] if best else None,
    }
    return assess_severity(
        anc.value if anc else None,
        plt.value if plt else None,
        arc.value if arc else None,
        best[1] if best else None,
        best[2] if best else None,
        plt_pre_transfusion=plt_ok,
        arc_pre_transfusion=arc_ok,
        table=table,
        dates=dates,
        notes=tuple(notes),
    )
