"""Working calendar and time limits (工作日历与办理时限): the tables, their
maintenance pages and JSON API, and the look-ups the case core calls
(`read_calendar`, `find_limit`; calculations live in webapp.cases.worktime).

- calendar_day: exceptions to the default week Mon–Fri (statutory holidays,
  调休 make-up workdays), imported/exported as CSV or Excel (日期, 类型 休/班, 说明);
- work_period: the working periods of a workday (several, no overlap, never past midnight);
- time_limit: hours per kind × class × stage; the most specific rule wins
  (4-digit small class > 2-digit big class > '*').

Every write goes through the ORM session, so the operation log records it.
Bad input answers 4xx with a stable code and a Chinese message and changes nothing."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from decimal import Decimal, InvalidOperation

from flask import jsonify, render_template, request, send_file
from sqlalchemy import Boolean, CheckConstraint, Date, Integer, Numeric, String, Time, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from geo import codes
from geo.db import Base
from geo.errors import GeoError
from geo.models import DictItem, Timestamps, Versioned
from webapp import oplog, uploads
from webapp.auth.permissions import require_permission
from webapp.cases import api, pages
from webapp.cases import worktime
from webapp.cases.stages import STAGES
from webapp.db import get_db

SCHEMA = "cases"
KINDS = {"component": "部件", "event": "事件"}
DEFAULT_CLASS = "*"
MAX_HOURS = Decimal("2000")
MAX_PERIODS = 6
MAX_IMPORT_ROWS = 3000
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MIN_YEAR, MAX_YEAR = 2000, 2100
DAY_TYPES = {"休": False, "班": True}
COLUMNS = ["日期", "类型", "说明"]
RULE_FIELDS = {"kind", "class_code", "stage", "hours", "natural_time", "warn_ratio", "note"}
EDIT_FIELDS = {"hours", "natural_time", "warn_ratio", "note", "version"}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CLASS = re.compile(r"^\d{2}(\d{2})?$")


# ---------------------------------------------------------------- tables

class CalendarDay(Timestamps, Base):
    """An exception to the default week: a day off on a weekday (法定节假日) or a workday on a weekend (调休)."""
    __tablename__ = "calendar_day"
    __table_args__ = {"schema": SCHEMA}
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str] = mapped_column(String(100), nullable=False, server_default="")


class WorkPeriod(Timestamps, Base):
    """One working period of every workday, local time (Asia/Shanghai)."""
    __tablename__ = "work_period"
    __table_args__ = (CheckConstraint("end_time > start_time", name="order"), {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_time: Mapped[dt.time] = mapped_column(Time, nullable=False)
    end_time: Mapped[dt.time] = mapped_column(Time, nullable=False)


class TimeLimit(Versioned, Base):
    """Time limit of one stage for a kind and class ('*' = default of the kind)."""
    __tablename__ = "time_limit"
    __table_args__ = (
        UniqueConstraint("kind", "class_code", "stage"),
        CheckConstraint("kind in ('component','event')", name="kind"),
        CheckConstraint("class_code = '*' OR class_code ~ '^[0-9]{2}([0-9]{2})?$'", name="class_code"),
        CheckConstraint("stage in ('accept','verify','file','dispatch','handle','check','close')", name="stage"),
        CheckConstraint("hours > 0 AND hours <= 2000", name="hours"),
        CheckConstraint("warn_ratio > 0 AND warn_ratio < 1", name="warn_ratio"),
        {"schema": SCHEMA},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    class_code: Mapped[str] = mapped_column(String(4), nullable=False)
    stage: Mapped[str] = mapped_column(String(12), nullable=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False)
    natural_time: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    # The warning starts when this share of the limit is left (0.2: the last fifth).
    warn_ratio: Mapped[Decimal] = mapped_column(Numeric(3, 2), nullable=False, server_default="0.20")
    note: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")


# ---------------------------------------------------------------- look-ups for the core

def read_calendar(db) -> worktime.Calendar:
    """Build the Calendar from the tables (use worktime.load_calendar for the per-request cache)."""
    periods = [(p.start_time, p.end_time) for p in db.scalars(select(WorkPeriod).order_by(WorkPeriod.start_time))]
    if not periods:
        raise worktime.CalendarError("calendar_empty", "尚未设置工作时段，无法计算工作时限：请在“工作日历”中设置工作时段",
                                     status=409)
    exceptions = dict(db.execute(select(CalendarDay.day, CalendarDay.is_workday)).all())
    return worktime.Calendar(periods, exceptions)


def _check_kind(kind) -> str:
    if kind not in KINDS:
        raise GeoError("kind_invalid", "类别须为 component（部件）或 event（事件）", field="kind")
    return kind


def _check_stage(stage) -> str:
    if stage not in STAGES:
        raise GeoError("stage_unknown", f"环节须为 {'、'.join(f'{k}（{v}）' for k, v in STAGES.items())} 之一",
                       field="stage")
    return stage


def find_limit(db, kind: str, class_code: str, stage: str) -> TimeLimit:
    """The most specific rule: small class, big class, then the kind's default."""
    _check_kind(kind)
    _check_stage(stage)
    if not isinstance(class_code, str) or not re.fullmatch(r"\d{4}", class_code):
        raise GeoError("class_code_invalid", "案件分类编码须为 4 位小类编码", field="class_code")
    rules = db.scalars(select(TimeLimit).where(
        TimeLimit.kind == kind, TimeLimit.stage == stage,
        TimeLimit.class_code.in_((class_code, class_code[:2], DEFAULT_CLASS)))).all()
    if not rules:
        raise GeoError("time_limit_missing", f"未配置{KINDS[kind]}“{STAGES[stage]}”环节的默认时限", status=409)
    return max(rules, key=lambda r: len(r.class_code.strip("*")))


# ---------------------------------------------------------------- helpers

def _body(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(unknown)}", unknown=unknown)
    return body


def _reject_params(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise GeoError("parameter_unknown", f"不支持的参数：{', '.join(unknown)}", unknown=unknown)


def _parse_date(value, field: str = "date") -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip() if value is not None else ""
        text = text.replace("/", "-")
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
        try:
            if not m:
                raise ValueError
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise GeoError("date_invalid", f"日期“{text[:20]}”无效，应为 YYYY-MM-DD 格式的真实日期", field=field) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise GeoError("date_invalid", f"日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间", field=field)
    return day


def _note(value, max_len: int, field: str = "note") -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GeoError("note_invalid", "说明须为文本", field=field)
    value = value.strip()
    if len(value) > max_len:
        raise GeoError("note_invalid", f"说明不能超过 {max_len} 个字", field=field)
    return value


def _hours(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GeoError("hours_invalid", "时限须为数字（小时）", field="hours")
    try:
        h = Decimal(str(value).strip())
    except InvalidOperation:
        raise GeoError("hours_invalid", "时限须为数字（小时）", field="hours") from None
    if not h.is_finite() or h <= 0:
        raise GeoError("hours_invalid", "时限须大于 0 小时", field="hours")
    if h > MAX_HOURS:
        raise GeoError("hours_invalid", f"时限不能超过 {MAX_HOURS} 小时", field="hours")
    if h != h.quantize(Decimal("0.01")):
        raise GeoError("hours_invalid", "时限最多保留两位小数（如 0.5、1.25）", field="hours")
    return h.quantize(Decimal("0.01"))


def _ratio(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GeoError("warn_ratio_invalid", "预警比例须为 0.01–0.99 之间的小数", field="warn_ratio")
    try:
        r = Decimal(str(value).strip())
    except InvalidOperation:
        raise GeoError("warn_ratio_invalid", "预警比例须为 0.01–0.99 之间的小数", field="warn_ratio") from None
    if not r.is_finite() or not Decimal("0.01") <= r <= Decimal("0.99") or r != r.quantize(Decimal("0.01")):
        raise GeoError("warn_ratio_invalid", "预警比例须为 0.01–0.99 之间的小数（如 0.2 表示剩余 20% 时预警）",
                       field="warn_ratio")
    return r


def _class_names(db) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {k: {} for k in KINDS}
    for type_code, code, name in db.execute(select(DictItem.type_code, DictItem.code, DictItem.name).where(
            DictItem.type_code.in_([f"{k}_class" for k in KINDS]))):
        out[type_code.removesuffix("_class")][code] = name
    return out


def _check_class(db, kind: str, code) -> str:
    if code == DEFAULT_CLASS:
        return code
    if not isinstance(code, str) or not _CLASS.match(code.strip()):
        raise GeoError("class_code_invalid", "分类编码须为 2 位大类、4 位小类编码或 *（默认）", field="class_code")
    code = code.strip()
    if len(code) == 4:
        codes.validate_class_code(code)
    elif code == "00":
        raise GeoError("class_code_invalid", "大类编码不能为 00", field="class_code")
    known = db.scalar(select(DictItem.name).where(DictItem.type_code == f"{kind}_class", DictItem.code == code))
    if known is None:
        raise GeoError("class_unknown", f"{KINDS[kind]}分类字典中没有编码 {code}", field="class_code")
    return code


def _rule_json(r: TimeLimit, names: dict | None = None) -> dict:
    names = names or {}
    kind_names = names.get(r.kind, {})
    big = r.class_code[:2] if r.class_code != DEFAULT_CLASS else None
    return {"id": r.id, "kind": r.kind, "kind_name": KINDS[r.kind], "class_code": r.class_code,
            "class_name": "默认（全部分类）" if r.class_code == DEFAULT_CLASS else kind_names.get(r.class_code),
            "big_class": big, "big_class_name": kind_names.get(big) if big else None,
            "level": {4: "small", 2: "big"}.get(len(r.class_code), "default"),
            "stage": r.stage, "stage_name": STAGES[r.stage], "hours": float(r.hours),
            "natural_time": r.natural_time, "warn_ratio": float(r.warn_ratio), "note": r.note,
            "version": r.version}


def _periods_json(periods) -> list[dict]:
    return [{"start": f"{p.start:%H:%M}", "end": f"{p.end:%H:%M}", "hours": round(p.hours, 2)} for p in periods]


def _periods_token(periods) -> str:
    """A version for the period set as a whole (optimistic locking of the editor)."""
    text = ";".join(f"{p.start:%H:%M}-{p.end:%H:%M}" for p in periods)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _current_periods(db) -> list[worktime.Period]:
    return [worktime.Period(p.start_time, p.end_time)
            for p in db.scalars(select(WorkPeriod).order_by(WorkPeriod.start_time))]


def _parse_time(value, field: str) -> dt.time:
    if not isinstance(value, str) or not _TIME.match(value.strip()):
        raise GeoError("period_invalid", f"时间“{str(value)[:10]}”无效，应为 HH:MM（00:00–23:59）", field=field)
    h, m = value.strip().split(":")
    return dt.time(int(h), int(m))


def _year_param() -> int:
    raw = request.args.get("year")
    if raw in (None, ""):
        return dt.datetime.now(worktime.TZ).year
    if not re.fullmatch(r"\d{4}", raw) or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        raise GeoError("year_invalid", f"年份须为 {MIN_YEAR}–{MAX_YEAR} 之间的四位数字", parameter="year")
    return int(raw)


def _default_workday(day: dt.date) -> bool:
    return day.weekday() in worktime.DEFAULT_WORKWEEK


# ---------------------------------------------------------------- pages

@pages.get("/config/calendar")
@require_permission("case:config")
def calendar_page():
    return render_template("cases/calendar.html", year=dt.datetime.now(worktime.TZ).year)


@pages.get("/config/time-limits")
@require_permission("case:config")
def time_limits_page():
    db = get_db()
    return render_template("cases/time_limits.html", stages=STAGES, kinds=KINDS, classes=_class_names(db))


# ---------------------------------------------------------------- calendar API

@api.get("/config/calendar")
@require_permission("case:config")
def calendar_year():
    _reject_params({"year"})
    year = _year_param()
    db = get_db()
    rows = {d.day: d for d in db.scalars(select(CalendarDay).where(
        CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31)))}
    days = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        row = rows.get(day)
        default = _default_workday(day)
        days.append({"date": day.isoformat(), "is_workday": row.is_workday if row else default,
                     "default_workday": default, "exception": row is not None, "note": row.note if row else ""})
        day += dt.timedelta(days=1)
    periods = _current_periods(db)
    return jsonify({"year": year, "days": days, "periods": _periods_json(periods),
                    "periods_version": _periods_token(periods),
                    "hours_per_day": round(sum(p.hours for p in periods), 2),
                    "workdays": sum(d["is_workday"] for d in days),
                    "exceptions": len(rows)})


@api.put("/config/calendar/days/<day>")
@require_permission("case:config")
def calendar_set_day(day: str):
    date = _parse_date(day)
    body = _body({"is_workday", "note"})
    if not isinstance(body.get("is_workday"), bool):
        raise GeoError("is_workday_invalid", "is_workday 须为 true（上班）或 false（休息）", field="is_workday")
    note = _note(body.get("note"), 100)
    db = get_db()
    row = db.get(CalendarDay, date, with_for_update=True)
    if body["is_workday"] == _default_workday(date) and not note:
        if row is not None:  # same as the default week and nothing to say: no exception needed
            db.delete(row)
    elif row is None:
        db.add(CalendarDay(day=date, is_workday=body["is_workday"], note=note))
    elif (row.is_workday, row.note) != (body["is_workday"], note):
        row.is_workday, row.note = body["is_workday"], note
    db.commit()
    worktime.forget_calendar()
    return jsonify(_day_json(db, date))


@api.delete("/config/calendar/days/<day>")
@require_permission("case:config")
def calendar_reset_day(day: str):
    date = _parse_date(day)
    db = get_db()
    row = db.get(CalendarDay, date, with_for_update=True)
    if row is not None:
        db.delete(row)
        db.commit()
    worktime.forget_calendar()
    return jsonify(_day_json(db, date))


def _day_json(db, date: dt.date) -> dict:
    row = db.get(CalendarDay, date)
    default = _default_workday(date)
    return {"date": date.isoformat(), "is_workday": row.is_workday if row else default, "default_workday": default,
            "exception": row is not None, "note": row.note if row else ""}


@api.get("/config/calendar/periods")
@require_permission("case:config")
def periods_get():
    periods = _current_periods(get_db())
    return jsonify({"periods": _periods_json(periods), "version": _periods_token(periods),
                    "hours_per_day": round(sum(p.hours for p in periods), 2)})


@api.put("/config/calendar/periods")
@require_permission("case:config")
def periods_put():
    body = _body({"periods", "version"})
    raw = body.get("periods")
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raise GeoError("periods_invalid", "periods 须为 [{start: \"08:30\", end: \"12:00\"}, …] 形式的列表",
                       field="periods")
    if len(raw) > MAX_PERIODS:
        raise GeoError("periods_invalid", f"工作时段最多 {MAX_PERIODS} 个", field="periods")
    parsed = []
    for i, p in enumerate(raw):
        if set(p) - {"start", "end"}:
            raise GeoError("field_unknown", f"第 {i + 1} 个时段含未知字段", field="periods")
        parsed.append((_parse_time(p.get("start"), "start"), _parse_time(p.get("end"), "end")))
    periods = worktime.validate_periods(parsed)  # empty, reversed/midnight-crossing and overlapping refused
    db = get_db()
    # Serialise editors: lock the rows being replaced, then compare versions.
    current = db.scalars(select(WorkPeriod).order_by(WorkPeriod.start_time).with_for_update()).all()
    token = _periods_token([worktime.Period(p.start_time, p.end_time) for p in current])
    if body.get("version") is not None and body["version"] != token:
        raise GeoError("version_conflict", "工作时段已被他人修改，请刷新后重试", status=409, current_version=token)
    if [(p.start_time, p.end_time) for p in current] != [(p.start, p.end) for p in periods]:
        for p in current:
            db.delete(p)
        db.flush()
        for p in periods:
            db.add(WorkPeriod(start_time=p.start, end_time=p.end))
    db.commit()
    worktime.forget_calendar()
    return periods_get()


@api.get("/config/calendar/preview")
@require_permission("case:config")
def calendar_preview():
    """Try the calendar: the deadline `hours` after `start` (试算)."""
    _reject_params({"start", "hours", "natural"})
    raw = request.args.get("start") or ""
    try:
        start = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise GeoError("start_invalid", "开始时间无效，应为 ISO 格式，如 2026-10-09T17:00", parameter="start") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=worktime.TZ)  # the operator's wall clock
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        raise GeoError("start_invalid", f"开始时间须在 {MIN_YEAR}–{MAX_YEAR} 年之间", parameter="start")
    hours = _hours(request.args.get("hours", ""))
    natural = request.args.get("natural", "false").lower() in ("1", "true", "yes")
    db = get_db()
    cal = None if natural else worktime.load_calendar(db)
    deadline = worktime.add_time(start, hours, cal, natural)
    return jsonify({"start": start.astimezone(worktime.TZ).isoformat(), "hours": float(hours), "natural": natural,
                    "deadline": deadline.astimezone(worktime.TZ).isoformat()})


# ---------------------------------------------------------------- holiday import / export

@api.get("/config/calendar/export")
@require_permission("case:config")
def calendar_export():
    _reject_params({"year", "format"})
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise GeoError("format_invalid", "format 须为 csv 或 xlsx", parameter="format")
    q = select(CalendarDay).order_by(CalendarDay.day)
    suffix = "all"
    if request.args.get("year"):
        year = _year_param()
        q = q.where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
        suffix = str(year)
    rows = [[d.day.isoformat(), "班" if d.is_workday else "休", d.note] for d in get_db().scalars(q)]
    name = f"holidays-{suffix}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
        data = io.BytesIO(buf.getvalue().encode("utf-8-sig"))  # BOM: Excel opens it as UTF-8
        return send_file(data, as_attachment=True, download_name=name, mimetype="text/csv")
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    ws = wb.active
    ws.title = "节假日"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(r)
    for col, width in zip("ABC", (14, 8, 30)):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    return str(value).strip()


def _read_rows(stored) -> list[list[str]]:
    raw = stored.path.read_bytes()
    if stored.ext == "csv":
        for enc in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise GeoError("import_encoding", "CSV 文件编码无法识别，请使用 UTF-8 或 GBK")
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True, max_row=MAX_IMPORT_ROWS + 2)]
        wb.close()
    except Exception:  # openpyxl raises many kinds on broken files
        raise GeoError("upload_invalid", "上传的文件不是有效的 Excel（.xlsx）文件") from None
    return rows


@api.post("/config/calendar/import")
@require_permission("case:config")
def calendar_import():
    upload = request.files.get("file")
    name = (upload.filename or "") if upload else ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if upload is not None and name and ext not in ("csv", "xlsx"):
        raise GeoError("upload_type_forbidden", "只能导入 .csv 或 .xlsx 文件（列：日期、类型、说明）", status=415)
    # The one upload gate; CSV belongs to the data category (documents allow no CSV).
    stored = uploads.accept(upload, "spatial" if ext == "csv" else "document", allowed=[ext or "xlsx"],
                            max_bytes=MAX_IMPORT_BYTES)
    rows = [r for r in _read_rows(stored) if any(r)]
    if not rows:
        raise GeoError("import_empty", "文件中没有数据")
    header = [h.strip() for h in rows[0]]
    while header and not header[-1]:
        header.pop()
    if header[:2] != COLUMNS[:2] or (len(header) > 2 and header[2:] != COLUMNS[2:3]) or len(header) > 3:
        raise GeoError("import_header_invalid", f"表头不正确，应为：{'、'.join(COLUMNS)}（说明列可省略）")
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise GeoError("import_too_many", f"一次最多导入 {MAX_IMPORT_ROWS} 行")
    errors: list[str] = []
    plan: dict[dt.date, tuple[bool, str]] = {}
    seen: dict[dt.date, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        row = row + [""] * (3 - len(row))
        if any(v for v in row[len(header):]):
            errors.append(f"第 {n} 行：表头以外的列有内容")
            continue
        try:
            day = _parse_date(row[0])
            kind = row[1].strip()
            if kind not in DAY_TYPES:
                raise GeoError("type_invalid", f"类型“{kind[:10]}”无效，应为“休”（休息日）或“班”（上班）")
            note = _note(row[2] if len(header) > 2 else "", 100)
        except GeoError as err:
            errors.append(f"第 {n} 行：{err.message}")
            continue
        if day in seen:
            errors.append(f"第 {n} 行：日期 {day} 与第 {seen[day]} 行重复")
            continue
        seen[day] = n
        plan[day] = (DAY_TYPES[kind], note)
    if errors:
        raise GeoError("import_invalid", f"导入未执行：发现 {len(errors)} 处错误，请修改后重新导入。"
                       + "；".join(errors[:5]), errors=errors[:200])
    if not plan:
        raise GeoError("import_empty", "文件中没有可导入的数据行")
    db = get_db()
    existing = {d.day: d for d in db.scalars(select(CalendarDay).where(CalendarDay.day.in_(plan)).with_for_update())}
    created = updated = 0
    for day, (is_workday, note) in sorted(plan.items()):
        row = existing.get(day)
        if row is None:
            db.add(CalendarDay(day=day, is_workday=is_workday, note=note))
            created += 1
        elif (row.is_workday, row.note) != (is_workday, note):
            row.is_workday, row.note = is_workday, note
            updated += 1
    oplog.record(db, "import", CalendarDay.__table__.fullname, None,
                 detail=f"节假日导入 {stored.original_name[:80]}：新增 {created}，更新 {updated}")
    db.commit()
    worktime.forget_calendar()
    return jsonify({"created": created, "updated": updated, "unchanged": len(plan) - created - updated})


# ---------------------------------------------------------------- time limit API

@api.get("/config/time-limits")
@require_permission("case:config")
def limits_list():
    _reject_params({"kind", "big_class", "stage"})
    db = get_db()
    q = select(TimeLimit)
    kind = request.args.get("kind")
    if kind:
        q = q.where(TimeLimit.kind == _check_kind(kind))
    big = request.args.get("big_class")
    if big:
        if not re.fullmatch(r"\d{2}", big):
            raise GeoError("parameter_invalid", "big_class 须为 2 位大类编码", parameter="big_class")
        q = q.where(TimeLimit.class_code.startswith(big) | (TimeLimit.class_code == DEFAULT_CLASS))
    if request.args.get("stage"):
        q = q.where(TimeLimit.stage == _check_stage(request.args["stage"]))
    names = _class_names(db)
    order = list(STAGES)
    rules = sorted(db.scalars(q), key=lambda r: (r.kind, r.class_code != DEFAULT_CLASS, r.class_code,
                                                 order.index(r.stage)))
    return jsonify({"items": [_rule_json(r, names) for r in rules], "stages": STAGES, "kinds": KINDS})


@api.get("/config/time-limits/resolve")
@require_permission("case:config")
def limits_resolve():
    """Which rule applies to a case class and stage (the most specific)."""
    _reject_params({"kind", "class_code", "stage"})
    db = get_db()
    rule = find_limit(db, request.args.get("kind"), request.args.get("class_code"), request.args.get("stage"))
    return jsonify(_rule_json(rule, _class_names(db)))


@api.post("/config/time-limits")
@require_permission("case:config")
def limits_create():
    body = _body(RULE_FIELDS)
    missing = [f for f in ("kind", "class_code", "stage", "hours") if body.get(f) in (None, "")]
    if missing:
        raise GeoError("field_missing", f"缺少必填字段: {', '.join(missing)}", fields=missing)
    db = get_db()
    kind = _check_kind(body["kind"])
    stage = _check_stage(body["stage"])
    class_code = _check_class(db, kind, body["class_code"])
    rule = TimeLimit(kind=kind, class_code=class_code, stage=stage, hours=_hours(body["hours"]),
                     natural_time=_bool(body.get("natural_time", False)),
                     warn_ratio=_ratio(body.get("warn_ratio", "0.2")), note=_note(body.get("note"), 200), version=1)
    if db.scalar(select(TimeLimit.id).where(TimeLimit.kind == kind, TimeLimit.class_code == class_code,
                                            TimeLimit.stage == stage)) is not None:
        raise _duplicate(kind, class_code, stage)
    db.add(rule)
    try:
        db.commit()
    except IntegrityError:  # a concurrent create of the same rule
        db.rollback()
        raise _duplicate(kind, class_code, stage) from None
    return jsonify(_rule_json(rule, _class_names(db))), 201


def _duplicate(kind: str, class_code: str, stage: str) -> GeoError:
    what = "默认" if class_code == DEFAULT_CLASS else f"分类 {class_code} "
    return GeoError("time_limit_exists", f"{KINDS[kind]}{what}的“{STAGES[stage]}”环节时限已存在，请直接修改", status=409)


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise GeoError("natural_time_invalid", "natural_time（按自然时计算）须为 true 或 false", field="natural_time")
    return value


def _get_rule(db, rule_id: int, lock: bool = False) -> TimeLimit:
    rule = db.get(TimeLimit, rule_id, with_for_update=lock) if lock else db.get(TimeLimit, rule_id)
    if rule is None:
        raise GeoError("time_limit_not_found", f"时限规则 {rule_id} 不存在", status=404)
    return rule


@api.patch("/config/time-limits/<int:rule_id>")
@require_permission("case:config")
def limits_edit(rule_id: int):
    body = _body(EDIT_FIELDS)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise GeoError("version_required", "请求须包含整数 version（用于防止覆盖他人的修改）", field="version")
    clean = {}
    if "hours" in body:
        clean["hours"] = _hours(body["hours"])
    if "natural_time" in body:
        clean["natural_time"] = _bool(body["natural_time"])
    if "warn_ratio" in body:
        clean["warn_ratio"] = _ratio(body["warn_ratio"])
    if "note" in body:
        clean["note"] = _note(body["note"], 200)
    db = get_db()
    rule = _get_rule(db, rule_id, lock=True)
    if rule.version != version:
        raise GeoError("version_conflict", "该时限已被他人修改，请刷新后重试", status=409, current_version=rule.version)
    changed = {k: v for k, v in clean.items() if getattr(rule, k) != v}
    if changed:
        for k, v in changed.items():
            setattr(rule, k, v)
        rule.version += 1
    db.commit()
    return jsonify(_rule_json(rule, _class_names(db)))


@api.delete("/config/time-limits/<int:rule_id>")
@require_permission("case:config")
def limits_delete(rule_id: int):
    db = get_db()
    rule = _get_rule(db, rule_id, lock=True)
    if rule.class_code == DEFAULT_CLASS:
        raise GeoError("default_rule_required", "默认时限不能删除（每个环节都须有默认时限），可修改其时长", status=409)
    db.delete(rule)
    db.commit()
    return "", 204


# ---------------------------------------------------------------- demo data

DEFAULT_PERIODS = [(dt.time(8, 30), dt.time(12, 0)), (dt.time(14, 30), dt.time(18, 0))]
DEFAULT_HOURS = {"accept": "0.5", "verify": "1", "file": "0.5", "dispatch": "0.5", "handle": "24", "check": "1",
                 "close": "0.5"}
# (kind, class, stage, hours, natural, note) — examples from the domain notes (§5.2); adjust to local rules.
SPECIAL_RULES = (
    [("component", f"01{i:02d}", "handle", "6", True, "井盖类：6 小时（自然时）") for i in range(1, 13)]
    + [("component", "0113", "handle", "21", False, "消火栓：3 个工作日（每日 7 工作小时）")]
    + [("event", "04", s, h, True, "突发事件：按自然时计算") for s, h in DEFAULT_HOURS.items() if s != "handle"]
    + [("event", "04", "handle", "6", True, "突发事件：6 小时（自然时）")]
)


def seed_demo(db, log=print) -> None:
    """Working periods (if none) and the default and example time limits that
    are missing. Statutory holidays are not invented: import the official list
    (国务院办公厅 notice) through the calendar page. Idempotent; never overwrites edits."""
    if not db.scalar(select(WorkPeriod.id).limit(1)):
        for start, end in DEFAULT_PERIODS:
            db.add(WorkPeriod(start_time=start, end_time=end))
        log("cases: working periods 08:30–12:00, 14:30–18:00")
    have = set(db.execute(select(TimeLimit.kind, TimeLimit.class_code, TimeLimit.stage)).all())
    known = {(t.removesuffix("_class"), c) for t, c in db.execute(select(DictItem.type_code, DictItem.code).where(
        DictItem.type_code.in_([f"{k}_class" for k in KINDS])))}
    wanted = [(k, DEFAULT_CLASS, s, h, False, "默认时限") for k in KINDS for s, h in DEFAULT_HOURS.items()]
    wanted += [r for r in SPECIAL_RULES if (r[0], r[1]) in known]  # only classes the dictionaries have
    added = 0
    for kind, code, stage, hours, natural, note in wanted:
        if (kind, code, stage) not in have:
            db.add(TimeLimit(kind=kind, class_code=code, stage=stage, hours=Decimal(hours), natural_time=natural,
                             warn_ratio=Decimal("0.20"), note=note, version=1))
            added += 1
    db.flush()
    log(f"cases: {added} time limit rules added")
