"""Mount pygeoapi under /ogc inside our Flask app, with our access control
in front: public layers are open; internal ones need a login, an API key or
HTTP Basic credentials (what QGIS and GDAL can send)."""
from __future__ import annotations

import importlib
import re

from flask import Flask, abort, request

from ogc.config import MOUNT, prepare
from ogc.layers import Layer

_COLLECTION = re.compile(r"^/ogc/collections/([^/]+)(/items)?/?$")
_ANY_COLLECTION = re.compile(r"^/ogc/collections/([^/]+)")
_ITEMS_PARAMS = {"f", "lang", "bbox", "bbox-crs", "crs", "limit", "offset", "resulttype", "datetime", "properties",
                 "sortby", "skipGeometry", "q", "filter", "filter-lang", "filter-crs", "api_key"}


def mount(app: Flask, settings, sqlalchemy_url: str) -> list[Layer]:
    _, _, layers = prepare(settings, sqlalchemy_url)
    import pygeoapi.flask_app as pga  # reads the files prepare() wrote

    # pygeoapi builds its API object at import; in one process that serves
    # several apps (tests) make sure it reflects this configuration.
    if pga.CONFIG["server"]["url"] != settings.base_url.rstrip("/") + MOUNT or \
            set(pga.CONFIG["resources"]) != {l.id for l in layers}:
        pga = importlib.reload(pga)
    from ogc import fastpaths
    fastpaths.install()
    by_id = {l.id: l for l in layers}
    bp = pga.BLUEPRINT

    from webapp.auth.guard import principal

    @app.before_request
    def _guard():
        if not request.path.startswith(MOUNT):
            return None
        m = _COLLECTION.match(request.path) or _ANY_COLLECTION.match(request.path)
        if not m:
            return None
        layer = by_id.get(m.group(1))
        if layer is None:
            return None  # pygeoapi answers 404 in the OGC exception format
        if layer.access != "public" and principal() is None:
            abort(401, description=f"图层“{layer.id}”为内部数据，请登录或提供 API 密钥")
        if m.re is _COLLECTION and m.group(2):
            unknown = set(request.args) - _ITEMS_PARAMS - set(layer.fields)
            if unknown:
                abort(400, description=f"未知的查询参数：{'、'.join(sorted(unknown))}；"
                                       f"可用的属性字段：{'、'.join(layer.fields)}")
        return None

    app.register_blueprint(bp, url_prefix=MOUNT)
    app.extensions["cityops.layers"] = layers
    app.extensions["cityops.pygeoapi"] = pga
    return layers
