"""Serve front-end packages installed from npm (pinned in package.json).

Only the listed packages are reachable, so node_modules is not exposed whole."""
from __future__ import annotations

from flask import Blueprint, abort, send_from_directory

from geo.settings import ROOT

NODE_MODULES = ROOT / "node_modules"
ALLOWED = {"leaflet", "bootstrap", "leaflet.markercluster", "leaflet.vectorgrid", "swagger-ui-dist", "echarts", "bpmn-js",
           "@geoman-io/leaflet-geoman-free",
           "hls.js"}

bp = Blueprint("assets", __name__)


@bp.route("/vendor/<path:path>")
def vendor(path: str):
    # A scoped package (@scope/name) is named by its first two path segments.
    package = "/".join(path.split("/", 2)[:2]) if path.startswith("@") else path.split("/", 1)[0]
    if package not in ALLOWED:
        abort(404)
    resp = send_from_directory(NODE_MODULES, path, max_age=86400)
    return resp
