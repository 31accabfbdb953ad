"""Spatial base data (R8): upload → inspect → check → publish as an OGC
collection → read back (Flask client, GDAL's OAPIF driver, a second app
instance that must reload) → delete. Bad uploads get a 4xx and leave no
table, no layer file and no registry row behind."""
from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, text

from tests.conftest import basic

API = "/api/admin/spatial"
TOWN = (114.02, 33.38)  # Xiping's town centre (lon, lat)


# -- helpers -------------------------------------------------------------------
@pytest.fixture(scope="module")
def sql(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
    eng.dispose()


def csrf(client) -> str:
    import re
    html = client.get("/admin/spatial").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Admin:
    def __init__(self, client):
        self.c = client
        self.h = {"X-CSRFToken": csrf(client), "Accept": "application/json"}

    def upload(self, name: str, data: bytes, layer: str | None = None):
        form = {"file": (io.BytesIO(data), name)}
        if layer:
            form["layer"] = layer
        return self.c.post(f"{API}/uploads", data=form, headers=self.h, content_type="multipart/form-data")

    def post(self, path, body):
        return self.c.post(API + path, json=body, headers=self.h)

    def delete(self, layer_id):
        return self.c.delete(f"{API}/layers/{layer_id}", headers=self.h)


@pytest.fixture()
def admin(admin_client):
    return Admin(admin_client)


def layers_dir(app) -> Path:
    return app.extensions["cityops.settings"].var_dir / "layers"


def state(app, sql) -> tuple:
    """Everything a publish could create: userdata tables, layer files, registry rows, OGC collections."""
    tables = tuple(r[0] for r in sql.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema='userdata' ORDER BY 1")))
    files = tuple(sorted(p.name for p in layers_dir(app).glob("*.yml"))) if layers_dir(app).exists() else ()
    rows = tuple(r[0] for r in sql.execute(text("SELECT id FROM admin.spatial_layer ORDER BY 1")))
    from ogc.mount import catalog
    cols = tuple(sorted(l.id for l in catalog(app).current().layers))
    return tables, files, rows, cols


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def shapefile_zip(tmp: Path, frame: gpd.GeoDataFrame, stem: str, encoding="UTF-8", drop=()) -> bytes:
    d = tmp / stem
    d.mkdir()
    frame.to_file(d / f"{stem}.shp", encoding=encoding)
    return zip_bytes({f"{stem}/{p.name}": p.read_bytes() for p in sorted(d.iterdir())
                      if p.suffix.lower().lstrip(".") not in drop})


def squares(n=3, size=0.002) -> list:
    return [shapely.box(TOWN[0] + i * 0.004, TOWN[1], TOWN[0] + i * 0.004 + size, TOWN[1] + size) for i in range(n)]


# -- the whole path ------------------------------------------------------------
def test_gbk_shapefile_with_prj_published_read_by_gdal_and_second_app(app, admin, sql, live_server, settings,
                                                                       passwords, tmp_path):
    frame = gpd.GeoDataFrame({"名称": ["西平公园", "文化广场", "柏亭绿地"], "类型": ["公园", "广场", "绿地"],
                              "面积": [1200.5, 800.0, 450.25], "编号": [1, 2, 3]},
                             geometry=squares(), crs="EPSG:4490")
    # GBK attributes and no .cpg: what older desktop GIS produce; the encoding is detected.
    data = shapefile_zip(tmp_path, frame, "parks", encoding="GBK", drop=("cpg",))
    from webapp.app import create_app
    second = create_app(settings, settings.database_url)  # a second worker, started before the publish
    assert second.test_client().get("/ogc/collections/parks-2025?f=json",
                                    headers=basic("admin", passwords["admin"])).status_code == 404

    r = admin.upload("parks.zip", data)
    assert r.status_code == 200, r.get_json()
    rep = r.get_json()
    assert rep["format"] == "shapefile" and rep["feature_count"] == 3
    assert rep["geometry_types"] == {"Polygon": 3}
    assert rep["crs"] == "EPSG:4490" and rep["crs_detected"] is True
    assert [f["title"] for f in rep["fields"]] == ["名称", "类型", "面积", "编号"]
    assert [f["type"] for f in rep["fields"]] == ["string", "string", "number", "integer"]
    assert rep["sample"][0]["名称"] == "西平公园"          # GBK decoded
    assert any("GBK" in n for n in rep["notes"])
    west, south, east, north = rep["bbox"]
    assert 114.0 < west < east < 114.04 and 33.37 < south < north < 33.39

    chk = admin.post("/check", {"upload": rep["upload"]}).get_json()
    assert chk["ok"] is True and chk["problems"] == [] and chk["geometry_type"] == "Polygon"

    r = admin.post("/layers", {"upload": rep["upload"], "file_name": "parks.zip", "id": "parks-2025",
                               "title": "公园绿地", "description": "城区公园与广场", "access": "internal",
                               "color": "#31A354"})
    assert r.status_code == 201, r.get_json()
    row = r.get_json()
    assert row["table"] == "userdata.parks_2025" and row["feature_count"] == 3 and row["crs"] == "EPSG:4490"

    # PostGIS: typed 4490 geometry with a GiST index; original names kept as titles in the layer file.
    assert sql.execute(text("SELECT type, srid FROM geometry_columns WHERE f_table_schema='userdata' "
                            "AND f_table_name='parks_2025'")).one() == ("POLYGON", 4490)
    assert sql.execute(text("SELECT count(*) FROM pg_indexes WHERE schemaname='userdata' AND "
                            "tablename='parks_2025' AND indexdef ILIKE '%gist%'")).scalar() == 1
    assert sql.execute(text("SELECT f1 FROM userdata.parks_2025 ORDER BY gid")).scalars().all() == \
        ["西平公园", "文化广场", "柏亭绿地"]
    doc = (layers_dir(app) / "parks-2025.yml").read_text(encoding="utf-8")
    assert "公园绿地" in doc and "名称" in doc
    assert not (Path(__file__).resolve().parents[2] / "layers" / "parks-2025.yml").exists()
    logged = sql.execute(text("SELECT count(*) FROM admin.operation_log WHERE target_table='userdata.parks_2025' "
                              "AND action='import'")).scalar()
    assert logged == 1

    # The second app answers without a restart: its catalogue reloads on the next /ogc request.
    c2 = second.test_client()
    r2 = c2.get("/ogc/collections/parks-2025/items?f=json", headers=basic("admin", passwords["admin"]))
    assert r2.status_code == 200 and len(r2.get_json()["features"]) == 3
    assert r2.get_json()["features"][0]["properties"]["f1"] == "西平公园"
    # Internal: anonymous callers get 401 and do not see it in the list.
    assert c2.get("/ogc/collections/parks-2025/items?f=json").status_code == 401
    anon = {c["id"] for c in c2.get("/ogc/collections?f=json").get_json()["collections"]}
    assert "parks-2025" not in anon and "roads" in anon

    # GDAL's OAPIF driver (what QGIS uses) reads it from the live server.
    res = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{live_server.url}/ogc/collections/parks-2025",
                          "--config", "GDAL_HTTP_AUTH", "BASIC", "--config", "GDAL_HTTP_USERPWD",
                          f"admin:{passwords['admin']}"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Feature Count: 3" in res.stdout and "Polygon" in res.stdout

    # The home map's catalogue lists it.
    layers = {l["id"]: l for l in admin.c.get("/api/map/layers").get_json()["layers"]}
    assert layers["parks-2025"]["field_titles"]["f1"] == "名称"
    assert layers["parks-2025"]["style"]["color"] == "#31a354"
    listed = admin.c.get(f"{API}/layers").get_json()["items"]
    assert any(i["id"] == "parks-2025" and i["created_by"] == "admin" for i in listed)

    # Delete: table, file and row go, and the second app stops serving it.
    assert admin.delete("parks-2025").status_code == 204
    assert c2.get("/ogc/collections/parks-2025?f=json", headers=basic("admin", passwords["admin"])).status_code == 404
    assert "parks-2025" not in state(app, sql)[3] and "parks_2025" not in state(app, sql)[0]
    assert not (layers_dir(app) / "parks-2025.yml").exists()
    assert admin.delete("parks-2025").status_code == 404


def test_shapefile_without_prj_asks_for_crs(app, admin, sql, tmp_path):
    pts = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=shapely.points([[114.015, 33.375], [114.025, 33.385]]),
                           crs="EPSG:4490").to_crs("EPSG:4547")
    data = shapefile_zip(tmp_path, pts, "wells", drop=("prj",))
    rep = admin.upload("wells.zip", data).get_json()
    assert rep["crs"] is None and rep["crs_label"] == "未识别坐标系" and rep["crs_detected"] is False
    assert "EPSG:4547" in [c["value"] for c in rep["crs_choices"]]
    before = state(app, sql)
    r = admin.post("/layers", {"upload": rep["upload"], "id": "wells", "title": "水井", "access": "public"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "spatial_crs_required"
    assert "未识别坐标系" in r.get_json()["error"]["message"]
    assert state(app, sql) == before
    r = admin.post("/layers", {"upload": rep["upload"], "id": "wells", "title": "水井", "access": "public",
                               "crs": "EPSG:4547"})
    assert r.status_code == 201, r.get_json()
    xy = sql.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM userdata.wells ORDER BY gid")).all()
    assert abs(xy[0][0] - 114.015) < 1e-6 and abs(xy[0][1] - 33.375) < 1e-6
    assert admin.delete("wells").status_code == 204


def test_geopackage_layers_listed_and_chosen(app, admin, sql, tmp_path):
    path = tmp_path / "city.gpkg"
    roads = gpd.GeoDataFrame({"道路名称": ["人民路"]}, geometry=[shapely.LineString([TOWN, (114.03, 33.385)])],
                             crs="EPSG:4490")
    covers = gpd.GeoDataFrame({"编码": ["C1", "C2"]}, geometry=shapely.points([[114.021, 33.381], [114.022, 33.382]]),
                              crs="EPSG:4490")
    roads.to_file(path, layer="roads", driver="GPKG")
    covers.to_file(path, layer="manholes", driver="GPKG")
    data = path.read_bytes()
    rep = admin.upload("city.gpkg", data).get_json()
    assert [l["name"] for l in rep["layers"]] == ["roads", "manholes"] and rep["layer"] == "roads"
    rep2 = admin.upload("city.gpkg", data, layer="manholes").get_json()
    assert rep2["layer"] == "manholes" and rep2["feature_count"] == 2 and rep2["geometry_types"] == {"Point": 2}
    bad = admin.upload("city.gpkg", data, layer="nope")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "spatial_layer_unknown"
    r = admin.post("/layers", {"upload": rep2["upload"], "layer": "manholes", "id": "manholes", "title": "井盖",
                               "access": "internal"})
    assert r.status_code == 201 and r.get_json()["source_layer"] == "manholes"
    assert admin.delete("manholes").status_code == 204


def test_geojson_public_layer_open_to_anonymous(app, admin, client, sql):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "公厕1", "seats": 6},
         "geometry": {"type": "Point", "coordinates": [114.018, 33.379]}}]}
    rep = admin.upload("toilets.geojson", json.dumps(fc, ensure_ascii=False).encode()).get_json()
    assert rep["format"] == "geojson" and rep["crs"] in ("EPSG:4326", "OGC:CRS84")
    r = admin.post("/layers", {"upload": rep["upload"], "id": "toilets", "title": "公共厕所", "access": "public"})
    assert r.status_code == 201, r.get_json()
    anon = {c["id"] for c in client.get("/ogc/collections?f=json").get_json()["collections"]}
    assert "toilets" in anon
    items = client.get("/ogc/collections/toilets/items?f=json").get_json()
    assert items["features"][0]["properties"] == {"name": "公厕1", "seats": 6}
    assert admin.delete("toilets").status_code == 204


def test_csv_with_chinese_coordinate_columns(app, admin, sql):
    csv = "名称,经度,纬度,类别\n路灯1,114.0201,33.3801,照明\n路灯2,114.0202,33.3802,照明\n"
    rep = admin.upload("lamps.csv", csv.encode("gbk")).get_json()
    assert rep["csv_columns"] == {"lon": "经度", "lat": "纬度"} and rep["feature_count"] == 2
    assert rep["crs"] is None  # a CSV names no CRS: the operator chooses
    r = admin.post("/layers", {"upload": rep["upload"], "id": "lamps", "title": "路灯", "access": "internal",
                               "crs": "EPSG:4490"})
    assert r.status_code == 201, r.get_json()
    assert sql.execute(text("SELECT count(*) FROM userdata.lamps WHERE ST_GeometryType(geom)='ST_Point'")).scalar() == 2
    assert admin.delete("lamps").status_code == 204


def test_invalid_geometry_refused_then_repaired(app, admin, sql):
    bowtie = {"type": "Polygon", "coordinates": [[[114.02, 33.38], [114.022, 33.382], [114.022, 33.38],
                                                  [114.02, 33.382], [114.02, 33.38]]]}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n": 1}, "geometry": bowtie},
        {"type": "Feature", "properties": {"n": 2}, "geometry": shapely.geometry.mapping(squares(1)[0])}]}
    rep = admin.upload("bowtie.geojson", json.dumps(fc).encode()).get_json()
    chk = admin.post("/check", {"upload": rep["upload"]}).get_json()
    assert chk["ok"] is False and chk["problems"] == [{"code": "geometry_invalid", "name": "几何无效（自相交等）",
                                                        "count": 1}]
    assert chk["problem_rows"][0]["row"] == 1 and "自相交" in chk["problem_rows"][0]["message"]
    before = state(app, sql)
    r = admin.post("/layers", {"upload": rep["upload"], "id": "bowtie", "title": "蝴蝶", "access": "internal"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "spatial_invalid_geometries"
    assert "ST_MakeValid" in r.get_json()["error"]["message"]
    assert state(app, sql) == before
    r = admin.post("/layers", {"upload": rep["upload"], "id": "bowtie", "title": "蝴蝶", "access": "internal",
                               "repair": True})
    assert r.status_code == 201 and r.get_json()["repaired_count"] == 1
    assert r.get_json()["geometry_type"] == "MultiPolygon"
    assert sql.execute(text("SELECT bool_and(ST_IsValid(geom)) FROM userdata.bowtie")).scalar() is True
    assert sql.execute(text("SELECT after->>'repaired_with_st_makevalid' FROM admin.operation_log "
                            "WHERE target_table='userdata.bowtie' AND action='import'")).scalar() == "1"
    assert admin.delete("bowtie").status_code == 204


# -- refused uploads: 4xx, nothing created ------------------------------------------
def _good_csv() -> bytes:
    return "名称,经度,纬度\n点1,114.02,33.38\n".encode()


@pytest.mark.parametrize("name,data,status,code", [
    ("layer.txt", b"hello", 415, "upload_type_forbidden"),
    ("layer.zip", b"just text, not a zip", 415, "upload_type_mismatch"),
    ("layer.zip", b"PK\x03\x04" + b"\x00broken" * 50, 400, "spatial_zip_broken"),
    ("layer.geojson", b'{"type": "Nonsense"}', 422, "spatial_unreadable"),
    ("layer.csv", "名称,地址\n甲,人民路\n".encode(), 422, "spatial_csv_no_coordinates"),
])
def test_bad_files_refused_at_upload(app, admin, sql, name, data, status, code):
    before = state(app, sql)
    r = admin.upload(name, data)
    assert r.status_code == status, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])
    assert state(app, sql) == before


def test_zip_without_dbf(app, admin, sql, tmp_path):
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=squares(1), crs="EPSG:4490")
    data = shapefile_zip(tmp_path, frame, "nodbf", drop=("dbf",))
    before = state(app, sql)
    r = admin.upload("nodbf.zip", data)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "spatial_shapefile_incomplete"
    assert ".dbf" in r.get_json()["error"]["message"]
    assert state(app, sql) == before


def test_too_large(app, admin, sql):
    from webapp import sysconfig
    sql.execute(text("INSERT INTO admin.setting (key, value) VALUES ('upload.spatial_max_mb', '1')"))
    sysconfig.invalidate()
    try:
        before = state(app, sql)
        big = _good_csv() + ("点2,114.02,33.38\n".encode() * 80_000)
        assert len(big) > 1 << 20
        r = admin.upload("big.csv", big)
        assert r.status_code == 413 and r.get_json()["error"]["code"] == "upload_too_large"
        assert state(app, sql) == before
    finally:
        sql.execute(text("DELETE FROM admin.setting WHERE key='upload.spatial_max_mb'"))
        sysconfig.invalidate()


@pytest.mark.parametrize("csv,code", [
    ("名称,经度,纬度\n北京,116.40,39.90\n西平,114.02,33.38\n", "outside_county"),
    ("名称,经度,纬度\n颠倒,33.38,114.02\n", "latlon_swapped"),
])
def test_bad_geometries_refused_at_publish(app, admin, sql, csv, code):
    rep = admin.upload("pts.csv", csv.encode()).get_json()
    before = state(app, sql)
    r = admin.post("/layers", {"upload": rep["upload"], "id": "bad-points", "title": "坏点", "access": "internal",
                               "crs": "EPSG:4490", "repair": True})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "spatial_invalid_geometries"
    assert code in {p["code"] for p in err["details"]["problems"]}
    assert state(app, sql) == before


@pytest.mark.parametrize("layer_id,status,code", [
    ("roads", 409, "spatial_id_taken"),         # a built-in collection
    ("Roads!", 400, "spatial_id_invalid"),
    ("道路", 400, "spatial_id_invalid"),
])
def test_id_validated_and_not_clashing(app, admin, sql, layer_id, status, code):
    rep = admin.upload("ok.csv", _good_csv()).get_json()
    before = state(app, sql)
    r = admin.post("/layers", {"upload": rep["upload"], "id": layer_id, "title": "测试", "access": "internal",
                               "crs": "EPSG:4490"})
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    assert state(app, sql) == before


def test_id_clash_with_an_uploaded_layer(app, admin, sql):
    rep = admin.upload("ok.csv", _good_csv()).get_json()
    body = {"upload": rep["upload"], "id": "clash-test", "title": "测试", "access": "internal", "crs": "EPSG:4490"}
    assert admin.post("/layers", body).status_code == 201
    before = state(app, sql)
    r = admin.post("/layers", body)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "spatial_id_taken"
    assert state(app, sql) == before
    assert admin.delete("clash-test").status_code == 204


def test_forged_upload_reference_refused(admin):
    r = admin.post("/check", {"upload": "../../secret_key"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "spatial_upload_unknown"


def test_permissions(user_client, client):
    assert client.get(f"{API}/layers", headers={"Accept": "application/json"}).status_code == 401
    assert user_client.get(f"{API}/layers", headers={"Accept": "application/json"}).status_code == 403
    assert user_client.get("/admin/spatial").status_code == 403


def test_page_renders(admin_client):
    html = admin_client.get("/admin/spatial").get_data(as_text=True)
    assert "空间基础数据" in html and "spatial.js" in html and "EPSG:4547" in html
