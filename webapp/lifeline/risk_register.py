"""The risk point register (R109, R110, R118): collection (desk and mobile),
the auditor's review, direct registration, edits, LEC assessments with
history, the GeoJSON for the risk 一张图, the hazard-grouped risk list and its
Excel export. The register is geo.risk_point (the published OGC layer); every
read is limited by the caller's data scope (webapp.auth.scope)."""
from __future__ import annotations

import datetime as dt
import io
import re

from flask import jsonify, request, send_file
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text

from geo.errors import GeoError
from geo.geocode import locate_point
from geo.models import Region, RiskPoint
from webapp import uploads
from webapp.auth import scope
from webapp.auth.guard import principal
from webapp.auth.models import Department
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.validation import body_and_files
from webapp.lifeline import api
from webapp.lifeline.risk_config import (ACCIDENT_TYPES, _PHONE, category_subtree, check_version, levels,
                                         responsible_for, root_network)
from webapp.lifeline.risk_lec import compute, level_of
from webapp.lifeline.risk_models import RiskAssessment, RiskCategory, RiskEvent, RiskHazard, RiskSubmission

MAX_PHOTOS = 6
SOURCES = {"import": "数据导入", "desk": "桌面端采集", "mobile": "移动端采集", "direct": "审核员直接登记"}
SUB_STATUSES = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回"}
ACTIONS = {"submit": "上报", "approve": "审核通过", "reject": "审核驳回", "register": "直接登记", "edit": "修改",
           "assess": "风险评估"}
# Descriptive fields of a risk point (LEC is separate: l, e, c).
TEXT_FIELDS = {"name": ("风险点名称", 120, True), "location": ("所在位置", 200, False),
               "risk_object": ("风险对象", 120, False), "risk_source": ("风险源", 200, False),
               "description": ("说明", 1000, False), "resp_person": ("责任人", 40, False),
               "resp_phone": ("联系电话", 20, False)}
POINT_FIELDS = set(TEXT_FIELDS) | {"category", "hazards", "accident_types", "dept_code", "lon", "lat", "photos"}


def _who():
    return principal()


def _now():
    return dt.datetime.now(dt.timezone.utc)


# -- validation -------------------------------------------------------------------


def _clean_point(db, body: dict, partial: bool = False) -> dict:
    """Validated descriptive fields; with partial=True only those present."""
    out = {}
    for k, (label, n, req) in TEXT_FIELDS.items():
        if k not in body and (partial or not req):
            continue
        v = body.get(k)
        if v is None or (isinstance(v, str) and not v.strip()):
            if req:
                raise GeoError(f"{k}_invalid", f"{label}不能为空")
            out[k] = None
            continue
        if not isinstance(v, str) or len(v.strip()) > n:
            raise GeoError(f"{k}_invalid", f"{label}应为不超过{n}字的文本")
        out[k] = v.strip()
    if out.get("resp_phone") and not _PHONE.match(out["resp_phone"]):
        raise GeoError("resp_phone_invalid", "联系电话格式不正确")
    if "category" in body or not partial:
        cat = body.get("category")
        row = db.get(RiskCategory, cat) if isinstance(cat, str) else None
        if row is None or not row.enabled:
            raise GeoError("category_unknown", f"风险点类别 {cat} 不存在或已停用")
        out["category"] = cat
    cat = out.get("category", body.get("_category"))
    if "hazards" in body or not partial:
        hz = body.get("hazards", [])
        if not isinstance(hz, list) or not all(isinstance(x, str) for x in hz) or len(hz) > 20:
            raise GeoError("hazards_invalid", "存在隐患应为隐患名称列表")
        known = set(db.scalars(select(RiskHazard.name).where(RiskHazard.category_code == cat,
                                                             RiskHazard.enabled.is_(True))))
        bad = [x for x in hz if x not in known]
        if bad:
            raise GeoError("hazards_invalid", f"隐患“{'、'.join(bad)}”不属于所选类别", unknown=bad)
        out["hazards"] = list(dict.fromkeys(hz))
    if "accident_types" in body or not partial:
        at = body.get("accident_types", [])
        if not isinstance(at, list) or any(x not in ACCIDENT_TYPES for x in at):
            raise GeoError("accident_types_invalid", f"事故类型应取自：{'、'.join(ACCIDENT_TYPES)}")
        out["accident_types"] = list(dict.fromkeys(at))
    if "dept_code" in body:
        d = body.get("dept_code") or None
        if d is not None and (not isinstance(d, str) or db.get(Department, d) is None):
            raise GeoError("dept_unknown", f"监管单位 {d} 不存在")
        out["dept_code"] = d
    if "lon" in body or "lat" in body or not partial:
        lon, lat = body.get("lon"), body.get("lat")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (lon, lat)):
            raise GeoError("location_missing", "请在地图上点选风险点位置（经纬度）")
        loc = locate_point(db.connection(), db.get_bind(), float(lon), float(lat))
        out["lon"], out["lat"], out["_loc"] = loc.lon, loc.lat, loc
    if "photos" in body:
        ph = body["photos"]
        if not isinstance(ph, list) or len(ph) > MAX_PHOTOS or \
                not all(isinstance(x, str) and re.fullmatch(r"image/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z]{3,4}", x) for x in ph):
            raise GeoError("photos_invalid", "照片列表无效")
        out["photos"] = ph
    return out


def _store_photos(files: list, existing: list) -> list:
    if len(files) + len(existing) > MAX_PHOTOS:
        raise GeoError("photos_too_many", f"每个风险点最多 {MAX_PHOTOS} 张照片")
    return existing + [uploads.accept(f, "image").relpath for f in files]


def _lec(body: dict):
    L, E, C, D = compute(body.get("l"), body.get("e"), body.get("c"))
    return L, E, C, D


def _note(body: dict, key: str = "note", label: str = "评估说明", n: int = 500) -> str | None:
    v = body.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str) or len(v.strip()) > n:
        raise GeoError(f"{key}_invalid", f"{label}应为不超过{n}字的文本")
    return v.strip() or None


def _event(db, action, *, risk_code=None, submission_id=None, note=None, who=None):
    who = who or _who()
    db.add(RiskEvent(risk_code=risk_code, submission_id=submission_id, action=action, actor_id=who.id,
                     actor_name=who.display_name, note=note, at=_now()))


# -- register rows ------------------------------------------------------------------
def _next_code(db) -> str:
    # Serialise code generation between concurrent approvals.
    db.execute(text("SELECT pg_advisory_xact_lock(hashtext('lifeline.risk_code'))"))
    n = db.scalar(text("SELECT coalesce(max(substring(code FROM 3)::int), 0) FROM geo.risk_point "
                       "WHERE code ~ '^RP[0-9]{1,9}$'"))
    return f"RP{n + 1:04d}"


def _apply(db, rp: RiskPoint, fields: dict) -> None:
    """Copy validated fields to a register row; location fills region and,
    when not given, the responsible department/person from the responsibility list."""
    loc = fields.get("_loc")
    for k, v in fields.items():
        if k in ("lon", "lat", "_loc"):
            continue
        setattr(rp, k, v)
    if loc is not None:
        rp.geom = from_shape(Point(loc.lon, loc.lat), srid=4490)
        rp.region_code = loc.community_code or loc.street_code
        if not rp.location:
            rp.location = "".join(x for x in (loc.street_name, loc.community_name) if x) or None
    if "category" in fields:
        rp.network = _net_code(root_network(db, rp.category))
    if loc is not None and (not rp.dept_code or not rp.resp_person):
        resp = responsible_for(db, rp.category, rp.hazards or [], loc.resp_grid_code)
        if resp is not None:
            rp.dept_code = rp.dept_code or resp.dept_code
            rp.resp_person = rp.resp_person or resp.person
            rp.resp_phone = rp.resp_phone or resp.phone
        elif not rp.dept_code:
            rp.dept_code = loc.resp_dept_code


def _net_code(net: str | None) -> str | None:
    # geo.risk_point.network uses the pipe network codes (rain for drainage).
    return {"gas": "gas", "water": "water", "drainage": "rain", "heating": "heating"}.get(net or "")


def _assess(db, rp: RiskPoint, L, E, C, D, note, who, at=None) -> RiskAssessment:
    lv = level_of(D, levels(db))
    at = at or _now()
    a = RiskAssessment(risk_code=rp.code, l=L, e=E, c=C, d=D, level=lv, note=note, assessed_by=who.id,
                       assessed_by_name=who.display_name, assessed_at=at)
    db.add(a)
    rp.lec_l, rp.lec_e, rp.lec_c, rp.lec_d, rp.level, rp.assessed_at = L, E, C, D, lv, at
    return a


def _scoped_point(db, code: str, lock: bool = False) -> RiskPoint:
    q = select(RiskPoint).where(RiskPoint.code == code, _scope_cond())
    if lock:
        q = q.with_for_update()
    rp = db.scalar(q)
    if rp is None:
        raise GeoError("risk_unknown", f"风险点 {code} 不存在或不在您的数据范围内", status=404)
    return rp


def _scope_cond():
    return scope.condition(_who(), dept_col=RiskPoint.dept_code, region_col=RiskPoint.region_code,
                           owner_col=RiskPoint.created_by)


def point_json(db, rp: RiskPoint, names: dict | None = None) -> dict:
    names = names or _names(db)
    g = to_shape(rp.geom)
    lv = names["levels"].get(rp.level, {})
    f = lambda v: float(v) if v is not None else None  # noqa: E731
    return {"code": rp.code, "name": rp.name, "category": rp.category,
            "category_name": names["cat"].get(rp.category, rp.category), "network": rp.network,
            "level": rp.level, "level_name": lv.get("name"), "colour": lv.get("colour"),
            "dept_code": rp.dept_code, "dept_name": names["dept"].get(rp.dept_code),
            "resp_person": rp.resp_person, "resp_phone": rp.resp_phone, "location": rp.location,
            "region_code": rp.region_code, "region_name": names["region"].get(rp.region_code),
            "risk_object": rp.risk_object, "risk_source": rp.risk_source, "hazards": rp.hazards or [],
            "accident_types": rp.accident_types or [], "photos": rp.photos or [], "description": rp.description,
            "l": f(rp.lec_l), "e": f(rp.lec_e), "c": f(rp.lec_c), "d": f(rp.lec_d),
            "assessed_at": rp.assessed_at.isoformat() if rp.assessed_at else None, "status": rp.status,
            "source": rp.source, "source_name": SOURCES.get(rp.source), "created_by_name": rp.created_by_name,
            "reviewed_by_name": rp.reviewed_by_name,
            "reviewed_at": rp.reviewed_at.isoformat() if rp.reviewed_at else None,
            "lon": round(g.x, 7), "lat": round(g.y, 7), "version": rp.version}


def _names(db) -> dict:
    return {"cat": dict(db.execute(select(RiskCategory.code, RiskCategory.name)).all()),
            "dept": dict(db.execute(select(Department.code, Department.name)).all()),
            "region": dict(db.execute(select(Region.code, Region.name).where(Region.level != "county")).all()),
            "levels": {r.level: {"name": r.name, "colour": r.colour} for r in levels(db)}}


# -- filters (map, list, register, export) ---------------------------------------------
def _filtered(db, *, skip_hazard: bool = False):
    a = request.args
    q = select(RiskPoint).where(_scope_cond())
    if a.get("category"):
        q = q.where(RiskPoint.category.in_(category_subtree(db, a["category"])))
    if a.get("level"):
        try:
            lv = sorted({int(x) for x in a["level"].split(",")})
        except ValueError:
            raise GeoError("level_invalid", "风险等级应为 1 至 4 的整数") from None
        if any(x not in (1, 2, 3, 4) for x in lv):
            raise GeoError("level_invalid", "风险等级应为 1 至 4 的整数")
        q = q.where(RiskPoint.level.in_(lv))
    for key, n in (("street", 9), ("community", 12)):
        v = a.get(key)
        if v:
            if not re.fullmatch(r"[0-9]{%d}" % n, v):
                raise GeoError(f"{key}_invalid", f"{'街道' if key == 'street' else '社区'}代码应为{n}位数字")
            # Region scope by geometry: the point lies in the street/community polygon.
            q = q.where(func.ST_Intersects(RiskPoint.geom, select(Region.geom).where(Region.code == v)
                                           .scalar_subquery()))
    if a.get("dept"):
        q = q.where(RiskPoint.dept_code.in_(scope.dept_subtree(a["dept"])))
    if a.get("status"):
        if a["status"] not in ("active", "retired"):
            raise GeoError("status_invalid", "状态应为 active（在册）或 retired（已销号）")
        q = q.where(RiskPoint.status == a["status"])
    if a.get("q"):
        like = "%" + a["q"].strip()[:40].replace("%", r"\%").replace("_", r"\_") + "%"
        q = q.where(RiskPoint.name.ilike(like) | RiskPoint.code.ilike(like))
    if a.get("hazard") and not skip_hazard:
        if a["hazard"] == "__none__":
            q = q.where(func.jsonb_array_length(RiskPoint.hazards) == 0)
        else:
            q = q.where(RiskPoint.hazards.contains([a["hazard"]]))
    return q


@api.get("/risk/points")
@require_permission("lifeline:view")
def points_geojson():
    """GeoJSON of the filtered risk points, with counts per level (the 一张图)."""
    db = get_db()
    rows = db.scalars(_filtered(db).order_by(RiskPoint.level, RiskPoint.code)).all()
    names = _names(db)
    feats = []
    counts = {str(k): 0 for k in (1, 2, 3, 4)}
    for rp in rows:
        p = point_json(db, rp, names)
        counts[str(rp.level)] += 1
        feats.append({"type": "Feature", "id": rp.code, "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                      "properties": p})
    return jsonify({"type": "FeatureCollection", "features": feats, "numberMatched": len(feats),
                    "counts": counts, "levels": [{"level": k, **v} for k, v in names["levels"].items()]})


@api.get("/risk/points/<code>")
@require_permission("lifeline:view")
def point_detail(code: str):
    db = get_db()
    rp = _scoped_point(db, code)
    out = point_json(db, rp)
    out["assessments"] = [{"id": a.id, "l": float(a.l), "e": float(a.e), "c": float(a.c), "d": float(a.d),
                           "level": a.level, "note": a.note, "assessed_by_name": a.assessed_by_name,
                           "assessed_at": a.assessed_at.isoformat()} for a in db.scalars(
        select(RiskAssessment).where(RiskAssessment.risk_code == code)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc()))]
    sub_ids = select(RiskSubmission.id).where(RiskSubmission.risk_code == code)
    out["history"] = [{"action": e.action, "action_name": ACTIONS[e.action], "actor_name": e.actor_name,
                       "note": e.note, "at": e.at.isoformat(), "submission_id": e.submission_id} for e in db.scalars(
        select(RiskEvent).where((RiskEvent.risk_code == code) | RiskEvent.submission_id.in_(sub_ids))
        .order_by(RiskEvent.at.desc(), RiskEvent.id.desc()))]
    return jsonify(out)


@api.get("/risk/register")
@require_permission("lifeline:view")
def register_list():
    """The register table: paginated rows (no geometry) with the same filters as the map."""
    db = get_db()
    try:
        page = max(1, int(request.args.get("page", 1)))
        size = min(100, max(1, int(request.args.get("size", 20))))
    except ValueError:
        raise GeoError("page_invalid", "页码与每页条数应为整数") from None
    q = _filtered(db)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    names = _names(db)
    items = [point_json(db, rp, names) for rp in db.scalars(q.order_by(RiskPoint.code)
                                                                .offset((page - 1) * size).limit(size))]
    return jsonify({"items": items, "total": total, "page": page, "size": size})


@api.post("/risk/points")
@require_permission("lifeline:risk:review")
def point_register():
    """Direct registration by an auditor (no review needed): LEC is required."""
    body, files = body_and_files()
    unknown = set(body) - POINT_FIELDS - {"l", "e", "c", "note"}
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    db = get_db()
    fields = _clean_point(db, body)
    L, E, C, D = _lec(body)
    note = _note(body)
    fields["photos"] = _store_photos(files, fields.get("photos", []))
    who = _who()
    rp = RiskPoint(code=_next_code(db), level=4, version=1, source="direct", status="active",
                   created_by=who.id, created_by_name=who.display_name, reviewed_by=who.id,
                   reviewed_by_name=who.display_name, reviewed_at=_now(), hazards=[], accident_types=[])
    _apply(db, rp, fields)
    db.add(rp)
    db.flush()
    _assess(db, rp, L, E, C, D, note, who)
    _event(db, "register", risk_code=rp.code, note="审核员直接登记入库")
    db.commit()
    return jsonify(point_json(db, rp)), 201


@api.patch("/risk/points/<code>")
@require_permission("lifeline:risk:review")
def point_update(code: str):
    body, files = body_and_files()
    unknown = set(body) - POINT_FIELDS - {"version", "status"}
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    db = get_db()
    rp = _scoped_point(db, code, lock=True)
    check_version(rp, body, f"风险点“{rp.name}”")
    fields = _clean_point(db, dict(body, _category=body.get("category", rp.category)), partial=True)
    if "status" in body:
        if body["status"] not in ("active", "retired"):
            raise GeoError("status_invalid", "状态应为 active（在册）或 retired（已销号）")
        fields["status"] = body["status"]
    if "category" in fields and fields["category"] != rp.category and "hazards" not in fields:
        fields["hazards"] = []  # hazards belong to the category
    if files:
        fields["photos"] = _store_photos(files, fields.get("photos", rp.photos or []))
    changed = [k for k in fields if k not in ("_loc",) and k in POINT_FIELDS | {"status"}]
    _apply(db, rp, fields)
    rp.version += 1
    _event(db, "edit", risk_code=code, note="修改：" + "、".join(changed)[:480])
    db.commit()
    return jsonify(point_json(db, rp))


@api.post("/risk/points/<code>/assessments")
@require_permission("lifeline:risk:edit")
def point_assess(code: str):
    body, _files = body_and_files()
    unknown = set(body) - {"l", "e", "c", "note", "version"}
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    db = get_db()
    rp = _scoped_point(db, code, lock=True)
    if "version" in body:
        check_version(rp, body, f"风险点“{rp.name}”")
    L, E, C, D = _lec(body)
    a = _assess(db, rp, L, E, C, D, _note(body), _who())
    rp.version += 1
    _event(db, "assess", risk_code=code, note=f"L={L:g} E={E:g} C={C:g} D={D:g} → {a.level}级")
    db.commit()
    return jsonify({"id": a.id, "l": float(L), "e": float(E), "c": float(C), "d": float(D), "level": a.level,
                    "version": rp.version}), 201


@api.get("/risk/prefill")
@require_permission("lifeline:view")
def prefill():
    """What a new point at (lon, lat) gets: region, 责任网格, responsible department and person."""
    return _prefill()


@api.get("/risk/collect/prefill")
@require_permission("lifeline:risk:edit")
def collect_prefill():
    """The same for collectors, who may hold lifeline:risk:edit without lifeline:view (监督员)."""
    return _prefill()


def _prefill():
    db = get_db()
    try:
        lon, lat = float(request.args["lon"]), float(request.args["lat"])
    except (KeyError, ValueError):
        raise GeoError("location_missing", "请提供经纬度 lon、lat") from None
    loc = locate_point(db.connection(), db.get_bind(), lon, lat)
    cat = request.args.get("category") or ""
    hazards = [h for h in request.args.getlist("hazard") if h]
    resp = responsible_for(db, cat, hazards, loc.resp_grid_code) if cat else None
    dept = resp.dept_code if resp else loc.resp_dept_code
    return jsonify({"location": loc.to_dict(), "dept_code": dept,
                    "dept_name": db.scalar(select(Department.name).where(Department.code == dept)) if dept else None,
                    "resp_person": resp.person if resp else None, "resp_phone": resp.phone if resp else None,
                    "from_resp_list": resp is not None,
                    "location_text": "".join(x for x in (loc.street_name, loc.community_name) if x)})


@api.get("/risk/photos/<path:rel>")
@require_permission("lifeline:view")
def photo(rel: str):
    if not re.fullmatch(r"image/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z]{3,4}", rel):
        raise GeoError("upload_not_found", "文件不存在", status=404)
    return send_file(uploads.resolve(rel), max_age=86400)


# -- collection and review (R109) ------------------------------------------------------
def sub_json(db, s: RiskSubmission, names: dict | None = None) -> dict:
    names = names or _names(db)
    g = to_shape(s.geom)
    d = dict(s.data)
    lv = names["levels"].get(d.get("level"), {})
    return {"id": s.id, "status": s.status, "status_name": SUB_STATUSES[s.status], "source": s.source,
            "source_name": SOURCES.get(s.source), "risk_code": s.risk_code, "data": d,
            "category_name": names["cat"].get(d.get("category")), "dept_name": names["dept"].get(d.get("dept_code")),
            "level_name": lv.get("name"), "colour": lv.get("colour"), "lon": round(g.x, 7), "lat": round(g.y, 7),
            "submitted_by_name": s.submitted_by_name, "submitted_at": s.submitted_at.isoformat(),
            "decided_by_name": s.decided_by_name, "decided_at": s.decided_at.isoformat() if s.decided_at else None,
            "reason": s.reason, "version": s.version}


@api.post("/risk/submissions")
@require_permission("lifeline:risk:edit")
def submission_create():
    body, files = body_and_files()
    unknown = set(body) - POINT_FIELDS - {"l", "e", "c", "note", "source", "risk_code"}
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    source = body.get("source", "desk")
    if source not in ("desk", "mobile"):
        raise GeoError("source_invalid", "来源应为 desk（桌面端）或 mobile（移动端）")
    db = get_db()
    target = None
    if body.get("risk_code"):
        target = _scoped_point(db, str(body["risk_code"]))
    fields = _clean_point(db, body)
    L, E, C, D = _lec(body)
    loc = fields.pop("_loc")
    if "dept_code" not in fields or not fields["dept_code"]:
        resp = responsible_for(db, fields["category"], fields["hazards"], loc.resp_grid_code)
        fields["dept_code"] = resp.dept_code if resp else loc.resp_dept_code
        if resp is not None:
            fields["resp_person"] = fields.get("resp_person") or resp.person
            fields["resp_phone"] = fields.get("resp_phone") or resp.phone
    fields["photos"] = _store_photos(files, fields.get("photos", []))
    data = dict(fields, l=float(L), e=float(E), c=float(C), d=float(D), level=level_of(D, levels(db)),
                note=_note(body), region_code=loc.community_code or loc.street_code,
                location=fields.get("location") or "".join(x for x in (loc.street_name, loc.community_name) if x))
    who = _who()
    s = RiskSubmission(status="pending", source=source, risk_code=target.code if target else None, data=data,
                       geom=from_shape(Point(loc.lon, loc.lat), srid=4490), submitted_by=who.id,
                       submitted_by_name=who.display_name, submitted_at=_now(), version=1)
    db.add(s)
    db.flush()
    _event(db, "submit", submission_id=s.id, risk_code=s.risk_code,
           note=f"{SOURCES[source]}上报“{data['name']}”" + (f"（修改 {target.code}）" if target else ""))
    db.commit()
    return jsonify(sub_json(db, s)), 201


def _submissions(only_mine: bool):
    db = get_db()
    who = _who()
    q = select(RiskSubmission)
    if only_mine:
        q = q.where(RiskSubmission.submitted_by == who.id)
    st = request.args.get("status")
    if st:
        if st not in SUB_STATUSES:
            raise GeoError("status_invalid", "状态应为 pending / approved / rejected")
        q = q.where(RiskSubmission.status == st)
    names = _names(db)
    items = [sub_json(db, s, names) for s in db.scalars(q.order_by(RiskSubmission.submitted_at.desc(),
                                                                   RiskSubmission.id.desc()).limit(200))]
    counts = dict(db.execute(select(RiskSubmission.status, func.count()).where(
        RiskSubmission.submitted_by == who.id if only_mine else True).group_by(RiskSubmission.status)).all())
    return jsonify({"items": items, "counts": counts})


@api.get("/risk/submissions")
@require_permission("lifeline:risk:review")
def submission_list():
    """The auditor's queue: every submission (filter by status)."""
    return _submissions(False)


@api.get("/risk/submissions/mine")
@require_permission("lifeline:risk:edit")
def submission_mine():
    """A collector's own submissions and their decisions."""
    return _submissions(True)


def _pending(db, sid: int, body: dict) -> RiskSubmission:
    s = db.get(RiskSubmission, sid, with_for_update=True)
    if s is None:
        raise GeoError("submission_unknown", f"上报记录 {sid} 不存在", status=404)
    if s.status != "pending":
        raise GeoError("submission_decided", f"该上报已{SUB_STATUSES[s.status]}，不能重复审核", status=409)
    if "version" in body:
        check_version(s, body, "该上报")
    return s


@api.post("/risk/submissions/<int:sid>/approve")
@require_permission("lifeline:risk:review")
def submission_approve(sid: int):
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict) or set(body) - {"version", "note"}:
        raise GeoError("body_invalid", "请求体应为 JSON 对象，仅可包含 version、note")
    note = _note(body, "note", "审核意见")
    db = get_db()
    s = _pending(db, sid, body)
    d = s.data
    who = _who()
    g = to_shape(s.geom)
    # Re-validate against today's configuration (a category or hazard may have changed since).
    fields = _clean_point(db, {k: d.get(k) for k in POINT_FIELDS if k in d} | {"lon": g.x, "lat": g.y})
    L, E, C, D = compute(d["l"], d["e"], d["c"])
    if s.risk_code:
        rp = _scoped_point(db, s.risk_code, lock=True)
        _apply(db, rp, fields)
        rp.version += 1
    else:
        rp = RiskPoint(code=_next_code(db), level=4, version=1, source=s.source, status="active",
                       created_by=s.submitted_by, created_by_name=s.submitted_by_name, hazards=[], accident_types=[])
        _apply(db, rp, fields)
        db.add(rp)
        db.flush()
    rp.reviewed_by, rp.reviewed_by_name, rp.reviewed_at = who.id, who.display_name, _now()
    submitter = type("Who", (), {"id": s.submitted_by, "display_name": s.submitted_by_name})
    _assess(db, rp, L, E, C, D, d.get("note"), submitter, at=s.submitted_at)
    s.status, s.risk_code, s.decided_by, s.decided_by_name, s.decided_at = \
        "approved", rp.code, who.id, who.display_name, _now()
    s.reason = note
    s.version += 1
    _event(db, "approve", risk_code=rp.code, submission_id=s.id, note=note or f"入库为 {rp.code}")
    db.commit()
    return jsonify({"submission": sub_json(db, s), "point": point_json(db, rp)})


@api.post("/risk/submissions/<int:sid>/reject")
@require_permission("lifeline:risk:review")
def submission_reject(sid: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"version", "reason"}:
        raise GeoError("body_invalid", "请求体应为 JSON 对象，仅可包含 version、reason")
    reason = _note(body, "reason", "驳回理由")
    if not reason:
        raise GeoError("reason_missing", "请填写驳回理由")
    db = get_db()
    s = _pending(db, sid, body)
    who = _who()
    s.status, s.decided_by, s.decided_by_name, s.decided_at, s.reason = \
        "rejected", who.id, who.display_name, _now(), reason
    s.version += 1
    _event(db, "reject", risk_code=s.risk_code, submission_id=s.id, note=reason)
    db.commit()
    return jsonify(sub_json(db, s))


# -- risk list (R118) -------------------------------------------------------------------
def groups(db) -> list[dict]:
    """Risk points grouped by hazard type (category + hazard), with counts per level.
    A point with several hazards counts in each; points without hazards form their own group."""
    q = _filtered(db, skip_hazard=True).with_only_columns(RiskPoint.hazards, RiskPoint.category, RiskPoint.level)
    rows = []
    for hazards, cat, lv in db.execute(q):
        rows.extend((h, cat, lv, 1) for h in (hazards or [None]))
    names = _names(db)
    out: dict = {}
    for hazard, cat, lv, n in rows:
        key = hazard or "__none__"
        g = out.setdefault(key, {"hazard": hazard or "__none__", "hazard_name": hazard or "未关联隐患",
                                 "categories": {}, "count": 0, "levels": {"1": 0, "2": 0, "3": 0, "4": 0}})
        g["count"] += n
        g["levels"][str(lv)] += n
        g["categories"][cat] = names["cat"].get(cat, cat)
    order = {h: i for i, h in enumerate(db.scalars(select(RiskHazard.name).order_by(RiskHazard.category_code,
                                                                                    RiskHazard.sort)))}
    res = sorted(out.values(), key=lambda g: (g["hazard"] == "__none__", order.get(g["hazard"], 10 ** 6), g["hazard"]))
    for g in res:
        g["category_names"] = "、".join(g.pop("categories").values())
    return res


@api.get("/risk/groups")
@require_permission("lifeline:view")
def risk_groups():
    db = get_db()
    gs = groups(db)
    total = db.scalar(select(func.count()).select_from(_filtered(db, skip_hazard=True).subquery()))
    return jsonify({"groups": gs, "total_points": total})


@api.get("/risk/export.xlsx")
@require_permission("lifeline:view")
def risk_export():
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    db = get_db()
    wb = Workbook()
    ws = wb.active
    ws.title = "风险清单"
    ws.append(["隐患类型", "涉及类别", "风险点数", "重大风险", "较大风险", "一般风险", "低风险"])
    lv = {r.level: r for r in levels(db)}
    for i, r in lv.items():
        ws.cell(1, 3 + i).value = r.name
    for g in groups(db):
        ws.append([g["hazard_name"], g["category_names"], g["count"], *(g["levels"][str(i)] for i in (1, 2, 3, 4))])
    ws2 = wb.create_sheet("风险点明细")
    head = ["编码", "名称", "类别", "风险等级", "D值", "L", "E", "C", "存在隐患", "事故类型", "风险对象", "风险源",
            "监管单位", "责任人", "联系电话", "所在位置", "经度", "纬度"]
    ws2.append(head)
    names = _names(db)
    for rp in db.scalars(_filtered(db).order_by(RiskPoint.code)):
        p = point_json(db, rp, names)
        ws2.append([p["code"], p["name"], p["category_name"], p["level_name"], p["d"], p["l"], p["e"], p["c"],
                    "、".join(p["hazards"]), "、".join(p["accident_types"]), p["risk_object"], p["risk_source"],
                    p["dept_name"], p["resp_person"], p["resp_phone"], p["location"], p["lon"], p["lat"]])
        fill = (lv.get(rp.level).colour if lv.get(rp.level) else "#ffffff").lstrip("#")
        ws2.cell(ws2.max_row, 4).fill = PatternFill("solid", fgColor=fill)
    for sheet in (ws, ws2):
        for c in sheet[1]:
            c.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"风险清单-{dt.date.today():%Y%m%d}.xlsx")
