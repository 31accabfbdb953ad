"""Mount pygeoapi under /ogc inside our Flask app, with our access control
in front: public layers are open; internal ones need a login, an API key or
HTTP Basic credentials (what QGIS and GDAL can send).

pygeoapi's Flask views call a module-global `api_`; we replace it with a
proxy that answers with the API object this request chose (see
ogc.catalog): the current catalogue of this app, full or public-only."""
from __future__ import annotations

import re

from flask import Flask, abort, current_app, g, has_request_context, request
from werkzeug.datastructures import Headers

from ogc.catalog import Catalog, Snapshot
from ogc.config import MOUNT, prepare
from ogc.layers import Layer

_COLLECTION = re.compile(r"^/ogc/collections/([^/]+)(/items)?/?$")
_ANY_COLLECTION = re.compile(r"^/ogc/collections/([^/]+)")
_ITEMS_PARAMS = {"f", "lang", "bbox", "bbox-crs", "crs", "limit", "offset", "resulttype", "datetime", "properties",
                 "sortby", "skipGeometry", "q", "filter", "filter-lang", "filter-crs", "api_key"}


class _ApiProxy:
    """Stands in for pygeoapi.flask_app.api_ and forwards to the API object
    chosen for the current request (or the app's full one outside the guard)."""

    def _target(self):
        if has_request_context() and "ogc_api" in g:
            return g.ogc_api
        return current_app.extensions["cityops.catalog"].current().api

    def __getattr__(self, name):
        return getattr(self._target(), name)


def catalog(app: Flask | None = None) -> Catalog:
    return (app or current_app).extensions["cityops.catalog"]


def current_layers(app: Flask | None = None) -> list[Layer]:
    """The published layers now (reloaded in this worker if the files changed)."""
    return list(catalog(app).current().layers)


def mount(app: Flask, settings, sqlalchemy_url: str) -> list[Layer]:
    prepare(settings, sqlalchemy_url)  # pygeoapi reads these files at import
    import pygeoapi.flask_app as pga

    from ogc import fastpaths
    fastpaths.install()

    def _changed(snap: Snapshot) -> None:
        app.extensions["cityops.layers"] = list(snap.layers)

    cat = Catalog(settings, sqlalchemy_url, on_change=_changed)
    app.extensions["cityops.catalog"] = cat
    if not isinstance(pga.api_, _ApiProxy):
        pga.api_ = _ApiProxy()
    bp = pga.BLUEPRINT

    from webapp.auth.guard import principal

    @app.before_request
    def _guard():
        if not (request.path == MOUNT or request.path.startswith(MOUNT + "/")):
            return None
        snap = cat.current()
        who = principal()
        # Anonymous callers get the public-only API: landing page, collection
        # list and OpenAPI then name public layers only.
        g.ogc_api = snap.api if who is not None else snap.public_api
        m = _COLLECTION.match(request.path) or _ANY_COLLECTION.match(request.path)
        if not m:
            return None
        layer = snap.by_id.get(m.group(1))
        if layer is None:
            return None  # pygeoapi answers 404 in the OGC exception format
        if layer.access != "public" and who is None:
            abort(401, description=f"图层“{layer.id}”为内部数据，请登录或提供 API 密钥")
        if m.re is _COLLECTION and m.group(2):
            unknown = set(request.args) - _ITEMS_PARAMS - set(layer.fields)
            if unknown:
                abort(400, description=f"未知的查询参数：{'、'.join(sorted(unknown))}；"
                                       f"可用的属性字段：{'、'.join(layer.fields)}")
        return None

    @app.after_request
    def _real_headers(response):
        # pygeoapi assigns a plain dict to response.headers; anything that later
        # sets a cookie (the session refresh) needs werkzeug's Headers.
        if isinstance(response.headers, dict):
            response.headers = Headers(response.headers)
        return response

    app.register_blueprint(bp, url_prefix=MOUNT)
    app.extensions["cityops.pygeoapi"] = pga
    return list(cat.snapshot.layers)
