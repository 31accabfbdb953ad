"""Working time for case time limits (时限, domain §5.2–5.4).

Pure calculations on aware datetimes over a `Calendar` (the default week
Mon–Fri, exceptions per date such as statutory holidays and 调休 make-up
workdays, and the working periods of a workday, local time Asia/Shanghai).
Results are UTC; arithmetic is done in UTC so zone offsets (and DST, which
China does not use today) cannot skew a duration.

Who uses what:
- `deadline_for(db, kind, class_code, stage, start)` → (deadline, warn_at, natural):
  the core calls it when a task starts (the handling clock starts at dispatch).
- `status(deadline, warn_at, now)` → 'normal' | 'warning' | 'overdue': for task
  lists and the command centre's "due and overdue" view. A task is 按期 when it
  finishes at or before its deadline, so it is overdue only strictly after it.
- `extend_deadline(deadline, hours, cal, natural)`: an approved 延期 adds hours
  to the old deadline.
- `resume_deadline(deadline, suspended_at, resumed_at, cal, natural)`: a
  挂账/缓办 stops the clock; on resumption the working time spent suspended is
  added back.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from geo.errors import GeoError

TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
DEFAULT_WORKWEEK = frozenset(range(5))  # Monday–Friday; exceptions override single dates
MAX_SCAN_DAYS = 3660  # a search for working time that runs longer than ten years means a broken calendar
_G = "_cases_calendar"


class CalendarError(GeoError):
    """The calendar cannot answer (no working periods, no workday in sight)."""


@dataclass(frozen=True, order=True)
class Period:
    """One working period of a workday, local wall-clock time, start < end (never past midnight)."""
    start: dt.time
    end: dt.time

    @property
    def hours(self) -> float:
        return (_minutes(self.end) - _minutes(self.start)) / 60


def _minutes(t: dt.time) -> float:
    return t.hour * 60 + t.minute + t.second / 60


def validate_periods(periods: Iterable[tuple[dt.time, dt.time] | Period]) -> list[Period]:
    """Sorted, checked periods; raises GeoError (Chinese message) on empty, reversed,
    midnight-crossing or overlapping periods."""
    out = sorted(Period(*p) if not isinstance(p, Period) else p for p in periods)
    if not out:
        raise CalendarError("calendar_empty", "未设置工作时段：请至少设置一个工作时段（如 08:30–12:00）")
    for p in out:
        if p.start.tzinfo is not None or p.end.tzinfo is not None:
            raise GeoError("period_invalid", "工作时段须为当地时间，不带时区")
        if p.end <= p.start:
            raise GeoError("period_invalid",
                           f"工作时段 {p.start:%H:%M}–{p.end:%H:%M} 无效：结束时间须晚于开始时间，且不能跨越午夜")
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise GeoError("period_overlap",
                           f"工作时段 {a.start:%H:%M}–{a.end:%H:%M} 与 {b.start:%H:%M}–{b.end:%H:%M} 重叠")
    return out


class Calendar:
    """Working periods + date exceptions. Build it from data (tests) or with
    `load_calendar(db)` (once per request)."""

    def __init__(self, periods: Iterable, exceptions: Mapping[dt.date, bool] | None = None,
                 workweek: Iterable[int] = DEFAULT_WORKWEEK):
        self.periods = validate_periods(periods)
        self.exceptions = dict(exceptions or {})
        self.workweek = frozenset(workweek)
        # Beyond the last exception only the default week applies: it must contain a workday.
        self._last_exception = max(self.exceptions, default=None)
        if not self.workweek:
            raise CalendarError("calendar_empty", "默认工作周中没有工作日")

    def is_workday(self, day: dt.date) -> bool:
        hit = self.exceptions.get(day)
        return hit if hit is not None else day.weekday() in self.workweek

    def spans(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's working periods as UTC (start, end) pairs; empty on a day off."""
        if not self.is_workday(day):
            return []
        return [(dt.datetime.combine(day, p.start, tzinfo=TZ).astimezone(UTC),
                 dt.datetime.combine(day, p.end, tzinfo=TZ).astimezone(UTC)) for p in self.periods]

    @property
    def hours_per_day(self) -> float:
        return sum(p.hours for p in self.periods)


def _aware(t: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(t, dt.datetime):
        raise TypeError(f"{name} must be a datetime")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (store UTC, show Asia/Shanghai)")
    return t.astimezone(UTC)


def _delta(hours) -> dt.timedelta:
    if isinstance(hours, dt.timedelta):
        return hours
    if isinstance(hours, Decimal):
        hours = float(hours)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours != hours:
        raise TypeError("hours must be a number")
    if hours < 0:
        raise ValueError("hours must not be negative")
    return dt.timedelta(hours=hours)


def _local_day(t_utc: dt.datetime) -> dt.date:
    return t_utc.astimezone(TZ).date()


def add_working(start: dt.datetime, hours, cal: Calendar) -> dt.datetime:
    """The earliest instant at which `hours` of working time have passed since
    `start`. A start outside working hours begins at the next working period;
    a limit that ends exactly at a period's end gives that end (not the next
    morning). Returns UTC."""
    t = _aware(start, "start")
    remaining = _delta(hours)
    if not remaining:
        return t
    day = _local_day(t)
    for _ in range(MAX_SCAN_DAYS):
        for ps, pe in cal.spans(day):
            if pe <= t:
                continue
            s = max(ps, t)
            avail = pe - s
            if remaining <= avail:
                return s + remaining
            remaining -= avail
        day += dt.timedelta(days=1)
    raise CalendarError("calendar_no_workday", f"自 {start:%Y-%m-%d} 起 {MAX_SCAN_DAYS} 天内工作时间不足，请检查工作日历")


def working_delta(start: dt.datetime, end: dt.datetime, cal: Calendar) -> dt.timedelta:
    """Working time inside [start, end] (zero when end <= start)."""
    a, b = _aware(start, "start"), _aware(end, "end")
    total = dt.timedelta(0)
    if b <= a:
        return total
    day, last = _local_day(a), _local_day(b)
    while day <= last:
        for ps, pe in cal.spans(day):
            lo, hi = max(ps, a), min(pe, b)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return total


def working_between(start: dt.datetime, end: dt.datetime, cal: Calendar) -> float:
    """Working hours inside [start, end], as a float (0 when end <= start)."""
    return working_delta(start, end, cal) / dt.timedelta(hours=1)


def add_time(start: dt.datetime, hours, cal: Calendar | None, natural: bool) -> dt.datetime:
    """Natural hours (自然时, emergencies) or working hours."""
    return _aware(start, "start") + _delta(hours) if natural else add_working(start, hours, cal)


def deadline_from(start: dt.datetime, hours, warn_ratio, cal: Calendar | None, natural: bool
                  ) -> tuple[dt.datetime, dt.datetime]:
    """(deadline, warn_at): the warning starts when `warn_ratio` of the limit is left."""
    limit = _delta(hours)
    ratio = float(warn_ratio)
    deadline = add_time(start, limit, cal, natural)
    warn_at = add_time(start, limit * (1 - ratio), cal, natural)
    return deadline, min(warn_at, deadline)


def status(deadline: dt.datetime, warn_at: dt.datetime | None, now: dt.datetime) -> str:
    """'overdue' strictly after the deadline (finishing at it is 按期), 'warning'
    from warn_at on, else 'normal'. For task lists and the command centre."""
    d, n = _aware(deadline, "deadline"), _aware(now, "now")
    if n > d:
        return "overdue"
    if warn_at is not None and n >= _aware(warn_at, "warn_at"):
        return "warning"
    return "normal"


STATUS_NAMES = {"normal": "正常", "warning": "即将到期", "overdue": "已超期"}


def extend_deadline(deadline: dt.datetime, hours, cal: Calendar | None, natural: bool = False) -> dt.datetime:
    """An approved extension (延期): `hours` more from the old deadline."""
    return add_time(deadline, hours, cal, natural)


def resume_deadline(deadline: dt.datetime, suspended_at: dt.datetime, resumed_at: dt.datetime, cal: Calendar | None,
                    natural: bool = False) -> dt.datetime:
    """After a suspension (挂账/缓办) the deadline moves by the time the clock was
    stopped: working time between suspension and resumption (natural time for
    自然时 limits). The remaining working time before the deadline is unchanged."""
    s, r = _aware(suspended_at, "suspended_at"), _aware(resumed_at, "resumed_at")
    if r < s:
        raise ValueError("resumed_at is before suspended_at")
    if natural:
        return _aware(deadline, "deadline") + (r - s)
    # Equivalent to restarting the working time left at suspension from the
    # resumption (working time is additive); tests check both views agree.
    return add_working(deadline, working_delta(s, r, cal), cal)


# ---------------------------------------------------------------- database side

def load_calendar(db, fresh: bool = False) -> Calendar:
    """The calendar from the tables, cached for the current request only (so
    edits apply to the next request at once). Raises CalendarError with a
    Chinese message when no working period is configured."""
    try:
        from flask import g, has_request_context
        in_request = has_request_context()
    except ImportError:  # pragma: no cover - flask is always installed here
        in_request = False
    if in_request and not fresh and g.get(_G) is not None:
        return g.get(_G)
    from webapp.cases.calendar_admin import read_calendar
    cal = read_calendar(db)
    if in_request:
        setattr(g, _G, cal)
    return cal


def forget_calendar() -> None:
    """Drop the request's cached calendar (after an edit in the same request)."""
    try:
        from flask import g, has_request_context
        if has_request_context():
            g.pop(_G, None)
    except ImportError:  # pragma: no cover
        pass


def deadline_for(db, kind: str, class_code: str, stage: str, start: dt.datetime
                 ) -> tuple[dt.datetime, dt.datetime, bool]:
    """(deadline, warn_at, natural) for a task of `stage` on a case of `kind`
    ('component'|'event') and 4-digit `class_code`, started at `start`. The
    most specific rule wins: small class, then big class, then the default '*'."""
    from webapp.cases.calendar_admin import find_limit
    rule = find_limit(db, kind, class_code, stage)
    cal = None if rule.natural_time else load_calendar(db)  # natural time needs no calendar
    deadline, warn_at = deadline_from(start, rule.hours, rule.warn_ratio, cal, rule.natural_time)
    return deadline, warn_at, bool(rule.natural_time)
