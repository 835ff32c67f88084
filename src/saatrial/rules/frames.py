"""Read a subject's values out of dictionary-shaped DataFrames.

The rules accept the study tables as pandas DataFrames with the data
dictionary's column names (``labs``: subject_id, lab_date, test, value, lln,
uln, pre_transfusion; ``transfusions``: subject_id, transfusion_date, product;
...). Dates may be ``datetime64`` (as in ``StudyData``) or ISO strings (as read
by plain ``pandas.read_csv``); booleans may be ``boolean`` or ``"Y"``/``"N"``.
These helpers select and coerce; they never modify the frames they get.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from saatrial.rules.types import (
    DateLike,
    is_missing,
    optional_bool,
    optional_float,
    to_date,
)


@dataclass(frozen=True)
class LabValue:
    """One laboratory result picked for a rule.

    Attributes
    ----------
    test : str
        Test code (``ANC``, ``PLT``, ``HGB``, ``ARC``, ``ALT``, ...).
    lab_date : datetime.date
        Date the sample was drawn.
    value : float
        Result in the dictionary unit of the test.
    lln, uln : float or None
        Lower/upper limit of normal recorded with the result.
    pre_transfusion : bool or None
        The lab's pre-transfusion flag (``None`` if not recorded; D2).
    """

    test: str
    lab_date: date
    value: float
    lln: float | None = None
    uln: float | None = None
    pre_transfusion: bool | None = None


def require_columns(df: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    """Raise a clear error if ``df`` lacks any of ``columns``.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), "labs", ["a"])
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {missing}; have {list(df.columns)}")


def subject_rows(df: pd.DataFrame, subject_id: str, table: str) -> pd.DataFrame:
    """Rows of one subject (all columns), as a new frame.

    Examples
    --------
    >>> df = pd.DataFrame({"subject_id": ["S1", "S2"], "x": [1, 2]})
    >>> subject_rows(df, "S2", "t")["x"].tolist()
    [2]
    """
    require_columns(df, table, ["subject_id"])
    return df.loc[df["subject_id"].astype("string") == str(subject_id)].copy()


def _dates(series: pd.Series, what: str) -> list[date]:
    return [to_date(v, what) for v in series.tolist()]


def lab_values(labs: pd.DataFrame, subject_id: str, test: str) -> list[LabValue]:
    """All results of one test for one subject, sorted by date.

    Examples
    --------
    >>> labs = pd.DataFrame({"subject_id": ["S1"], "lab_date": ["2014-01-02"],
    ...                      "test": ["ANC"], "value": [0.1]})
    >>> lab_values(labs, "S1", "ANC")[0].value
    0.1
    """
    require_columns(labs, "labs", ["subject_id", "lab_date", "test", "value"])
    rows = subject_rows(labs, subject_id, "labs")
    rows = rows.loc[rows["test"].astype("string") == test]
    out: list[LabValue] = []
    for _, row in rows.iterrows():
        where = f"labs: subject {subject_id}: {test}"
        value = optional_float(row["value"], f"{where}: value")
        if value is None:
            continue
        out.append(
            LabValue(
                test=test,
                lab_date=to_date(row["lab_date"], f"{where}: lab_date"),
                value=value,
                lln=optional_float(row.get("lln"), f"{where}: lln"),
                uln=optional_float(row.get("uln"), f"{where}: uln"),
                pre_transfusion=optional_bool(
                    row.get("pre_transfusion"), f"{where}: pre_transfusion"
                ),
            )
        )
    out.sort(key=lambda lv: lv.lab_date)
    return out


def last_on_or_before(values: Sequence[LabValue], on_date: DateLike) -> LabValue | None:
    """The latest value dated on or before ``on_date`` (baseline rule).

    Examples
    --------
    >>> vs = [LabValue("ANC", date(2014, 1, 1), 0.1), LabValue("ANC", date(2014, 1, 5), 0.2)]
    >>> last_on_or_before(vs, "2014-01-04").value
    0.1
    """
    day = to_date(on_date, "on_date")
    chosen = [v for v in values if v.lab_date <= day]
    return max(chosen, key=lambda v: v.lab_date) if chosen else None


def nearest_in_window(
    values: Sequence[LabValue], target: date, window_days: int
) -> LabValue | None:
    """The value nearest ``target`` within ``target ± window_days``; ties -> earlier (D9).

    Examples
    --------
    >>> vs = [LabValue("ANC", date(2014, 1, 8), 0.1), LabValue("ANC", date(2014, 1, 12), 0.2)]
    >>> nearest_in_window(vs, date(2014, 1, 10), 7).value
    0.1
    """
    lo = target - timedelta(days=window_days)
    hi = target + timedelta(days=window_days)
    inside = [v for v in values if lo <= v.lab_date <= hi]
    if not inside:
        return None
    # D9: nearest to the target day; ties -> the earlier sample
    return min(inside, key=lambda v: (abs((v.lab_date - target).days), v.lab_date))


def transfusion_records(transfusions: pd.DataFrame, subject_id: str) -> list[tuple[date, str]]:
    """``(transfusion_date, product)`` pairs of one subject, sorted by date.

    Examples
    --------
    >>> tx = pd.DataFrame({"subject_id": ["S1"], "transfusion_date": ["2014-01-02"],
    ...                    "product": ["RBC"]})
    >>> transfusion_records(tx, "S1")
    [(datetime.date(2014, 1, 2), 'RBC')]
    """
    require_columns(transfusions, "transfusions", ["subject_id", "transfusion_date", "product"])
    rows = subject_rows(transfusions, subject_id, "transfusions")
    out: list[tuple[date, str]] = []
    for d, p in zip(
        _dates(rows["transfusion_date"], f"transfusions: subject {subject_id}: transfusion_date"),
        rows["product"].tolist(),
        strict=True,
    ):
        if is_missing(p):
            raise ValueError(f"transfusions: subject {subject_id}: product: required: missing")
        out.append((d, str(p)))
    out.sort()
    return out


def first_ratg_date(exposures: pd.DataFrame, subject_id: str) -> date | None:
    """Study day 1 of a subject: the first rATG administration (D7), or ``None``.

    Examples
    --------
    >>> ex = pd.DataFrame({"subject_id": ["S1", "S1"], "drug": ["CSA", "RATG"],
    ...                    "start_date": ["2014-01-01", "2014-01-03"]})
    >>> first_ratg_date(ex, "S1")
    datetime.date(2014, 1, 3)
    """
    require_columns(exposures, "exposures", ["subject_id", "drug", "start_date"])
    rows = subject_rows(exposures, subject_id, "exposures")
    rows = rows.loc[rows["drug"].astype("string") == "RATG"]
    dates = _dates(rows["start_date"], f"exposures: subject {subject_id}: start_date")
    # D7: study day 1 = first rATG dose
    return min(dates) if dates else None
