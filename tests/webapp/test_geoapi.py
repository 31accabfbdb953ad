"""The geo JSON API: locate, geocode, validate, transform, codes, search."""
from __future__ import annotations

import pytest
from sqlalchemy import text


@pytest.fixture(scope="module")
def grid(app):
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text(
            "SELECT code, community_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM geo.unit_grid ORDER BY code LIMIT 1 OFFSET 100")).fetchone()


def test_api_requires_login(client):
    r = client.get("/api/geo/locate?lon=114.02&lat=33.38")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_locate_point(user_client, grid):
    code, community, x, y = grid
    r = user_client.get(f"/api/geo/locate?lon={x}&lat={y}").get_json()
    assert r["grid_code"] == code and r["community_code"] == community
    assert r["street_code"] == community[:9] and r["county_code"] == "411721"
    assert r["resp_grid_code"] and r["resp_grid_code"].startswith(community[:9])


def test_locate_gcj02_input(user_client, grid):
    from geo.crs import wgs84_to_gcj02
    code, _, x, y = grid
    gx, gy = wgs84_to_gcj02(x, y)
    r = user_client.get(f"/api/geo/locate?lon={gx}&lat={gy}&crs=GCJ-02").get_json()
    assert r["grid_code"] == code
    assert abs(r["lon"] - x) < 1e-6 and abs(r["lat"] - y) < 1e-6


@pytest.mark.parametrize("query,code", [
    ("lon=33.38&lat=114.02", "latlon_swapped"),
    ("lon=116.4&lat=39.9", "outside_county"),
    ("lon=abc&lat=33.38", "parameter_invalid"),
    ("lat=33.38", "parameter_missing"),
    ("lon=114.02&lat=33.38&crs=EPSG:9999", "crs_unsupported"),
    ("lon=500000&lat=3695000", "wrong_srid"),
    ("lon=114.02&lat=33.38&foo=1", "parameter_unknown"),
    ("lon=nan&lat=33.38", "parameter_invalid"),
])
def test_locate_bad_input(user_client, query, code):
    r = user_client.get(f"/api/geo/locate?{query}")
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.get_json()["error"]["message"])


def test_geocode_exact_and_fuzzy(user_client, app):
    with app.extensions["cityops.sessions"]() as db:
        addr, road, num = db.execute(text(
            "SELECT full_address, road_name, number FROM geo.address ORDER BY code LIMIT 1 OFFSET 50")).fetchone()
    r = user_client.get("/api/geo/geocode", query_string={"address": addr}).get_json()
    assert r["candidates"][0]["address"] == addr and r["candidates"][0]["level"] == "门牌"
    # Without the county prefix and with a number that does not exist exactly.
    r = user_client.get("/api/geo/geocode", query_string={"address": f"{road}{num + 1000}号"}).get_json()
    assert r["candidates"][0]["level"] in ("道路插值", "门牌-相似")
    assert road in r["candidates"][0]["address"]


def test_geocode_not_found(user_client):
    r = user_client.get("/api/geo/geocode", query_string={"address": "火星大道1号"})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "address_not_found"
    assert user_client.get("/api/geo/geocode?address=x").status_code == 400


def _csrf_post(client, url, json):
    # A session-cookie API call needs the CSRF token from a page.
    import re
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(url, json=json, headers={"X-CSRFToken": token})


def test_validate_geometry(user_client):
    ok = _csrf_post(user_client, "/api/geo/validate",
                    {"geometry": {"type": "Point", "coordinates": [114.02, 33.38]}})
    assert ok.status_code == 200 and ok.get_json()["valid"]
    bowtie = {"type": "Polygon", "coordinates": [[[114.01, 33.37], [114.02, 33.38], [114.02, 33.37],
                                                 [114.01, 33.38], [114.01, 33.37]]]}
    r = _csrf_post(user_client, "/api/geo/validate", {"geometry": bowtie})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "geometry_invalid"
    assert "自相交" in r.get_json()["error"]["message"]
    r = _csrf_post(user_client, "/api/geo/validate", {"geometry": {"type": "Point"}, "extra": 1})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "field_unknown"
    r = _csrf_post(user_client, "/api/geo/validate", {"geometry": "POINT(1 2"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "geometry_malformed"


def test_validate_without_csrf_is_refused(user_client):
    r = user_client.post("/api/geo/validate", json={"geometry": {"type": "Point", "coordinates": [114.02, 33.38]}})
    assert r.status_code == 400


def test_transform_and_codes(user_client, grid):
    r = user_client.get("/api/geo/transform?x=114.02&y=33.38&from=EPSG:4490&to=EPSG:4547").get_json()
    assert 499_000 < r["x"] < 503_000
    code = grid[0]
    g = user_client.get(f"/api/geo/codes/grid/{code}").get_json()
    assert g["exists"] and g["parsed"]["serial"]
    bad = user_client.get("/api/geo/codes/grid/41172100100")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "grid_code_invalid"
    bad = user_client.get("/api/geo/codes/component/4117219999000001")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "component_class_unknown"


def test_search_by_code(user_client, grid):
    r = user_client.get(f"/api/geo/search?q={grid[0]}").get_json()
    assert any(x["id"] == grid[0] and x["collection"] == "unit-grids" for x in r["results"])
    assert user_client.get("/api/geo/search?q=").status_code == 400
