"""OGC API Features under /ogc against the demo data: discovery, items,
bbox, paging, property filters, CQL2, single items, CRS handling, access."""
from __future__ import annotations

import pytest

from tests.conftest import basic
from sqlalchemy import create_engine, text

from ogc.layers import load_layers
from geo.settings import ROOT

LAYERS = load_layers(ROOT / "layers")
PUBLIC = [l.id for l in LAYERS if l.access == "public"]
INTERNAL = [l.id for l in LAYERS if l.access != "public"]
# A small box in the town centre (CRS84 lon/lat).
SMALL_BBOX = "114.018,33.376,114.022,33.380"


@pytest.fixture(scope="module")
def sql(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as conn:
        yield conn
    eng.dispose()


def test_landing_conformance_openapi(client, passwords):
    landing = client.get("/ogc/?f=json").get_json()
    rels = {l["rel"] for l in landing["links"]}
    assert {"conformance", "data", "service-desc"} <= rels
    conf = client.get("/ogc/conformance?f=json").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert any("ogcapi-features-2" in c for c in conf)  # CRS by reference
    oas = client.get("/ogc/openapi?f=json").get_json()
    assert oas["openapi"].startswith("3.")
    # Anonymous callers see public layers only; credentials show every layer.
    assert "/collections/roads/items" in oas["paths"]
    assert "/collections/components/items" not in oas["paths"]
    oas = client.get("/ogc/openapi?f=json", headers=basic("admin", passwords["admin"])).get_json()
    assert "/collections/components/items" in oas["paths"]


def test_anonymous_collection_list_hides_internal_layers(client, passwords):
    anon = {c["id"] for c in client.get("/ogc/collections?f=json").get_json()["collections"]}
    assert set(PUBLIC) <= anon
    assert not anon & set(INTERNAL)
    landing = client.get("/ogc/?f=json").get_data(as_text=True)
    for cid in INTERNAL:
        assert f"/collections/{cid}" not in landing
    html = client.get("/ogc/collections?f=html").get_data(as_text=True)
    assert not any(f"collections/{cid}\"" in html for cid in INTERNAL)
    named = {c["id"] for c in client.get("/ogc/collections?f=json",
                                          headers=basic("acceptor", passwords["demo"])).get_json()["collections"]}
    assert set(INTERNAL) <= named


def test_every_layer_is_a_collection_with_chinese_title(client, passwords):
    cols = {c["id"]: c for c in client.get("/ogc/collections?f=json", headers=basic("admin", passwords["admin"]))
            .get_json()["collections"]}
    for layer in LAYERS:
        assert layer.id in cols, layer.id
        assert cols[layer.id]["title"] == layer.title_zh
        crs = cols[layer.id]["crs"]
        for uri in ("OGC/1.3/CRS84", "EPSG/0/4490", "EPSG/0/3857", "EPSG/0/4547"):
            assert any(c.endswith(uri) for c in crs), (layer.id, uri)
        assert cols[layer.id]["storageCrs"].endswith("EPSG/0/4490")


@pytest.mark.parametrize("cid", PUBLIC)
def test_public_layers_open_without_login(client, cid):
    r = client.get(f"/ogc/collections/{cid}/items?f=json&limit=5")
    assert r.status_code == 200
    fc = r.get_json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) > 0


@pytest.mark.parametrize("cid", INTERNAL)
def test_internal_layers_need_credentials(client, cid, passwords):
    r = client.get(f"/ogc/collections/{cid}/items?f=json&limit=5")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"
    assert "内部数据" in r.get_json()["error"]["message"]
    ok = client.get(f"/ogc/collections/{cid}/items?f=json&limit=5", headers=basic("acceptor", passwords["demo"]))
    assert ok.status_code == 200 and len(ok.get_json()["features"]) > 0


def test_internal_layer_with_session_login(user_client):
    assert user_client.get("/ogc/collections/components/items?f=json&limit=1").status_code == 200


def test_api_key_access(app, client):
    from webapp.auth.models import User
    from webapp.auth.service import create_api_key
    with app.extensions["cityops.sessions"]() as db:
        uid = db.query(User).filter_by(username="monitor").one().id
        key = create_api_key(db, "测试外部系统", uid)
    assert client.get("/ogc/collections/risk-points/items?f=json", headers={"X-API-Key": key}).status_code == 200
    bad = client.get("/ogc/collections/risk-points/items?f=json", headers={"X-API-Key": key[:-2] + "xx"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "api_key_invalid"
    assert client.get("/ogc/collections/risk-points/items?f=json",
                      headers={"X-API-Key": "nodot"}).get_json()["error"]["code"] == "api_key_malformed"


def test_wrong_basic_password_is_401(client):
    r = client.get("/ogc/collections/components/items?f=json", headers=basic("acceptor", "wrong-pass1"))
    assert r.status_code == 401


def test_bbox_returns_only_features_inside(user_client, sql):
    fc = user_client.get(f"/ogc/collections/components/items?f=json&bbox={SMALL_BBOX}&limit=10000").get_json()
    minx, miny, maxx, maxy = map(float, SMALL_BBOX.split(","))
    assert fc["features"], "the demo town centre has components"
    for f in fc["features"]:
        x, y = f["geometry"]["coordinates"]
        assert minx <= x <= maxx and miny <= y <= maxy
    expected = sql.execute(text(
        "SELECT count(*) FROM geo.component WHERE ST_Intersects(geom, ST_MakeEnvelope(:a,:b,:c,:d,4490))"),
        dict(a=minx, b=miny, c=maxx, d=maxy)).scalar()
    assert len(fc["features"]) == expected


def test_paging_is_stable_and_disjoint(user_client):
    url = "/ogc/collections/components/items?f=json&limit=50"
    p1 = user_client.get(url + "&offset=0").get_json()
    p2 = user_client.get(url + "&offset=50").get_json()
    ids1, ids2 = {f["id"] for f in p1["features"]}, {f["id"] for f in p2["features"]}
    assert len(ids1) == len(ids2) == 50 and not ids1 & ids2
    nxt = [l for l in p1["links"] if l["rel"] == "next"]
    assert nxt and "offset=50" in nxt[0]["href"]
    assert user_client.get(url + "&offset=0").get_json()["features"] == p1["features"]


def test_property_filter(user_client, sql):
    fc = user_client.get("/ogc/collections/components/items?f=json&status=破损&limit=10000").get_json()
    assert fc["features"] and all(f["properties"]["status"] == "破损" for f in fc["features"])
    n = sql.execute(text("SELECT count(*) FROM geo.component WHERE status='破损'")).scalar()
    assert len(fc["features"]) == min(n, 10000)


def test_cql2_text_filter(user_client):
    q = "class_code='0101' AND status='完好'"
    fc = user_client.get("/ogc/collections/components/items", query_string={
        "f": "json", "filter": q, "filter-lang": "cql-text", "limit": 100}).get_json()
    assert fc["features"]
    assert all(f["properties"]["class_code"] == "0101" and f["properties"]["status"] == "完好" for f in fc["features"])


def test_cql2_like_and_in(client):
    fc = client.get("/ogc/collections/roads/items", query_string={
        "f": "json", "filter": "grade IN ('主干路','次干路') AND name LIKE '%路%'", "limit": 500}).get_json()
    assert fc["features"]
    assert all(f["properties"]["grade"] in ("主干路", "次干路") for f in fc["features"])


def test_hits_counts(user_client, sql):
    r = user_client.get("/ogc/collections/unit-grids/items?f=json&resulttype=hits").get_json()
    assert r["numberMatched"] == sql.execute(text("SELECT count(*) FROM geo.unit_grid")).scalar()


def test_single_item_and_missing_item(client, sql):
    code = sql.execute(text("SELECT code FROM geo.unit_grid ORDER BY code LIMIT 1")).scalar()
    f = client.get(f"/ogc/collections/unit-grids/items/{code}?f=json").get_json()
    assert f["id"] == code and f["properties"]["code"] == code
    assert f["geometry"]["type"] == "MultiPolygon"
    r = client.get("/ogc/collections/unit-grids/items/999999999999999?f=json")
    assert r.status_code == 404


def test_crs_output_axis_order_and_projection(client, sql):
    code = sql.execute(text("SELECT code FROM geo.bridge ORDER BY code LIMIT 1")).scalar()
    base = f"/ogc/collections/bridges/items/{code}?f=json"
    lonlat = client.get(base).get_json()["geometry"]["coordinates"][0]
    r = client.get(base + "&crs=http://www.opengis.net/def/crs/EPSG/0/4490")
    assert r.headers["Content-Crs"].strip("<>").endswith("EPSG/0/4490")
    latlon = r.get_json()["geometry"]["coordinates"][0]
    assert latlon == pytest.approx([lonlat[1], lonlat[0]], abs=1e-7)
    merc = client.get(base + "&crs=http://www.opengis.net/def/crs/EPSG/0/3857").get_json()["geometry"]["coordinates"][0]
    assert 1.26e7 < merc[0] < 1.28e7 and 3.9e6 < merc[1] < 4.0e6
    gk = client.get(base + "&crs=http://www.opengis.net/def/crs/EPSG/0/4547").get_json()["geometry"]["coordinates"][0]
    # EPSG:4547 axes are northing, easting; CM 114E has false easting 500 000.
    assert 3.6e6 < gk[0] < 3.8e6 and 490_000 < gk[1] < 510_000


def test_bbox_crs(user_client):
    import pyproj
    t = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
    minx, miny, maxx, maxy = map(float, SMALL_BBOX.split(","))
    a, b = t.transform(minx, miny)
    c, d = t.transform(maxx, maxy)
    r = user_client.get("/ogc/collections/components/items", query_string={
        "f": "json", "bbox": f"{a},{b},{c},{d}", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "limit": 10000})
    assert r.status_code == 200
    ref = user_client.get(f"/ogc/collections/components/items?f=json&bbox={SMALL_BBOX}&limit=10000").get_json()
    assert {f["id"] for f in r.get_json()["features"]} == {f["id"] for f in ref["features"]}


@pytest.mark.parametrize("query", [
    "bbox=abc", "bbox=1,2,3", "bbox=114.1,33.4,114.0,33.3", "limit=-1", "limit=abc", "offset=-5",
    "crs=http://www.opengis.net/def/crs/EPSG/0/9999", "bbox=114,33,115,34&bbox-crs=EPSG:9999",
    "filter=class_code%3D", "filter=nosuchfield%3D1", "nosuchparam=1", "sortby=nosuchfield",
])
def test_bad_input_is_4xx_not_500(user_client, query):
    r = user_client.get(f"/ogc/collections/components/items?f=json&{query}")
    assert 400 <= r.status_code < 500, (query, r.status_code, r.get_data(as_text=True)[:300])


def test_unknown_collection_is_404(client):
    assert client.get("/ogc/collections/nope/items?f=json").status_code == 404
    assert client.get("/ogc/collections/nope?f=json").status_code == 404


def test_geometry_has_no_legacy_crs_member(client):
    f = client.get("/ogc/collections/bridges/items?f=json&limit=1").get_json()["features"][0]
    assert "crs" not in f["geometry"]
    r = client.get("/ogc/collections/bridges/items?f=json&limit=1&crs=http://www.opengis.net/def/crs/EPSG/0/4547")
    assert "crs" not in r.get_json()["features"][0]["geometry"]
