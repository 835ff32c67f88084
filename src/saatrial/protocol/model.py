"""Load a protocol YAML file into a typed, read-only model.

The protocol file is the single place where a trial's regimen, visit windows,
eligibility parameters and the decisions D1-D19 of TRIAL.md live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Visit:
    """A protocol visit with its window (D9).

    Attributes
    ----------
    code : str
        Visit code, e.g. ``"D90"``.
    target_day : int
        Study day the visit is due (study day 1 = first rATG dose, D7).
    window_days : int
        Half-width of the window; the window is inclusive on both ends.
    label : str
        Human-readable label.
    """

    code: str
    target_day: int
    window_days: int
    label: str

    @property
    def earliest_day(self) -> int:
        return self.target_day - self.window_days

    @property
    def latest_day(self) -> int:
        return self.target_day + self.window_days


@dataclass(frozen=True)
class DrugRegimen:
    """One drug of the regimen.

    ``dose_per_kg`` is per administration, in ``dose_unit`` per kg; for UC-MSC it
    comes from the subject's dose level (10^6 cells/kg) and is ``None`` here.
    """

    drug: str
    name: str
    route: str
    dose_unit: str
    frequency: str
    dose_per_kg: float | None
    days: tuple[int, ...] = ()
    window_days: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Protocol:
    """A trial protocol loaded from YAML."""

    protocol_id: str
    version: str
    registry_id: str
    arms: dict[str, dict[str, Any]]
    drugs: dict[str, DrugRegimen]
    visits: dict[str, Visit]
    eligibility: dict[str, Any]
    decisions: dict[str, Any]
    response_criteria_set: str
    primary_response_visit: str
    dose_tolerance_fraction: float
    days_per_month: float
    raw: dict[str, Any] = field(compare=False, repr=False)

    def arm_drugs(self, arm_id: str) -> list[str]:
        """Drug codes given in an arm."""
        return list(self.arms[arm_id]["regimen"])

    def msc_dose_1e6_cells_per_kg(self, arm_id: str, dose_level_id: str) -> float | None:
        """UC-MSC dose per infusion of a dose level, in 10^6 cells/kg (None if no MSC)."""
        level = self.arms[arm_id]["dose_levels"][dose_level_id]
        value = level.get("msc_dose_1e6_cells_per_kg")
        return None if value is None else float(value)

    def dose_per_administration(
        self, drug: str, weight_kg: float, arm_id: str | None = None,
        dose_level_id: str | None = None,
    ) -> float:
        """Protocol dose per administration for a body weight, in the drug's dose unit.

        Parameters
        ----------
        drug : str
            ``RATG``, ``CSA`` or ``UCMSC``.
        weight_kg : float
            Actual body weight on the day (D7).
        arm_id, dose_level_id : str, optional
            Needed for UC-MSC, whose dose depends on the dose level.

        Examples
        --------
        >>> p = load_protocol("nct02218437")
        >>> p.dose_per_administration("RATG", 15.0)
        45.0
        >>> p.dose_per_administration("CSA", 15.0)
        37.5
        >>> p.dose_per_administration("UCMSC", 15.0, "MSC", "MSC-1")
        15000000.0
        """
        regimen = self.drugs[drug]
        if regimen.dose_per_kg is not None:
            return regimen.dose_per_kg * weight_kg
        if arm_id is None or dose_level_id is None:
            raise ValueError(
                f"{drug}: dose depends on the dose level; give arm_id and dose_level_id"
            )
        per_kg = self.msc_dose_1e6_cells_per_kg(arm_id, dose_level_id)
        if per_kg is None:
            raise ValueError(f"{drug}: dose level {arm_id}/{dose_level_id} has no MSC dose")
        return per_kg * 1e6 * weight_kg


def _regimen(code: str, spec: dict[str, Any]) -> DrugRegimen:
    days = spec.get("days") or ()
    return DrugRegimen(
        drug=code,
        name=str(spec["name"]),
        route=str(spec["route"]),
        dose_unit=str(spec["dose_unit"]),
        frequency=str(spec["frequency"]),
        dose_per_kg=None if spec.get("dose_per_kg") is None else float(spec["dose_per_kg"]),
        days=tuple(int(d) for d in days),
        window_days=int(spec.get("window_days", 0)),
        raw=dict(spec),
    )


def load_protocol(name_or_path: str | Path = "nct02218437") -> Protocol:
    """Load a protocol by bundled name (e.g. ``"nct02218437"``) or from a YAML path."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        res = resources.files("saatrial.protocol").joinpath(f"{name_or_path}.yaml")
        if not res.is_file():
            raise FileNotFoundError(f"no protocol named {name_or_path!r} (and no such YAML file)")
        text = res.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    visits = {
        code: Visit(code, int(v["target_day"]), int(v["window_days"]), str(v["label"]))
        for code, v in raw["visits"].items()
    }
    return Protocol(
        protocol_id=str(raw["protocol_id"]),
        version=str(raw["version"]),
        registry_id=str(raw["registry_id"]),
        arms=raw["arms"],
        drugs={code: _regimen(code, spec) for code, spec in raw["drugs"].items()},
        visits=visits,
        eligibility=dict(raw["eligibility"]),
        decisions=dict(raw["decisions"]),
        response_criteria_set=str(raw["response_criteria_set"]),
        primary_response_visit=str(raw["primary_response_visit"]),
        dose_tolerance_fraction=float(raw["dose_tolerance_fraction"]),
        days_per_month=float(raw["days_per_month"]),
        raw=raw,
    )
