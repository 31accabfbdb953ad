"""Map sources (R8): the basemaps the home map offers — our offline tiles,
Tianditu (with a key), any XYZ tile URL or a WMS service. Exactly one is the
default; disabled ones are not offered. URLs are checked so that nothing
but an http(s) tile address reaches the browser (no javascript: or data:)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import jsonify, render_template, request
from sqlalchemy import select

from geo.errors import GeoError
from webapp.admin import api, pages
from webapp.admin.spatial_models import MapSource
from webapp.auth.permissions import require_permission
from webapp.db import get_db

KINDS = {"offline": "离线底图（本系统自绘）", "tianditu": "天地图", "xyz": "XYZ 瓦片服务", "wms": "WMS 服务"}
TDT_LAYERS = {"vec": "矢量", "img": "影像", "ter": "地形"}
TDT_ANNOTATION = {"vec": "cva", "img": "cia", "ter": "cta"}
WMS_FORMATS = ["image/png", "image/jpeg"]
FIELDS = {"name", "kind", "url", "wms_layers", "wms_format", "tdt_layer", "tdt_annotation", "tdt_key",
          "attribution", "min_zoom", "max_zoom", "crs_note", "enabled", "is_default", "sort"}
_KEY = re.compile(r"^[0-9a-fA-F]{32}$")
_WMS_LAYERS = re.compile(r"^[A-Za-z0-9_:.\-]+(,[A-Za-z0-9_:.\-]+)*$")
_UNSAFE_URL = re.compile(r"[\s\"'<>\\`]")
OFFLINE_NAME = "离线底图"


def _http_url(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GeoError("map_source_url_missing", f"请填写{what}")
    url = value.strip()
    if len(url) > 500:
        raise GeoError("map_source_url_invalid", f"{what}不能超过500个字符")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise GeoError("map_source_url_scheme", f"{what}必须以 http:// 或 https:// 开头（不接受 {parts.scheme or '无协议'}: 地址）")
    if _UNSAFE_URL.search(url):
        raise GeoError("map_source_url_invalid", f"{what}中不能含空格、引号或尖括号")
    return url


def _int(body, key, lo, hi, default):
    v = body.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise GeoError(f"{key}_invalid", f"{key} 应为 {lo} 至 {hi} 的整数")
    return v


def _text(body, key, limit, label):
    v = body.get(key)
    if v in (None, ""):
        return None
    if not isinstance(v, str) or len(v.strip()) > limit:
        raise GeoError(f"{key}_invalid", f"{label}应为不超过{limit}字的文本")
    return v.strip() or None


def _bool(body, key, default):
    v = body.get(key, default)
    if not isinstance(v, bool):
        raise GeoError(f"{key}_invalid", f"{key} 应为 true 或 false")
    return v


def clean(body: dict) -> dict:
    """Validate a whole source (create, or the merged state of an edit)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 60:
        raise GeoError("name_invalid", "地图源名称不能为空且不超过60字")
    kind = body.get("kind")
    if kind not in KINDS:
        raise GeoError("map_source_kind_invalid", f"类型应为：{'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}")
    out = {"name": name.strip(), "kind": kind, "url": None, "wms_layers": None, "wms_format": None,
           "tdt_layer": None, "tdt_annotation": True, "tdt_key": None,
           "attribution": _text(body, "attribution", 200, "版权说明"), "crs_note": _text(body, "crs_note", 100, "坐标系说明"),
           "min_zoom": _int(body, "min_zoom", 0, 22, 0), "max_zoom": _int(body, "max_zoom", 0, 22, 18),
           "enabled": _bool(body, "enabled", True), "is_default": _bool(body, "is_default", False),
           "sort": _int(body, "sort", -1_000_000, 1_000_000, 0)}
    if out["min_zoom"] > out["max_zoom"]:
        raise GeoError("zoom_invalid", "最小级别不能大于最大级别")
    if out["is_default"] and not out["enabled"]:
        raise GeoError("map_source_default_disabled", "默认底图必须是启用状态")
    if kind == "xyz":
        url = _http_url(body.get("url"), "瓦片地址模板")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
        if missing:
            raise GeoError("map_source_url_template", f"瓦片地址模板缺少 {'、'.join(missing)} 占位符，"
                           "例如 https://tiles.example.cn/{z}/{x}/{y}.png")
        out["url"] = url
    elif kind == "wms":
        out["url"] = _http_url(body.get("url"), "WMS 服务地址")
        layers = body.get("wms_layers")
        if not isinstance(layers, str) or not _WMS_LAYERS.match(layers.strip()):
            raise GeoError("map_source_wms_layers", "WMS 服务需要填写图层名（layers），多个用英文逗号分隔")
        out["wms_layers"] = layers.strip()
        fmt = body.get("wms_format") or "image/png"
        if fmt not in WMS_FORMATS:
            raise GeoError("map_source_wms_format", f"WMS 图片格式应为 {'、'.join(WMS_FORMATS)}")
        out["wms_format"] = fmt
    elif kind == "tianditu":
        layer = body.get("tdt_layer") or "vec"
        if layer not in TDT_LAYERS:
            raise GeoError("map_source_tdt_layer", "天地图图层应为 vec（矢量）、img（影像）或 ter（地形）")
        key = body.get("tdt_key")
        if not isinstance(key, str) or not _KEY.match(key.strip()):
            raise GeoError("map_source_tdt_key", "天地图密钥（tk）应为32位十六进制字符，请在天地图开发者中心申请“浏览器端”密钥")
        out.update(tdt_layer=layer, tdt_key=key.strip().lower(), tdt_annotation=_bool(body, "tdt_annotation", True))
    return out


def tiles(src: MapSource) -> list[dict]:
    """What the browser draws for a source: one or two Leaflet tile layers."""
    base = {"minZoom": src.min_zoom, "maxZoom": src.max_zoom, "attribution": src.attribution or ""}
    if src.kind == "offline":
        return [dict(base, type="xyz", url="/basemap/{z}/{x}/{y}.png")]
    if src.kind == "xyz":
        return [dict(base, type="xyz", url=src.url)]
    if src.kind == "wms":
        return [dict(base, type="wms", url=src.url, layers=src.wms_layers, format=src.wms_format or "image/png")]
    # Tianditu WMTS, Web Mercator matrix set (_w); see ../shared/domain/standards.md §9.
    def tdt(layer):
        return dict(base, type="xyz", subdomains="01234567", maxNativeZoom=min(src.max_zoom, 18),
                    url=(f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                         f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}"
                         f"&TILEROW={{y}}&TILECOL={{x}}&tk={src.tdt_key}"))
    out = [tdt(src.tdt_layer or "vec")]
    if src.tdt_annotation:
        out.append(tdt(TDT_ANNOTATION[src.tdt_layer or "vec"]))
    return out


def source_json(src: MapSource, admin: bool = True) -> dict:
    out = {"id": src.id, "name": src.name, "kind": src.kind, "kind_name": KINDS[src.kind],
           "attribution": src.attribution, "min_zoom": src.min_zoom, "max_zoom": src.max_zoom,
           "crs_note": src.crs_note, "enabled": src.enabled, "is_default": src.is_default, "sort": src.sort,
           "tiles": tiles(src)}
    if admin:
        out.update(url=src.url, wms_layers=src.wms_layers, wms_format=src.wms_format, tdt_layer=src.tdt_layer,
                   tdt_annotation=src.tdt_annotation, tdt_key=src.tdt_key, version=src.version)
    return out


def enabled_sources(db) -> list[MapSource]:
    return db.scalars(select(MapSource).where(MapSource.enabled)
                      .order_by(MapSource.is_default.desc(), MapSource.sort, MapSource.id)).all()


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - FIELDS - {"version"}
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    return body


def _get(db, sid: int, lock: bool = False) -> MapSource:
    q = select(MapSource).where(MapSource.id == sid)
    src = db.scalar(q.with_for_update() if lock else q)
    if src is None:
        raise GeoError("map_source_not_found", f"地图源 {sid} 不存在", status=404)
    return src


def _name_free(db, name: str, own_id: int | None = None) -> None:
    other = db.scalar(select(MapSource).where(MapSource.name == name))
    if other is not None and other.id != own_id:
        raise GeoError("map_source_name_taken", f"已有名为“{name}”的地图源", status=409)


def _take_default(db, src: MapSource) -> None:
    """Make src the only default (others cleared first: the unique index allows one)."""
    for other in db.scalars(select(MapSource).where(MapSource.is_default, MapSource.id != (src.id or -1))):
        other.is_default = False
        other.version += 1
    db.flush()
    src.is_default = True


@api.get("/map-sources")
@require_permission("admin:layer:view")
def map_sources_list():
    rows = get_db().scalars(select(MapSource).order_by(MapSource.sort, MapSource.id)).all()
    return jsonify({"items": [source_json(r) for r in rows], "total": len(rows), "kinds": KINDS,
                    "tdt_layers": TDT_LAYERS, "wms_formats": WMS_FORMATS})


@api.post("/map-sources")
@require_permission("admin:layer:edit")
def map_source_create():
    body = _body()
    body.pop("version", None)
    data = clean(body)
    db = get_db()
    _name_free(db, data["name"])
    make_default = data.pop("is_default")
    src = MapSource(**data, is_default=False, version=1)
    db.add(src)
    db.flush()
    if make_default:
        _take_default(db, src)
    db.commit()
    return jsonify(source_json(src)), 201


@api.patch("/map-sources/<int:sid>")
@require_permission("admin:layer:edit")
def map_source_update(sid: int):
    body = _body()
    db = get_db()
    src = _get(db, sid, lock=True)
    if not isinstance(body.get("version"), int) or isinstance(body.get("version"), bool):
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    if body["version"] != src.version:
        raise GeoError("version_conflict", f"地图源“{src.name}”已被他人修改（当前版本 {src.version}），请刷新后重试",
                       status=409, current_version=src.version)
    merged = {k: getattr(src, k) for k in FIELDS}
    merged.update({k: v for k, v in body.items() if k != "version"})
    data = clean(merged)
    if src.is_default and not data["is_default"]:
        raise GeoError("map_source_default_required", "必须有一个默认底图：请把另一个地图源设为默认，而不是取消本项",
                       status=409)
    _name_free(db, data["name"], src.id)
    make_default = data.pop("is_default")
    changed = False
    for k, v in data.items():
        if getattr(src, k) != v:
            setattr(src, k, v)
            changed = True
    if make_default and not src.is_default:
        _take_default(db, src)
        changed = True
    if changed:
        src.version += 1
    db.commit()
    return jsonify(source_json(src))


@api.delete("/map-sources/<int:sid>")
@require_permission("admin:layer:edit")
def map_source_delete(sid: int):
    db = get_db()
    src = _get(db, sid, lock=True)
    if src.is_default:
        raise GeoError("map_source_default_required", f"“{src.name}”是默认底图，不能删除；请先把另一个地图源设为默认",
                       status=409)
    db.delete(src)
    db.commit()
    return "", 204


@pages.get("/map-sources")
@require_permission("admin:layer:view")
def map_sources_page():
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    return render_template("admin/map_sources.html", kinds=KINDS, tdt_layers=TDT_LAYERS, wms_formats=WMS_FORMATS,
                           can_edit=has_permission(principal(), "admin:layer:edit"))


def seed_demo(db, log=print) -> None:
    """The offline basemap as the default source (idempotent)."""
    if db.scalar(select(MapSource).where(MapSource.name == OFFLINE_NAME)) is not None:
        return
    has_default = db.scalar(select(MapSource.id).where(MapSource.is_default)) is not None
    db.add(MapSource(name=OFFLINE_NAME, kind="offline", attribution="离线底图 © 西平县城市运行管理服务平台",
                     min_zoom=0, max_zoom=20, crs_note="Web 墨卡托（EPSG:3857）瓦片，数据为 CGCS2000",
                     enabled=True, is_default=not has_default, sort=0, version=1))
    db.flush()
    log("map sources: offline basemap")
