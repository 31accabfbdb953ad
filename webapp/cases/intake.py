"""Case intake from every source (R2): location in any supported CRS
(CGCS2000, WGS84, GCJ-02; converted by geo/), class, description and media;
geocoded to community, street, unit grid and responsibility grid; the
nearest component of the class proposed; nearby open cases of the same class
flagged as possible duplicates. The case is committed before the answer, so
a report acknowledged to the reporter is never lost."""
from __future__ import annotations

import json
import re

from flask import current_app, jsonify, request
from sqlalchemy import select, text

from geo.crs import normalize_crs
from geo.errors import GeoError
from geo.geocode import locate_point
from geo.models import DictItem
from webapp import sysconfig
from webapp.auth.guard import principal
from webapp.auth.permissions import require_permission
from webapp.cases import api, automation, engine, media, numbering
from webapp.cases.models import Case
from webapp.cases.search import case_vector
from webapp.cases.stages import SOURCES
from webapp.db import get_db
from webapp.validation import json_body

FIELDS = {"source", "kind", "class_code", "description", "address", "location", "reporter_name", "reporter_phone",
          "urgent"}
CRS_ALLOWED = {"EPSG:4490", "EPSG:4326", "OGC:CRS84", "GCJ-02"}
# Which sources a role may report under (an administrator may use any).
ROLE_SOURCES = {"supervisor": {"supervisor"}, "acceptor": {"hotline", "public", "media", "video"},
                "shift_chief": {"hotline", "public", "media", "video"}, "leader": {"leader"},
                "dept_handler": {"maintenance"}, "monitor": {"sensor", "video"}}
_PHONE = re.compile(r"^[0-9+\-]{5,20}$")
# A bounding box before the geodesic distance lets the GiST index on geom work; the
# smallest metres-per-degree here (longitude at the county's latitude, ~93 km) keeps it wide enough.
METRES_PER_DEGREE = 90_000.0


def _report_body() -> tuple[dict, list]:
    """JSON, or multipart with a `report` JSON field and `media` files."""
    if request.mimetype == "multipart/form-data":
        raw = request.form.get("report")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            raise GeoError("body_invalid", "report 字段应为 JSON 对象") from None
        if not isinstance(body, dict):
            raise GeoError("body_invalid", "report 字段应为 JSON 对象")
        unknown = set(request.files) - {"media"}
        if unknown:
            raise GeoError("field_unknown", f"未知文件字段: {', '.join(sorted(unknown))}")
        files = request.files.getlist("media")
        extra = set(body) - FIELDS
        if extra:
            raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(extra))}", fields=sorted(extra))
        missing = [f for f in ("source", "kind", "class_code", "description", "location") if body.get(f) in (None, "")]
        if missing:
            raise GeoError("field_missing", f"缺少必填字段: {', '.join(missing)}", fields=missing)
        return body, files
    return json_body(FIELDS, {"source", "kind", "class_code", "description", "location"}), []


def _check_class(db, kind: str, code: str) -> str:
    if kind not in ("component", "event"):
        raise GeoError("kind_invalid", "类型应为 component（部件）或 event（事件）")
    if not isinstance(code, str) or not re.fullmatch(r"\d{4}", code):
        raise GeoError("class_code_invalid", "分类编码应为4位小类编码（如 0101）")
    item = db.scalar(select(DictItem).where(DictItem.type_code == f"{kind}_class", DictItem.code == code))
    if item is None or not item.enabled:
        raise GeoError("class_unknown", f"{'部件' if kind == 'component' else '事件'}小类 {code} 不存在或已停用")
    return item.name


def _check_source(who, source) -> None:
    if source not in SOURCES:
        raise GeoError("source_invalid", "来源应为: " + "、".join(f"{k}（{v}）" for k, v in SOURCES.items()))
    if "*" in who.permissions:
        return
    allowed = set().union(*(ROLE_SOURCES.get(r, set()) for r in who.role_codes)) if who.role_codes else set()
    if source not in allowed:
        raise GeoError("source_forbidden", f"您的角色不能以“{SOURCES[source]}”来源上报", status=403)


def _location(body) -> tuple[float, float, str]:
    loc = body["location"]
    if not isinstance(loc, dict) or set(loc) - {"lon", "lat", "crs"}:
        raise GeoError("location_invalid", "location 应为 {lon, lat, crs} 对象")
    lon, lat = loc.get("lon"), loc.get("lat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat)):
        raise GeoError("location_invalid", "经度和纬度应为数字")
    crs = normalize_crs(loc.get("crs") or "EPSG:4490")
    if crs not in CRS_ALLOWED:
        raise GeoError("crs_unsupported", "上报位置支持 CGCS2000（EPSG:4490）、WGS84（EPSG:4326/CRS84）和 GCJ-02")
    return float(lon), float(lat), crs


def _nearest_component(conn, class_code: str, lon: float, lat: float) -> tuple[str | None, float | None]:
    radius = sysconfig.get("case.component_search_m")
    row = conn.execute(text("""
        SELECT code, ST_Distance(geom::geography, p::geography) AS d
          FROM geo.component, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) p) q
         WHERE class_code = :c AND geom && ST_Expand(p, :deg) AND ST_DWithin(geom::geography, p::geography, :r)
         ORDER BY geom <-> p LIMIT 1"""), {"lon": lon, "lat": lat, "c": class_code, "r": radius,
                                           "deg": radius / METRES_PER_DEGREE}).fetchone()
    return (row[0], round(float(row[1]), 1)) if row else (None, None)


def _duplicate(conn, class_code: str, lon: float, lat: float) -> int | None:
    row = conn.execute(text("""
        SELECT id FROM cases."case", (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) p) q
         WHERE class_code = :c AND status IN ('open', 'suspended')
           AND reported_at > now() - make_interval(hours => :h)
           AND geom && ST_Expand(p, :deg) AND ST_DWithin(geom::geography, p::geography, :r)
         ORDER BY geom <-> p LIMIT 1"""),
        {"lon": lon, "lat": lat, "c": class_code, "h": sysconfig.get("case.duplicate_hours"),
         "r": sysconfig.get("case.duplicate_distance_m"),
         "deg": sysconfig.get("case.duplicate_distance_m") / METRES_PER_DEGREE}).fetchone()
    return row[0] if row else None


def create_case(db, who, body: dict, files: list, at=None) -> Case:
    source, kind, code = body["source"], body["kind"], body["class_code"]
    _check_source(who, source)
    class_name = _check_class(db, kind, code)
    desc = body["description"]
    if not isinstance(desc, str) or not 2 <= len(desc.strip()) <= 2000:
        raise GeoError("description_invalid", "问题描述应为 2 到 2000 字")
    for key, label, n in (("address", "地址", 200), ("reporter_name", "上报人姓名", 40)):
        if body.get(key) is not None and (not isinstance(body[key], str) or len(body[key]) > n):
            raise GeoError(f"{key}_invalid", f"{label}应为不超过{n}字的文本")
    phone = body.get("reporter_phone")
    if phone is not None and (not isinstance(phone, str) or not _PHONE.match(phone)):
        raise GeoError("reporter_phone_invalid", "联系电话格式不正确")
    if "urgent" in body and not isinstance(body["urgent"], bool):
        raise GeoError("urgent_invalid", "urgent 应为 true 或 false")
    if len(files) > sysconfig.get("case.max_media"):
        raise GeoError("media_too_many", f"每次最多上传 {sysconfig.get('case.max_media')} 个附件")
    lon, lat, crs = _location(body)
    conn = db.connection()
    place = locate_point(conn, current_app.extensions["cityops.engine"], lon, lat, crs)
    stored = [media.accept(f) for f in files]  # every file checked before anything is written
    comp, dist = _nearest_component(conn, code, place.lon, place.lat) if kind == "component" else (None, None)
    at = at or engine.now()
    case = Case(case_no=numbering.next_case_no(db, at), source=source, kind=kind, class_code=code,
                class_name=class_name, description=desc.strip(), address=(body.get("address") or None),
                geom=f"SRID=4490;POINT({place.lon} {place.lat})", input_crs=crs, street_code=place.street_code,
                community_code=place.community_code, grid_code=place.grid_code, resp_grid_code=place.resp_grid_code,
                component_code=comp, component_distance_m=dist, reporter_id=who.id,
                reporter_name=body.get("reporter_name") or who.display_name, reporter_phone=phone,
                reported_at=at, urgent=bool(body.get("urgent")), duplicate_of=_duplicate(conn, code, place.lon, place.lat),
                status="open", process_key="", process_version=0, wf_state={}, version=1)
    case.search = case_vector(case, place)
    db.add(case)
    db.flush()
    engine.start(db, case, engine.Actor(who, role=_reporter_role(who)), at)
    media.attach(db, case, stored, event_seq=1, who=who)
    automation.after_report(db, case)
    return case


def _reporter_role(who) -> str | None:
    return next(iter(sorted(who.role_codes)), None)


@api.post("")
@require_permission("case:report")
def report():
    who = principal()
    body, files = _report_body()
    db = get_db()
    case = create_case(db, who, body, files)
    db.commit()  # acknowledged only after it is durable
    from webapp.cases.views import case_json
    return jsonify(case_json(db, case, who, full=False)), 201

