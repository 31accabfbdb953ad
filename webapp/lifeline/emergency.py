"""Emergency management (R117 风险应急管理): teams and people by department,
experts by industry, regulations and emergency plans by category with their
files, materials and equipment with their storage place; "nearest resources"
to any point; the 应急管理 page. Reading needs lifeline:view, editing
lifeline:config. Writes go through the ORM, so each lands in the operation log.
Field tables and checks: emergency_fields.py; demo records: emergency_seed.py."""
from __future__ import annotations

import json

from flask import jsonify, render_template, request, send_file
from geoalchemy2.shape import to_shape
from sqlalchemy import func, or_, select, text

from geo.errors import GeoError
from webapp import uploads
from webapp.auth.guard import principal
from webapp.auth.permissions import has_permission, require_permission
from webapp.db import get_db
from webapp.lifeline import api, pages
from webapp.lifeline import emergency_fields as ef
from webapp.lifeline.emergency_models import EmergencyPerson, EmergencyTeam

NEAREST = {  # kind → (table, label, extra columns)
    "team": ("lifeline.emergency_team", "应急队伍",
             "name, specialty AS category, leader AS contact, phone, base_name AS place, members_count AS amount, NULL AS unit"),
    "material": ("lifeline.emergency_material", "物资装备",
                 "name, category, keeper AS contact, phone, storage_name AS place, quantity::float AS amount, unit"),
    "expert_org": ("lifeline.emergency_expert", "专家所在单位",
                   "name, industry AS category, title AS contact, phone, org AS place, NULL::float AS amount, NULL AS unit"),
}
MAX_LIMIT = 50
# Metres per degree of longitude at the county's northern edge (33.6°N): the
# smallest metres-per-degree anywhere in the county, so a degree window of
# d / M_PER_DEG always covers a metric radius d.
M_PER_DEG = 92_700.0


def _resource(name: str) -> ef.Resource:
    res = ef.RESOURCES.get(name)
    if res is None:
        raise GeoError("resource_unknown", f"未知资源类型“{name}”，可选：{'、'.join(ef.RESOURCES)}", status=404)
    return res


def _row_json(res: ef.Resource, obj) -> dict:
    out = {"id": obj.id, "version": obj.version,
           "updated_at": obj.updated_at.isoformat() if obj.updated_at else None}
    for key, f in res.fields.items():
        v = getattr(obj, key)
        if hasattr(v, "isoformat"):
            v = v.isoformat()
        elif v is not None and f.kind == "num":
            v = float(v)
        out[key] = v
        if f.kind == "choice":
            choices = f.choices if f.choices is not None else ef.DOC_CATEGORIES.get(obj.kind, {})
            out[f"{key}_name"] = choices.get(v, v)
    if res.point:
        g = to_shape(obj.geom) if obj.geom is not None else None
        out["lon"], out["lat"] = (g.x, g.y) if g is not None else (None, None)
    if res.name == "documents":
        out.update(file_name=obj.file_name, file_size=obj.file_size, has_file=obj.file_path is not None)
    return out


def _names(db) -> dict:
    return {"dept": dict(db.execute(text("SELECT code, name FROM admin.department")).all()),
            "team": dict(db.execute(select(EmergencyTeam.id, EmergencyTeam.name)).all())}


def _decorate(rows: list[dict], names: dict) -> list[dict]:
    for r in rows:
        if "dept_code" in r:
            r["dept_name"] = names["dept"].get(r["dept_code"])
        if "team_id" in r:
            r["team_name"] = names["team"].get(r["team_id"])
    return rows


def _get(res: ef.Resource, rid: int, lock: bool = False):
    q = select(res.model).where(res.model.id == rid)
    obj = get_db().scalar(q.with_for_update() if lock else q)
    if obj is None:
        raise GeoError("resource_not_found", f"{res.label} {rid} 不存在", status=404)
    return obj


def _payload(res: ef.Resource):
    """JSON body, or for documents multipart with a JSON `data` field and an optional `file`."""
    if request.mimetype == "multipart/form-data":
        if res.name != "documents":
            raise GeoError("body_invalid", "请求体应为 JSON 对象")
        try:
            body = json.loads(request.form.get("data") or "{}")
        except ValueError:
            raise GeoError("body_invalid", "data 字段应为 JSON 对象") from None
        return body, request.files.get("file")
    return request.get_json(silent=True), None


def _store_file(obj, file) -> None:
    stored = uploads.accept(file, "document")
    obj.file_path, obj.file_name, obj.file_size, obj.file_mime = \
        stored.relpath, stored.original_name, stored.size, stored.mime


# -- read ----------------------------------------------------------------------------------
@api.get("/emergency/options")
@require_permission("lifeline:view")
def emergency_options():
    db = get_db()
    return jsonify({"specialties": ef.SPECIALTIES, "industries": ef.INDUSTRIES, "doc_kinds": ef.DOC_KINDS,
                    "doc_categories": ef.DOC_CATEGORIES, "material_types": ef.MATERIAL_TYPES,
                    "material_categories": ef.MATERIAL_CATEGORIES,
                    "departments": [{"code": c, "name": n} for c, n in db.execute(text(
                        "SELECT code, name FROM admin.department ORDER BY sort, code")).all()],
                    "teams": [{"id": i, "name": n} for i, n in db.execute(
                        select(EmergencyTeam.id, EmergencyTeam.name).order_by(EmergencyTeam.id)).all()],
                    "nearest_kinds": {k: v[1] for k, v in NEAREST.items()},
                    "resources": {r.name: {"label": r.label, "point": r.point, "fields": [
                        {"key": k, "label": f.label, "kind": f.kind, "required": f.required, "choices": f.choices}
                        for k, f in r.fields.items()]} for r in ef.RESOURCES.values()},
                    "can_edit": has_permission(principal(), "lifeline:config")})


@api.get("/emergency/<name>")
@require_permission("lifeline:view")
def emergency_list(name: str):
    res = _resource(name)
    db = get_db()
    q = select(res.model)
    for key in res.filters:
        v = request.args.get(key)
        if v in (None, ""):
            continue
        f = res.fields[key]
        if f.kind == "team":
            if not v.isdigit():
                raise GeoError("filter_invalid", f"{f.label}筛选值应为编号", field=key)
            v = int(v)
        elif f.kind == "choice" and f.choices is not None and v not in f.choices:
            raise GeoError("filter_invalid", f"{f.label}“{v}”无效，可选：{'、'.join(f.choices)}", field=key)
        q = q.where(getattr(res.model, key) == v)
    kw = (request.args.get("q") or "").strip()
    if kw:
        q = q.where(or_(*(getattr(res.model, c).ilike(f"%{kw}%") for c in res.search)))
    try:
        page, size = int(request.args.get("page", 1)), int(request.args.get("size", 50))
    except ValueError:
        page = size = 0
    if page < 1 or not 1 <= size <= 500:
        raise GeoError("page_invalid", "分页参数应为 page≥1，size 为 1–500", field="page")
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(text(res.order)).limit(size).offset((page - 1) * size)).all()
    items = _decorate([_row_json(res, r) for r in rows], _names(db))
    return jsonify({"items": items, "total": total, "page": page, "size": size, "label": res.label})


@api.get("/emergency/<name>/<int:rid>")
@require_permission("lifeline:view")
def emergency_detail(name: str, rid: int):
    res = _resource(name)
    db = get_db()
    out = _decorate([_row_json(res, _get(res, rid))], _names(db))[0]
    if name == "teams":
        out["people"] = [_row_json(ef.RESOURCES["people"], p) for p in db.scalars(
            select(EmergencyPerson).where(EmergencyPerson.team_id == rid).order_by(EmergencyPerson.id))]
    return jsonify(out)


@api.get("/emergency/documents/<int:rid>/file")
@require_permission("lifeline:view")
def emergency_document_file(rid: int):
    doc = _get(ef.RESOURCES["documents"], rid)
    if doc.file_path is None:
        raise GeoError("file_missing", f"“{doc.title}”没有附件", status=404)
    return send_file(uploads.resolve(doc.file_path), mimetype=doc.file_mime or None, as_attachment=True,
                     download_name=doc.file_name)


# -- write ---------------------------------------------------------------------------------
@api.post("/emergency/<name>")
@require_permission("lifeline:config")
def emergency_create(name: str):
    res = _resource(name)
    db = get_db()
    body, file = _payload(res)
    values = ef.clean_body(db, res, body, partial=False)
    if isinstance(body, dict) and "version" in body:
        raise GeoError("field_unknown", "新建时不能指定 version")
    if name == "teams" and db.scalar(select(EmergencyTeam.id).where(EmergencyTeam.name == values["name"])):
        raise GeoError("name_taken", f"应急队伍“{values['name']}”已存在", status=409, field="name")
    obj = res.model(**values, version=1)
    if file is not None:
        _store_file(obj, file)
    db.add(obj)
    db.commit()
    return jsonify(_decorate([_row_json(res, obj)], _names(db))[0]), 201


@api.patch("/emergency/<name>/<int:rid>")
@require_permission("lifeline:config")
def emergency_update(name: str, rid: int):
    res = _resource(name)
    db = get_db()
    body, file = _payload(res)
    obj = _get(res, rid, lock=True)
    if isinstance(body, dict) and name == "documents" and "category" in body and "kind" not in body:
        body = dict(body, kind=obj.kind)      # the category is checked against the document's kind
    values = ef.clean_body(db, res, body, partial=True)
    if "version" not in body:
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    if body["version"] != obj.version:
        raise GeoError("version_conflict", f"{res.label}已被他人修改（当前版本 {obj.version}），请刷新后重试",
                       status=409, current_version=obj.version)
    if name == "teams" and "name" in values and db.scalar(
            select(EmergencyTeam.id).where(EmergencyTeam.name == values["name"], EmergencyTeam.id != rid)):
        raise GeoError("name_taken", f"应急队伍“{values['name']}”已存在", status=409, field="name")
    changed = False
    for k, v in values.items():
        if k == "geom" or getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    if file is not None:
        _store_file(obj, file)
        changed = True
    if changed:
        obj.version = obj.version + 1
    db.commit()
    return jsonify(_decorate([_row_json(res, obj)], _names(db))[0])


@api.delete("/emergency/<name>/<int:rid>")
@require_permission("lifeline:config")
def emergency_delete(name: str, rid: int):
    res = _resource(name)
    db = get_db()
    obj = _get(res, rid, lock=True)
    if name == "teams":
        n = db.scalar(select(func.count()).where(EmergencyPerson.team_id == rid))
        if n:
            raise GeoError("team_has_people", f"应急队伍“{obj.name}”还有 {n} 名队员，请先调整或删除队员",
                           status=409, people=n)
    db.delete(obj)
    db.commit()
    return "", 204


# -- nearest resources ---------------------------------------------------------------------
def nearest(db, lon: float, lat: float, kind: str, limit: int) -> list[dict]:
    """The `limit` resources nearest to the point by metric distance (EPSG:4547).
    KNN (`<->`, GiST) ranks in degrees, which is not quite metric order at this
    latitude; so the k-th KNN candidate's metric distance bounds an index
    window, and that window is ranked exactly."""
    table, _label, cols = NEAREST[kind]
    p = {"x": lon, "y": lat, "k": limit}
    pt = "ST_SetSRID(ST_MakePoint(:x, :y), 4490)"
    dist = f"ST_Distance(ST_Transform(geom, 4547), ST_Transform({pt}, 4547))"
    kth = db.execute(text(f"""SELECT max(d) FROM (SELECT {dist} AS d FROM {table} WHERE geom IS NOT NULL
                               ORDER BY geom <-> {pt} LIMIT :k) c"""), p).scalar()
    if kth is None:
        return []
    rows = db.execute(text(f"""
        SELECT id, {cols}, ST_X(geom) AS lon, ST_Y(geom) AS lat, round({dist}::numeric, 1)::float AS distance_m
          FROM {table} WHERE geom IS NOT NULL AND ST_DWithin(geom, {pt}, :w)
         ORDER BY {dist}, id LIMIT :k"""), dict(p, w=kth / M_PER_DEG + 1e-6)).mappings().all()
    return [dict(r, kind=kind) for r in rows]


@api.get("/emergency/nearest")
@require_permission("lifeline:view")
def emergency_nearest():
    db = get_db()
    kinds = [k for k in (request.args.get("kind") or "team,material").split(",") if k]
    bad = [k for k in kinds if k not in NEAREST]
    if bad or not kinds:
        raise GeoError("kind_invalid", f"资源类型“{','.join(bad)}”无效，可选：team、material、expert_org", field="kind")
    try:
        limit = int(request.args.get("limit", 5))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise GeoError("limit_invalid", f"limit 应为 1–{MAX_LIMIT} 的整数", field="limit")
    if not request.args.get("lon") or not request.args.get("lat"):
        raise GeoError("location_missing", "请提供位置的经纬度 lon、lat", field="lon")
    pt = ef.point_of(db, request.args["lon"], request.args["lat"])
    return jsonify({"lon": pt.x, "lat": pt.y, "limit": limit,
                    "results": {k: nearest(db, pt.x, pt.y, k, limit) for k in kinds},
                    "labels": {k: NEAREST[k][1] for k in kinds}})


@api.get("/emergency/map")
@require_permission("lifeline:view")
def emergency_map():
    """Team bases, storage places and expert organisations as one GeoJSON."""
    db = get_db()
    feats = []
    for kind, (table, label, cols) in NEAREST.items():
        for r in db.execute(text(f"SELECT id, {cols}, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM {table} "
                                 "WHERE geom IS NOT NULL ORDER BY id")).mappings():
            feats.append({"type": "Feature", "id": f"{kind}-{r['id']}",
                          "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                          "properties": {k: r[k] for k in ("id", "name", "category", "contact", "phone", "place",
                                                           "amount", "unit")} | {"kind": kind, "kind_name": label}})
    return jsonify({"type": "FeatureCollection", "features": feats})


@pages.get("/emergency")
@require_permission("lifeline:view")
def emergency_page():
    return render_template("lifeline/emergency.html", can_edit=has_permission(principal(), "lifeline:config"))


def seed_demo(db, log=print) -> None:
    from webapp.lifeline.emergency_seed import seed
    seed(db, log)
