import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from geo import crs
from geo.crs import (
    CGCS2000,
    CRS84,
    GCJ02,
    GK_CM114,
    WEB_MERCATOR,
    WGS84,
    area_m2,
    crs_uri,
    gcj02_to_wgs84,
    length_m,
    normalize_crs,
    srid_of,
    to_storage,
    transform_geometry,
    transform_xy,
    wgs84_to_gcj02,
)
from geo.errors import GeoError

# CGCS2000 uses the GRS80 ellipsoid; WGS84's differs by < 0.1 mm on the semi-minor axis.
GEOD = Geod(ellps="GRS80")


def xiping_grid():
    lon, lat = np.meshgrid(np.linspace(113.6, 114.3, 15), np.linspace(33.2, 33.6, 9))
    return lon.ravel(), lat.ravel()


def metres(lon1, lat1, lon2, lat2):
    _, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(d)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("EPSG:4490", CGCS2000),
        ("epsg:4490", CGCS2000),
        ("4490", CGCS2000),
        (4490, CGCS2000),
        (" EPSG:4326 ", WGS84),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", CGCS2000),
        ("https://www.opengis.net/def/crs/EPSG/0/3857", WEB_MERCATOR),
        ("urn:ogc:def:crs:EPSG::4490", CGCS2000),
        ("urn:ogc:def:crs:EPSG::4547", GK_CM114),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", CRS84),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", CRS84),
        ("CRS84", CRS84),
        ("GCJ02", GCJ02),
        ("GCJ-02", GCJ02),
        ("gcj02", GCJ02),
    ],
)
def test_normalize_crs_accepts_common_spellings(value, expected):
    assert normalize_crs(value) == expected


@pytest.mark.parametrize("value", ["EPSG:3395", 3395, "4610", "BD09", "", "foo", None, True, 4490.0])
def test_normalize_crs_rejects_unsupported(value):
    with pytest.raises(GeoError) as e:
        normalize_crs(value)
    assert e.value.code == "crs_unsupported"
    assert "EPSG:4490" in e.value.message and "支持的坐标系" in e.value.message


def test_supported_list_is_all_canonical():
    assert set(crs.SUPPORTED) == {CGCS2000, WGS84, CRS84, WEB_MERCATOR, GK_CM114, GCJ02}
    for name in crs.SUPPORTED:
        assert normalize_crs(name) == name


def test_srid_of():
    assert srid_of("EPSG:4490") == 4490
    assert srid_of("CRS84") == 4326
    assert srid_of("gcj02") is None
    assert srid_of(4547) == 4547


def test_crs_uri():
    assert crs_uri(CGCS2000) == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert crs_uri("CRS84") == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert crs_uri(3857) == "http://www.opengis.net/def/crs/EPSG/0/3857"
    with pytest.raises(GeoError) as e:
        crs_uri(GCJ02)
    assert e.value.code == "crs_unsupported"


def test_gcj02_beijing_reference_offset():
    glon, glat = wgs84_to_gcj02(116.397, 39.908)
    assert glon - 116.397 == pytest.approx(0.0062, abs=0.0005)
    assert glat - 39.908 == pytest.approx(0.0014, abs=0.0005)


@pytest.mark.parametrize(
    "wgs, gcj",
    [
        # Published in the test suites of several open-source converters; 1e-6° ≈ 0.1 m
        # catches a wrong coefficient in the series (each term moves points by metres).
        ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
        ((121.0917077, 30.6107779), (121.09626935575027, 30.608604331756705)),
        ((116.0, 40.0), (116.006141221789, 40.001213650174)),
    ],
)
def test_gcj02_matches_published_reference_values(wgs, gcj):
    glon, glat = wgs84_to_gcj02(*wgs)
    assert glon == pytest.approx(gcj[0], abs=1e-6)
    assert glat == pytest.approx(gcj[1], abs=1e-6)


def test_gcj02_forward_offset_at_xiping_is_plausible():
    lon, lat = xiping_grid()
    glon, glat = wgs84_to_gcj02(lon, lat)
    d = metres(lon, lat, glon, glat)
    assert d.min() > 100 and d.max() < 700


def test_gcj02_round_trip_within_half_metre_across_xiping():
    lon, lat = xiping_grid()
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, back_lon, back_lat).max() < 0.5


def test_gcj02_scalar_round_trip_returns_floats():
    glon, glat = wgs84_to_gcj02(114.02, 33.38)
    assert isinstance(glon, float) and isinstance(glat, float)
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert isinstance(lon, float)
    assert metres(114.02, 33.38, lon, lat) < 0.5


def test_gcj02_no_offset_outside_china():
    lon = np.array([2.35, -74.0, 114.0])
    lat = np.array([48.85, 40.7, 33.4])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon[:2].tolist() == lon[:2].tolist() and glat[:2].tolist() == lat[:2].tolist()
    assert glon[2] != lon[2]
    assert gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)


def test_cgcs2000_wgs84_is_a_null_transform():
    assert transform_xy(114.0, 33.4, CGCS2000, WGS84) == (114.0, 33.4)
    assert transform_xy(114.0, 33.4, CRS84, CGCS2000) == (114.0, 33.4)


@pytest.mark.parametrize("via", [WEB_MERCATOR, GK_CM114])
def test_projected_round_trip_under_a_millimetre(via):
    lon, lat = xiping_grid()
    x, y = transform_xy(lon, lat, CGCS2000, via)
    back_lon, back_lat = transform_xy(x, y, via, CGCS2000)
    assert metres(lon, lat, back_lon, back_lat).max() < 0.001


def test_gk_cm114_easting_at_central_meridian():
    x, y = transform_xy(114.0, 33.4, CGCS2000, GK_CM114)
    assert x == pytest.approx(500000.0, abs=1e-6)
    assert 3_690_000 < y < 3_700_000  # about 33.4° from the equator, in metres
    assert transform_xy(113.7, 33.4, CGCS2000, GK_CM114)[0] < 500000  # west of CM is x < 500 km


def test_transform_xy_gcj02_on_either_side():
    wlon, wlat = 114.02, 33.38
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    assert transform_xy(wlon, wlat, CGCS2000, GCJ02) == (glon, glat)
    x, y = transform_xy(glon, glat, "gcj02", WEB_MERCATOR)
    ex, ey = transform_xy(wlon, wlat, WGS84, WEB_MERCATOR)
    assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01
    gx, gy = transform_xy(ex, ey, WEB_MERCATOR, GCJ02)
    assert metres(gx, gy, glon, glat) < 0.01


def test_transform_xy_keeps_array_shape():
    lon = np.array([[113.8, 114.0], [114.1, 114.2]])
    lat = np.full((2, 2), 33.4)
    x, y = transform_xy(lon, lat, CGCS2000, GK_CM114)
    assert x.shape == (2, 2) and y.shape == (2, 2)


def test_transformers_are_cached():
    assert crs._transformer(CGCS2000, WEB_MERCATOR) is crs._transformer(CGCS2000, WEB_MERCATOR)


def test_transform_geometry_and_to_storage_from_every_crs():
    square = box(114.0, 33.4, 114.01, 33.41)
    for src in (WGS84, CRS84, WEB_MERCATOR, GK_CM114, GCJ02):
        there = transform_geometry(square, CGCS2000, src)
        back = to_storage(there, src)
        assert back.geom_type == "Polygon"
        assert back.equals_exact(square, 1e-8), src


def test_to_storage_drops_z():
    assert not to_storage(Point(114.0, 33.4, 50.0), CGCS2000).has_z
    assert not to_storage(Point(500000, 3697111, 50.0), GK_CM114).has_z


def test_area_of_small_square_matches_geodesic_area():
    square = box(114.0, 33.4, 114.001, 33.401)
    expected = abs(GEOD.geometry_area_perimeter(square)[0])
    assert 10_000 < expected < 10_600  # about 93 m x 111 m at 33.4°N
    assert area_m2(square) == pytest.approx(expected, rel=1e-4)


def test_length_matches_geodesic_length():
    line = LineString([(113.9, 33.3), (114.1, 33.5)])
    assert length_m(line) == pytest.approx(GEOD.geometry_length(line), rel=1e-4)
