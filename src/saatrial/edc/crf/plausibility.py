"""Plausibility warnings at data entry: soft ranges and the protocol dose (pure functions).

A value outside its *hard* range is refused by the model (validators built
from the data dictionary). A value inside the hard range but outside its
*soft* (plausible) range is saved only after the user confirms it, and the
confirmed value opens a data query (:mod:`saatrial.edc.queries`). The same
holds for a study-drug dose more than the protocol's tolerance (10 %) away
from weight x protocol dose per administration.

Nothing here touches the database: the functions take dictionary-named
values and return frozen result objects.

Examples
--------
>>> [w.message for w in soft_range_warnings("subjects", {"weight_kg": 130.0})]
['weight_kg: soft_range [3, 120]: 130']
>>> soft_range_warnings("labs", {"test": "HGB", "value": 95.0})
()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from saatrial.protocol.model import Protocol
from saatrial.study.dictionary import Dictionary, load_dictionary
from saatrial.study.values import format_number

__all__ = [
    "DoseCheck",
    "DoseCheckStatus",
    "DosePrefill",
    "FieldWarning",
    "check_dose",
    "protocol_dose",
    "soft_range_warnings",
]


@dataclass(frozen=True)
class FieldWarning:
    """A value that needs the user's confirmation before it is saved.

    Attributes
    ----------
    table, field : str
        Dictionary table and field the warning is about.
    value : str
        The value as canonical text.
    rule : str
        The rule and its limits (``soft_range [3, 120]``, ``dose_tolerance ...``).

    Examples
    --------
    >>> FieldWarning("labs", "value", "250", "soft_range [30, 200] for HGB (g/L)").message
    'value: soft_range [30, 200] for HGB (g/L): 250'
    """

    table: str
    field: str
    value: str
    rule: str

    @property
    def message(self) -> str:
        """``<field>: <rule>: <value>`` (the validation message format without file/row)."""
        return f"{self.field}: {self.rule}: {self.value}"


def _bounds(bounds: tuple[float, float]) -> str:
    return f"[{format(bounds[0], 'g')}, {format(bounds[1], 'g')}]"


def _number(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _inside(value: float, bounds: tuple[float, float] | None) -> bool:
    return bounds is None or bounds[0] <= value <= bounds[1]


def soft_range_warnings(
    table: str, values: Mapping[str, Any], dictionary: Dictionary | None = None
) -> tuple[FieldWarning, ...]:
    """Values inside their hard range but outside their soft range.

    Parameters
    ----------
    table : str
        Dictionary table.
    values : Mapping[str, Any]
        Field name (dictionary name) -> value; absent or empty values are skipped.
        For ``labs`` the soft range of the row's ``test`` (``lab_tests``) applies
        to ``value``.
    dictionary : Dictionary, optional
        Default: the package dictionary.

    Returns
    -------
    tuple of FieldWarning
        In dictionary field order. A value outside its hard range gives no
        warning here (it is an error, refused elsewhere). Bounds are inclusive.

    Examples
    --------
    >>> soft_range_warnings("subjects", {"weight_kg": 120.0})   # boundary: plausible
    ()
    >>> soft_range_warnings("labs", {"test": "HGB", "value": 201.0})[0].rule
    'soft_range [30, 200] for HGB (g/L)'
    """
    d = dictionary or load_dictionary()
    spec = d.table(table)
    out: list[FieldWarning] = []
    for name, f in spec.fields.items():
        if f.soft_range is None or f.type not in ("number", "integer"):
            continue
        value = _number(values.get(name))
        if value is None or not _inside(value, f.hard_range) or _inside(value, f.soft_range):
            continue
        out.append(
            FieldWarning(table, name, format_number(value), f"soft_range {_bounds(f.soft_range)}")
        )
    if table == "labs":
        test = d.lab_tests.get(str(values.get("test") or ""))
        value = _number(values.get("value"))
        if (
            test is not None
            and value is not None
            and test.soft_range is not None
            and _inside(value, test.hard_range)
            and not _inside(value, test.soft_range)
        ):
            out.append(
                FieldWarning(
                    table,
                    "value",
                    format_number(value),
                    f"soft_range {_bounds(test.soft_range)} for {test.code} ({test.unit})",
                )
            )
    return tuple(out)


@dataclass(frozen=True)
class DosePrefill:
    """The protocol dose of a drug for a body weight, to prefill an exposure form.

    Attributes
    ----------
    drug, dose_unit, frequency : str
        As the protocol gives them.
    weight_kg : float
        The weight the dose is computed from (D7: actual weight on the day).
    dose : float
        Dose per administration in ``dose_unit``.
    basis : str
        How the dose was computed, in words.
    """

    drug: str
    dose_unit: str
    frequency: str
    weight_kg: float
    dose: float
    basis: str

    @property
    def dose_text(self) -> str:
        """``71.25 mg``, ``15000000 cells`` (canonical number text)."""
        return f"{format_number(self.dose)} {self.dose_unit}"


def protocol_dose(
    protocol: Protocol,
    drug: str,
    weight_kg: float,
    arm_id: str | None = None,
    dose_level_id: str | None = None,
) -> DosePrefill:
    """Protocol dose per administration of ``drug`` for ``weight_kg``.

    Parameters
    ----------
    protocol : Protocol
    drug : str
        ``RATG``, ``CSA`` or ``UCMSC``.
    weight_kg : float
    arm_id, dose_level_id : str, optional
        Needed for UC-MSC (dose from the dose level).

    Returns
    -------
    DosePrefill

    Raises
    ------
    ValueError
        Unknown drug, or a UC-MSC dose without an MSC dose level.

    Examples
    --------
    >>> from saatrial.protocol.model import load_protocol
    >>> p = protocol_dose(load_protocol("nct02218437"), "RATG", 15.0)
    >>> p.dose, p.dose_unit, p.frequency, p.basis
    (45.0, 'mg', 'QD', '3 mg/kg x 15 kg')
    """
    regimen = protocol.drugs.get(drug)
    if regimen is None:
        raise ValueError(f"drug {drug!r} has no regimen in protocol {protocol.protocol_id}")
    # D7: doses are computed from the actual body weight on the day
    dose = protocol.dose_per_administration(drug, weight_kg, arm_id, dose_level_id)
    if regimen.dose_per_kg is not None:
        per_kg_text = f"{format_number(regimen.dose_per_kg)} {regimen.dose_unit}/kg"
        basis = f"{per_kg_text} x {format_number(weight_kg)} kg"
    else:
        per_kg = dose / weight_kg / 1e6
        basis = f"{format_number(per_kg)} x 10^6 cells/kg x {format_number(weight_kg)} kg"
    return DosePrefill(drug, regimen.dose_unit, regimen.frequency, float(weight_kg), dose, basis)


class DoseCheckStatus(StrEnum):
    """Outcome of :func:`check_dose`."""

    WITHIN = "within"
    OUTSIDE = "outside"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class DoseCheck:
    """An entered dose compared with weight x protocol dose.

    Attributes
    ----------
    status : DoseCheckStatus
        ``within`` the tolerance, ``outside`` it, or ``not_checked`` (why in ``rule``).
    entered_dose : float or None
        The dose entered.
    expected_dose : float or None
        Protocol dose per administration for the entered weight.
    deviation_fraction : float or None
        ``(entered - expected) / expected``.
    tolerance_fraction : float
        The protocol's ``dose_tolerance_fraction``.
    rule : str
        The comparison (or why there was none) in words.
    """

    status: DoseCheckStatus
    entered_dose: float | None
    expected_dose: float | None
    deviation_fraction: float | None
    tolerance_fraction: float
    rule: str

    @property
    def message(self) -> str:
        """``<rule>: <entered dose>``."""
        entered = "" if self.entered_dose is None else format_number(self.entered_dose)
        return f"{self.rule}: {entered}"

    def warning(self) -> FieldWarning | None:
        """The :class:`FieldWarning` to confirm, when the dose is outside the tolerance."""
        if self.status is not DoseCheckStatus.OUTSIDE or self.entered_dose is None:
            return None
        return FieldWarning("exposures", "dose", format_number(self.entered_dose), self.rule)


def check_dose(
    protocol: Protocol,
    drug: str,
    dose: float | None,
    dose_unit: str | None,
    weight_kg: float | None,
    arm_id: str,
    dose_level_id: str,
) -> DoseCheck:
    """Is ``dose`` within the protocol tolerance of weight x protocol dose?

    The tolerance is inclusive: a dose exactly 10 % off passes; a 1e-9
    relative slack absorbs binary rounding (e.g. 1.1 x 45), as in the study
    validation rule ``dose_tolerance``.

    Parameters
    ----------
    protocol : Protocol
    drug : str
    dose : float or None
        Entered dose per administration.
    dose_unit : str or None
        Entered unit; a unit other than the protocol's is not compared.
    weight_kg : float or None
        The weight the dose was calculated from (D7).
    arm_id, dose_level_id : str
        The subject's arm and dose level.

    Returns
    -------
    DoseCheck

    Examples
    --------
    >>> from saatrial.protocol.model import load_protocol
    >>> p = load_protocol("nct02218437")
    >>> check_dose(p, "RATG", 49.5, "mg", 15.0, "CONTROL", "NONE").status   # +10 %: within
    <DoseCheckStatus.WITHIN: 'within'>
    >>> check_dose(p, "RATG", 50.0, "mg", 15.0, "CONTROL", "NONE").message
    'dose_tolerance (expected 45 mg ± 10 % for 15 kg; 11.1 % above): 50'
    """
    tolerance = float(protocol.dose_tolerance_fraction)

    entered = None if dose is None else float(dose)

    def skip(why: str) -> DoseCheck:
        return DoseCheck(DoseCheckStatus.NOT_CHECKED, entered, None, None, tolerance, why)

    regimen = protocol.drugs.get(drug)
    if regimen is None:
        return skip(f"no protocol regimen for drug {drug!r}")
    if arm_id not in protocol.arms or drug not in protocol.arm_drugs(arm_id):
        return skip(f"{drug} is not given in arm {arm_id} (protocol {protocol.protocol_id})")
    if dose is None or weight_kg is None:
        return skip("dose or weight missing")
    if dose_unit != regimen.dose_unit:
        return skip(f"dose unit {dose_unit!r} is not the protocol unit {regimen.dose_unit!r}")
    try:
        expected = protocol.dose_per_administration(drug, float(weight_kg), arm_id, dose_level_id)
    except (KeyError, ValueError) as err:
        return skip(str(err))
    if expected <= 0:
        return skip(f"protocol dose of {drug} is {format_number(expected)}")
    deviation = (float(dose) - expected) / expected
    outside = abs(float(dose) - expected) > tolerance * expected * (1 + 1e-9)
    direction = "above" if deviation > 0 else "below"
    rule = (
        f"dose_tolerance (expected {format_number(expected)} {regimen.dose_unit} "
        f"± {format_number(tolerance * 100)} % for {format_number(float(weight_kg))} kg; "
        f"{abs(deviation) * 100:.1f} % {direction})"
    )
    status = DoseCheckStatus.OUTSIDE if outside else DoseCheckStatus.WITHIN
    return DoseCheck(status, entered, expected, deviation, tolerance, rule)
