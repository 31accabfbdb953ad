"""Hazard rules (R115, R116): create a hazard and start its workflow, act on
its tasks, edit the rectification plan, 挂牌督办 / 摘牌, and the ledger query.

Every write locks the hazard row (SELECT … FOR UPDATE) and checks `version`
(409 when someone acted first); every step appends one hazard_event. Callers
commit."""
from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import re

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import and_, case, func, or_, select, text

from geo.errors import GeoError
from geo.geocode import locate_point
from geo.models import RiskPoint
from webapp import uploads
from webapp.auth import scope
from webapp.auth.permissions import has_permission
from webapp.auth.models import Department
from webapp.lifeline import hazard_flow as flow
from webapp.lifeline.hazard_models import OPEN_STATUSES, Hazard, HazardEvent
from webapp.lifeline.risk_config import category_subtree, responsible_for
from webapp.lifeline.risk_models import RiskCategory, RiskHazard, RiskLevel

SOURCES = {"inspection": "巡检上报", "alarm": "监测告警", "risk": "风险点排查", "manual": "人工登记", "case": "案件转入"}
STATUSES = {"pending": "待派遣", "rectifying": "整改中", "checking": "待核查", "rectified": "完成整改",
            "cancelled": "已作废"}
SUPERVISE_LEVELS = {"county": "县级督办", "street": "乡镇（街道）级督办", "dept": "部门督办"}
EVENT_NAMES = {"create": "登记隐患", "dispatch": "派遣", "cancel": "作废", "handle": "处置", "feedback": "反馈",
               "check_pass": "核查通过", "check_fail": "核查不通过", "plan": "制定整改方案", "supervise": "挂牌督办",
               "unsupervise": "摘牌", "link_case": "转数字城管案件"}
MAX_PHOTOS = 6
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
_PHOTO = re.compile(r"image/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z]{3,4}")
_TODAY = text("(now() AT TIME ZONE 'Asia/Shanghai')::date")


def now():
    return dt.datetime.now(dt.timezone.utc)


# -- small validators ------------------------------------------------------------------
def text_field(body: dict, key: str, label: str, n: int, required: bool = False) -> str | None:
    v = body.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise GeoError(f"{key}_invalid", f"{label}不能为空", field=key)
        return None
    if not isinstance(v, str) or len(v.strip()) > n:
        raise GeoError(f"{key}_invalid", f"{label}应为不超过{n}字的文本", field=key)
    return v.strip()


def date_field(body: dict, key: str, label: str) -> dt.date | None:
    v = body.get(key)
    if v in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(v) if isinstance(v, str) else _raise()
    except (ValueError, TypeError):
        raise GeoError(f"{key}_invalid", f"{label}应为日期（YYYY-MM-DD）", field=key) from None


def _raise():
    raise ValueError


def check_version(h, body: dict) -> None:
    v = body.get("version")
    if isinstance(v, bool) or not isinstance(v, int):
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    if v != h.version:
        raise GeoError("version_conflict", f"隐患 {h.code} 已被他人处理（当前版本 {h.version}），请刷新后重试",
                       status=409, current=h.version)


def store_photos(files: list, limit: int = MAX_PHOTOS) -> list[str]:
    if len(files) > limit:
        raise GeoError("photos_too_many", f"最多上传 {limit} 张照片")
    return [uploads.accept(f, "image").relpath for f in files]


# -- names and JSON --------------------------------------------------------------------
def names(db) -> dict:
    return {"dept": dict(db.execute(select(Department.code, Department.name)).all()),
            "cat": dict(db.execute(select(RiskCategory.code, RiskCategory.name)).all()),
            "htype": dict(db.execute(select(RiskHazard.id, RiskHazard.name)).all()),
            "level": {r.level: (r.name, r.colour) for r in db.scalars(select(RiskLevel))}}


def due_date(h: Hazard) -> dt.date | None:
    """The deadline that counts: the earlier of the plan's and the 督办 deadline."""
    ds = [d for d in (h.plan_deadline, h.supervise_deadline if h.supervised else None) if d]
    return min(ds) if ds else None


def _today() -> dt.date:
    return (now() + dt.timedelta(hours=8)).date()


def hazard_json(h: Hazard, nm: dict) -> dict:
    g = to_shape(h.geom)
    due = due_date(h)
    lv = nm["level"].get(h.level, (str(h.level), "#888"))
    return {"id": h.id, "code": h.code, "title": h.title, "source": h.source, "source_name": SOURCES.get(h.source),
            "risk_code": h.risk_code, "category_code": h.category_code, "category_name": nm["cat"].get(h.category_code),
            "hazard_type_id": h.hazard_type_id, "hazard_type_name": nm["htype"].get(h.hazard_type_id),
            "description": h.description, "address": h.address, "region_code": h.region_code,
            "lon": round(g.x, 7), "lat": round(g.y, 7), "photos": h.photos or [], "level": h.level,
            "level_name": lv[0], "colour": lv[1], "dept_code": h.dept_code, "dept_name": nm["dept"].get(h.dept_code),
            "status": h.status, "status_name": STATUSES[h.status], "stage": h.stage,
            "found_at": h.found_at.isoformat(), "reported_by_name": h.reported_by_name,
            "plan": {"measures": h.plan_measures, "funds": float(h.plan_funds) if h.plan_funds is not None else None,
                     "person": h.plan_person, "phone": h.plan_phone,
                     "deadline": h.plan_deadline.isoformat() if h.plan_deadline else None},
            "supervised": h.supervised,
            "supervise": {"level": h.supervise_level, "level_name": SUPERVISE_LEVELS.get(h.supervise_level or ""),
                          "by": h.supervise_by, "at": h.supervise_at.isoformat() if h.supervise_at else None,
                          "deadline": h.supervise_deadline.isoformat() if h.supervise_deadline else None,
                          "note": h.supervise_note, "lifted_by": h.supervise_lifted_by,
                          "lifted_at": h.supervise_lifted_at.isoformat() if h.supervise_lifted_at else None},
            "due": due.isoformat() if due else None,
            "overdue": bool(due and h.status in OPEN_STATUSES and due < _today()),
            "alarm_id": h.alarm_id, "case_id": h.case_id, "record_id": h.record_id,
            "process": {"key": h.process_key, "version": h.process_version},
            "closed_at": h.closed_at.isoformat() if h.closed_at else None, "version": h.version}


def event_json(e: HazardEvent) -> dict:
    return {"id": e.id, "action": e.action, "action_name": EVENT_NAMES.get(e.action, e.action), "task": e.task,
            "actor_name": e.actor_name, "comment": e.comment, "photos": e.photos or [], "data": e.data or {},
            "at": e.at.isoformat()}


def _event(db, h: Hazard, who, action: str, *, task=None, comment=None, photos=None, data=None) -> None:
    db.add(HazardEvent(hazard_id=h.id, action=action, task=task, actor_id=getattr(who, "id", None),
                       actor_name=getattr(who, "display_name", None) or "系统", comment=comment,
                       photos=photos or [], data=data or {}, at=now()))


# -- scope and roles -------------------------------------------------------------------
def scope_cond(who):
    return scope.condition(who, dept_col=Hazard.dept_code, region_col=Hazard.region_code,
                           owner_col=Hazard.reported_by)


def get_scoped(db, who, hid, lock: bool = False) -> Hazard:
    if isinstance(hid, bool) or not isinstance(hid, int):
        raise GeoError("hazard_unknown", "隐患不存在", status=404)
    q = select(Hazard).where(Hazard.id == hid, scope_cond(who))
    if lock:
        q = q.with_for_update()
    h = db.scalar(q)
    if h is None:
        raise GeoError("hazard_unknown", f"隐患 {hid} 不存在或不在您的数据范围内", status=404)
    return h


def may_work(who, role: str, h: Hazard, db) -> bool:
    """May `who` do a task of the lane role on this hazard?"""
    if not has_permission(who, "lifeline:hazard:handle"):
        return False
    if "admin" in who.role_codes:
        return True
    if role not in who.role_codes:
        return False
    if role == "dept_handler":  # a department works on its own hazards only
        if not (who.dept_code and h.dept_code):
            return False
        return h.dept_code in set(db.scalars(scope.dept_subtree(who.dept_code)))
    return True


def workflow(db, h: Hazard):
    return flow.runtime(db, h.process_version).load(h.wf_state)


def tasks_for(db, who, h: Hazard) -> list[dict]:
    if h.status in ("rectified", "cancelled"):
        return []
    out = []
    for r in flow.ready_tasks(workflow(db, h)):
        out.append({"stage": r.stage, "name": r.name, "role": r.role, "mine": may_work(who, r.role, h, db),
                    "decisions": [{"code": k, "name": v} for k, v in flow.ACTIONS[r.stage].items()]})
    return out


# -- create ----------------------------------------------------------------------------
def _next_code(db, at: dt.datetime) -> str:
    db.execute(text("SELECT pg_advisory_xact_lock(hashtext('lifeline.hazard_code'))"))
    day = (at + dt.timedelta(hours=8)).strftime("%Y%m%d")
    n = db.scalar(text("SELECT coalesce(max(substring(code FROM 11)::int), 0) FROM lifeline.hazard "
                       "WHERE code LIKE :p AND code ~ '^YH[0-9]{12}$'"), {"p": f"YH{day}%"})
    return f"YH{day}{n + 1:04d}"


CREATE_FIELDS = {"title", "description", "address", "category_code", "hazard_type_id", "risk_code", "level",
                 "dept_code", "lon", "lat", "crs", "photos", "alarm_id", "found_at"}


def clean_new(db, body: dict) -> dict:
    """Validated fields of a new hazard (location checked inside the county)."""
    unknown = set(body) - CREATE_FIELDS
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    out = {"title": text_field(body, "title", "隐患名称", 120, required=True),
           "description": text_field(body, "description", "隐患描述", 2000),
           "address": text_field(body, "address", "地点", 200)}
    rp = None
    if body.get("risk_code") not in (None, ""):
        rp = db.get(RiskPoint, body["risk_code"]) if isinstance(body["risk_code"], str) else None
        if rp is None:
            raise GeoError("risk_unknown", f"风险点 {body['risk_code']} 不存在", field="risk_code")
    out["risk_code"] = rp.code if rp else None
    cat = body.get("category_code") or (rp.category if rp else None)
    if cat is not None:
        row = db.get(RiskCategory, cat) if isinstance(cat, str) else None
        if row is None:
            raise GeoError("category_unknown", f"隐患类别 {cat} 不存在", field="category_code")
    out["category_code"] = cat
    ht = body.get("hazard_type_id")
    if ht not in (None, ""):
        row = db.get(RiskHazard, ht) if isinstance(ht, int) and not isinstance(ht, bool) else None
        if row is None or (cat and row.category_code not in category_subtree(db, cat)):
            raise GeoError("hazard_type_invalid", "隐患类型不存在或不属于所选类别", field="hazard_type_id")
        out["hazard_type_id"], out["_htype_name"] = row.id, row.name
        out["category_code"] = out["category_code"] or row.category_code
    lv = body.get("level", rp.level if rp else None)
    if isinstance(lv, bool) or lv not in (1, 2, 3, 4):
        raise GeoError("level_invalid", "隐患等级应为 1（重大）到 4（低）", field="level")
    out["level"] = lv
    if body.get("dept_code") not in (None, ""):
        d = body["dept_code"]
        if not isinstance(d, str) or db.get(Department, d) is None:
            raise GeoError("dept_unknown", f"责任单位 {d} 不存在", field="dept_code")
        out["dept_code"] = d
    lon, lat = body.get("lon"), body.get("lat")
    if lon is None and lat is None and rp is not None:
        g = to_shape(rp.geom)
        lon, lat = g.x, g.y
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (lon, lat)):
        raise GeoError("location_missing", "请在地图上点选隐患位置（经纬度）", field="lon")
    crs = body.get("crs") or "EPSG:4490"
    if crs not in ("EPSG:4490", "EPSG:4326", "GCJ-02"):
        raise GeoError("crs_unsupported", "坐标系只能是 EPSG:4490、EPSG:4326 或 GCJ-02", field="crs")
    out["_loc"] = locate_point(db.connection(), db.get_bind(), float(lon), float(lat), crs)
    ph = body.get("photos", [])
    if not isinstance(ph, list) or len(ph) > MAX_PHOTOS or not all(isinstance(x, str) and _PHOTO.fullmatch(x)
                                                                     for x in ph):
        raise GeoError("photos_invalid", "照片列表无效", field="photos")
    out["photos"] = ph
    a = body.get("alarm_id")
    if a is not None and (isinstance(a, bool) or not isinstance(a, int) or a <= 0):
        raise GeoError("alarm_id_invalid", "告警编号应为正整数", field="alarm_id")
    out["alarm_id"] = a
    out["_rp"] = rp
    return out


def create(db, who, f: dict, *, source: str, photos: list | None = None, record_id: int | None = None,
           found_at: dt.datetime | None = None, case_id: int | None = None) -> Hazard:
    """Register a hazard and start its workflow at 派遣. Flushes; the caller commits."""
    if source not in SOURCES:
        raise GeoError("source_invalid", f"隐患来源应为：{'、'.join(SOURCES)}")
    rt = flow.runtime(db)
    loc, rp = f["_loc"], f.get("_rp")
    dept = f.get("dept_code")
    if dept is None and f.get("category_code"):
        resp = responsible_for(db, f["category_code"], [f["_htype_name"]] if f.get("_htype_name") else [],
                               loc.resp_grid_code)
        dept = resp.dept_code if resp else None
    dept = dept or (rp.dept_code if rp else None) or loc.resp_dept_code
    at = found_at or now()
    wf = rt.start()
    status, stage = flow.status_of(wf)
    h = Hazard(code=_next_code(db, at), title=f["title"], source=source, risk_code=f.get("risk_code"),
               category_code=f.get("category_code"), hazard_type_id=f.get("hazard_type_id"),
               description=f.get("description"),
               address=f.get("address") or "".join(x for x in (loc.street_name, loc.community_name) if x) or None,
               region_code=loc.community_code or loc.street_code, resp_grid_code=loc.resp_grid_code,
               geom=from_shape(Point(loc.lon, loc.lat), srid=4490), photos=(f.get("photos") or []) + (photos or []),
               level=f["level"], dept_code=dept, status=status, stage=stage, found_at=at,
               reported_by=getattr(who, "id", None), reported_by_name=getattr(who, "display_name", None),
               alarm_id=f.get("alarm_id"), case_id=case_id, record_id=record_id, process_key=flow.PROCESS_KEY,
               process_version=rt.version, wf_state=rt.dump(wf))
    db.add(h)
    db.flush()
    _event(db, h, who, "create", comment=f.get("description"), photos=h.photos,
           data={"source": source, "process_version": rt.version, "dept_code": dept})
    if h.alarm_id is not None:
        link_alarm(db, h)
    return h


def link_alarm(db, h: Hazard) -> bool:
    """Tell the alarm module (when installed) which hazard an alarm opened."""
    if importlib.util.find_spec("webapp.lifeline.alarms") is None:
        return False
    mod = importlib.import_module("webapp.lifeline.alarms")
    fn = getattr(mod, "link_hazard", None)
    if fn is None:
        return False
    fn(db, h.alarm_id, h.id)
    return True


# -- workflow actions ------------------------------------------------------------------
ACT_FIELDS = {"task", "decision", "comment", "version", "dept_code", "deadline"}


def act(db, who, hid: int, body: dict, files: list) -> Hazard:
    unknown = set(body) - ACT_FIELDS
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    h = get_scoped(db, who, hid, lock=True)
    check_version(h, body)
    if h.status in ("rectified", "cancelled"):
        raise GeoError("hazard_closed", f"隐患 {h.code} 已{STATUSES[h.status]}，不能再办理", status=409)
    wf = workflow(db, h)
    stage = body.get("task")
    ready = next((r for r in flow.ready_tasks(wf) if r.stage == stage), None)
    if ready is None:
        raise GeoError("task_not_ready", f"隐患 {h.code} 当前不在“{stage}”环节，请刷新后重试", status=409,
                       stage=h.stage)
    if not may_work(who, ready.role, h, db):
        raise GeoError("task_not_yours", f"“{ready.name}”环节不由您办理", status=403, stage=stage)
    decision = body.get("decision")
    if not isinstance(decision, str) or decision not in flow.ACTIONS[stage]:
        raise GeoError("decision_invalid", f"“{ready.name}”环节可选：{'、'.join(flow.ACTIONS[stage].values())}",
                       allowed=list(flow.ACTIONS[stage]))
    need_comment = stage in ("handle", "feedback") or decision in ("fail", "cancel")
    comment = text_field(body, "comment", "办理意见", 1000, required=need_comment)
    data = {}
    if stage == "dispatch" and decision == "dispatch":
        d = body.get("dept_code") or h.dept_code
        if not isinstance(d, str) or db.get(Department, d) is None:
            raise GeoError("dept_unknown", f"责任单位 {d} 不存在", field="dept_code")
        deadline = date_field(body, "deadline", "整改期限")
        if deadline is not None and deadline < _today():
            raise GeoError("deadline_invalid", "整改期限不能早于今天", field="deadline")
        data = {"dept_code": d, "deadline": deadline.isoformat() if deadline else None}
    elif body.get("dept_code") is not None or body.get("deadline") is not None:
        raise GeoError("field_unknown", "只有派遣环节可以指定责任单位和整改期限")
    if stage == "feedback" and not files:
        raise GeoError("photos_missing", "反馈须附整改后的现场照片", field="photo")
    if files and stage not in ("handle", "feedback", "check"):
        raise GeoError("photos_invalid", "该环节不接收照片", field="photo")
    photos = store_photos(files)
    flow.complete(wf, ready.spiff_id, decision, {"comment": comment})
    status, new_stage = flow.status_of(wf)
    if data:
        h.dept_code = data["dept_code"]
        if data["deadline"]:
            h.plan_deadline = dt.date.fromisoformat(data["deadline"])
    h.wf_state = flow.runtime(db, h.process_version).dump(wf)
    h.status, h.stage = status, new_stage
    if status in ("rectified", "cancelled"):
        h.closed_at = now()
    if stage == "feedback":
        h.photos = (h.photos or []) + photos
    h.version += 1
    action = {"dispatch": "cancel" if decision == "cancel" else "dispatch",
              "check": "check_pass" if decision == "pass" else "check_fail"}.get(stage, stage)
    _event(db, h, who, action, task=stage, comment=comment, photos=photos,
           data={**data, "decision": decision, "status": status})
    db.flush()
    return h


PLAN_FIELDS = {"measures", "funds", "person", "phone", "deadline", "version"}


def set_plan(db, who, hid: int, body: dict) -> Hazard:
    unknown = set(body) - PLAN_FIELDS
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    h = get_scoped(db, who, hid, lock=True)
    check_version(h, body)
    if h.status not in OPEN_STATUSES:
        raise GeoError("hazard_closed", f"隐患 {h.code} 已{STATUSES[h.status]}，不能修改整改方案", status=409)
    if not (may_work(who, "monitor", h, db) or may_work(who, "dept_handler", h, db)):
        raise GeoError("plan_not_yours", "只有监测中心或该隐患的责任单位可以制定整改方案", status=403)
    measures = text_field(body, "measures", "整改措施", 2000, required=True)
    funds = body.get("funds")
    if funds is not None:
        try:
            funds = decimal.Decimal(str(funds)) if not isinstance(funds, bool) else _raise()
        except (decimal.InvalidOperation, ValueError):
            raise GeoError("funds_invalid", "整改资金应为数字（万元）", field="funds") from None
        if not funds.is_finite() or funds < 0 or funds >= 10 ** 10:
            raise GeoError("funds_invalid", "整改资金应为不小于 0 的数字（万元）", field="funds")
    person = text_field(body, "person", "整改责任人", 40, required=True)
    phone = text_field(body, "phone", "联系电话", 20)
    if phone and not _PHONE.match(phone):
        raise GeoError("phone_invalid", "联系电话格式不正确", field="phone")
    deadline = date_field(body, "deadline", "整改期限")
    if deadline is None:
        raise GeoError("deadline_invalid", "请填写整改期限", field="deadline")
    h.plan_measures, h.plan_funds, h.plan_person, h.plan_phone, h.plan_deadline = measures, funds, person, phone, deadline
    h.version += 1
    _event(db, h, who, "plan", comment=measures,
           data={"funds": float(funds) if funds is not None else None, "person": person,
                 "deadline": deadline.isoformat()})
    db.flush()
    return h


def supervise(db, who, hid: int, body: dict, on: bool) -> Hazard:
    allowed = {"level", "deadline", "note", "version"} if on else {"note", "version"}
    unknown = set(body) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    h = get_scoped(db, who, hid, lock=True)
    check_version(h, body)
    note = text_field(body, "note", "督办说明", 500, required=True)
    if on:
        if h.status not in OPEN_STATUSES:
            raise GeoError("hazard_closed", f"隐患 {h.code} 已{STATUSES[h.status]}，无需挂牌督办", status=409)
        if h.supervised:
            raise GeoError("already_supervised", f"隐患 {h.code} 已挂牌督办", status=409)
        lv = body.get("level")
        if lv not in SUPERVISE_LEVELS:
            raise GeoError("supervise_level_invalid", f"督办级别应为：{'、'.join(SUPERVISE_LEVELS.values())}",
                           field="level")
        deadline = date_field(body, "deadline", "督办期限")
        if deadline is None or deadline < _today():
            raise GeoError("deadline_invalid", "请填写不早于今天的督办期限", field="deadline")
        h.supervised, h.supervise_level, h.supervise_deadline, h.supervise_note = True, lv, deadline, note
        h.supervise_by, h.supervise_at = who.display_name, now()
        h.supervise_lifted_by = h.supervise_lifted_at = None
        data = {"level": lv, "deadline": deadline.isoformat()}
    else:
        if not h.supervised:
            raise GeoError("not_supervised", f"隐患 {h.code} 未挂牌督办，无需摘牌", status=409)
        h.supervised = False
        h.supervise_lifted_by, h.supervise_lifted_at = who.display_name, now()
        data = {"level": h.supervise_level}
    h.version += 1
    _event(db, h, who, "supervise" if on else "unsupervise", comment=note, data=data)
    db.flush()
    return h


# -- ledger ----------------------------------------------------------------------------
def due_expr():
    """SQL: the earlier of the plan deadline and (while supervised) the 督办 deadline."""
    sup = case((Hazard.supervised, Hazard.supervise_deadline), else_=None)
    return func.least(Hazard.plan_deadline, sup)


def overdue_expr():
    return and_(Hazard.status.in_(OPEN_STATUSES), due_expr() < _TODAY)


def ledger_filters(db, args, who, *, skip_status: bool = False) -> list:
    conds = [scope_cond(who)]
    st = args.get("status") or ""
    if st and not skip_status:
        if st == "open":
            conds.append(Hazard.status.in_(OPEN_STATUSES))
        elif st in STATUSES:
            conds.append(Hazard.status == st)
        else:
            raise GeoError("status_invalid", f"状态应为：open、{'、'.join(STATUSES)}")
    if args.get("category"):
        conds.append(Hazard.category_code.in_(category_subtree(db, args["category"])))
    if args.get("dept"):
        conds.append(Hazard.dept_code == args["dept"])
    if args.get("level"):
        if args["level"] not in ("1", "2", "3", "4"):
            raise GeoError("level_invalid", "隐患等级应为 1 到 4")
        conds.append(Hazard.level == int(args["level"]))
    if args.get("source"):
        if args["source"] not in SOURCES:
            raise GeoError("source_invalid", f"隐患来源应为：{'、'.join(SOURCES)}")
        conds.append(Hazard.source == args["source"])
    for key, expr in (("supervised", Hazard.supervised), ("overdue", overdue_expr())):
        v = args.get(key)
        if v in ("1", "true"):
            conds.append(expr)
        elif v in ("0", "false"):
            conds.append(~expr)
        elif v not in (None, ""):
            raise GeoError(f"{key}_invalid", f"{key} 应为 1 或 0")
    if args.get("q"):
        like = f"%{args['q'].strip()[:60]}%"
        conds.append(or_(Hazard.code.ilike(like), Hazard.title.ilike(like), Hazard.address.ilike(like)))
    if args.get("record"):
        if not args["record"].isdigit():
            raise GeoError("record_invalid", "巡检记录编号应为整数")
        conds.append(Hazard.record_id == int(args["record"]))
    return conds


def counts(db, conds: list) -> dict:
    row = db.execute(select(
        *(func.count().filter(Hazard.status == s).label(s) for s in STATUSES),
        func.count().filter(Hazard.supervised & Hazard.status.in_(OPEN_STATUSES)).label("supervised"),
        func.count().filter(overdue_expr()).label("overdue"),
        func.count().label("total")).where(*conds)).one()
    out = dict(row._mapping)
    out["open"] = sum(out[s] for s in OPEN_STATUSES)
    return out
