"""Coordinate reference systems: names, transforms, areas and lengths.

Storage is CGCS2000 (EPSG:4490) with x = longitude, y = latitude, as PostGIS
keeps it. Every pyproj Transformer here is built with always_xy=True so that
geographic coordinates are always (lon, lat) and projected ones (easting,
northing), whatever axis order the EPSG definition declares.

GCJ-02 is accepted and produced only at the edge (input from, or output to,
a GCJ-02 basemap such as AMap/Tencent) and is NEVER stored. It is not a datum
but a deliberate, non-linear obfuscation of WGS84 of roughly 50–500 m; PROJ
declined to implement it (OSGeo/PROJ #982), the only conversions are the
public approximate formula and an iterative inverse, and stored GCJ-02 data
could not be overlaid with Tianditu, GPS or survey data without guessing.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Callable, TypeVar

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoError

CGCS2000 = "EPSG:4490"
WGS84 = "EPSG:4326"
CRS84 = "OGC:CRS84"
WEB_MERCATOR = "EPSG:3857"
GK_CM114 = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E, metres
GCJ02 = "GCJ-02"  # pseudo-CRS: no EPSG code, handled by our own formula

SUPPORTED: list[str] = [CGCS2000, WGS84, CRS84, WEB_MERCATOR, GK_CM114, GCJ02]

# CRSs whose coordinates are (lon, lat) in degrees.
GEOGRAPHIC: frozenset[str] = frozenset({CGCS2000, WGS84, CRS84, GCJ02})

_CRS_LABELS: dict[str, str] = {
    CGCS2000: "EPSG:4490（CGCS2000 经纬度，存储坐标系）",
    WGS84: "EPSG:4326（WGS84 经纬度，GPS）",
    CRS84: "OGC:CRS84（WGS84 经纬度，GeoJSON 默认）",
    WEB_MERCATOR: "EPSG:3857（Web 墨卡托，米）",
    GK_CM114: "EPSG:4547（CGCS2000 3度带高斯-克吕格 中央经线114°E，米）",
    GCJ02: "GCJ-02（火星坐标，仅用于输入输出，不存储）",
}

_EPSG_BY_CODE: dict[int, str] = {4490: CGCS2000, 4326: WGS84, 3857: WEB_MERCATOR, 4547: GK_CM114}

_ALIASES: dict[str, str] = {
    "CRS84": CRS84,
    "OGC:CRS84": CRS84,
    "GCJ02": GCJ02,
    "GCJ-02": GCJ02,
    "GCJ_02": GCJ02,
    "CGCS2000": CGCS2000,
    "WGS84": WGS84,
}

_EPSG_PATTERNS = [
    re.compile(r"^(?:EPSG:)?(\d+)$"),
    re.compile(r"^HTTPS?://WWW\.OPENGIS\.NET/DEF/CRS/EPSG/[^/]+/(\d+)$"),
    re.compile(r"^URN:OGC:DEF:CRS:EPSG:[^:]*:(\d+)$"),
]
_CRS84_PATTERNS = [
    re.compile(r"^HTTPS?://WWW\.OPENGIS\.NET/DEF/CRS/OGC/[^/]+/CRS84$"),
    re.compile(r"^URN:OGC:DEF:CRS:OGC:[^:]*:CRS84$"),
]


def _unsupported(value: object) -> GeoError:
    supported = "、".join(_CRS_LABELS[c] for c in SUPPORTED)
    return GeoError("crs_unsupported", f"不支持的坐标系：{value!r}。支持的坐标系：{supported}", crs=str(value))


def normalize_crs(value: str | int) -> str:
    """Return the canonical name (one of SUPPORTED) for a CRS given in any common spelling."""
    if isinstance(value, bool):  # bool is an int; True must not mean EPSG:1
        raise _unsupported(value)
    if isinstance(value, int):
        if value in _EPSG_BY_CODE:
            return _EPSG_BY_CODE[value]
        raise _unsupported(value)
    if not isinstance(value, str):
        raise _unsupported(value)
    text = value.strip().upper()
    if text in _ALIASES:
        return _ALIASES[text]
    if any(p.match(text) for p in _CRS84_PATTERNS):
        return CRS84
    for pattern in _EPSG_PATTERNS:
        m = pattern.match(text)
        if m and int(m.group(1)) in _EPSG_BY_CODE:
            return _EPSG_BY_CODE[int(m.group(1))]
    raise _unsupported(value)


def srid_of(crs: str | int) -> int | None:
    """PostGIS SRID of a CRS; None for GCJ-02, which has none."""
    name = normalize_crs(crs)
    if name == GCJ02:
        return None
    if name == CRS84:
        return 4326  # same datum and units; only the declared axis order differs
    return int(name.split(":")[1])


def crs_uri(crs: str | int) -> str:
    """OGC URI of a CRS, as used by OGC API Features (crs / storageCrs)."""
    name = normalize_crs(crs)
    if name == CRS84:
        return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    if name == GCJ02:
        raise GeoError("crs_unsupported", "GCJ-02 不是标准坐标系，没有 OGC URI")
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid_of(name)}"


def crs_label(crs: str | int) -> str:
    """Chinese description of a CRS for messages."""
    return _CRS_LABELS[normalize_crs(crs)]


# --- GCJ-02 -----------------------------------------------------------------
# Public offset formula: Krasovsky-ellipsoid constants and a polynomial plus
# sine series in (lon - 105, lat - 35). Written with numpy so that scalars and
# arrays take the same path.

_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)  # min lon, min lat, max lon, max lat

Coord = TypeVar("Coord", float, np.ndarray)


def _series_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pi = math.pi
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    r += (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
    r += (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0
    return r


def _series_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pi = math.pi
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    r += (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
    r += (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0
    return r


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    min_lon, min_lat, max_lon, max_lat = _CHINA_BBOX
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dlon, dlat) in degrees to add to WGS84 to get GCJ-02; zero outside China."""
    x, y = lon - 105.0, lat - 35.0
    rad_lat = np.radians(lat)
    s = np.sin(rad_lat)
    w = 1.0 - _KRASOVSKY_EE * s * s
    sqrt_w = np.sqrt(w)
    # Series values are metres-ish; divide by meridian / prime-vertical radii.
    dlat = _series_lat(x, y) * 180.0 / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (w * sqrt_w) * math.pi)
    dlon = _series_lon(x, y) * 180.0 / (_KRASOVSKY_A / sqrt_w * np.cos(rad_lat) * math.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _as_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), scalar


def _out(a: np.ndarray, scalar: bool):
    return float(a) if scalar else a


def wgs84_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Forward GCJ-02 offset (public approximation); identity outside mainland China's bbox."""
    lo, la, scalar = _as_arrays(lon, lat)
    dlon, dlat = _gcj_offset(lo, la)
    return _out(lo + dlon, scalar), _out(la + dlat, scalar)


def gcj02_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Inverse of wgs84_to_gcj02 by fixed-point iteration (no closed form exists)."""
    glon, glat, scalar = _as_arrays(lon, lat)
    wlon, wlat = glon.copy(), glat.copy()
    # The offset changes slowly with position, so w <- w + (g - f(w)) is a
    # contraction and converges to 1e-9 degrees in a handful of steps.
    for _ in range(30):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        step_lon, step_lat = glon - flon, glat - flat
        wlon, wlat = wlon + step_lon, wlat + step_lat
        if np.all(np.abs(step_lon) < 1e-9) and np.all(np.abs(step_lat) < 1e-9):
            break
    return _out(wlon, scalar), _out(wlat, scalar)


# --- transforms -------------------------------------------------------------


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transform_xy(x: Coord, y: Coord, src: str | int, dst: str | int) -> tuple[Coord, Coord]:
    """Transform coordinates (scalars or numpy arrays) between supported CRSs."""
    src, dst = normalize_crs(src), normalize_crs(dst)
    if src == dst:
        return x, y
    if src == GCJ02:
        x, y = gcj02_to_wgs84(x, y)
        src = WGS84
    if dst == GCJ02:
        x, y = transform_xy(x, y, src, WGS84)
        return wgs84_to_gcj02(x, y)
    # CGCS2000 <-> WGS84 (and CRS84) is a null transform on purpose: PROJ has
    # no grid or official parameters for 4490<->4326, the frames differ only
    # at cm–dm level, which city management accepts. PROJ's own "ballpark"
    # choice would be the same identity; doing it here makes it explicit.
    if src in GEOGRAPHIC and dst in GEOGRAPHIC:
        return x, y
    xs, ys, scalar = _as_arrays(x, y)
    tx, ty = _transformer(src, dst).transform(xs, ys)
    return _out(np.asarray(tx), scalar), _out(np.asarray(ty), scalar)


def _xy_function(src: str, dst: str) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    def fn(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return transform_xy(x, y, src, dst)

    return fn


def transform_geometry(geom: BaseGeometry, src: str | int, dst: str | int) -> BaseGeometry:
    """Transform a shapely geometry (2D result; Z is dropped, storage is 2D)."""
    src, dst = normalize_crs(src), normalize_crs(dst)
    if src == dst:
        return geom
    return shapely.transform(geom, _xy_function(src, dst), interleaved=False)


def to_storage(geom: BaseGeometry, crs: str | int) -> BaseGeometry:
    """2D geometry in the storage CRS (EPSG:4490) from any supported CRS, GCJ-02 included."""
    # Storage columns are 2D geometry(..., 4490); drop Z here too when no transform runs.
    return shapely.force_2d(transform_geometry(geom, crs, CGCS2000))


def area_m2(geom4490: BaseGeometry) -> float:
    """Planar area in m² on EPSG:4547 (Gauss-Kruger scale error near CM 114E is < 0.01 %)."""
    return float(transform_geometry(geom4490, CGCS2000, GK_CM114).area)


def length_m(geom4490: BaseGeometry) -> float:
    """Length (or perimeter) in metres on EPSG:4547."""
    return float(transform_geometry(geom4490, CGCS2000, GK_CM114).length)
