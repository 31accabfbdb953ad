"""The map-first home page and the layer catalogue it is built from."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from ogc.config import COUNTY_BBOX
from ogc.layers import Layer
from webapp.auth.permissions import require_permission
from webapp.db import get_db

bp = Blueprint("home", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/home")

# The map page's layer groups, in switcher order (a layer's `maps` in layers/*.yml).
GROUPS = ["基础底图", "数字城管一张图", "城市生命线一张图"]
DEFAULT_VISIBLE = {"county", "streets", "communities", "roads", "rivers", "unit-grids", "components",
                   "pipes-water", "pipes-gas"}
# Large layers are loaded for the current view only (GeoJSON by bbox), from
# this zoom on and at most `limit` features a request; the others load whole.
VIEW_LOADING = {"unit-grids": (14, 5000), "components": (17, 8000), "addresses": (17, 5000),
                "pipes-": (15, 4000), "pipe-nodes-": (17, 4000)}
WHOLE_LIMIT = 10000


def loading(layer: Layer) -> dict:
    if not layer.tiles:
        return {"mode": "all", "limit": WHOLE_LIMIT}
    for prefix, (minzoom, limit) in VIEW_LOADING.items():
        if layer.id == prefix or (prefix.endswith("-") and layer.id.startswith(prefix)):
            return {"mode": "bbox", "minzoom": minzoom, "limit": limit}
    return {"mode": "bbox", "minzoom": max(layer.tile_minzoom, 15), "limit": 4000}


def layer_json(layer: Layer) -> dict:
    return {
        "id": layer.id, "title_zh": layer.title_zh, "geometry": layer.geometry, "style": layer.style,
        "legend": layer.legend, "access": layer.access, "maps": list(layer.maps), "tiles": layer.tiles,
        "order": layer.order, "id_field": layer.id_field, "title_field": layer.title_field,
        "fields": list(layer.fields), "field_titles": layer.field_titles, "visible": layer.id in DEFAULT_VISIBLE,
        "loading": loading(layer),
    }


def _lookup(sql: str) -> dict[str, str]:
    try:
        with get_db().begin_nested():
            return {r[0]: r[1] for r in get_db().execute(text(sql))}
    except Exception:  # a missing table must not break the map page
        return {}


def home_extent() -> list[float]:
    """[west, south, east, north] of the built-up area (the streets), where the map opens."""
    try:
        with get_db().begin_nested():
            row = get_db().execute(text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) AS e FROM geo.region WHERE level = 'street') s")).fetchone()
    except Exception:
        row = None
    if row is None or row[0] is None:
        return list(COUNTY_BBOX)
    return [float(v) for v in row]


def map_sources() -> list[dict]:
    """Enabled basemaps for the switcher, default first (admin: 地图源配置).
    CITYOPS_TIANDITU_KEY still adds Tianditu for installations configured
    through the environment before map sources existed."""
    from webapp.admin.map_sources import enabled_sources, source_json
    try:
        with get_db().begin_nested():
            out = [dict(source_json(s, admin=False), value="offline" if s.kind == "offline" else f"src-{s.id}")
                   for s in enabled_sources(get_db())]
    except Exception:  # a missing table must not break the map page
        out = []
    if not any(s["kind"] == "offline" for s in out):
        out.append({"value": "offline", "name": "离线底图", "kind": "offline", "is_default": not out,
                    "tiles": [{"type": "xyz", "url": "/basemap/{z}/{x}/{y}.png", "minZoom": 0, "maxZoom": 20,
                               "attribution": "离线底图 © 西平县城市运行管理服务平台"}]})
    return out


@bp.route("/")
@require_permission("map:view")
def index():
    return render_template("home/map.html", tianditu_key=os.environ.get("CITYOPS_TIANDITU_KEY", "").strip(),
                           sources=map_sources())


@bp.get("/api/map/sources")
@require_permission("map:view")
def map_sources_api():
    return jsonify({"sources": map_sources()})


@bp.get("/api/map/layers")
@require_permission("map:view")
def map_layers():
    """Published layers with their style, legend, group and loading rule,
    plus the code → name look-ups the feature popups use."""
    from ogc.mount import current_layers
    layers = current_layers(current_app)
    return jsonify({
        "groups": GROUPS,
        "extent": home_extent(),
        "layers": [layer_json(l) for l in sorted(layers, key=lambda l: (l.order, l.id))],
        "lookups": {
            "department": _lookup("SELECT code, name FROM admin.department"),
            "region": _lookup("SELECT code, name FROM geo.region"),
            "component_class": _lookup("SELECT code, name FROM geo.dict_item WHERE type_code = 'component_class'"),
        },
    })
