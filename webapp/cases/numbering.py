"""Case numbers: XP + yyyymmdd (Beijing date) + a 5-digit serial of the day,
unique and gap-free under concurrency (an upsert that locks the day's row
until the reporting transaction ends)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text

CST = ZoneInfo("Asia/Shanghai")
PREFIX = "XP"


def next_case_no(db, at: dt.datetime) -> str:
    day = at.astimezone(CST).date()
    n = db.execute(text("""
        INSERT INTO cases.case_no_counter (day, last) VALUES (:d, 1)
        ON CONFLICT (day) DO UPDATE SET last = cases.case_no_counter.last + 1
        RETURNING last"""), {"d": day}).scalar_one()
    return f"{PREFIX}{day:%Y%m%d}{n:05d}"
