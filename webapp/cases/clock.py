"""The case's clocks: deadlines of tasks from the time limits and the working
calendar (webapp.cases.worktime), extensions and suspensions of the handling
clock. One thin place between the engine and the calendar."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from webapp.cases import worktime

CST = ZoneInfo("Asia/Shanghai")


def stage_deadline(db, case, stage: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime, bool]:
    """(deadline, warn_at, natural) of a stage started at `start`."""
    return worktime.deadline_for(db, case.kind, case.class_code, stage, start)


def is_natural(db, case, stage: str) -> bool:
    from webapp.cases.calendar_admin import find_limit
    return bool(find_limit(db, case.kind, case.class_code, stage).natural_time)


def warn_before(db, case, stage: str, start: dt.datetime, deadline: dt.datetime | None) -> dt.datetime | None:
    """The warning time of a task whose deadline was set earlier (the handling
    clock runs from dispatch through rework and approvals)."""
    if deadline is None:
        return None
    full, warn_at, _ = stage_deadline(db, case, stage, start)
    # Keep the warning lead the limit would give, measured back from the real deadline.
    return max(start, deadline - (full - warn_at)) if warn_at else None


def extend(db, case, deadline: dt.datetime, hours: float) -> dt.datetime:
    natural = is_natural(db, case, "handle")
    return worktime.extend_deadline(deadline, hours, None if natural else worktime.load_calendar(db), natural)


def resume(db, case, deadline: dt.datetime | None, suspended_at: dt.datetime, resumed_at: dt.datetime):
    if deadline is None:
        return None
    natural = is_natural(db, case, "handle")
    return worktime.resume_deadline(deadline, suspended_at, resumed_at,
                                    None if natural else worktime.load_calendar(db), natural)


def status(deadline, warn_at, now) -> str | None:
    return None if deadline is None else worktime.status(deadline, warn_at, now)
