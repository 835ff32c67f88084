"""Haemoglobin normal for age (D13), from versioned, swappable reference tables.

A table (``rules/tables/hgb_normal_<id>.yaml``) lists age bands in completed
calendar months, ``[from_months, to_months)``, each with a sex (``any``, ``M``
or ``F``) and the lower limit of normal in g/L; haemoglobin is normal when it
is at or above that limit. Bundled tables: ``who-2011`` (the trial's, D13:
WHO 2011 from 6 months, Dallman -2 SD below), ``dallman`` and ``cdc``. A local
laboratory's table is a YAML file of the same shape passed by path.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from saatrial.rules.age import completed_months
from saatrial.rules.types import (
    DateLike,
    RuleTableError,
    ge,
    load_rule_table,
    optional_float,
)

DEFAULT_TABLE = "who-2011"
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class HgbBand:
    """One age (and sex) band of a haemoglobin reference table."""

    from_months: int
    to_months: int | None
    sex: str
    lower_g_per_l: float
    label: str

    def covers(self, age_months: int, sex: str | None) -> bool:
        """Whether the band applies to an age in completed months and a sex."""
        in_age = self.from_months <= age_months and (
            self.to_months is None or age_months < self.to_months
        )
        return in_age and (self.sex == "any" or self.sex == sex)


@dataclass(frozen=True)
class HgbTable:
    """A parsed, validated haemoglobin reference table."""

    id: str
    version: str
    source: str
    bands: tuple[HgbBand, ...]


@dataclass(frozen=True)
class HgbNormal:
    """Result of :func:`hgb_normal_for_age`.

    Attributes
    ----------
    normal : bool
        ``hgb_g_per_l >= lower_limit_g_per_l``.
    hgb_g_per_l : float
        The value judged.
    lower_limit_g_per_l : float
        Lower limit of normal of the band applied.
    age_months : int
        Age in completed months used to pick the band.
    sex : str or None
        Sex used (``None`` when the band does not depend on sex).
    band : str
        Label of the band applied.
    table, table_version : str
        Table id and version.
    """

    normal: bool
    hgb_g_per_l: float
    lower_limit_g_per_l: float
    age_months: int
    sex: str | None
    band: str
    table: str
    table_version: str


def _parse(raw: dict[str, Any]) -> HgbTable:
    label = raw.get("_label", raw.get("id", "?"))
    if raw.get("normal_if", "at_or_above") != "at_or_above":
        raise RuleTableError(f"{label}: normal_if: only 'at_or_above' is supported")
    if raw.get("age_unit", "completed_months") != "completed_months":
        raise RuleTableError(f"{label}: age_unit: only 'completed_months' is supported")
    bands: list[HgbBand] = []
    for i, b in enumerate(raw.get("bands") or []):
        where = f"{label}: bands[{i}]"
        try:
            band = HgbBand(
                from_months=int(b["from_months"]),
                to_months=None if b.get("to_months") is None else int(b["to_months"]),
                sex=str(b.get("sex", "any")),
                lower_g_per_l=float(b["lower_g_per_l"]),
                label=str(b.get("label", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleTableError(f"{where}: malformed band {b!r}: {exc}") from None
        if band.sex not in {"any", "M", "F"}:
            raise RuleTableError(f"{where}: sex: any/M/F: {band.sex!r}")
        if band.to_months is not None and band.to_months <= band.from_months:
            raise RuleTableError(f"{where}: to_months must exceed from_months")
        if not 10 <= band.lower_g_per_l <= 250:
            raise RuleTableError(f"{where}: lower_g_per_l: range [10, 250]: {band.lower_g_per_l}")
        bands.append(band)
    if not bands:
        raise RuleTableError(f"{label}: bands: required: missing")
    # No two bands may apply to the same age and sex.
    for sex in ("M", "F"):
        relevant = sorted((b for b in bands if b.sex in ("any", sex)), key=lambda b: b.from_months)
        for a, b in itertools.pairwise(relevant):
            if a.to_months is None or a.to_months > b.from_months:
                raise RuleTableError(
                    f"{label}: bands overlap for sex {sex}: {a.label!r} and {b.label!r}"
                )
    return HgbTable(
        str(raw.get("id", label)), str(raw["version"]), str(raw["source"]), tuple(bands)
    )


@lru_cache(maxsize=16)
def load_hgb_table(table: str = DEFAULT_TABLE) -> HgbTable:
    """Load a haemoglobin reference table by id (``who-2011``, ``dallman``, ``cdc``) or path.

    Examples
    --------
    >>> t = load_hgb_table("who-2011")
    >>> t.id, len(t.bands)
    ('who-2011', 8)
    """
    path = Path(table)
    if path.suffix in {".yaml", ".yml"}:
        raw = load_rule_table("tables", path)
    else:
        raw = load_rule_table("tables", f"hgb_normal_{table}")
    return _parse(raw)


def _age_months(age_days: int | None, birth_date: DateLike | None, on_date: DateLike | None) -> int:
    if age_days is not None:
        if birth_date is not None or on_date is not None:
            raise ValueError("hgb_normal_for_age: give age_days or birth_date/on_date, not both")
        if age_days < 0:
            raise ValueError(f"age_days: >= 0: {age_days}")
        # Without dates, completed months are approximated as days / 30.4375.
        return math.floor(age_days / DAYS_PER_MONTH)
    if birth_date is None or on_date is None:
        raise ValueError("hgb_normal_for_age: age needed: give age_days or birth_date and on_date")
    return completed_months(birth_date, on_date)


def hgb_band(age_months: int, sex: str | None, table: str = DEFAULT_TABLE) -> HgbBand:
    """The band of a table that applies to an age (completed months) and sex.

    Raises
    ------
    ValueError
        If no band covers the age, or the band depends on sex and none is given.

    Examples
    --------
    >>> hgb_band(6, None).lower_g_per_l
    110.0
    """
    t = load_hgb_table(table)
    if sex is not None and sex not in {"M", "F"}:
        raise ValueError(f"sex: M/F: {sex!r}")
    hits = [b for b in t.bands if b.covers(age_months, sex)]
    if hits:
        return hits[0]
    by_age = [b for b in t.bands if b.covers(age_months, "M") or b.covers(age_months, "F")]
    if by_age and sex is None:
        raise ValueError(f"hgb table {t.id}: sex: required for age {age_months} months: missing")
    lo = min(b.from_months for b in t.bands)
    raise ValueError(
        f"hgb table {t.id} (version {t.version}): no band for age {age_months} completed "
        f"months{'' if sex is None else ' sex ' + sex} (table starts at {lo} months)"
    )


def hgb_normal_for_age(
    hgb_g_per_l: float,
    sex: str | None = None,
    *,
    age_days: int | None = None,
    birth_date: DateLike | None = None,
    on_date: DateLike | None = None,
    table: str = DEFAULT_TABLE,
) -> HgbNormal:
    """Is a haemoglobin value normal for age and sex? (D13)

    Parameters
    ----------
    hgb_g_per_l : float
        Haemoglobin in g/L.
    sex : {"M", "F"} or None
        Needed from age 12-15 years on, depending on the table.
    age_days : int, optional
        Age in days; converted to completed months as ``floor(days / 30.4375)``.
    birth_date, on_date : date-like, optional
        Preferred: age in completed calendar months from these dates.
    table : str, default "who-2011"
        Table id (``who-2011``, ``dallman``, ``cdc``) or path to a local YAML table.

    Returns
    -------
    HgbNormal

    Raises
    ------
    ValueError
        If the age is not covered by the table, sex is needed and missing, or the
        value is missing.

    References
    ----------
    WHO. Haemoglobin concentrations for the diagnosis of anaemia and assessment
    of severity. WHO/NMH/NHD/MNM/11.1, 2011. Dallman PR, in Rudolph AM (ed),
    Pediatrics, 16th ed, 1977. CDC. MMWR Recomm Rep 1998;47(RR-3). TRIAL.md D13.

    Examples
    --------
    >>> hgb_normal_for_age(110, birth_date="2010-01-15", on_date="2012-01-15").normal
    True
    >>> hgb_normal_for_age(109, birth_date="2010-01-15", on_date="2012-01-15").normal
    False
    >>> hgb_normal_for_age(125, "M", birth_date="1999-01-01", on_date="2015-01-01").band
    '>= 15 years, male (WHO)'
    """
    value = optional_float(hgb_g_per_l, "hgb_g_per_l")
    if value is None:
        raise ValueError("hgb_g_per_l: required: missing")
    months = _age_months(age_days, birth_date, on_date)
    band = hgb_band(months, sex, table)
    t = load_hgb_table(table)
    return HgbNormal(
        normal=ge(value, band.lower_g_per_l),  # D13: at or above the cut-off
        hgb_g_per_l=value,
        lower_limit_g_per_l=band.lower_g_per_l,
        age_months=months,
        sex=sex,
        band=band.label,
        table=t.id,
        table_version=t.version,
    )
