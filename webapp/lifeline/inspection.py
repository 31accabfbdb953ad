"""Inspection (巡检, R111–R114): plans (point / line / area), inspectors with
mileage, duration and on-duty state from their GPS tracks, records with route
and reported problems (each problem opens a hazard, source `inspection`),
statistics and Excel exports, and the phone page that records a round.

Rules for tracks and statistics are in inspection_service; tables in
inspection_models."""
from __future__ import annotations

import datetime as dt
import io

from flask import jsonify, render_template, request, send_file, url_for
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping
from sqlalchemy import func, select, text

from geo.errors import GeoError
from geo.geocode import county_outline
from geo.geometry import validate_geometry
from webapp.auth import scope
from webapp.auth.guard import principal
from webapp.auth.models import Department, User
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api, pages
from webapp.lifeline import hazard_service as hsvc
from webapp.lifeline import inspection_service as isvc
from webapp.lifeline.hazard_models import Hazard
from webapp.validation import body_and_files
from webapp.lifeline.inspection_models import InspectionPlan, InspectionRecord, Inspector
from webapp.lifeline.risk_config import config_json
from webapp.lifeline.risk_models import RiskCategory

KINDS = {"point": "巡查点", "line": "巡查线", "area": "巡查面"}
KIND_TYPES = {"point": ["Point", "MultiPoint"], "line": ["LineString", "MultiLineString"],
              "area": ["Polygon", "MultiPolygon"]}
FREQUENCIES = {"daily": "每日", "weekly": "每周", "monthly": "每月"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TZ = dt.timezone(dt.timedelta(hours=8))


# -- helpers ---------------------------------------------------------------------------
def _visible_users(db, who) -> set[int] | None:
    """Inspectors whose records the caller may see (None: all)."""
    if who.data_scope == "all":
        return None
    if who.data_scope == "dept" and who.dept_code:
        return set(db.scalars(select(User.id).where(User.dept_code.in_(scope.dept_subtree(who.dept_code)))))
    return {who.id}


def _period() -> tuple[dt.datetime, dt.datetime]:
    """from/to dates (Asia/Shanghai, inclusive); default: the last 7 days."""
    today = dt.datetime.now(TZ).date()
    out = []
    for key, default in (("from", today - dt.timedelta(days=6)), ("to", today)):
        v = request.args.get(key)
        try:
            out.append(dt.date.fromisoformat(v) if v else default)
        except ValueError:
            raise GeoError("period_invalid", f"参数 {key} 应为日期（YYYY-MM-DD）") from None
    if out[1] < out[0] or (out[1] - out[0]).days > 366:
        raise GeoError("period_invalid", "统计时段应为结束不早于开始、且不超过一年")
    return (dt.datetime.combine(out[0], dt.time(), TZ), dt.datetime.combine(out[1] + dt.timedelta(days=1), dt.time(), TZ))


def _user_arg() -> int | None:
    v = request.args.get("user")
    if v in (None, ""):
        return None
    if not v.isdigit():
        raise GeoError("user_invalid", "参数 user 应为用户编号")
    return int(v)


def _xlsx(wb, name: str):
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, mimetype=XLSX, as_attachment=True,
                     download_name=f"{name}-{dt.datetime.now(TZ):%Y%m%d}.xlsx")


def _bold_header(*sheets):
    from openpyxl.styles import Font
    for ws in sheets:
        for c in ws[1]:
            c.font = Font(bold=True)


def _local(t: dt.datetime | None) -> str | None:
    return t.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if t else None


def _refs(db) -> dict:
    inspectors = db.execute(select(User.id, User.display_name, User.dept_code).join(Inspector, Inspector.user_id == User.id)
                            .order_by(User.username)).all()
    return {"depts": [[c, n] for c, n in db.execute(select(Department.code, Department.name)
                                                    .order_by(Department.sort, Department.code))],
            "inspectors": [[i, n, d] for i, n, d in inspectors], "kinds": KINDS, "frequencies": FREQUENCIES,
            "config": config_json(db),
            "basemap": url_for("basemap.tile", z=0, x=0, y=0).replace("/0/0/0.png", "/{z}/{x}/{y}.png")}


# -- pages -----------------------------------------------------------------------------
@pages.get("/inspection/plans")
@require_permission("lifeline:view")
def inspection_plans_page():
    return render_template("lifeline/inspection_plans.html", refs=_refs(get_db()))


@pages.get("/inspection/inspectors")
@require_permission("lifeline:view")
def inspectors_page():
    return render_template("lifeline/inspection_inspectors.html", refs=_refs(get_db()))


@pages.get("/inspection/records")
@require_permission("lifeline:view")
def inspection_records_page():
    return render_template("lifeline/inspection_records.html", refs=_refs(get_db()))


@pages.get("/inspection/stats")
@require_permission("lifeline:view")
def inspection_stats_page():
    return render_template("lifeline/inspection_stats.html", refs=_refs(get_db()))


@pages.get("/inspection/run")
@require_permission("lifeline:hazard:handle")
def inspection_run_page():
    return render_template("lifeline/inspection_run.html", refs=_refs(get_db()))


# -- plans (R111) ----------------------------------------------------------------------
def plan_json(p: InspectionPlan, names: dict) -> dict:
    return {"id": p.id, "name": p.name, "kind": p.kind, "kind_name": KINDS[p.kind], "category_code": p.category_code,
            "category_name": names["cat"].get(p.category_code), "dept_code": p.dept_code,
            "dept_name": names["dept"].get(p.dept_code), "people": p.people,
            "people_names": [names["user"].get(u, str(u)) for u in p.people], "frequency": p.frequency,
            "frequency_name": FREQUENCIES[p.frequency], "times": p.times, "valid_from": p.valid_from.isoformat(),
            "valid_to": p.valid_to.isoformat() if p.valid_to else None, "targets": p.targets, "note": p.note,
            "enabled": p.enabled, "geometry": mapping(to_shape(p.geom)), "version": p.version}


def _plan_names(db) -> dict:
    return {"cat": dict(db.execute(select(RiskCategory.code, RiskCategory.name)).all()),
            "dept": dict(db.execute(select(Department.code, Department.name)).all()),
            "user": dict(db.execute(select(User.id, User.display_name)).all())}


PLAN_FIELDS = {"name", "kind", "category_code", "dept_code", "people", "frequency", "times", "valid_from", "valid_to",
               "note", "enabled", "geometry", "targets", "version"}


def _target_geom(db, kind: str, targets: dict):
    """Geometry from chosen risk points (point), pipes (line) or a region (area)."""
    key = {"point": "risk_points", "line": "pipes", "area": "regions"}[kind]
    codes = targets.get(key)
    if set(targets) - {key} or not isinstance(codes, list) or not 1 <= len(codes) <= 500 or \
            not all(isinstance(c, str) for c in codes):
        raise GeoError("targets_invalid", f"{KINDS[kind]}计划的 targets 应为 {{\"{key}\": [编码, …]}}", field="targets")
    table = {"point": "geo.risk_point", "line": "geo.pipe", "area": "geo.region"}[kind]
    n, wkb = db.execute(text(f"SELECT count(*), ST_AsBinary(ST_Multi(ST_Union(geom))) FROM {table} "
                             "WHERE code = ANY(:c)"), {"c": list(set(codes))}).one()
    if n != len(set(codes)):
        raise GeoError("targets_unknown", "所选对象中有不存在的编码，请重新选择", field="targets")
    import shapely
    return shapely.from_wkb(bytes(wkb))


def _clean_plan(db, body: dict, plan: InspectionPlan | None) -> dict:
    unknown = set(body) - PLAN_FIELDS
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    out = {"name": hsvc.text_field(body, "name", "计划名称", 120, required=True),
           "note": hsvc.text_field(body, "note", "备注", 500)}
    kind = body.get("kind")
    if kind not in KINDS:
        raise GeoError("kind_invalid", "巡查方式应为 巡查点（point）、巡查线（line）或巡查面（area）", field="kind")
    out["kind"] = kind
    cat = body.get("category_code") or None
    if cat is not None and (not isinstance(cat, str) or db.get(RiskCategory, cat) is None):
        raise GeoError("category_unknown", f"巡查类别 {cat} 不存在", field="category_code")
    out["category_code"] = cat
    d = body.get("dept_code") or None
    if d is not None and (not isinstance(d, str) or db.get(Department, d) is None):
        raise GeoError("dept_unknown", f"巡查部门 {d} 不存在", field="dept_code")
    out["dept_code"] = d
    people = body.get("people", [])
    if not isinstance(people, list) or not people or len(people) > 50 or \
            not all(isinstance(u, int) and not isinstance(u, bool) for u in people):
        raise GeoError("people_invalid", "请选择巡查人员（巡检人员编号列表）", field="people")
    known = set(db.scalars(select(Inspector.user_id).where(Inspector.user_id.in_(people))))
    if set(people) - known:
        raise GeoError("people_invalid", "巡查人员须是已登记的巡检人员", field="people",
                       unknown=sorted(set(people) - known))
    out["people"] = list(dict.fromkeys(people))
    if body.get("frequency") not in FREQUENCIES:
        raise GeoError("frequency_invalid", "巡查频次应为 每日、每周 或 每月", field="frequency")
    out["frequency"] = body["frequency"]
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 100:
        raise GeoError("times_invalid", "每周期巡查次数应为 1 到 100", field="times")
    out["times"] = times
    vf = hsvc.date_field(body, "valid_from", "有效期开始")
    if vf is None:
        raise GeoError("valid_from_invalid", "请填写有效期开始日期", field="valid_from")
    vt = hsvc.date_field(body, "valid_to", "有效期结束")
    if vt is not None and vt < vf:
        raise GeoError("valid_to_invalid", "有效期结束不能早于开始", field="valid_to")
    out["valid_from"], out["valid_to"] = vf, vt
    en = body.get("enabled", True)
    if not isinstance(en, bool):
        raise GeoError("enabled_invalid", "enabled 应为 true 或 false", field="enabled")
    out["enabled"] = en
    targets = body.get("targets") or {}
    if not isinstance(targets, dict):
        raise GeoError("targets_invalid", "targets 应为对象", field="targets")
    if targets:
        g = _target_geom(db, kind, targets)
    elif body.get("geometry") is not None:
        g = validate_geometry(body["geometry"], county=county_outline(db.get_bind()), allowed_types=KIND_TYPES[kind])
    else:
        raise GeoError("geometry_missing", "请在地图上绘制巡查点、线、面，或选择风险点、管线、区域", field="geometry")
    out["targets"], out["geom"] = targets, from_shape(g, srid=4490)
    return out


@api.get("/inspection/plans")
@require_permission("lifeline:view")
def insp_plan_list():
    db = get_db()
    names = _plan_names(db)
    return jsonify({"items": [plan_json(p, names) for p in db.scalars(select(InspectionPlan)
                                                                      .order_by(InspectionPlan.id))]})


@api.post("/inspection/plans")
@require_permission("lifeline:hazard:handle")
def insp_plan_create():
    db = get_db()
    body, _ = body_and_files()
    p = InspectionPlan(**_clean_plan(db, body, None))
    db.add(p)
    db.commit()
    return jsonify(plan_json(p, _plan_names(db))), 201


def _plan_locked(db, pid: int, body: dict) -> InspectionPlan:
    p = db.scalar(select(InspectionPlan).where(InspectionPlan.id == pid).with_for_update())
    if p is None:
        raise GeoError("plan_unknown", f"巡检计划 {pid} 不存在", status=404)
    v = body.get("version")
    if isinstance(v, bool) or not isinstance(v, int):
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    if v != p.version:
        raise GeoError("version_conflict", "巡检计划已被他人修改，请刷新后重试", status=409, current=p.version)
    return p


@api.put("/inspection/plans/<int:pid>")
@require_permission("lifeline:hazard:handle")
def insp_plan_update(pid: int):
    db = get_db()
    body, _ = body_and_files()
    p = _plan_locked(db, pid, body)
    for k, v in _clean_plan(db, body, p).items():
        setattr(p, k, v)
    p.version += 1
    db.commit()
    return jsonify(plan_json(p, _plan_names(db)))


@api.delete("/inspection/plans/<int:pid>")
@require_permission("lifeline:hazard:handle")
def insp_plan_delete(pid: int):
    db = get_db()
    v = request.args.get("version", "")
    p = _plan_locked(db, pid, {"version": int(v) if v.isdigit() else None})
    db.delete(p)
    db.commit()
    return jsonify({"deleted": pid})


# -- inspectors (R112) -----------------------------------------------------------------
@api.get("/inspection/inspectors")
@require_permission("lifeline:view")
def insp_inspector_list():
    db, who = get_db(), principal()
    t0, t1 = _period()
    out = isvc.stats(db, t0, t1)
    vis = _visible_users(db, who)
    if vis is not None:
        out["items"] = [r for r in out["items"] if r["user_id"] in vis]
    return jsonify(out)


@api.post("/inspection/inspectors")
@require_permission("lifeline:hazard:handle")
def insp_inspector_add():
    db = get_db()
    body, _ = body_and_files()
    if set(body) - {"user_id", "phone"}:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(set(body) - {'user_id', 'phone'}))}")
    uid = body.get("user_id")
    u = db.get(User, uid) if isinstance(uid, int) and not isinstance(uid, bool) else None
    if u is None or not u.enabled:
        raise GeoError("user_unknown", "用户不存在或已停用", field="user_id")
    if db.get(Inspector, uid) is not None:
        raise GeoError("inspector_exists", f"{u.display_name} 已是巡检人员", status=409)
    phone = hsvc.text_field(body, "phone", "联系电话", 20)
    if phone and not hsvc._PHONE.match(phone):
        raise GeoError("phone_invalid", "联系电话格式不正确", field="phone")
    db.add(Inspector(user_id=uid, phone=phone))
    db.commit()
    return jsonify({"user_id": uid, "display_name": u.display_name}), 201


# -- records (R113) and tracks ---------------------------------------------------------
def record_json(db, r: InspectionRecord, with_route: bool = False) -> dict:
    u = db.get(User, r.user_id)
    problems = db.scalar(select(func.count()).select_from(Hazard).where(Hazard.record_id == r.id))
    end = r.ended_at or r.last_point_at or r.started_at
    out = {"id": r.id, "user_id": r.user_id, "inspector": u.display_name if u else None, "plan_id": r.plan_id,
           "plan_name": db.scalar(select(InspectionPlan.name).where(InspectionPlan.id == r.plan_id)) if r.plan_id else None,
           "started_at": r.started_at.isoformat(), "ended_at": r.ended_at.isoformat() if r.ended_at else None,
           "last_point_at": r.last_point_at.isoformat() if r.last_point_at else None,
           "km": round(r.length_m / 1000.0, 3), "hours": round((end - r.started_at).total_seconds() / 3600.0, 2),
           "site_watch": r.site_watch, "problems": problems, "note": r.note, "open": r.ended_at is None,
           "version": r.version}
    if with_route:
        out["route"] = mapping(to_shape(r.route)) if r.route is not None else None
        nm = hsvc.names(db)
        out["problem_items"] = [hsvc.hazard_json(h, nm) for h in
                                db.scalars(select(Hazard).where(Hazard.record_id == r.id).order_by(Hazard.id))]
    return out


def _record_filters(db, who) -> list:
    t0, t1 = _period()
    conds = [InspectionRecord.started_at >= t0, InspectionRecord.started_at < t1]
    uid = _user_arg()
    if uid is not None:
        conds.append(InspectionRecord.user_id == uid)
    vis = _visible_users(db, who)
    if vis is not None:
        conds.append(InspectionRecord.user_id.in_(vis or {-1}))
    return conds


@api.get("/inspection/records")
@require_permission("lifeline:view")
def insp_record_list():
    db, who = get_db(), principal()
    conds = _record_filters(db, who)
    rows = db.scalars(select(InspectionRecord).where(*conds).order_by(InspectionRecord.started_at.desc()).limit(500))
    return jsonify({"items": [record_json(db, r) for r in rows]})


@api.get("/inspection/records.xlsx")
@require_permission("lifeline:view")
def insp_record_export():
    from openpyxl import Workbook
    db, who = get_db(), principal()
    wb = Workbook()
    ws = wb.active
    ws.title = "巡查记录"
    ws.append(["记录编号", "巡检人员", "巡检计划", "开始时间", "结束时间", "巡查里程（km）", "时长（小时）",
               "上报问题数", "工地监护数"])
    for r in db.scalars(select(InspectionRecord).where(*_record_filters(db, who)).order_by(InspectionRecord.started_at)):
        j = record_json(db, r)
        ws.append([j["id"], j["inspector"], j["plan_name"], _local(r.started_at), _local(r.ended_at), j["km"],
                   j["hours"], j["problems"], j["site_watch"]])
    ws2 = wb.create_sheet("巡检人员")
    ws2.append(["姓名", "账号", "部门", "联系电话", "在岗"])
    vis = _visible_users(db, who)
    for row in isvc.stats(db, *_period())["items"]:
        if vis is None or row["user_id"] in vis:
            ws2.append([row["display_name"], row["username"], row["dept_name"], row["phone"],
                        "在岗" if row["on_duty"] else "不在岗"])
    _bold_header(ws, ws2)
    return _xlsx(wb, "巡查记录")


def _record(db, rid: int, who, lock: bool = False, own: bool = False) -> InspectionRecord:
    q = select(InspectionRecord).where(InspectionRecord.id == rid)
    if lock:
        q = q.with_for_update()
    r = db.scalar(q)
    vis = _visible_users(db, who)
    if r is None or (vis is not None and r.user_id not in vis) or (own and r.user_id != who.id):
        raise GeoError("record_unknown", f"巡查记录 {rid} 不存在或不是您的记录", status=404)
    return r


@api.get("/inspection/records/<int:rid>")
@require_permission("lifeline:view")
def insp_record_get(rid: int):
    db = get_db()
    return jsonify(record_json(db, _record(db, rid, principal()), with_route=True))


@api.get("/inspection/records/current")
@require_permission("lifeline:hazard:handle")
def insp_record_current():
    db, who = get_db(), principal()
    r = db.scalar(select(InspectionRecord).where(InspectionRecord.user_id == who.id, InspectionRecord.ended_at.is_(None)))
    plans = [plan_json(p, _plan_names(db)) for p in db.scalars(
        select(InspectionPlan).where(InspectionPlan.enabled.is_(True), InspectionPlan.people.contains([who.id])))]
    return jsonify({"record": record_json(db, r, with_route=True) if r else None,
                    "inspector": db.get(Inspector, who.id) is not None, "plans": plans})


@api.post("/inspection/records")
@require_permission("lifeline:hazard:handle")
def insp_record_start():
    db, who = get_db(), principal()
    body, _ = body_and_files()
    if set(body) - {"plan_id"}:
        raise GeoError("field_unknown", "只能指定 plan_id")
    ins = db.get(Inspector, who.id)
    if ins is None or not ins.active:
        raise GeoError("not_inspector", "您不是在册的巡检人员，请联系管理人员登记", status=403)
    pid = body.get("plan_id")
    if pid is not None:
        p = db.get(InspectionPlan, pid) if isinstance(pid, int) and not isinstance(pid, bool) else None
        if p is None or not p.enabled:
            raise GeoError("plan_unknown", f"巡检计划 {pid} 不存在或已停用", field="plan_id")
    # One open record per inspector (a partial unique index backs this up).
    db.execute(text("SELECT pg_advisory_xact_lock(hashtext('lifeline.inspection_record'), :u)"), {"u": who.id})
    cur = db.scalar(select(InspectionRecord.id).where(InspectionRecord.user_id == who.id,
                                                     InspectionRecord.ended_at.is_(None)))
    if cur is not None:
        raise GeoError("record_open", f"您已有进行中的巡查（记录 {cur}），请先结束", status=409, record_id=cur)
    r = InspectionRecord(user_id=who.id, plan_id=pid, started_at=hsvc.now())
    db.add(r)
    db.commit()
    return jsonify(record_json(db, r, with_route=True)), 201


@api.post("/inspection/records/<int:rid>/stop")
@require_permission("lifeline:hazard:handle")
def insp_record_stop(rid: int):
    db, who = get_db(), principal()
    body, _ = body_and_files()
    if set(body) - {"note"}:
        raise GeoError("field_unknown", "只能填写 note")
    r = _record(db, rid, who, lock=True, own=True)
    if r.ended_at is not None:
        raise GeoError("record_closed", "该巡查已结束", status=409)
    r.note = hsvc.text_field(body, "note", "巡查备注", 500)
    r.ended_at = max(hsvc.now(), r.last_point_at or r.started_at)
    r.version += 1
    db.commit()
    return jsonify(record_json(db, r, with_route=True))


@api.post("/inspection/records/<int:rid>/site-watch")
@require_permission("lifeline:hazard:handle")
def insp_record_site_watch(rid: int):
    """One more construction site watched (工地监护) in this round."""
    db, who = get_db(), principal()
    r = _record(db, rid, who, lock=True, own=True)
    if r.ended_at is not None:
        raise GeoError("record_closed", "该巡查已结束", status=409)
    r.site_watch += 1
    r.version += 1
    db.commit()
    return jsonify(record_json(db, r))


@api.post("/inspection/records/<int:rid>/problems")
@require_permission("lifeline:hazard:handle")
def insp_record_problem(rid: int):
    """A problem found on the round: a hazard with source `inspection` (photo required)."""
    db, who = get_db(), principal()
    body, files = body_and_files()
    r = _record(db, rid, who, lock=True, own=True)
    if r.ended_at is not None:
        raise GeoError("record_closed", "该巡查已结束，不能再上报问题", status=409)
    if not files:
        raise GeoError("photos_missing", "上报问题须附现场照片", field="photo")
    body = {"title": "巡检发现问题", "level": 3, "crs": "EPSG:4326", **body}
    fields = hsvc.clean_new(db, body)
    photos = hsvc.store_photos(files, hsvc.MAX_PHOTOS)
    h = hsvc.create(db, who, fields, source="inspection", photos=photos, record_id=r.id)
    db.commit()
    return jsonify(hsvc.hazard_json(h, hsvc.names(db))), 201


@api.post("/inspection/tracks")
@require_permission("lifeline:hazard:handle")
def insp_track_post():
    """A batch of GPS points {t, lon, lat, accuracy} for the caller's open record."""
    db, who = get_db(), principal()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    if set(body) - {"record_id", "crs", "points"}:
        raise GeoError("field_unknown", "只能包含 record_id、crs、points")
    rid = body.get("record_id")
    if isinstance(rid, bool) or not isinstance(rid, int):
        raise GeoError("record_invalid", "record_id 应为巡查记录编号")
    r = _record(db, rid, who, lock=True, own=True)
    if r.ended_at is not None:
        raise GeoError("record_closed", "该巡查已结束，不能再上传轨迹", status=409)
    ts, x, y, acc = isvc.clean_points(db.get_bind(), body)
    # A retried batch: points already stored (same time) are skipped.
    have = set(db.scalars(text("SELECT t FROM lifeline.inspection_point WHERE record_id = :r AND t = ANY(:ts)")
                          .bindparams(r=r.id, ts=ts)))
    keep = [i for i, t in enumerate(ts) if t not in have]
    ts, x, y, acc = [ts[i] for i in keep], x[keep], y[keep], [acc[i] for i in keep]
    now = hsvc.now()
    if ts and ts[0] < r.started_at - dt.timedelta(minutes=1):
        raise GeoError("track_time_order", "轨迹点早于本次巡查的开始时间", index=keep[0])
    if ts and ts[-1] > now + isvc.FUTURE_SLACK:
        raise GeoError("track_time_future", "轨迹点时间晚于服务器当前时间，请校准手机时间", index=keep[-1])
    prev = None
    if ts and r.last_point_at is not None:
        if ts[0] <= r.last_point_at:
            raise GeoError("track_time_order", "轨迹点早于已上传的最后一个点：轨迹须按时间先后上传", index=keep[0])
        px, py = db.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM lifeline.inspection_point "
                                 "WHERE record_id = :r ORDER BY t DESC LIMIT 1"), {"r": r.id}).one()
        prev = (r.last_point_at, px, py)
    isvc.check_speed(ts, x, y, prev)
    length = r.length_m
    if ts:
        _, length = isvc.store_points(db, r.id, ts, x, y, acc)
    db.commit()
    return jsonify({"record_id": r.id, "accepted": len(ts), "duplicates": len(have), "km": round(length / 1000.0, 3)})


# -- statistics (R114) -----------------------------------------------------------------
@api.get("/inspection/stats")
@require_permission("lifeline:view")
def insp_stats_get():
    db, who = get_db(), principal()
    out = isvc.stats(db, *_period(), user_id=_user_arg())
    vis = _visible_users(db, who)
    if vis is not None:
        out["items"] = [r for r in out["items"] if r["user_id"] in vis]
        out["totals"] = _totals(out["items"])
    return jsonify(out)


def _totals(items):
    return {"inspectors": len(items), "on_duty": sum(1 for r in items if r["on_duty"]),
            "records": sum(r["records"] for r in items), "problems": sum(r["problems"] for r in items),
            "site_watch": sum(r["site_watch"] for r in items), "km": round(sum(r["km"] for r in items), 3),
            "hours": round(sum(r["hours"] for r in items), 2)}


@api.get("/inspection/stats.xlsx")
@require_permission("lifeline:view")
def insp_stats_export():
    from openpyxl import Workbook
    db, who = get_db(), principal()
    t0, t1 = _period()
    out = isvc.stats(db, t0, t1)
    vis = _visible_users(db, who)
    items = [r for r in out["items"] if vis is None or r["user_id"] in vis]
    wb = Workbook()
    ws = wb.active
    ws.title = "巡检统计"
    ws.append(["巡检人员", "部门", "巡查次数", "上报问题数", "工地监护数", "巡查里程（km）", "巡查时长（小时）", "当前在岗"])
    for r in items:
        ws.append([r["display_name"], r["dept_name"], r["records"], r["problems"], r["site_watch"], r["km"], r["hours"],
                   "在岗" if r["on_duty"] else "不在岗"])
    t = _totals(items)
    ws.append(["合计", None, t["records"], t["problems"], t["site_watch"], t["km"], t["hours"], f"在岗 {t['on_duty']} 人"])
    ws.append([f"统计时段：{t0:%Y-%m-%d} 至 {(t1 - dt.timedelta(days=1)):%Y-%m-%d}"])
    _bold_header(ws)
    return _xlsx(wb, "巡检统计")
