"""GET /basemap/{z}/{x}/{y}.png: the offline basemap.

The government intranet has no internet map, so the base is drawn from our
own layers (county, streets, communities, rivers, roads) into 256×256 PNG
tiles (Web Mercator, XYZ numbering). PostGIS clips and projects every
geometry into tile pixels with ST_AsMVTGeom; Pillow only draws them, at
twice the size and then downsampled, which gives antialiased lines.

Public on purpose: it is a picture of base geography that pygeoapi's HTML
pages also use (server.map.url in ogc/config.py).
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import threading
import time
from collections import OrderedDict

import shapely
from flask import Blueprint, current_app, jsonify, make_response, request
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import text

from webapp.auth.permissions import public
from webapp.db import get_db

bp = Blueprint("basemap", __name__)

TILE = 256
SS = 2                      # supersampling factor
EXT = TILE * SS             # drawing extent (pixels of the big image)
BUF = 16 * SS               # geometry buffer around the tile (big pixels)
LABEL_BUF = 128             # label anchor buffer (final pixels): labels cross tile edges seamlessly
MAX_ZOOM = 22
WORLD = 2 * 20037508.342789244
CACHE_SECONDS = 3600

# Colours (a light, Tianditu-like palette that keeps our overlays readable).
OUTSIDE = (234, 232, 227)
LAND = (247, 245, 239)
COMMUNITY_LINE = (205, 193, 220)
STREET_LINE = (166, 142, 196)
COUNTY_HALO = (220, 210, 232)
COUNTY_LINE = (128, 104, 160)
RIVER = (164, 203, 232)
ROAD_CASING = (196, 188, 176)
ROAD_FILL = {"快速路": (249, 196, 110), "主干路": (252, 214, 138), "次干路": (255, 240, 196)}
ROAD_FILL_DEFAULT = (255, 255, 255)
ROAD_WIDTH_M = {"快速路": 50.0, "主干路": 40.0, "次干路": 30.0}
ROAD_WIDTH_DEFAULT_M = 16.0
ROAD_RANK = {"快速路": 3, "主干路": 2, "次干路": 1}

FONT_CANDIDATES = [
    os.environ.get("CITYOPS_BASEMAP_FONT", ""),
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
]

GEOMETRY_SQL = text("""
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4490) AS q)
SELECT kind, grade, width, ST_AsBinary(g) FROM (
  SELECT 1 AS ord, 'county' AS kind, NULL AS grade, NULL::float AS width,
         ST_AsMVTGeom(ST_Transform(r.geom, 3857), t.env, :ext, :buf) AS g
    FROM geo.region r, t WHERE r.level = 'county' AND r.geom && t.q
  UNION ALL
  SELECT 2, 'community', NULL, NULL, ST_AsMVTGeom(ST_Transform(r.geom, 3857), t.env, :ext, :buf)
    FROM geo.region r, t WHERE r.level = 'community' AND :z >= 12 AND r.geom && t.q
  UNION ALL
  SELECT 3, 'street', NULL, NULL, ST_AsMVTGeom(ST_Transform(r.geom, 3857), t.env, :ext, :buf)
    FROM geo.region r, t WHERE r.level = 'street' AND :z >= 9 AND r.geom && t.q
  UNION ALL
  SELECT 4, 'river', NULL, NULL, ST_AsMVTGeom(ST_Transform(v.geom, 3857), t.env, :ext, :buf)
    FROM geo.river v, t WHERE v.geom && t.q
  UNION ALL
  SELECT 5, 'road', d.grade, d.width_m, ST_AsMVTGeom(ST_Transform(d.geom, 3857), t.env, :ext, :buf)
    FROM geo.road d, t WHERE d.geom && t.q AND (:z >= 12 OR d.grade IN ('快速路', '主干路'))
) s WHERE g IS NOT NULL ORDER BY ord
""")

# Label anchors: polygon names at a point on the surface; line names at
# evenly spaced points along each (merged) line, with the line's direction.
# Anchors depend only on the feature and zoom, so neighbouring tiles agree.
LABEL_SQL = text("""
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :lmargin), 4490) AS q),
lines AS (
  SELECT 'road' AS kind, d.name, d.grade, (ST_Dump(ST_LineMerge(ST_Transform(d.geom, 3857)))).geom AS g
    FROM geo.road d, t WHERE :z >= 15 AND d.geom && t.q
  UNION ALL
  SELECT 'river', v.name, NULL, (ST_Dump(ST_LineMerge(ST_Transform(v.geom, 3857)))).geom
    FROM geo.river v, t WHERE :z >= 12 AND v.geom && t.q
),
spaced AS (
  SELECT kind, name, grade, g, ST_Length(g) AS len,
         greatest(1, floor(ST_Length(g) / :spacing))::int AS n FROM lines WHERE ST_Length(g) > 0
),
pts AS (
  SELECT kind, name, grade, g, len, (k + 0.5) / n AS f FROM spaced, generate_series(0, n - 1) AS k
)
SELECT kind, name, grade, ST_AsBinary(ST_AsMVTGeom(ST_LineInterpolatePoint(g, f), t.env, 256, :lbuf)),
       degrees(ST_Azimuth(ST_LineInterpolatePoint(g, greatest(0, f - :delta / len)),
                          ST_LineInterpolatePoint(g, least(1, f + :delta / len)))),
       len / :res
  FROM pts, t
UNION ALL
SELECT r.level, r.name, NULL,
       ST_AsBinary(ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(r.geom), 3857), t.env, 256, :lbuf)), 0, 0
  FROM geo.region r, t
 WHERE ((r.level = 'county' AND :z BETWEEN 7 AND 11) OR (r.level = 'street' AND :z BETWEEN 12 AND 13)
        OR (r.level = 'community' AND :z BETWEEN 14 AND 16))
   AND r.geom && t.q
""")


class TileError(ValueError):
    pass


def parse_tile(z: str, x: str, y: str) -> tuple[int, int, int]:
    try:
        zi, xi, yi = int(z), int(x), int(y)
    except ValueError:
        raise TileError("瓦片坐标 z/x/y 应为整数") from None
    if not 0 <= zi <= MAX_ZOOM:
        raise TileError(f"缩放级别 z 应在 0–{MAX_ZOOM} 之间")
    n = 2 ** zi
    if not (0 <= xi < n and 0 <= yi < n):
        raise TileError(f"级别 {zi} 的瓦片列号 x 和行号 y 应在 0–{n - 1} 之间")
    return zi, xi, yi


# -- drawing ---------------------------------------------------------------

_fonts = threading.local()   # FreeType faces are not safe to share between threads


def _font(size: int):
    cache = getattr(_fonts, "cache", None)
    if cache is None:
        cache = _fonts.cache = {}
    if size not in cache:
        cache[size] = _load_font(size)
    return cache[size]


def _load_font(size: int):
    for path in FONT_CANDIDATES:
        if not path or not os.path.exists(path):
            continue
        try:
            if path.endswith(".ttc"):
                # Prefer the Simplified Chinese face of a CJK collection.
                for index in range(10):
                    try:
                        f = ImageFont.truetype(path, size, index=index)
                    except OSError:
                        break
                    if "SC" in f.getname()[0]:
                        return f
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return None


def _parts(geom):
    """Flatten (Multi)geometries and collections into simple parts."""
    if geom is None or geom.is_empty:
        return []
    if hasattr(geom, "geoms"):
        out = []
        for g in geom.geoms:
            out.extend(_parts(g))
        return out
    return [geom]


def _rings(geom):
    for part in _parts(geom):
        if part.geom_type == "Polygon":
            yield part.exterior, [i for i in part.interiors]


def _lines(geom):
    for part in _parts(geom):
        if part.geom_type == "LineString":
            yield list(part.coords)
        elif part.geom_type == "Polygon":
            yield list(part.exterior.coords)
            for ring in part.interiors:
                yield list(ring.coords)


def _polyline(draw: ImageDraw.ImageDraw, coords, colour, width: float, caps: bool = False) -> None:
    if len(coords) < 2:
        return
    w = max(1, int(round(width)))
    draw.line(coords, fill=colour, width=w, joint="curve" if w > 2 else None)
    if caps and w > 3:
        r = w / 2
        for cx, cy in (coords[0], coords[-1]):
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)


def _ground_resolution(z: int, y: int) -> tuple[float, float]:
    """(Web Mercator units per final pixel, ground metres per final pixel) at the tile centre."""
    res = WORLD / (TILE * 2 ** z)
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / 2 ** z))))
    return res, res * math.cos(math.radians(lat))


def _road_width_px(grade: str | None, width_m: float | None, metres_per_px: float) -> float:
    w = width_m or ROAD_WIDTH_M.get(grade or "", ROAD_WIDTH_DEFAULT_M)
    minimum = 2.2 if ROAD_RANK.get(grade or "", 0) >= 2 else 1.4
    return min(max(w / metres_per_px, minimum), 26.0)


def render_geometry(rows, z: int, metres_per_px: float) -> Image.Image:
    img = Image.new("RGB", (EXT, EXT), OUTSIDE)
    draw = ImageDraw.Draw(img)
    by_kind: dict[str, list] = {}
    for kind, grade, width, wkb in rows:
        by_kind.setdefault(kind, []).append((grade, width, shapely.from_wkb(bytes(wkb))))

    county = by_kind.get("county", [])
    for _, _, g in county:                       # land inside the county
        for ext, holes in _rings(g):
            draw.polygon(list(ext.coords), fill=LAND)
            for h in holes:
                draw.polygon(list(h.coords), fill=OUTSIDE)
    for _, _, g in by_kind.get("community", []):
        for c in _lines(g):
            _polyline(draw, c, COMMUNITY_LINE, 1.0 * SS)
    for _, _, g in by_kind.get("street", []):
        for c in _lines(g):
            _polyline(draw, c, STREET_LINE, (1.6 if z >= 12 else 1.2) * SS)
    river_w = min(max(30.0 / metres_per_px, 1.5), 18.0) * SS
    for _, _, g in by_kind.get("river", []):
        for c in _lines(g):
            _polyline(draw, c, RIVER, river_w, caps=True)

    roads = sorted(by_kind.get("road", []), key=lambda r: ROAD_RANK.get(r[0] or "", 0))
    widths = [_road_width_px(grade, width, metres_per_px) * SS for grade, width, _ in roads]
    casing = max(1.0, 0.8 * SS) if z >= 13 else 0.0
    if casing:
        for (grade, width, g), w in zip(roads, widths):
            for c in _lines(g):
                _polyline(draw, c, ROAD_CASING, w + 2 * casing, caps=True)
    for (grade, width, g), w in zip(roads, widths):
        fill = ROAD_FILL.get(grade or "", ROAD_FILL_DEFAULT) if z >= 11 else ROAD_CASING
        for c in _lines(g):
            _polyline(draw, c, fill, w, caps=True)

    for _, _, g in county:                       # the county boundary on top
        for c in _lines(g):
            _polyline(draw, c, COUNTY_HALO, 6 * SS)
            _polyline(draw, c, COUNTY_LINE, 2 * SS)
    return img.resize((TILE, TILE), Image.LANCZOS)


_LABEL_STYLE = {   # kind -> (font size, fill, halo)
    "county": (18, (72, 48, 110), (255, 255, 255)),
    "street": (15, (88, 60, 128), (255, 255, 255)),
    "community": (12, (110, 96, 132), (255, 255, 255)),
    "road": (11, (70, 70, 70), (255, 255, 255)),
    "river": (12, (40, 110, 170), (240, 247, 252)),
}


def _label_image(label: str, kind: str, angle: float):
    size, fill, halo = _LABEL_STYLE[kind]
    font = _font(size)
    if font is None:
        return None
    l, t, r, b = font.getbbox(label, stroke_width=2)
    im = Image.new("RGBA", (r - l + 2, b - t + 2), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((1 - l, 1 - t), label, font=font, fill=fill, stroke_width=2, stroke_fill=halo)
    if angle:
        im = im.rotate(angle, resample=Image.BICUBIC, expand=True)
    return im


def render_labels(img: Image.Image, rows) -> None:
    placed: list[tuple[float, float, float, float]] = []
    priority = {"county": 0, "street": 0, "community": 1, "river": 2, "road": 3}
    rows = sorted(rows, key=lambda r: (priority.get(r[0], 9), -ROAD_RANK.get(r[2] or "", 0), r[1] or ""))
    for kind, name, grade, wkb, azimuth, length_px in rows:
        if not name or wkb is None or kind not in _LABEL_STYLE:
            continue
        pt = shapely.from_wkb(bytes(wkb))
        if pt.is_empty:
            continue
        angle = 0.0
        if kind in ("road", "river"):
            angle = 90.0 - float(azimuth or 0)       # azimuth is clockwise from north; PIL rotates anticlockwise
            while angle > 90:
                angle -= 180
            while angle <= -90:
                angle += 180
            size = _LABEL_STYLE[kind][0]
            if length_px and length_px < len(name) * size + 24:
                continue                              # the line is too short for its name
        im = _label_image(name, kind, angle)
        if im is None:
            return
        x0, y0 = pt.x - im.width / 2, pt.y - im.height / 2
        box = (x0, y0, x0 + im.width, y0 + im.height)
        if any(box[0] < p[2] and p[0] < box[2] and box[1] < p[3] and p[1] < box[3] for p in placed):
            continue
        placed.append(box)
        img.paste(im, (int(round(x0)), int(round(y0))), im)


def render_tile(db, z: int, x: int, y: int) -> bytes:
    res, metres_per_px = _ground_resolution(z, y)
    rows = db.execute(GEOMETRY_SQL, {"z": z, "x": x, "y": y, "ext": EXT, "buf": BUF,
                                     "margin": BUF / EXT}).fetchall()
    img = render_geometry(rows, z, metres_per_px)
    labels = db.execute(LABEL_SQL, {"z": z, "x": x, "y": y, "lbuf": LABEL_BUF, "lmargin": LABEL_BUF / TILE,
                                    "spacing": 360 * res, "delta": 12 * res, "res": res}).fetchall()
    if labels:
        render_labels(img, labels)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


# -- cache and route -----------------------------------------------------

class _TileCache:
    """A small in-process LRU cache: panning revisits the same tiles."""

    def __init__(self, size: int = 1024, ttl: float = 600.0):
        self.size, self.ttl = size, ttl
        self._data: OrderedDict[tuple, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] < time.monotonic():
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key, value: bytes) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


cache = _TileCache()


@bp.get("/basemap/<z>/<x>/<y>.png")
@public
def tile(z: str, x: str, y: str):
    try:
        zi, xi, yi = parse_tile(z, x, y)
    except TileError as err:
        return jsonify({"error": {"code": "tile_invalid", "message": str(err)}}), 400
    key = (current_app.extensions["cityops.url"], zi, xi, yi)
    png = cache.get(key)
    if png is None:
        png = render_tile(get_db(), zi, xi, yi)
        cache.put(key, png)
    resp = make_response(png)
    resp.headers["Content-Type"] = "image/png"
    resp.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    resp.set_etag(hashlib.sha1(png).hexdigest())
    return resp.make_conditional(request)
