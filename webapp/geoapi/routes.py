"""JSON API over geo/: locate a point, geocode an address, validate
geometries and codes, convert coordinates, search features by code."""
from __future__ import annotations

import math
import re

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from geo import codes
from geo.crs import normalize_crs, transform_xy, GCJ02
from geo.errors import GeoError
from geo.geocode import county_outline, geocode_address, locate_point
from geo.geometry import validate_geometry
from webapp.auth.permissions import require_permission
from webapp.db import get_db

bp = Blueprint("geoapi", __name__)


def _engine():
    return current_app.extensions["cityops.engine"]


def _float(name: str) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        raise GeoError("parameter_missing", f"缺少参数 {name}")
    try:
        v = float(raw)
    except ValueError:
        raise GeoError("parameter_invalid", f"参数 {name} 应为数字，实际为“{raw[:40]}”") from None
    if not math.isfinite(v):
        raise GeoError("parameter_invalid", f"参数 {name} 不是有限数值")
    return v


def _only(allowed: set[str]) -> None:
    unknown = set(request.args) - allowed
    if unknown:
        raise GeoError("parameter_unknown", f"未知参数: {', '.join(sorted(unknown))}")


@bp.get("/locate")
@require_permission("geo:query")
def locate():
    """Point → county/street/community/unit grid/responsibility grid."""
    _only({"lon", "lat", "crs"})
    loc = locate_point(get_db().connection(), _engine(), _float("lon"), _float("lat"),
                       request.args.get("crs", "EPSG:4490"))
    return jsonify(loc.to_dict())


@bp.get("/geocode")
@require_permission("geo:query")
def geocode():
    _only({"address", "limit"})
    try:
        limit = min(max(int(request.args.get("limit", 5)), 1), 20)
    except ValueError:
        raise GeoError("parameter_invalid", "limit 应为 1–20 的整数") from None
    return jsonify({"candidates": geocode_address(get_db().connection(), request.args.get("address", ""), limit)})


@bp.post("/validate")
@require_permission("geo:query")
def validate():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象：{\"geometry\": …, \"crs\": …}")
    unknown = set(body) - {"geometry", "crs", "types"}
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    if "geometry" not in body:
        raise GeoError("geometry_missing", "缺少 geometry 字段")
    geom = validate_geometry(body["geometry"], crs=body.get("crs", "EPSG:4490"), county=county_outline(_engine()),
                             allowed_types=body.get("types"))
    from shapely.geometry import mapping
    return jsonify({"valid": True, "geometry": mapping(geom), "crs": "EPSG:4490"})


@bp.get("/transform")
@require_permission("geo:query")
def transform():
    _only({"x", "y", "from", "to"})
    src, dst = normalize_crs(request.args.get("from", "EPSG:4490")), normalize_crs(request.args.get("to", "EPSG:4490"))
    x, y = transform_xy(_float("x"), _float("y"), src, dst)
    return jsonify({"x": x, "y": y, "crs": dst, "note": "GCJ-02 仅用于输入/输出转换，不入库" if GCJ02 in (src, dst) else None})


@bp.get("/codes/grid/<code>")
@require_permission("geo:query")
def grid_code(code: str):
    parsed = codes.validate_grid_code(code, county=current_app.extensions["cityops.settings"].county_code)
    row = get_db().execute(text("SELECT name, community_code, area_m2 FROM geo.unit_grid WHERE code=:c"),
                           {"c": code}).fetchone()
    return jsonify({"code": code, "parsed": parsed.__dict__, "exists": row is not None,
                    "name": row[0] if row else None, "area_m2": row[2] if row else None})


@bp.get("/codes/component/<code>")
@require_permission("geo:query")
def component_code(code: str):
    db = get_db()
    known = {r[0] for r in db.execute(text(
        "SELECT code FROM geo.dict_item WHERE type_code='component_class' AND length(code)=4"))}
    parsed = codes.validate_component_code(code, county=current_app.extensions["cityops.settings"].county_code,
                                           known_classes=known)
    row = db.execute(text("SELECT name, status, grid_code FROM geo.component WHERE code=:c"), {"c": code}).fetchone()
    return jsonify({"code": code, "parsed": parsed.__dict__, "exists": row is not None,
                    "name": row[0] if row else None, "status": row[1] if row else None,
                    "grid_code": row[2] if row else None})


_SEARCHABLE = [
    ("components", "geo.component", "code", "name"),
    ("unit-grids", "geo.unit_grid", "code", "name"),
    ("resp-grids", "geo.resp_grid", "code", "name"),
    ("communities", "geo.region", "code", "name"),
    ("bridges", "geo.bridge", "code", "name"),
    ("risk-points", "geo.risk_point", "code", "name"),
]


@bp.get("/search")
@require_permission("geo:query")
def search():
    """Find features by code (prefix) or by name, for the map's search box."""
    _only({"q"})
    q = (request.args.get("q") or "").strip()
    if not q or len(q) > 40:
        raise GeoError("query_invalid", "请输入 1–40 个字符的编码或名称")
    db = get_db()
    results = []
    is_code = re.fullmatch(r"[0-9A-Za-z]+", q) is not None
    for collection, table, key, name in _SEARCHABLE:
        if is_code:
            cond, param = f"{key} LIKE :p", q + "%"
        else:
            cond, param = f"{name} LIKE :p", "%" + q + "%"
        rows = db.execute(text(
            f"SELECT {key}, {name}, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), "
            f"ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM {table} WHERE {cond} "
            f"ORDER BY {key} LIMIT 5"), {"p": param}).fetchall()
        for r in rows:
            results.append({"collection": collection, "id": r[0], "name": r[1], "lon": r[2], "lat": r[3],
                            "bbox": [r[4], r[5], r[6], r[7]]})
    return jsonify({"results": results[:20]})
