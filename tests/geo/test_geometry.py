import json

import pytest
import shapely
from shapely.geometry import Point, box

from geo.crs import CGCS2000, GK_CM114, WEB_MERCATOR, transform_geometry, wgs84_to_gcj02
from geo.errors import GeoError
from geo.geometry import describe_extent, parse_geometry, validate_geometry

COUNTY = box(113.6, 33.2, 114.3, 33.6)
POINT = {"type": "Point", "coordinates": [114.02, 33.38]}
SQUARE_WKT = "POLYGON((114 33.4, 114.001 33.4, 114.001 33.401, 114 33.401, 114 33.4))"


def error_of(value, **kwargs) -> GeoError:
    with pytest.raises(GeoError) as e:
        validate_geometry(value, **kwargs)
    return e.value


# --- parsing ---


def test_parse_geojson_dict_feature_string_wkt_ewkt():
    expected = Point(114.02, 33.38)
    for value in (
        POINT,
        {"type": "Feature", "properties": {}, "geometry": POINT},
        json.dumps(POINT),
        "POINT (114.02 33.38)",
    ):
        geom, declared = parse_geometry(value)
        assert geom.equals(expected) and declared is None
    geom, declared = parse_geometry("SRID=4326;POINT(114.02 33.38)")
    assert geom.equals(expected) and declared == "EPSG:4326"


def test_parse_geojson_crs_member():
    value = dict(POINT, crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}})
    assert parse_geometry(value)[1] == CGCS2000


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("POINT(1 ", "WKT 无法解析"),
        ("{not json", "不是合法的 JSON"),
        ({"type": "Circle", "coordinates": [1, 2]}, "未知的 GeoJSON 几何类型"),
        ({"type": "Point"}, "缺少 coordinates"),
        ({"type": "FeatureCollection", "features": []}, "FeatureCollection"),
        ({"type": "LineString", "coordinates": [[114, 33.4]]}, "线至少需要2个坐标点"),
        ({"type": "Polygon", "coordinates": [[["a", "b"], [1, 1], [1, 0], ["a", "b"]]]}, "坐标应为数字"),
        (42, "不支持的输入类型"),
        ("   ", "输入为空"),
        (dict(POINT, crs="EPSG:4490"), "crs 成员"),
    ],
)
def test_geometry_malformed(value, fragment):
    e = error_of(value)
    assert e.code == "geometry_malformed"
    assert fragment in e.message


# --- validation, happy paths ---


def test_valid_point_in_county_returned_in_storage_crs():
    geom = validate_geometry(POINT, county=COUNTY, allowed_types=["Point"])
    assert geom.equals(Point(114.02, 33.38))


def test_projected_and_gcj02_inputs_are_converted_to_storage():
    square = shapely.from_wkt(SQUARE_WKT)
    for src in (GK_CM114, WEB_MERCATOR):
        projected = transform_geometry(square, CGCS2000, src)
        assert validate_geometry(projected.wkt, crs=src, county=COUNTY).equals_exact(square, 1e-8)
    glon, glat = wgs84_to_gcj02(114.02, 33.38)
    stored = validate_geometry(f"POINT({glon} {glat})", crs="GCJ-02", county=COUNTY)
    assert stored.distance(Point(114.02, 33.38)) < 1e-8


def test_declared_srid_overrides_crs_argument():
    x, y = transform_geometry(Point(114.02, 33.38), CGCS2000, GK_CM114).coords[0]
    geom = validate_geometry(f"SRID=4547;POINT({x} {y})", crs="EPSG:4490", county=COUNTY)
    assert geom.distance(Point(114.02, 33.38)) < 1e-8


def test_no_county_skips_county_checks():
    assert validate_geometry("POINT(2.35 48.85)").equals(Point(2.35, 48.85))


def test_point_on_county_boundary_is_inside():
    assert validate_geometry("POINT(113.6 33.4)", county=COUNTY).equals(Point(113.6, 33.4))


def test_z_is_dropped_for_storage():
    assert not validate_geometry("POINT Z (114.02 33.38 80)", county=COUNTY).has_z


# --- validation, one test per error code ---


def test_geometry_empty():
    assert error_of("POINT EMPTY").code == "geometry_empty"
    assert error_of({"type": "Feature", "properties": {}, "geometry": None}).code == "geometry_empty"


def test_geometry_type_not_allowed_lists_types_in_chinese():
    e = error_of(SQUARE_WKT, allowed_types=["Point", "MultiPoint"])
    assert e.code == "geometry_type_not_allowed"
    assert "点/多点" in e.message and "实际为面" in e.message


def test_coordinates_not_finite():
    assert error_of({"type": "Point", "coordinates": [float("nan"), 33.4]}).code == "coordinates_not_finite"
    assert error_of("POINT (114 Infinity)").code == "coordinates_not_finite"
    # Finite input that cannot be projected back to CGCS2000.
    assert error_of("POINT (1e15 1e15)", crs=GK_CM114).code == "coordinates_not_finite"


def test_crs_unsupported():
    assert error_of("SRID=3395;POINT(1 1)").code == "crs_unsupported"
    assert error_of(POINT, crs="EPSG:2385").code == "crs_unsupported"


def test_wrong_srid_metres_declared_as_degrees():
    e = error_of("POINT(500000 3697111)", crs="EPSG:4490")
    assert e.code == "wrong_srid"
    assert "投影坐标（米）" in e.message


def test_wrong_srid_degrees_declared_as_metres():
    e = error_of("POINT(114.02 33.38)", crs=GK_CM114)
    assert e.code == "wrong_srid" and "经纬度" in e.message


def test_wrong_srid_other_projection_lands_in_county():
    x, y = transform_geometry(Point(114.02, 33.38), CGCS2000, GK_CM114).coords[0]
    e = error_of(f"POINT({x} {y})", crs=WEB_MERCATOR, county=COUNTY)
    assert e.code == "wrong_srid"
    assert e.details["suggested"] == GK_CM114


def test_geometry_invalid_self_intersection_with_location():
    bowtie = "POLYGON((114 33.4, 114.001 33.401, 114.001 33.4, 114 33.401, 114 33.4))"
    e = error_of(bowtie, county=COUNTY)
    assert e.code == "geometry_invalid"
    assert "自相交" in e.message and "(114.0005, 33.4005)" in e.message


def test_geometry_invalid_too_few_points():
    e = error_of("LINESTRING(114 33.4, 114 33.4)")
    assert e.code == "geometry_invalid" and "点数不足" in e.message


def test_geometry_invalid_hole_outside_shell():
    wkt = "POLYGON((114 33.4, 114.01 33.4, 114.01 33.41, 114 33.41, 114 33.4),(114.1 33.5, 114.11 33.5, 114.11 33.51, 114.1 33.5))"
    e = error_of(wkt)
    assert e.code == "geometry_invalid" and "内环（洞）位于外环之外" in e.message


def test_latlon_swapped_obvious_without_county():
    e = error_of("POINT(33.38 114.02)")
    assert e.code == "latlon_swapped"
    assert "(经度, 纬度)" in e.message


def test_latlon_swapped_detected_by_county():
    # A county whose swapped coordinates stay within lat/lon range, so only the polygon can tell.
    county = box(40.0, 50.0, 41.0, 51.0)
    e = error_of("POINT(50.5 40.5)", county=county)
    assert e.code == "latlon_swapped"
    assert "经纬度顺序颠倒" in e.message and "应为(经度, 纬度)" in e.message


def test_latlon_swapped_projected_northing_easting():
    x, y = transform_geometry(Point(114.02, 33.38), CGCS2000, GK_CM114).coords[0]
    e = error_of(f"POINT({y} {x})", crs=GK_CM114, county=COUNTY)
    assert e.code == "latlon_swapped" and "东坐标, 北坐标" in e.message


def test_outside_county_gives_extent_hint():
    e = error_of("POINT(114.0 33.9)", county=COUNTY)
    assert e.code == "outside_county"
    assert "东经113.600°" in e.message and "北纬33.600°" in e.message and "北纬33.900°" in e.message


def test_partly_outside_county():
    line = "LINESTRING(114.2 33.4, 114.4 33.4)"
    assert error_of(line, county=COUNTY).code == "outside_county"


def test_describe_extent():
    assert describe_extent(Point(114.0, 33.4)) == "东经114.000°，北纬33.400°"
    assert describe_extent(COUNTY) == "东经113.600°至东经114.300°，北纬33.200°至北纬33.600°"
    assert describe_extent(Point(-74.0, -33.0)) == "西经74.000°，南纬33.000°"
