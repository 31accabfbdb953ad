"""Step 2 of an upload: check every geometry with geo.geometry.validate_geometry
(the platform's one validator: empty, non-finite, invalid, swapped lat/lon,
wrong CRS, outside the county) and sum up the problems per kind.

Invalid geometries (self-intersections …) can be repaired on request: the
check then validates GEOS' make_valid result (the algorithm ST_MakeValid
runs at load time) so that a repair which lands outside the county still
refuses the upload. Anything else refuses the whole upload."""
from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from geo.errors import GeoError
from geo.geometry import validate_geometry

ALLOWED = ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
FAMILY = {"Point": "Point", "MultiPoint": "Point", "LineString": "LineString", "MultiLineString": "LineString",
          "Polygon": "Polygon", "MultiPolygon": "Polygon"}
FAMILY_NAMES = {"Point": "点", "LineString": "线", "Polygon": "面"}
PROBLEM_NAMES = {
    "geometry_empty": "几何为空",
    "geometry_malformed": "几何格式错误",
    "geometry_type_not_allowed": "几何类型不支持（如几何集合）",
    "coordinates_not_finite": "坐标非有限数值",
    "geometry_invalid": "几何无效（自相交等）",
    "latlon_swapped": "经纬度颠倒",
    "wrong_srid": "坐标系与坐标不符",
    "outside_county": "位于县域范围外",
    "crs_unsupported": "坐标系不支持",
}
FIRST_ROWS = 20


@dataclass
class CheckResult:
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)      # the first problem rows
    geoms: list[BaseGeometry | None] = field(default_factory=list)  # EPSG:4490, source order
    repaired: list[int] = field(default_factory=list)  # 0-based rows to run ST_MakeValid on
    geometry_type: str | None = None
    bbox: list[float] | None = None

    @property
    def ok(self) -> bool:
        return not self.counts

    def report(self) -> dict:
        return {
            "ok": self.ok, "feature_count": self.total,
            "problems": [{"code": c, "name": PROBLEM_NAMES.get(c, c), "count": n} for c, n in self.counts.items()],
            "problem_rows": self.rows, "repaired_count": len(self.repaired),
            "geometry_type": self.geometry_type, "bbox": self.bbox,
        }

    def refuse(self) -> GeoError:
        listing = "；".join(f"{PROBLEM_NAMES.get(c, c)} {n} 个" for c, n in self.counts.items())
        first = self.rows[0] if self.rows else None
        where = f"，例如第 {first['row']} 条：{first['message']}" if first else ""
        hint = "（几何无效的要素可勾选“用 ST_MakeValid 修复”后重试）" if "geometry_invalid" in self.counts else ""
        return GeoError("spatial_invalid_geometries", f"数据未通过检查，未做任何导入：{listing}{where}{hint}",
                        status=422, **self.report())


def county_boundary(db, county_code: str) -> BaseGeometry | None:
    row = db.execute(text("SELECT ST_AsBinary(geom) FROM geo.region WHERE level = 'county' AND code = :c"),
                     {"c": county_code}).fetchone()
    if row is None or row[0] is None:
        return None
    county = shapely.from_wkb(bytes(row[0]))
    shapely.prepare(county)  # thousands of covers() tests follow
    return county


def _target_type(types: set[str], repaired: bool) -> str:
    families = {FAMILY[t] for t in types}
    if len(families) > 1:
        names = "、".join(FAMILY_NAMES[f] for f in sorted(families))
        raise GeoError("spatial_geometry_mixed", f"同一图层中混有{names}几何，请按几何类型拆分为多个图层后上传",
                       status=422, types=sorted(types))
    family = families.pop()
    # Multi when any part is multi, or when repairs may split a polygon.
    if any(t.startswith("Multi") for t in types) or (repaired and family != "Point"):
        return "Multi" + family
    return family


def check(geoms, crs: str, county: BaseGeometry | None, repair: bool = False) -> CheckResult:
    res = CheckResult(total=len(geoms))
    types: set[str] = set()

    def problem(i: int, err: GeoError) -> None:
        res.counts[err.code] = res.counts.get(err.code, 0) + 1
        if len(res.rows) < FIRST_ROWS:
            res.rows.append({"row": i + 1, "code": err.code, "name": PROBLEM_NAMES.get(err.code, err.code),
                             "message": err.message})
        res.geoms.append(None)

    for i, geom in enumerate(geoms):
        if geom is None:
            problem(i, GeoError("geometry_empty", "该行没有几何（坐标为空或无法解析）"))
            continue
        try:
            stored = validate_geometry(geom, crs=crs, county=county, allowed_types=ALLOWED)
        except GeoError as err:
            if err.code != "geometry_invalid" or not repair:
                problem(i, err)
                continue
            try:
                fixed = shapely.make_valid(geom)
                # Keep the parts of the original dimension, as ST_CollectionExtract does at load.
                fixed = _same_dimension(fixed, geom)
                validate_geometry(fixed, crs=crs, county=county, allowed_types=ALLOWED)
            except GeoError as err2:
                problem(i, err2)
                continue
            from geo.crs import to_storage
            stored = to_storage(geom, crs)  # loaded as is, repaired by ST_MakeValid in PostGIS
            res.repaired.append(i)
        types.add(stored.geom_type)
        res.geoms.append(stored)
    if types:
        res.geometry_type = _target_type(types, bool(res.repaired))
        good = [g for g in res.geoms if g is not None]
        b = shapely.total_bounds(good)
        res.bbox = [round(float(v), 7) for v in b]
    return res


def _same_dimension(fixed: BaseGeometry, original: BaseGeometry) -> BaseGeometry:
    dim = shapely.get_dimensions(original)
    if fixed.geom_type != "GeometryCollection":
        return fixed
    parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dim]
    if not parts:
        return fixed
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]
