"""Command-centre desks (R3–R4) and the big screen (R5).

Pages: one work desk per role (受理台, 值班长审批台, 派遣台, 专业部门处置台,
监督员核实核查), 到期与超期, and 指挥大屏. The desks read the caller's work
list from GET /api/cases/tasks and act through POST /api/cases/<id>/tasks/…;
this module adds only what they lack: the dispatch candidates of a case,
working time left and map positions of listed tasks, the due summary, and
the big screen's statistics (GROUP BY in PostGIS, within the caller's data
scope)."""
from __future__ import annotations

import datetime as dt
import json
import re

from flask import jsonify, render_template, request
from sqlalchemy import and_, case as sql_case, func, literal, or_, select, text

from geo.errors import GeoError
from webapp.auth.guard import principal
from webapp.auth.models import Department, User, user_role
from webapp.auth.permissions import has_permission, require_permission
from webapp.cases import api, automation, clock, dispatch_rules, engine, flow, pages, worktime
from webapp.cases.models import Case, CaseEvent, CaseTask
from webapp.cases.stages import SOURCES, STAGES
from webapp.cases.views import get_visible, visible
from webapp.db import get_db

# desk → (permission, title, the task stages it works, endpoint)
DESKS: dict[str, dict] = {
    "accept": {"perm": "case:accept", "title": "受理台", "stages": ["accept"]},
    "file": {"perm": "case:file", "title": "值班长审批台",
             "stages": ["file", "close", "approve_return", "approve_extension", "approve_suspension", "suspended"]},
    "dispatch": {"perm": "case:dispatch", "title": "派遣台", "stages": ["dispatch"]},
    "dept": {"perm": "case:handle", "title": "专业部门处置台", "stages": ["handle"]},
    "check": {"perm": "case:check", "title": "监督员核实核查", "stages": ["verify", "check"]},
}
# Names of every task stage (the approvals and suspension are not main-path stages).
TASK_NAMES = {**STAGES, "approve_return": "回退审批", "approve_extension": "延期审批",
              "approve_suspension": "挂账审批", "suspended": "挂账中"}
DUE_NAMES = worktime.STATUS_NAMES
REASON_ACTIONS = ["cancel", "return", "extend", "suspend", "reject", "fail"]
MAX_IDS = 200
LIVE_MAX = 5000


def _reject_unknown(allowed: set[str]) -> None:
    unknown = set(request.args) - allowed
    if unknown:
        raise GeoError("parameter_unknown", f"未知参数: {', '.join(sorted(unknown))}", parameters=sorted(unknown))


def _local_midnight(now: dt.datetime, days_back: int = 0) -> dt.datetime:
    local = now.astimezone(clock.CST).date() - dt.timedelta(days=days_back)
    return dt.datetime.combine(local, dt.time(), clock.CST)


def _week_start(now: dt.datetime) -> dt.datetime:
    return _local_midnight(now, now.astimezone(clock.CST).weekday())


def _due_expr(now: dt.datetime):
    """SQL: the due status of an open task (the same rule as worktime.status)."""
    return sql_case((CaseTask.deadline < now, "overdue"),
                    (and_(CaseTask.warn_at.is_not(None), CaseTask.warn_at <= now), "warning"),
                    else_="normal")


def _dept_names(db) -> dict[str, str]:
    return dict(db.execute(select(Department.code, Department.name)).all())


# ---------------------------------------------------------------- pages

def _desk_page(key: str):
    db = get_db()
    who = principal()
    desk = DESKS[key]
    depts = db.execute(select(Department.code, Department.name).order_by(Department.sort, Department.code)).all()
    refs = {"desk": key, "title": desk["title"], "stages": [[s, TASK_NAMES[s]] for s in desk["stages"]],
            "actions": {s: list(flow.ACTIONS[s].items()) for s in desk["stages"]},  # ordered (tojson sorts dicts)
            "reason_actions": REASON_ACTIONS,
            "depts": [list(d) for d in depts], "due_names": DUE_NAMES,
            "can_dispatch": has_permission(who, "case:dispatch")}
    return render_template("cases/desk.html", desk=desk, key=key, refs=refs)


@pages.get("/desk/accept")
@require_permission("case:accept")
def accept_desk():
    return _desk_page("accept")


@pages.get("/desk/file")
@require_permission("case:file")
def file_desk():
    return _desk_page("file")


@pages.get("/desk/dispatch")
@require_permission("case:dispatch")
def dispatch_desk():
    return _desk_page("dispatch")


@pages.get("/desk/dept")
@require_permission("case:handle")
def dept_desk():
    return _desk_page("dept")


@pages.get("/desk/check")
@require_permission("case:check")
def check_desk():
    return _desk_page("check")


@pages.get("/due")
@require_permission("case:view")
def due_page():
    return render_template("cases/due.html", refs={"task_names": TASK_NAMES, "due_names": DUE_NAMES})


@pages.get("/bigscreen")
@require_permission("case:bigscreen")
def bigscreen_page():
    return render_template("cases/bigscreen.html", refs={"stages": STAGES, "sources": SOURCES,
                                                         "task_names": TASK_NAMES})


# ---------------------------------------------------------------- desk helpers (JSON)

@api.get("/<int:case_id>/dispatch-candidates")
@require_permission("case:dispatch")
def dispatch_candidates(case_id: int):
    """The smart-dispatch answer for one case: candidate departments with the reason for each."""
    _reject_unknown(set())
    db = get_db()
    case = get_visible(db, case_id, principal())
    decision = dispatch_rules.dispatch_decision(db, case.kind, case.class_code, automation.place_of(case))
    return jsonify({"case_id": case.id, "case_no": case.case_no, **decision.to_dict()})


def _id_list(raw: str | None, name: str) -> list[int]:
    if not raw:
        return []
    parts = raw.split(",")
    if len(parts) > MAX_IDS or not all(re.fullmatch(r"\d{1,18}", p) for p in parts):
        raise GeoError("parameter_invalid", f"{name} 应为逗号分隔的编号，最多 {MAX_IDS} 个", parameter=name)
    return [int(p) for p in parts]


def time_left_hours(task: CaseTask, now: dt.datetime, cal) -> float | None:
    """Hours left to the deadline (negative: overdue by), in working hours unless the
    limit counts natural time (自然时)."""
    if task.deadline is None:
        return None
    if task.natural_time:
        return round((task.deadline - now) / dt.timedelta(hours=1), 2)
    if task.deadline >= now:
        return round(worktime.working_between(now, task.deadline, cal), 2)
    return -round(worktime.working_between(task.deadline, now, cal), 2)


@api.get("/desk-extras")
@require_permission("case:view")
def desk_extras():
    """For tasks listed on a desk (?tasks=1,2,…): working time left, the case's map
    position and, for duplicates, the original case number."""
    _reject_unknown({"tasks"})
    ids = _id_list(request.args.get("tasks"), "tasks")
    db = get_db()
    who = principal()
    now = engine.now()
    if not ids:
        return jsonify({"items": {}})
    orig = Case.__table__.alias("orig")
    rows = db.execute(select(CaseTask, func.ST_X(Case.geom), func.ST_Y(Case.geom), orig.c.case_no)
                      .join(Case, Case.id == CaseTask.case_id)
                      .outerjoin(orig, orig.c.id == Case.duplicate_of)
                      .where(CaseTask.id.in_(ids), visible(who))).all()
    cal = worktime.load_calendar(db) if any(not t.natural_time and t.deadline for t, *_ in rows) else None
    out = {}
    for t, x, y, dup_no in rows:
        out[str(t.id)] = {"case_id": t.case_id, "lon": x, "lat": y, "duplicate_case_no": dup_no,
                          "left_hours": time_left_hours(t, now, cal) if t.status == "open" else None,
                          "natural": t.natural_time,
                          "due": clock.status(t.deadline, t.warn_at, now) if t.status == "open" else None}
    return jsonify({"items": out, "now": now.isoformat()})


@api.get("/due-summary")
@require_permission("case:view")
def due_summary():
    """到期与超期: open tasks in the caller's data scope that are warning or overdue,
    counted by stage × due status × department, and listed (most urgent first)."""
    _reject_unknown({"due", "stage"})
    due = request.args.get("due")
    if due and due not in ("warning", "overdue"):
        raise GeoError("parameter_invalid", "due 应为 warning 或 overdue", parameter="due")
    stage = request.args.get("stage")
    if stage and stage not in flow.ACTIONS:
        raise GeoError("parameter_invalid", f"未知环节 {stage}", parameter="stage")
    db = get_db()
    who = principal()
    now = engine.now()
    due_col = _due_expr(now).label("due")
    dept_col = func.coalesce(CaseTask.dept_code, Case.dept_code).label("dept_code")
    base = (select(CaseTask.stage, due_col, dept_col)
            .join(Case, Case.id == CaseTask.case_id)
            .where(CaseTask.status == "open", CaseTask.deadline.is_not(None), visible(who)))
    if stage:
        base = base.where(CaseTask.stage == stage)
    # Group outside: a CASE with bound parameters cannot be repeated in GROUP BY.
    sub = base.subquery()
    q = (select(sub.c.stage, sub.c.due, sub.c.dept_code, func.count().label("n")).where(sub.c.due != "normal")
         .group_by(sub.c.stage, sub.c.due, sub.c.dept_code))
    if due:
        q = q.where(sub.c.due == due)
    names = _dept_names(db)
    counts = [{"stage": r.stage, "stage_name": TASK_NAMES.get(r.stage, r.stage), "due": r.due,
               "due_name": DUE_NAMES[r.due], "dept_code": r.dept_code,
               "dept_name": names.get(r.dept_code, "监督指挥中心") if r.dept_code else "监督指挥中心",
               "count": r.n} for r in db.execute(q.order_by(sub.c.stage, sub.c.due, sub.c.dept_code)).all()]
    totals = {"warning": sum(c["count"] for c in counts if c["due"] == "warning"),
              "overdue": sum(c["count"] for c in counts if c["due"] == "overdue")}
    items_q = (select(CaseTask, Case.case_no, Case.class_name, Case.address, dept_col)
               .join(Case, Case.id == CaseTask.case_id)
               .where(CaseTask.status == "open", visible(who),
                      CaseTask.deadline.is_not(None),
                      or_(CaseTask.deadline < now, CaseTask.warn_at <= now)))
    if stage:
        items_q = items_q.where(CaseTask.stage == stage)
    if due == "overdue":
        items_q = items_q.where(CaseTask.deadline < now)
    elif due == "warning":
        items_q = items_q.where(CaseTask.deadline >= now)
    rows = db.execute(items_q.order_by(CaseTask.deadline, CaseTask.id).limit(500)).all()
    cal = worktime.load_calendar(db) if rows else None
    items = [{"task_id": t.id, "case_id": t.case_id, "case_no": no, "class_name": cn, "address": addr,
              "stage": t.stage, "stage_name": TASK_NAMES.get(t.stage, t.name), "dept_code": d,
              "dept_name": names.get(d, "监督指挥中心") if d else "监督指挥中心",
              "deadline": t.deadline.isoformat(), "due": clock.status(t.deadline, t.warn_at, now),
              "left_hours": time_left_hours(t, now, cal), "natural": t.natural_time}
             for t, no, cn, addr, d in rows]
    return jsonify({"counts": counts, "totals": totals, "items": items, "now": now.isoformat()})


# ---------------------------------------------------------------- big screen statistics

@api.get("/stats/overview")
@require_permission("case:bigscreen")
def stats_overview():
    """Key figures and the four chart series of the big screen."""
    _reject_unknown(set())
    db = get_db()
    who = principal()
    now = engine.now()
    today = _local_midnight(now)
    scoped = visible(who)
    by_source = db.execute(select(Case.source, func.count()).where(scoped, Case.reported_at >= today)
                           .group_by(Case.source).order_by(func.count().desc())).all()
    by_stage = db.execute(select(Case.stage, func.count()).where(scoped, Case.status == "open")
                          .group_by(Case.stage)).all()
    dept_col = func.coalesce(CaseTask.dept_code, Case.dept_code)
    overdue = db.execute(select(dept_col, func.count()).join(Case, Case.id == CaseTask.case_id)
                         .where(scoped, CaseTask.status == "open", CaseTask.deadline < now)
                         .group_by(dept_col).order_by(func.count().desc())).all()
    top = db.execute(select(Case.class_code, func.max(Case.class_name), func.count())
                     .where(scoped, Case.reported_at >= _local_midnight(now, 29))
                     .group_by(Case.class_code).order_by(func.count().desc(), Case.class_code).limit(10)).all()
    totals = db.execute(select(
        func.count().filter(Case.status == "open"),
        func.count().filter(Case.status == "suspended"),
        func.count().filter(Case.reported_at >= today),
        func.count().filter(Case.closed_at >= today)).where(scoped)).one()
    dsub = (select(_due_expr(now).label("due")).join(Case, Case.id == CaseTask.case_id)
            .where(scoped, CaseTask.status == "open", CaseTask.deadline.is_not(None)).subquery())
    due_counts = dict(db.execute(select(dsub.c.due, func.count()).group_by(dsub.c.due)).all())
    names = _dept_names(db)
    order = list(STAGES)
    return jsonify({
        "now": now.isoformat(),
        "totals": {"open": totals[0], "suspended": totals[1], "reported_today": totals[2],
                   "closed_today": totals[3], "overdue_tasks": due_counts.get("overdue", 0),
                   "warning_tasks": due_counts.get("warning", 0)},
        "today_by_source": [{"source": s, "name": SOURCES.get(s, s), "count": n} for s, n in by_source],
        "open_by_stage": sorted(({"stage": s, "name": TASK_NAMES.get(s or "", "其他"), "count": n}
                                 for s, n in by_stage),
                                key=lambda r: order.index(r["stage"]) if r["stage"] in order else 99),
        "overdue_by_dept": [{"dept_code": d, "name": names.get(d, "监督指挥中心") if d else "监督指挥中心",
                             "count": n} for d, n in overdue],
        "top_classes": [{"class_code": c, "name": nm or c, "count": n} for c, nm, n in top],
    })


@api.get("/stats/live")
@require_permission("case:bigscreen")
def stats_live():
    """Open cases as GeoJSON points with their stage and worst due status."""
    _reject_unknown({"street_code"})
    db = get_db()
    who = principal()
    now = engine.now()
    rank = func.max(sql_case((CaseTask.deadline < now, 2), (CaseTask.warn_at <= now, 1), else_=0))
    worst = (select(rank).where(CaseTask.case_id == Case.id, CaseTask.status == "open")
             .correlate(Case).scalar_subquery())
    q = (select(Case.id, Case.case_no, Case.class_name, Case.stage, Case.street_code, Case.urgent,
                func.ST_X(Case.geom), func.ST_Y(Case.geom), worst)
         .where(visible(who), Case.status == "open"))
    street = request.args.get("street_code")
    if street:
        if not re.fullmatch(r"\d{9}", street):
            raise GeoError("parameter_invalid", "street_code 应为9位街道代码", parameter="street_code")
        q = q.where(Case.street_code == street)
    rows = db.execute(q.order_by(Case.reported_at.desc()).limit(LIVE_MAX + 1)).all()
    due_of = {2: "overdue", 1: "warning", 0: "normal", None: None}
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
              "properties": {"id": i, "case_no": no, "class_name": cn, "stage": st,
                             "stage_name": TASK_NAMES.get(st or "", "—"), "street_code": sc, "urgent": u,
                             "due": due_of[w]}}
             for i, no, cn, st, sc, u, x, y, w in rows[:LIVE_MAX]]
    return jsonify({"type": "FeatureCollection", "features": feats, "truncated": len(rows) > LIVE_MAX})


_REGION_SQL = {
    "street": "SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0002), 6) AS g "
              "FROM geo.region WHERE level = 'street' ORDER BY code",
    "community": "SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0001), 6) AS g "
                 "FROM geo.region WHERE level = 'community' AND parent_code = :parent ORDER BY code",
    "grid": "SELECT code, name, ST_AsGeoJSON(geom, 6) AS g FROM geo.unit_grid "
            "WHERE (street_code = :parent OR community_code = :parent) "
            "AND (valid_to IS NULL OR valid_to > now()) ORDER BY code",
}


@api.get("/stats/regions")
@require_permission("case:bigscreen")
def stats_regions():
    """Region polygons with case counts for the drill-down: ?level=street (default),
    ?level=community&parent=<street>, ?level=grid&parent=<street or community>.
    Counts: open cases, overdue open cases, and cases reported today."""
    _reject_unknown({"level", "parent"})
    level = request.args.get("level") or "street"
    if level not in _REGION_SQL:
        raise GeoError("parameter_invalid", "level 应为 street、community 或 grid", parameter="level")
    parent = request.args.get("parent")
    if level != "street" and not (parent and re.fullmatch(r"\d{9}|\d{12}", parent)):
        raise GeoError("parameter_invalid", "parent 应为9位街道代码或12位社区代码", parameter="parent")
    if level == "community" and len(parent) != 9:
        raise GeoError("parameter_invalid", "查看社区时 parent 应为9位街道代码", parameter="parent")
    db = get_db()
    who = principal()
    now = engine.now()
    col = {"street": Case.street_code, "community": Case.community_code, "grid": Case.grid_code}[level]
    overdue_case = select(CaseTask.case_id).where(CaseTask.status == "open", CaseTask.deadline < now)
    q = (select(col, func.count().filter(Case.status == "open"),
                func.count().filter(and_(Case.status == "open", Case.id.in_(overdue_case))),
                func.count().filter(Case.reported_at >= _local_midnight(now)))
         .where(visible(who), col.is_not(None)))
    if parent:
        q = q.where(Case.community_code.like(parent + "%"))
    counts = {c: (o, od, t) for c, o, od, t in db.execute(q.group_by(col)).all()}
    feats = []
    for code, name, g in db.execute(text(_REGION_SQL[level]), {"parent": parent}).all():
        o, od, t = counts.get(code, (0, 0, 0))
        feats.append({"type": "Feature", "geometry": json.loads(g),
                      "properties": {"code": code, "name": name, "level": level, "open": o, "overdue": od,
                                     "today": t}})
    if level != "street" and not feats:
        raise GeoError("region_not_found", f"区域 {parent} 不存在或没有下级区域", status=404)
    return jsonify({"type": "FeatureCollection", "level": level, "parent": parent, "features": feats})


@api.get("/stats/supervisors")
@require_permission("case:bigscreen")
def stats_supervisors():
    """Per-supervisor figures (?region=<street or community code>, default all): reports
    today and this week, verify/check tasks done this week and how many on time."""
    _reject_unknown({"region"})
    region = request.args.get("region")
    if region and not re.fullmatch(r"\d{9}|\d{12}", region):
        raise GeoError("parameter_invalid", "region 应为9位街道代码或12位社区代码", parameter="region")
    db = get_db()
    who = principal()
    now = engine.now()
    today, week = _local_midnight(now), _week_start(now)
    uq = (select(User.id, User.display_name, User.region_code)
          .join(user_role, user_role.c.user_id == User.id)
          .where(user_role.c.role_code == "supervisor", User.enabled.is_(True)))
    if region:
        uq = uq.where(or_(User.region_code.like(region + "%"), literal(region).like(User.region_code + "%")))
    users = db.execute(uq.order_by(User.region_code, User.id)).all()
    ids = [u.id for u in users]
    reports = {}
    done = {}
    if ids:
        reports = {r[0]: (r[1], r[2]) for r in db.execute(
            select(Case.reporter_id, func.count().filter(Case.reported_at >= today), func.count())
            .where(visible(who), Case.reporter_id.in_(ids), Case.source == "supervisor", Case.reported_at >= week)
            .group_by(Case.reporter_id)).all()}
        done = {r[0]: (r[1], r[2]) for r in db.execute(
            select(CaseEvent.actor_id, func.count(), func.count().filter(CaseEvent.on_time.is_(True)))
            .join(Case, Case.id == CaseEvent.case_id)
            .where(visible(who), CaseEvent.actor_id.in_(ids), CaseEvent.stage.in_(("verify", "check")),
                   CaseEvent.at >= week)
            .group_by(CaseEvent.actor_id)).all()}
    items = []
    for u in users:
        rt, rw = reports.get(u.id, (0, 0))
        dn, ot = done.get(u.id, (0, 0))
        items.append({"user_id": u.id, "name": u.display_name, "region_code": u.region_code,
                      "reports_today": rt, "reports_week": rw, "tasks_done_week": dn, "tasks_on_time_week": ot,
                      "on_time_rate": round(ot / dn, 3) if dn else None})
    return jsonify({"region": region, "week_start": week.isoformat(), "items": items})
