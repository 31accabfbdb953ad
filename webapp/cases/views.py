"""The case JSON API beside intake: one case with its timeline, media and the
actions open to the caller; work lists (待办) by role and data scope; acting
on a task; urging; searching and listing. Pages build on these."""
from __future__ import annotations

import datetime as dt
import re

from flask import jsonify, request, send_file
from sqlalchemy import and_, func, or_, select

from geo.errors import GeoError
from webapp import uploads
from webapp.auth import scope
from webapp.auth.guard import principal
from webapp.auth.models import Department
from webapp.auth.permissions import has_permission, require_permission
from webapp.cases import api, automation, clock, engine, flow
from webapp.cases.models import KINDS, STATUSES, Case, CaseEvent, CaseMedia, CaseTask
from webapp.cases.stages import SOURCES, STAGES
from webapp.db import get_db
from webapp import textsearch
from webapp.validation import json_body

PAGE_MAX = 200
LIST_PARAMS = {"q", "status", "stage", "kind", "class_code", "source", "street_code", "community_code", "dept_code",
               "from", "to", "difficult", "overdue", "page", "size", "bbox"}
TASK_PARAMS = {"stage", "due", "page", "size", "all"}


def _iso(t):
    return t.isoformat() if t else None


def visible(who):
    """The data-scope condition on cases for a caller (R88)."""
    return scope.condition(who, dept_col=Case.dept_code, region_col=Case.community_code, owner_col=Case.reporter_id)


def get_visible(db, case_id: int, who) -> Case:
    case = db.scalar(select(Case).where(Case.id == case_id, visible(who)))
    if case is None:
        raise GeoError("case_not_found", f"案卷 {case_id} 不存在或不在您的数据范围内", status=404)
    return case


def task_json(t: CaseTask, now: dt.datetime, who=None, case=None, db=None) -> dict:
    out = {"id": t.id, "stage": t.stage, "name": t.name, "role": t.role, "dept_code": t.dept_code,
           "status": t.status, "opened_at": _iso(t.opened_at), "deadline": _iso(t.deadline),
           "warn_at": _iso(t.warn_at), "natural_time": t.natural_time, "done_at": _iso(t.done_at),
           "due": clock.status(t.deadline, t.warn_at, now) if t.status == "open" else None}
    if who is not None and t.status == "open":
        out["can_act"] = engine.can_act(who, t, case, db)
        out["actions"] = flow.ACTIONS.get(t.stage, {}) if out["can_act"] else {}
    return out


def case_json(db, case: Case, who, full: bool = True) -> dict:
    now = engine.now()
    lon, lat = db.execute(select(func.ST_X(Case.geom), func.ST_Y(Case.geom)).where(Case.id == case.id)).one()
    out = {"id": case.id, "case_no": case.case_no, "source": case.source, "source_name": SOURCES.get(case.source),
           "kind": case.kind, "kind_name": KINDS[case.kind], "class_code": case.class_code,
           "class_name": case.class_name, "description": case.description, "address": case.address,
           "location": {"lon": lon, "lat": lat, "crs": "EPSG:4490"}, "input_crs": case.input_crs,
           "street_code": case.street_code, "community_code": case.community_code, "grid_code": case.grid_code,
           "resp_grid_code": case.resp_grid_code, "component_code": case.component_code,
           "component_distance_m": case.component_distance_m, "reporter_name": case.reporter_name,
           "reported_at": _iso(case.reported_at), "status": case.status, "status_name": STATUSES[case.status],
           "stage": case.stage, "stage_name": STAGES.get(case.stage or "", None), "dept_code": case.dept_code,
           "duplicate_of": case.duplicate_of, "urgent": case.urgent, "difficult": case.difficult,
           "urged": case.urged, "returns": case.returns, "reworks": case.reworks,
           "handle_deadline": _iso(case.handle_deadline), "closed_at": _iso(case.closed_at),
           "process": {"key": case.process_key, "version": case.process_version}, "version": case.version}
    tasks = db.scalars(select(CaseTask).where(CaseTask.case_id == case.id).order_by(CaseTask.id)).all()
    out["tasks"] = [task_json(t, now, who, case, db) for t in tasks if t.status == "open" or full]
    if case.duplicate_of:
        out["duplicate_case_no"] = db.scalar(select(Case.case_no).where(Case.id == case.duplicate_of))
    if case.dept_code:
        out["dept_name"] = db.scalar(select(Department.name).where(Department.code == case.dept_code))
    if full:
        events = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).all()
        out["events"] = [{"seq": e.seq, "at": _iso(e.at), "actor": e.actor_name, "role": e.role, "action": e.action,
                          "stage": e.stage, "to_stage": e.to_stage, "dept_code": e.dept_code, "comment": e.comment,
                          "data": e.data, "deadline": _iso(e.deadline), "on_time": e.on_time} for e in events]
        rows = db.scalars(select(CaseMedia).where(CaseMedia.case_id == case.id).order_by(CaseMedia.id)).all()
        out["media"] = [{"id": m.id, "kind": m.kind, "name": m.original_name, "mime": m.mime, "size": m.size,
                         "event_seq": m.event_seq, "url": f"/api/cases/{case.id}/media/{m.id}",
                         "thumb_url": f"/api/cases/{case.id}/media/{m.id}?thumb=1" if m.thumb_relpath else None}
                        for m in rows]
    return out


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not re.fullmatch(r"-?\d+", raw) or not lo <= int(raw) <= hi:
        raise GeoError("parameter_invalid", f"{name} 应为 {lo} 到 {hi} 之间的整数", parameter=name)
    return int(raw)


def _reject_unknown(allowed: set[str]) -> None:
    unknown = set(request.args) - allowed
    if unknown:
        raise GeoError("parameter_unknown", f"未知参数: {', '.join(sorted(unknown))}", parameters=sorted(unknown))


@api.get("/<int:case_id>")
@require_permission("case:view")
def case_detail(case_id: int):
    db = get_db()
    who = principal()
    return jsonify(case_json(db, get_visible(db, case_id, who), who))


@api.get("/<int:case_id>/media/<int:media_id>")
@require_permission("case:view")
def case_media(case_id: int, media_id: int):
    db = get_db()
    get_visible(db, case_id, principal())
    m = db.get(CaseMedia, media_id)
    if m is None or m.case_id != case_id:
        raise GeoError("media_not_found", "附件不存在", status=404)
    thumb = request.args.get("thumb") == "1" and m.thumb_relpath
    path = uploads.resolve(m.thumb_relpath if thumb else m.relpath)
    return send_file(path, mimetype="image/jpeg" if thumb else m.mime, download_name=m.original_name, max_age=3600)


@api.post("/<int:case_id>/tasks/<int:task_id>")
@require_permission("case:view")
def case_act(case_id: int, task_id: int):
    """Complete a task: {"action", "comment"?, "data"?, "version"?}."""
    who = principal()
    body = json_body({"action", "comment", "data", "version"}, {"action"})
    if not isinstance(body["action"], str):
        raise GeoError("action_invalid", "action 应为环节动作名称（文本）")
    if body.get("data") is not None and not isinstance(body["data"], dict):
        raise GeoError("data_invalid", "data 应为 JSON 对象")
    if body.get("version") is not None and (not isinstance(body["version"], int) or isinstance(body["version"], bool)):
        raise GeoError("version_invalid", "version 应为整数")
    db = get_db()
    _task_exists(db, case_id, task_id)
    case = engine.act(db, case_id, task_id, body["action"], who, comment=body.get("comment"),
                      data=body.get("data") or {}, version=body.get("version"))
    automation.auto_dispatch(db, case)
    db.commit()
    return jsonify(case_json(db, case, who))


def _task_exists(db, case_id: int, task_id: int) -> None:
    """404 before anything else; who may act is the engine's question (a department
    may act on a task dispatched to it)."""
    task = db.get(CaseTask, task_id)
    if task is None or task.case_id != case_id:
        raise GeoError("task_not_found", "案卷或任务不存在", status=404)


@api.post("/<int:case_id>/urge")
@require_permission("case:supervise")
def case_urge(case_id: int):
    body = json_body({"comment", "version"}, {"comment"})
    db = get_db()
    who = principal()
    get_visible(db, case_id, who)
    if not isinstance(body["comment"], str) or len(body["comment"]) > engine.MAX_COMMENT:
        raise GeoError("comment_invalid", "督办意见应为不超过1000字的文本")
    case = engine.note(db, case_id, "urge", who, body["comment"], version=body.get("version"))
    db.commit()
    return jsonify(case_json(db, case, who))


def _task_filter(who):
    """Open tasks the caller may act on: their roles' stages, within their data scope."""
    if "*" in who.permissions:
        return True
    roles = [r for r, p in flow.ROLE_PERMISSION.items() if has_permission(who, p)]
    if not roles:
        return False
    conds = [CaseTask.role.in_(roles)]
    if who.data_scope == "dept":
        dept_task = and_(CaseTask.role == "dept_handler",
                         CaseTask.dept_code.in_(scope.dept_subtree(who.dept_code)) if who.dept_code else False)
        conds.append(or_(CaseTask.role != "dept_handler", dept_task))
    elif who.data_scope == "region":
        conds.append(Case.community_code.like((who.region_code or "-") + "%"))
        conds.append(or_(CaseTask.assignee_id.is_(None), CaseTask.assignee_id == who.id))
    elif who.data_scope == "own":
        conds.append(or_(CaseTask.assignee_id == who.id, Case.reporter_id == who.id))
    return and_(*conds)


@api.get("/tasks")
@require_permission("case:view")
def my_tasks():
    """待办: ?stage=&due=warning|overdue&page=&size="""
    _reject_unknown(TASK_PARAMS)
    who = principal()
    db = get_db()
    now = engine.now()
    q = select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id).where(CaseTask.status == "open",
                                                                              _task_filter(who))
    stage = request.args.get("stage")
    if stage:
        if stage not in flow.ACTIONS:
            raise GeoError("parameter_invalid", f"未知环节 {stage}", parameter="stage")
        q = q.where(CaseTask.stage == stage)
    due = request.args.get("due")
    if due == "overdue":
        q = q.where(CaseTask.deadline < now)
    elif due == "warning":
        q = q.where(CaseTask.warn_at <= now, CaseTask.deadline >= now)
    elif due:
        raise GeoError("parameter_invalid", "due 应为 warning 或 overdue", parameter="due")
    page, size = _int_arg("page", 1, 1, 100000), _int_arg("size", 20, 1, PAGE_MAX)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.execute(q.order_by(CaseTask.deadline.asc().nulls_last(), CaseTask.id)
                      .offset((page - 1) * size).limit(size)).all()
    counts = dict(db.execute(select(CaseTask.stage, func.count()).join(Case, Case.id == CaseTask.case_id)
                             .where(CaseTask.status == "open", _task_filter(who)).group_by(CaseTask.stage)).all())
    items = []
    for t, c in rows:
        items.append({**task_json(t, now), "case": {"id": c.id, "case_no": c.case_no, "class_name": c.class_name,
                                                   "kind": c.kind, "description": c.description[:80],
                                                   "address": c.address, "street_code": c.street_code,
                                                   "urgent": c.urgent, "difficult": c.difficult,
                                                   "duplicate_of": c.duplicate_of, "version": c.version}})
    return jsonify({"total": total, "page": page, "size": size, "items": items, "counts": counts})


def list_query(who, args):
    q = select(Case).where(visible(who))
    text_q = (args.get("q") or "").strip()
    terms = []
    if text_q:
        if len(text_q) > 100:
            raise GeoError("parameter_invalid", "关键字不能超过100字", parameter="q")
        if re.fullmatch(r"(?i)XP\d{1,13}", text_q):
            # A range on the unique index (not LIKE, which needs a C collation) and newest
            # number first: a month prefix over a million cases stays an index scan.
            prefix = text_q.upper()
            q = q.where(Case.case_no >= prefix, Case.case_no < prefix + "~").order_by(Case.case_no.desc())
        else:
            parsed = textsearch.parse_query(text_q)
            terms = parsed.terms
            if parsed.tsquery:
                q = q.where(Case.search.op("@@")(func.to_tsquery("simple", parsed.tsquery)))
            for term in parsed.like_terms:
                like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                q = q.where(or_(Case.description.ilike(like), Case.address.ilike(like),
                                Case.class_name.ilike(like)))
            if parsed.empty:
                raise GeoError("parameter_invalid", "关键字中没有可检索的文字", parameter="q")
    for key, col in (("status", Case.status), ("stage", Case.stage), ("kind", Case.kind), ("source", Case.source),
                     ("dept_code", Case.dept_code)):
        if args.get(key):
            q = q.where(col == args[key])
    if args.get("class_code"):
        q = q.where(Case.class_code.like(args["class_code"] + "%"))
    for key, col in (("street_code", Case.street_code), ("community_code", Case.community_code)):
        if args.get(key):
            q = q.where(col == args[key])
    for key, op in (("from", "__ge__"), ("to", "__lt__")):
        if args.get(key):
            try:
                d = dt.date.fromisoformat(args[key])
            except ValueError:
                raise GeoError("parameter_invalid", f"{key} 应为日期（YYYY-MM-DD）", parameter=key) from None
            bound = dt.datetime.combine(d + dt.timedelta(days=1 if key == "to" else 0), dt.time(), clock.CST)
            q = q.where(getattr(Case.reported_at, op)(bound))
    if args.get("difficult") in ("1", "true"):
        q = q.where(Case.difficult.is_(True))
    if args.get("overdue") in ("1", "true"):
        q = q.where(Case.id.in_(select(CaseTask.case_id).where(CaseTask.status == "open",
                                                               CaseTask.deadline < engine.now())))
    if args.get("bbox"):
        try:
            x1, y1, x2, y2 = (float(v) for v in args["bbox"].split(","))
        except ValueError:
            raise GeoError("parameter_invalid", "bbox 应为 最小经度,最小纬度,最大经度,最大纬度", parameter="bbox") from None
        q = q.where(func.ST_Intersects(Case.geom, func.ST_MakeEnvelope(x1, y1, x2, y2, 4490)))
    return q, terms


@api.get("")
@require_permission("case:view")
def case_list():
    _reject_unknown(LIST_PARAMS)
    who = principal()
    db = get_db()
    q, terms = list_query(who, request.args)
    page, size = _int_arg("page", 1, 1, 100000), _int_arg("size", 20, 1, PAGE_MAX)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.execute(q.add_columns(func.ST_X(Case.geom), func.ST_Y(Case.geom))
                      .order_by(Case.reported_at.desc(), Case.id.desc())
                      .offset((page - 1) * size).limit(size)).all()
    items = [{"id": c.id, "case_no": c.case_no, "kind": c.kind, "class_code": c.class_code,
              "class_name": c.class_name, "description": c.description[:120],
              "description_html": str(textsearch.snippet(c.description, terms)) if terms else None,
              "address": c.address, "status": c.status, "status_name": STATUSES[c.status], "stage": c.stage,
              "stage_name": STAGES.get(c.stage or ""), "street_code": c.street_code, "dept_code": c.dept_code,
              "reported_at": _iso(c.reported_at), "difficult": c.difficult, "urgent": c.urgent,
              "lon": x, "lat": y} for c, x, y in rows]
    return jsonify({"total": total, "page": page, "size": size, "items": items})

