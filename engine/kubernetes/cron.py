"""Runs per month of a standard 5-field cron schedule (what a CronJob's `schedule` says).

Supported: `*`, `?`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and weekday
names, weekday 7 = Sunday, and the macros @yearly/@annually, @monthly, @weekly, @daily/@midnight,
@hourly. A `CRON_TZ=`/`TZ=` prefix is ignored (the count does not depend on the time zone).

Runs per month are the runs in four consecutive calendar years (one of them a leap year) divided by
48: exact for every schedule whose pattern repeats yearly, and the honest average for day-of-week
schedules. Day-of-month and day-of-week follow cron's rule: when both are restricted (neither
starts with `*`), a day matches either.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from functools import lru_cache

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {name: index for index, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_WEEKDAYS = {name: index for index, name in enumerate("sun mon tue wed thu fri sat".split())}
_FIRST_YEAR = 2025  # 2025..2028: 1,461 days, one leap year


class CronError(ValueError):
    """Not a schedule this parser understands; the message says why."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None, what: str = "") -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad step {step_text!r} in the {what} field")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        else:
            first, dash, last = base.partition("-")
            start = _value(first, names, what)
            end = _value(last, names, what) if dash else (high if slash else start)
        if not (low <= start <= high and low <= end <= high):
            raise CronError(f"{base!r} is out of range {low}-{high} in the {what} field")
        if end < start:
            raise CronError(f"range {base!r} runs backwards in the {what} field")
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None, what: str) -> int:
    lowered = text.strip().lower()
    if names and lowered[:3] in names and lowered.isalpha():
        return names[lowered[:3]]
    if not lowered.isdigit():
        raise CronError(f"{text!r} is not a number in the {what} field")
    return int(lowered)


@lru_cache(maxsize=1)
def _calendar() -> tuple[tuple[int, int, int], ...]:
    """(month, day, weekday 0=Sunday) of every day of the four years counted."""
    days = []
    day = dt.date(_FIRST_YEAR, 1, 1)
    one = dt.timedelta(days=1)
    while day.year < _FIRST_YEAR + 4:
        days.append((day.month, day.day, day.isoweekday() % 7))
        day += one
    return tuple(days)


@lru_cache(maxsize=256)
def runs_per_month(schedule: str) -> Fraction:
    """Average runs per calendar month; raises CronError for what it cannot read."""
    text = schedule.strip()
    words = text.split()
    while words and (words[0].startswith("CRON_TZ=") or words[0].startswith("TZ=")):
        words = words[1:]
    if len(words) == 1 and words[0].lower() in _MACROS:
        words = _MACROS[words[0].lower()].split()
    elif len(words) == 1 and words[0].startswith("@"):
        raise CronError(f"{words[0]} is not a standard cron macro")
    if len(words) != 5:
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(words)}")
    minute, hour, dom, month, dow = words
    minutes = _field(minute, 0, 59, what="minute")
    hours = _field(hour, 0, 23, what="hour")
    days = _field(dom, 1, 31, what="day-of-month")
    months = _field(month, 1, 12, _MONTHS, what="month")
    weekdays = {day % 7 for day in _field(dow, 0, 7, _WEEKDAYS, what="day-of-week")}  # 7 is Sunday too
    both_restricted = not dom.startswith(("*", "?")) and not dow.startswith(("*", "?"))
    if both_restricted:
        matching_days = sum(1 for m, d, w in _calendar() if m in months and (d in days or w in weekdays))
    else:
        matching_days = sum(1 for m, d, w in _calendar() if m in months and d in days and w in weekdays)
    return Fraction(len(minutes) * len(hours) * matching_days, 48)
