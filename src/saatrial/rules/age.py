"""Calendar age arithmetic (no dateutil): add months/years with day clamping.

Ages in the protocol are calendar ages ("1 month old", "the 18th birthday"),
not day counts. Adding months clamps the day to the target month's length, so
a child born on 31 January is one month old on 28 (or 29) February, and a
child born on 29 February has birthdays on 28 February in common years (the
convention of R ``lubridate::%m+%`` and Python ``dateutil.relativedelta``).
"""

from __future__ import annotations

import calendar
from datetime import date

from saatrial.rules.types import DateLike, to_date


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping the day of month.

    Parameters
    ----------
    day : datetime.date
        Start date.
    months : int
        Months to add (may be negative).

    Returns
    -------
    datetime.date

    Examples
    --------
    >>> add_months(date(2014, 1, 31), 1)
    datetime.date(2014, 2, 28)
    >>> add_months(date(2014, 1, 15), 1)
    datetime.date(2014, 2, 15)
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Add calendar years; 29 February maps to 28 February in common years.

    Examples
    --------
    >>> add_years(date(2004, 2, 29), 18)
    datetime.date(2022, 2, 28)
    >>> add_years(date(2004, 2, 29), 16)
    datetime.date(2020, 2, 29)
    """
    return add_months(day, 12 * years)


def completed_months(birth_date: DateLike, on_date: DateLike) -> int:
    """Completed calendar months of age on a date.

    The largest ``m`` with ``add_months(birth_date, m) <= on_date``.

    Raises
    ------
    ValueError
        If ``on_date`` is before ``birth_date``.

    Examples
    --------
    >>> completed_months(date(2014, 1, 31), date(2014, 2, 27))
    0
    >>> completed_months(date(2014, 1, 31), date(2014, 2, 28))
    1
    """
    born = to_date(birth_date, "birth_date")
    on = to_date(on_date, "on_date")
    if on < born:
        raise ValueError(f"age: on_date {on} is before birth_date {born}")
    months = (on.year - born.year) * 12 + (on.month - born.month)
    # add_months is monotone in its argument, so step back at most twice.
    while months > 0 and add_months(born, months) > on:
        months -= 1
    return months


def completed_years(birth_date: DateLike, on_date: DateLike) -> int:
    """Completed years of age on a date (birthday on 28 Feb for 29 Feb births).

    Examples
    --------
    >>> completed_years(date(2004, 2, 29), date(2020, 2, 28))
    15
    >>> completed_years(date(2004, 2, 29), date(2020, 2, 29))
    16
    """
    return completed_months(birth_date, on_date) // 12
