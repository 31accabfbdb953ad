"""Spatial base data (R8): layer upload (Shapefile zip, GeoPackage, GeoJSON,
CSV) validated, loaded into PostGIS and published as an OGC collection.

Three steps, each a JSON call the page makes (all stateless: the stored
upload is named by its content-addressed path):
  1. POST /api/admin/spatial/uploads   file → what is in it (spatial_io)
  2. POST /api/admin/spatial/check     CRS, repair → per-problem counts (spatial_check)
  3. POST /api/admin/spatial/layers    id, title, access, colour → table + yml (spatial_publish)
A refused step changes nothing: no table, no layer file, no registry row.
Map sources live in webapp/admin/map_sources.py."""
from __future__ import annotations

import re

from flask import current_app, jsonify, render_template, request
from sqlalchemy import select

from geo.crs import crs_label, normalize_crs
from geo.errors import GeoError
from ogc.mount import catalog
from webapp import uploads
from webapp.admin import api, pages
from webapp.admin.spatial_check import PROBLEM_NAMES, check, county_boundary
from webapp.admin.spatial_io import CRS_CHOICES, FORMAT_NAMES, describe, read_source
from webapp.admin.spatial_models import SpatialLayer
from webapp.admin.spatial_publish import COLOR_RE, check_id, publish, unpublish
from webapp.auth.permissions import require_permission
from webapp.db import get_db

_UPLOAD = re.compile(r"^spatial/[0-9a-f]{2}/[0-9a-f]{64}\.(zip|gpkg|geojson|json|csv)$")
ACCESS = {"public": "公开（免登录）", "internal": "内部（需登录）"}
PUBLISH_FIELDS = {"upload", "file_name", "layer", "crs", "repair", "id", "title", "description", "access", "color"}


def _body(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    return body


def _stored(body: dict):
    rel = body.get("upload")
    if not isinstance(rel, str) or not _UPLOAD.match(rel):
        raise GeoError("spatial_upload_unknown", "上传文件标识无效，请重新上传文件")
    path = uploads.resolve(rel)  # 404 upload_not_found when it is gone
    return path, rel, rel.rsplit(".", 1)[1]


def _crs(body: dict, detected: str | None) -> str:
    given = body.get("crs")
    if given in (None, ""):
        if detected is None:
            raise GeoError("spatial_crs_required", "未识别坐标系：文件中没有坐标系信息，请选择数据的坐标系"
                           f"（{'、'.join(CRS_CHOICES)}）", status=422,
                           choices=CRS_CHOICES)
        return detected
    name = normalize_crs(given)  # crs_unsupported for anything else
    if name not in CRS_CHOICES:
        raise GeoError("crs_unsupported", f"请选择以下坐标系之一：{'、'.join(CRS_CHOICES)}")
    return name


def _layer_param(body: dict) -> str | None:
    layer = body.get("layer")
    if layer in (None, ""):
        return None
    if not isinstance(layer, str) or len(layer) > 120:
        raise GeoError("spatial_layer_unknown", "图层名称无效")
    return layer


def _read_and_check(body: dict):
    path, rel, ext = _stored(body)
    src = read_source(path, ext, _layer_param(body))
    crs = _crs(body, src.crs)
    repair = body.get("repair", False)
    if not isinstance(repair, bool):
        raise GeoError("repair_invalid", "repair 应为 true 或 false")
    settings = current_app.extensions["cityops.settings"]
    county = county_boundary(get_db(), settings.county_code)
    result = check(list(src.frame.geometry.values), crs, county, repair=repair)
    return src, crs, rel, result


def _row_json(r: SpatialLayer) -> dict:
    return {"id": r.id, "title": r.title, "description": r.description, "table": f"userdata.{r.table_name}",
            "source_file": r.source_file, "format": r.format, "format_name": FORMAT_NAMES.get(r.format, r.format),
            "source_layer": r.source_layer, "crs": r.crs, "crs_label": crs_label(r.crs),
            "crs_detected": r.crs_detected, "geometry_type": r.geometry_type, "feature_count": r.feature_count,
            "repaired_count": r.repaired_count, "access": r.access, "fields": r.fields, "style": r.style,
            "bbox": r.bbox, "created_by": r.created_by,
            "created_at": r.created_at.isoformat() if r.created_at else None,
            "ogc_url": f"/ogc/collections/{r.id}", "version": r.version}


@api.get("/spatial/layers")
@require_permission("admin:layer:view")
def spatial_layers():
    rows = get_db().scalars(select(SpatialLayer).order_by(SpatialLayer.created_at.desc())).all()
    return jsonify({"items": [_row_json(r) for r in rows], "total": len(rows)})


@api.post("/spatial/uploads")
@require_permission("admin:layer:edit")
def spatial_upload():
    stored = uploads.accept(request.files.get("file"), "spatial")
    try:
        src = read_source(stored.path, stored.ext, request.form.get("layer") or None)
    except GeoError as err:
        # A file that is bad in itself is not kept. The store is content-addressed,
        # so a file refused only for a wrong parameter (layer name) may be one
        # the operator is still working with: that one stays.
        if err.code != "spatial_layer_unknown":
            stored.path.unlink(missing_ok=True)
        raise
    report = describe(src, stored.original_name)
    report.update(upload=stored.relpath, size=stored.size, sha256=stored.sha256)
    return jsonify(report)


@api.post("/spatial/check")
@require_permission("admin:layer:edit")
def spatial_check():
    body = _body({"upload", "layer", "crs", "repair"})
    src, crs, _, result = _read_and_check(body)
    out = result.report()
    out.update(crs=crs, crs_label=crs_label(crs))
    return jsonify(out)


@api.post("/spatial/layers")
@require_permission("admin:layer:edit")
def spatial_publish():
    body = _body(PUBLISH_FIELDS)
    db = get_db()
    layer_id = check_id(db, body.get("id"), {l.id for l in catalog().current().layers})
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 80:
        raise GeoError("title_invalid", "图层名称不能为空且不超过80字")
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 1000):
        raise GeoError("description_invalid", "图层说明应为不超过1000字的文本")
    access = body.get("access", "internal")
    if access not in ACCESS:
        raise GeoError("access_invalid", "访问级别应为 public（公开）或 internal（内部）")
    color = body.get("color", "#e6550d")
    if not isinstance(color, str) or not COLOR_RE.match(color):
        raise GeoError("color_invalid", "样式颜色应为 #RRGGBB 形式，如 #e6550d")
    src, crs, rel, result = _read_and_check(body)
    if not result.ok:
        raise result.refuse()
    file_name = body.get("file_name")
    if not isinstance(file_name, str) or not file_name.strip():
        file_name = rel.rsplit("/", 1)[1]
    from webapp.auth.guard import principal
    who = principal()
    try:
        row = publish(db, current_app.extensions["cityops.settings"], layer_id=layer_id, title=title.strip(),
                      description=(description or "").strip() or None, access=access, color=color.lower(),
                      src=src, result=result, crs=crs, source_file=file_name.strip()[:255], source_path=rel,
                      created_by=who.username if who else None)
    except Exception:
        db.rollback()
        raise
    catalog().reload()
    out = _row_json(row)
    out["check"] = result.report()
    return jsonify(out), 201


@api.delete("/spatial/layers/<layer_id>")
@require_permission("admin:layer:edit")
def spatial_delete(layer_id: str):
    db = get_db()
    row = db.scalar(select(SpatialLayer).where(SpatialLayer.id == layer_id).with_for_update())
    if row is None:
        raise GeoError("spatial_layer_not_found", f"上传图层“{layer_id}”不存在", status=404)
    unpublish(db, current_app.extensions["cityops.settings"], row)
    catalog().reload()
    return "", 204


@pages.get("/spatial")
@require_permission("admin:layer:view")
def spatial_page():
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    return render_template("admin/spatial.html", access=ACCESS, problem_names=PROBLEM_NAMES,
                           crs_choices=[(c, crs_label(c)) for c in CRS_CHOICES],
                           can_edit=has_permission(principal(), "admin:layer:edit"))


# Map sources share this page group; importing here registers their routes
# without touching webapp/admin/__init__.py.
from webapp.admin import map_sources  # noqa: E402,F401


def seed_demo(db, log=print) -> None:
    """Demo records of this page: the offline basemap as default map source."""
    map_sources.seed_demo(db, log=log)
