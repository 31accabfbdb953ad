"""Difficult-case analysis (R22): marks grouped by period bucket (day, week,
month, quarter, half-year, year, or one custom range) and difficulty type,
with the detail fields R22 names — case number, type, region, class,
description, current stage, responsible department, overdue handling.

Buckets are computed in SQL on local time (Asia/Shanghai); a case counts as
overdue when a 处置 task passed its deadline (still open, or done late)."""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import Date, Integer, and_, case as sa_case, exists, func, literal, or_, select, text
from sqlalchemy.orm import Session

from geo.errors import GeoError
from webapp.cases import clock, engine
from webapp.cases.difficult_models import CATEGORIES, MARK_SOURCES, MARK_STATUSES, DifficultMark
from webapp.cases.difficult_service import dept_names, types
from webapp.cases.models import Case, CaseTask
from webapp.cases.stages import STAGES

PERIODS = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "halfyear": "半年", "year": "年",
           "range": "任意时段"}
MAX_SPAN_DAYS = 3660
MAX_ITEMS = 500
MAX_EXPORT = 50000


def window(period: str | None, start: str | None, end: str | None, today: dt.date | None = None
           ) -> tuple[str, dt.date, dt.date]:
    """(period, first day, last day) from the query, with defaults per period."""
    period = period or "month"
    if period not in PERIODS:
        raise GeoError("period_invalid", "统计周期应为 日、周、月、季度、半年、年 或 任意时段"
                                         "（day|week|month|quarter|halfyear|year|range）", parameter="period")
    days = {}
    for key, raw in (("from", start), ("to", end)):
        if raw:
            try:
                days[key] = dt.date.fromisoformat(raw)
            except ValueError:
                raise GeoError("date_invalid", f"{key} 应为日期（YYYY-MM-DD）", parameter=key) from None
    today = today or engine.now().astimezone(clock.CST).date()
    if period == "range" and len(days) < 2:
        raise GeoError("range_required", "任意时段统计须同时给出开始日期和结束日期", parameter="from")
    last = days.get("to", today)
    first = days.get("from") or {
        "day": last - dt.timedelta(days=29), "week": last - dt.timedelta(weeks=11, days=last.weekday()),
        "month": last.replace(month=1, day=1), "quarter": last.replace(month=1, day=1),
        "halfyear": last.replace(year=last.year - 1, month=1, day=1),
        "year": last.replace(year=last.year - 4, month=1, day=1)}.get(period, last)
    if first > last:
        raise GeoError("range_invalid", "开始日期不能晚于结束日期", parameter="from")
    if (last - first).days > MAX_SPAN_DAYS:
        raise GeoError("range_too_long", "统计时段不能超过10年", parameter="from")
    return period, first, last


def _bucket(period: str, first: dt.date):
    """SQL: the first day of the bucket a mark falls in (local time)."""
    local = func.timezone("Asia/Shanghai", DifficultMark.marked_at)
    if period == "range":
        return literal(first)
    if period == "halfyear":
        return func.make_date(func.extract("year", local).cast(Integer),
                              sa_case((func.extract("month", local) <= 6, 1), else_=7), 1)
    return func.date_trunc(period, local).cast(Date)


def label(period: str, day: dt.date, first: dt.date, last: dt.date) -> str:
    if period == "day":
        return f"{day:%Y-%m-%d}"
    if period == "week":
        return f"{day:%Y-%m-%d} 当周"
    if period == "month":
        return f"{day.year}年{day.month}月"
    if period == "quarter":
        return f"{day.year}年第{(day.month - 1) // 3 + 1}季度"
    if period == "halfyear":
        return f"{day.year}年{'上' if day.month <= 6 else '下'}半年"
    if period == "year":
        return f"{day.year}年"
    return f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}"


def overdue_expr(now: dt.datetime):
    """是否超时处置: a 处置 task past its deadline (open) or done after it."""
    return exists().where(CaseTask.case_id == DifficultMark.case_id, CaseTask.stage == "handle",
                          CaseTask.deadline.isnot(None),
                          or_(and_(CaseTask.status == "open", CaseTask.deadline < now),
                              and_(CaseTask.status == "done", CaseTask.done_at > CaseTask.deadline)))


def _filters(db: Session, first: dt.date, last: dt.date, type_: str | None) -> list:
    start = dt.datetime.combine(first, dt.time(), clock.CST)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), clock.CST)
    conds = [DifficultMark.status != "cancelled", DifficultMark.marked_at >= start, DifficultMark.marked_at < end]
    if type_:
        known = types(db)
        if type_ in known:
            conds.append(DifficultMark.type_code == type_)
        elif type_ in CATEGORIES:
            conds.append(DifficultMark.type_code.in_([c for c, t in known.items() if t["category"] == type_]))
        else:
            raise GeoError("type_invalid", "类型应为疑难案件类型代码，或 dept_unclear（处置部门不明确）、"
                                           "poor_handling（处置多次不到位）", parameter="type")
    return conds


def analyse(db: Session, period: str, first: dt.date, last: dt.date, type_: str | None, scope_cond,
            items_limit: int = MAX_ITEMS) -> dict:
    now = engine.now()
    conds = _filters(db, first, last, type_) + [scope_cond]
    tmap = types(db)
    names = dept_names(db)
    bucket = _bucket(period, first).label("bucket")
    overdue = overdue_expr(now)
    hours = func.extract("epoch", DifficultMark.confirmed_at - DifficultMark.marked_at) / 3600
    cnt = lambda cond: func.count().filter(cond)  # noqa: E731
    aggs = [func.count().label("marked"),
            cnt(DifficultMark.source == "auto").label("auto"),
            cnt(DifficultMark.source == "manual").label("manual"),
            cnt(DifficultMark.confirmed_at.isnot(None)).label("confirmed"),
            cnt(DifficultMark.status == "resolved").label("resolved"),
            cnt(DifficultMark.status == "pending").label("pending"),
            cnt(overdue).label("overdue"),
            func.avg(hours).label("avg_confirm_hours")]

    def q(*cols):
        return select(*cols, *aggs).join(Case, Case.id == DifficultMark.case_id).where(*conds)
    base = q(bucket, DifficultMark.type_code)
    rows = db.execute(base.group_by(bucket, DifficultMark.type_code).order_by(bucket, DifficultMark.type_code)).all()

    def stats(r) -> dict:
        return {"marked": r.marked, "auto": r.auto, "manual": r.manual, "confirmed": r.confirmed,
                "resolved": r.resolved, "pending": r.pending, "overdue": r.overdue,
                "confirm_rate": _rate(r.confirmed, r.marked), "resolution_rate": _rate(r.resolved, r.marked),
                "overdue_rate": _rate(r.overdue, r.marked),
                "avg_confirm_hours": round(float(r.avg_confirm_hours), 1) if r.avg_confirm_hours is not None else None}

    buckets = [{"bucket": r.bucket.isoformat(), "label": label(period, r.bucket, first, last),
                "type_code": r.type_code, "type_name": tmap.get(r.type_code, {}).get("name", r.type_code),
                "category": tmap.get(r.type_code, {}).get("category", "other"), **stats(r)} for r in rows]
    by_type = [{"type_code": r.type_code, "type_name": tmap.get(r.type_code, {}).get("name", r.type_code),
                "category": tmap.get(r.type_code, {}).get("category", "other"), **stats(r)}
               for r in db.execute(q(DifficultMark.type_code).group_by(DifficultMark.type_code)
                                   .order_by(DifficultMark.type_code)).all()]
    total_row = db.execute(q()).one()
    dept = func.coalesce(DifficultMark.responsible_dept, Case.dept_code)
    by_dept = [{"dept_code": d, "dept_name": names.get(d, "未确定") if d else "未确定", "marked": n,
                "resolved": res, "overdue": od}
               for d, n, res, od in db.execute(
                   select(dept, func.count(), cnt(DifficultMark.status == "resolved"), cnt(overdue))
                   .join(Case, Case.id == DifficultMark.case_id).where(*conds)
                   .group_by(dept).order_by(func.count().desc())).all()]
    regions = _region_names(db)
    by_region = [{"street_code": s, "street_name": regions.get(s, "未知") if s else "未知", "marked": n}
                 for s, n in db.execute(select(Case.street_code, func.count())
                                        .join(DifficultMark, DifficultMark.case_id == Case.id).where(*conds)
                                        .group_by(Case.street_code).order_by(func.count().desc())).all()]
    items = detail(db, conds, now, tmap, names, regions, items_limit)
    return {"period": period, "period_name": PERIODS[period], "from": first.isoformat(), "to": last.isoformat(),
            "type": type_, "total": stats(total_row), "buckets": buckets, "by_type": by_type, "by_dept": by_dept,
            "by_region": by_region, "items": items, "items_total": total_row.marked,
            "labels": [b for b in dict.fromkeys(x["label"] for x in buckets)]}


def _rate(a: int, b: int) -> float | None:
    return round(a * 100.0 / b, 1) if b else None


def _region_names(db: Session) -> dict[str, str]:
    return dict(db.execute(text("SELECT code, name FROM geo.region")).all())


def detail(db: Session, conds: list, now: dt.datetime, tmap: dict, names: dict, regions: dict, limit: int) -> list:
    overdue = overdue_expr(now).label("overdue")
    rows = db.execute(select(DifficultMark, Case.case_no, Case.class_code, Case.class_name, Case.description,
                             Case.street_code, Case.community_code, Case.stage, Case.status, Case.dept_code,
                             overdue)
                      .join(Case, Case.id == DifficultMark.case_id).where(*conds)
                      .order_by(DifficultMark.marked_at.desc(), DifficultMark.id.desc()).limit(limit)).all()
    out = []
    for m, no, cc, cn, desc, street, community, stage, status, dept, od in rows:
        resp = m.responsible_dept or dept
        out.append({
            "mark_id": m.id, "case_id": m.case_id, "case_no": no,
            "type_code": m.type_code, "type_name": tmap.get(m.type_code, {}).get("name", m.type_code),
            "category_name": CATEGORIES.get(tmap.get(m.type_code, {}).get("category", "other")),
            "region": "／".join(filter(None, [regions.get(street or ""), regions.get(community or "")])) or None,
            "class_code": cc, "class_name": cn, "description": desc,
            "stage": stage, "stage_name": STAGES.get(stage or "") or {"closed": "已结案", "cancelled": "已作废"}.get(status)
            or ("挂账" if status == "suspended" else stage),
            "dept_code": resp, "dept_name": names.get(resp) if resp else None,
            "overdue": bool(od), "source": m.source, "source_name": MARK_SOURCES[m.source],
            "status": m.status, "status_name": MARK_STATUSES[m.status],
            "marked_at": m.marked_at.isoformat(),
            "confirmed_at": m.confirmed_at.isoformat() if m.confirmed_at else None})
    return out


SUMMARY_COLUMNS = [("label", "统计周期"), ("type_name", "疑难案件类型"), ("marked", "标记数"), ("auto", "自动标记"),
                   ("manual", "手动标记"), ("confirmed", "已确权"), ("resolved", "已解决"), ("pending", "认定中"),
                   ("overdue", "超时处置数"), ("confirm_rate", "确权率(%)"), ("resolution_rate", "解决率(%)"),
                   ("overdue_rate", "超时处置率(%)"), ("avg_confirm_hours", "平均确权用时(小时)")]
DETAIL_COLUMNS = [("case_no", "案件号"), ("type_name", "疑难案件类型"), ("category_name", "分析类型"),
                  ("region", "所属区域"), ("class_name", "案件类别"), ("description", "问题描述"),
                  ("stage_name", "当前环节"), ("dept_name", "责任单位"), ("overdue", "是否超时处置"),
                  ("source_name", "标记方式"), ("status_name", "状态"), ("marked_at", "标记时间")]


def workbook(result: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([f"疑难案件分析（{result['period_name']}，{result['from']} 至 {result['to']}）"])
    ws.append([name for _, name in SUMMARY_COLUMNS])
    for row in result["buckets"]:
        ws.append([row.get(k) for k, _ in SUMMARY_COLUMNS])
    ws.append(["合计", ""] + [result["total"].get(k) for k, _ in SUMMARY_COLUMNS[2:]])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    ws2 = wb.create_sheet("明细")
    ws2.append([name for _, name in DETAIL_COLUMNS])
    for it in result["items"]:
        ws2.append([("是" if it[k] else "否") if k == "overdue" else it.get(k) for k, _ in DETAIL_COLUMNS])
    for cell in ws2[1]:
        cell.font = Font(bold=True)
    ws3 = wb.create_sheet("按责任单位")
    ws3.append(["责任单位", "标记数", "已解决", "超时处置数"])
    for d in result["by_dept"]:
        ws3.append([d["dept_name"], d["marked"], d["resolved"], d["overdue"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
