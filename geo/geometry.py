"""Parse and validate incoming geometries, with Chinese messages people can act on.

validate_geometry returns a shapely geometry in the storage CRS (EPSG:4490)
or raises GeoError with a stable code: geometry_malformed, geometry_empty,
geometry_type_not_allowed, coordinates_not_finite, crs_unsupported,
wrong_srid, geometry_invalid, latlon_swapped, outside_county.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.crs import CGCS2000, GEOGRAPHIC, GK_CM114, WEB_MERCATOR, crs_label, normalize_crs, to_storage
from geo.errors import GeoError

TYPE_NAMES: dict[str, str] = {
    "Point": "点",
    "MultiPoint": "多点",
    "LineString": "线",
    "MultiLineString": "多线",
    "Polygon": "面",
    "MultiPolygon": "多面",
    "GeometryCollection": "几何集合",
}
_TYPE_BY_LOWER = {t.lower(): t for t in TYPE_NAMES}

# shapely.is_valid_reason texts (GEOS) -> Chinese. Matched as prefixes because
# GEOS appends detail ("Too few points in geometry component").
_INVALID_REASONS: list[tuple[str, str]] = [
    ("Ring Self-intersection", "环自相交（边界自身打结）"),
    ("Self-intersection", "自相交"),
    ("Too few points", "点数不足"),
    ("Interior is disconnected", "面内部不连通（内环把面分割成了多块）"),
    ("Hole lies outside shell", "内环（洞）位于外环之外"),
    ("Nested holes", "内环相互嵌套"),
    ("Nested shells", "多面中的面相互嵌套"),
    ("Duplicate Rings", "存在重复的环"),
    ("Ring is not closed", "环未闭合（首尾点不同）"),
    ("Invalid Coordinate", "坐标无效"),
]

_EWKT = re.compile(r"^\s*SRID\s*=\s*([^;]*);(.*)$", re.IGNORECASE | re.DOTALL)


def _malformed(detail: str) -> GeoError:
    return GeoError("geometry_malformed", f"几何数据格式错误：{detail}")


def _geojson_crs(obj: dict) -> str | None:
    """CRS named by a (2008-style) GeoJSON "crs" member, normalized, or None."""
    member = obj.get("crs")
    if member is None:
        return None
    try:
        name = member["properties"]["name"]
    except (TypeError, KeyError):
        raise _malformed("GeoJSON 的 crs 成员应为 {\"type\": \"name\", \"properties\": {\"name\": ...}}") from None
    return normalize_crs(name)


def _from_geojson(obj: Any) -> tuple[BaseGeometry, str | None]:
    if not isinstance(obj, dict):
        raise _malformed(f"GeoJSON 应为对象，实际为{type(obj).__name__}")
    kind = obj.get("type")
    declared = _geojson_crs(obj)
    if kind == "Feature":
        geometry = obj.get("geometry")
        if geometry is None:
            raise GeoError("geometry_empty", "要素（Feature）没有几何（geometry 为空）")
        geom, inner = _from_geojson(geometry)
        return geom, inner or declared
    if kind == "FeatureCollection":
        raise _malformed("应为单个几何或要素（Feature），不接受要素集合（FeatureCollection）")
    if kind not in TYPE_NAMES:
        raise _malformed(f"未知的 GeoJSON 几何类型：{kind!r}")
    if kind == "GeometryCollection":
        if not isinstance(obj.get("geometries"), list):
            raise _malformed("GeometryCollection 缺少 geometries 数组")
    elif not isinstance(obj.get("coordinates"), list):
        raise _malformed(f"{kind} 缺少 coordinates 数组")
    try:
        return shape(obj), declared
    except Exception as e:  # shapely raises several types for bad coordinate arrays
        raise _malformed(_construction_reason(e, kind)) from None


def _construction_reason(error: Exception, kind: str) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "at least 4 coordinates" in text:
        return "面的每个环至少需要4个坐标点（首尾相同）"
    if "at least 2 coordinates" in text or "0 or >1 elements" in text:
        return "线至少需要2个坐标点"
    if "convert" in text or "float" in text:
        return f"{kind} 的坐标应为数字"
    return f"{kind} 的坐标无法解析（{text}）"


def parse_geometry(value: Any) -> tuple[BaseGeometry, str | None]:
    """(geometry, declared CRS or None) from GeoJSON (dict/Feature/string), WKT, EWKT or shapely."""
    if isinstance(value, BaseGeometry):
        return value, None
    if isinstance(value, dict):
        return _from_geojson(value)
    if not isinstance(value, str):
        raise _malformed(f"不支持的输入类型：{type(value).__name__}（应为 GeoJSON、WKT 或 EWKT）")
    text = value.strip()
    if not text:
        raise _malformed("输入为空字符串")
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise _malformed(f"GeoJSON 不是合法的 JSON（第{e.lineno}行第{e.colno}列）") from None
        return _from_geojson(obj)
    declared = None
    m = _EWKT.match(text)
    if m:
        declared = normalize_crs(m.group(1).strip())
        text = m.group(2).strip()
    try:
        return shapely.from_wkt(text), declared
    except shapely.errors.ShapelyError as e:
        raise _malformed(f"WKT 无法解析（{str(e).splitlines()[0]}）") from None


def _fmt_lon(v: float) -> str:
    return f"东经{v:.3f}°" if v >= 0 else f"西经{-v:.3f}°"


def _fmt_lat(v: float) -> str:
    return f"北纬{v:.3f}°" if v >= 0 else f"南纬{-v:.3f}°"


def describe_extent(geom: BaseGeometry, crs: str = CGCS2000) -> str:
    """Short Chinese description of a bounding box, e.g. 东经113.600°至东经114.300°，北纬33.200°至北纬33.600°."""
    if geom.is_empty:
        return "空几何"
    minx, miny, maxx, maxy = geom.bounds
    if normalize_crs(crs) not in GEOGRAPHIC:
        if (minx, miny) == (maxx, maxy):
            return f"x={minx:.1f}，y={miny:.1f}（米）"
        return f"x={minx:.1f}–{maxx:.1f}，y={miny:.1f}–{maxy:.1f}（米）"
    if (minx, miny) == (maxx, maxy):
        return f"{_fmt_lon(minx)}，{_fmt_lat(miny)}"
    return f"{_fmt_lon(minx)}至{_fmt_lon(maxx)}，{_fmt_lat(miny)}至{_fmt_lat(maxy)}"


def _type_list(types: Iterable[str]) -> str:
    return "/".join(TYPE_NAMES[t] for t in types)


def _normalize_types(allowed_types: Iterable[str]) -> list[str]:
    out = []
    for t in allowed_types:
        if not isinstance(t, str) or t.lower() not in _TYPE_BY_LOWER:
            raise ValueError(f"unknown geometry type {t!r}")  # caller bug, not user input
        out.append(_TYPE_BY_LOWER[t.lower()])
    return out


def _swap_xy(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda x, y: (y, x), interleaved=False)


def _translate_reason(reason: str) -> str:
    m = re.match(r"^(.*?)\[([^\]]*)\]\s*$", reason)
    text, where = (m.group(1), m.group(2)) if m else (reason, "")
    chinese = next((zh for en, zh in _INVALID_REASONS if text.startswith(en)), None)
    message = chinese or f"几何无效（{text.strip()}）"
    if where:
        parts = where.split()
        location = f"({parts[0]}, {parts[1]})" if len(parts) >= 2 else where
        message += f"，位置{location}"
    return message


def _lands_inside(geom: BaseGeometry, crs: str, county: BaseGeometry) -> bool:
    try:
        stored = to_storage(geom, crs)
    except Exception:  # a wild guess may be untransformable; that just means "no"
        return False
    return bool(np.isfinite(shapely.get_coordinates(stored)).all()) and county.covers(stored)


def _check_coordinate_range(geom: BaseGeometry, crs: str) -> None:
    xy = shapely.get_coordinates(geom)
    ax, ay = np.abs(xy[:, 0]), np.abs(xy[:, 1])
    label = crs_label(crs)
    if crs in GEOGRAPHIC:
        if (ax <= 180).all() and (ay <= 90).all():
            return
        if (ax <= 90).all() and (ay <= 180).all():
            # y beyond 90 cannot be a latitude, and swapping fits: the classic (lat, lon).
            raise GeoError("latlon_swapped", "经纬度顺序颠倒：纬度超过90°，交换后合理。坐标应为(经度, 纬度)")
        i = int(np.argmax(np.maximum(ax, ay)))
        raise GeoError(
            "wrong_srid",
            f"声明的坐标系为{label}，但坐标({xy[i, 0]:.3f}, {xy[i, 1]:.3f})超出经纬度范围，"
            "看起来是投影坐标（米）。请声明正确的坐标系，例如 EPSG:4547 或 EPSG:3857",
        )
    if (ax <= 180).all() and (ay <= 90).all():
        # Projected metres within ±180 m of (0, 0) is the Gulf of Guinea, not Xiping.
        raise GeoError(
            "wrong_srid",
            f"声明的坐标系为{label}，但坐标({xy[0, 0]:.6f}, {xy[0, 1]:.6f})看起来是经纬度（度）。"
            "请声明 EPSG:4490 或 EPSG:4326",
        )


def validate_geometry(
    value: Any,
    *,
    crs: str | int = CGCS2000,
    county: BaseGeometry | None = None,
    allowed_types: Iterable[str] | None = None,
) -> BaseGeometry:
    """Validate an incoming geometry and return it in EPSG:4490.

    A CRS declared inside the value (EWKT SRID, GeoJSON crs member) overrides
    `crs`. county is a (Multi)Polygon in EPSG:4490; without it the county
    checks (latlon_swapped by position, outside_county) are skipped.
    """
    geom, declared = parse_geometry(value)
    src = declared or normalize_crs(crs)

    if geom.is_empty:
        raise GeoError("geometry_empty", "几何为空，没有任何坐标")
    if allowed_types is not None:
        allowed = _normalize_types(allowed_types)
        if geom.geom_type not in allowed:
            raise GeoError(
                "geometry_type_not_allowed",
                f"几何类型应为{_type_list(allowed)}，实际为{TYPE_NAMES.get(geom.geom_type, geom.geom_type)}",
                allowed=allowed,
                actual=geom.geom_type,
            )
    if not np.isfinite(shapely.get_coordinates(geom, include_z=geom.has_z)).all():
        raise GeoError("coordinates_not_finite", "坐标包含非有限数值（NaN 或无穷大）")
    _check_coordinate_range(geom, src)

    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        raise GeoError("geometry_invalid", f"几何无效：{_translate_reason(reason)}", reason=reason)

    stored = to_storage(geom, src)
    if not np.isfinite(shapely.get_coordinates(stored)).all():
        raise GeoError("coordinates_not_finite", f"坐标无法从{crs_label(src)}转换到 CGCS2000（超出该坐标系的有效范围）")
    if county is None or county.covers(stored):
        return stored

    if _lands_inside(_swap_xy(geom), src, county):
        if src in GEOGRAPHIC:
            raise GeoError("latlon_swapped", "经纬度顺序颠倒，应为(经度, 纬度)；交换后位于县域内")
        raise GeoError("latlon_swapped", "坐标顺序颠倒，应为(东坐标, 北坐标)，即(x, y)；交换后位于县域内")
    # Same numbers read in a CRS of other units land in the county: the
    # declared CRS is wrong (e.g. EPSG:4547 metres sent as EPSG:3857).
    guesses = [c for c in (CGCS2000, GK_CM114, WEB_MERCATOR) if c != src and not (c in GEOGRAPHIC and src in GEOGRAPHIC)]
    for guess in guesses:
        if _lands_inside(geom, guess, county):
            raise GeoError(
                "wrong_srid",
                f"声明的坐标系为{crs_label(src)}，但坐标按{crs_label(guess)}解释才位于县域内，请检查坐标系",
                suggested=guess,
            )
    raise GeoError(
        "outside_county",
        f"几何位于{describe_extent(stored)}，不在县域范围内（县域范围约为{describe_extent(county)}）",
    )
