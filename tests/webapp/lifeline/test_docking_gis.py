"""GIS import of a utility's pipes (R120–R123): Shapefile zip with a GBK DBF
and Chinese field names, GeoPackage, FileGDB built with ogr2ogr; field
mapping with unit and material conversions; refusals change nothing; upsert
counts on re-import; the OGC collection shows the imported pipe."""
from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from tests.conftest import assert_error, basic, json_api
from tests.webapp.lifeline.conftest import restore_pipes, sql  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("restore_pipes")

FIELDS = {"code": "管线编号", "diameter_mm": "管径", "material": "材质", "depth_m": "埋深",
          "install_year": "建设年代", "from_node": "起点编号", "to_node": "终点编号"}


@pytest.fixture(scope="module")
def admin(app, passwords):
    return json_api(app, "admin", passwords["admin"])


@pytest.fixture(scope="module")
def origin(iot_dsn):
    """A point well inside the county: a demo water node."""
    return sql(iot_dsn, "SELECT ST_X(geom), ST_Y(geom) FROM geo.pipe_node WHERE network = 'water' ORDER BY code "
                        "LIMIT 1")[0]


def make_source(admin, code: str, network: str, dept: str) -> dict:
    r = admin.post("/api/lifeline/docking/sources", json={"code": code, "name": f"{code} GIS", "network": network,
                                                          "kind": "gis_file", "dept_code": dept})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def frame(origin, prefix: str, n: int = 3, diam_m: float = 0.3, material: str = "球铁", **over) -> gpd.GeoDataFrame:
    """n chained pipes eastward from origin (offset north so no demo pipe is touched), Chinese field names."""
    x0, y0 = origin[0], origin[1] + 0.002
    rows, geoms = [], []
    for i in range(n):
        a, b = (x0 + i * 0.0008, y0), (x0 + (i + 1) * 0.0008, y0)
        rows.append({"管线编号": f"{prefix}-{i + 1:03d}", "管径": diam_m, "材质": material, "埋深": 150.0,
                     "建设年代": 2015, "起点编号": f"{prefix}N{i}", "终点编号": f"{prefix}N{i + 1}"})
        geoms.append(LineString([a, b]))
    for k, v in over.items():
        idx, field = k.split("__")
        rows[int(idx)][field] = v
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4490")


def shapefile_zip(gdf, tmp: Path) -> bytes:
    """A Shapefile as Chinese desktop GIS writes it: GBK DBF, no .cpg."""
    out = tmp / "shp"
    out.mkdir(exist_ok=True)
    gdf.to_file(out / "供水管线.shp", encoding="GBK", engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in out.iterdir():
            if p.suffix.lower() != ".cpg":
                zf.write(p, p.name)
    dbf = (out / "供水管线.dbf").read_bytes()
    assert "管线编号".encode("gbk") in dbf          # really GBK
    return buf.getvalue()


def gpkg_bytes(gdf, tmp: Path, layer="pipes") -> bytes:
    p = tmp / f"{layer}.gpkg"
    gdf.to_file(p, layer=layer, driver="GPKG", engine="pyogrio")
    return p.read_bytes()


def filegdb_zip(gdf, tmp: Path) -> bytes:
    src = tmp / "for_gdb.gpkg"
    gdf.to_file(src, layer="gas_pipes", driver="GPKG", engine="pyogrio")
    gdb = tmp / "燃气管网.gdb"
    subprocess.run(["ogr2ogr", "-f", "OpenFileGDB", str(gdb), str(src)], check=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in gdb.rglob("*"):
            zf.write(p, str(Path(gdb.name) / p.relative_to(gdb)))
    return buf.getvalue()


def upload(admin, sid: int, name: str, data: bytes) -> dict:
    r = admin.upload(f"/api/lifeline/docking/sources/{sid}/gis/upload", {"file": (name, data)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def pipes(dsn, prefix):
    return sql(dsn, "SELECT code, network, diameter_mm, material, depth_m, install_year, from_node, to_node, "
                    "owner_dept, version FROM geo.pipe WHERE code LIKE %s ORDER BY code", (prefix + "-%",))


def test_shapefile_gbk_mapping_conversions_and_reimport(admin, app, origin, iot_dsn, tmp_path, passwords):
    src = make_source(admin, "T-WATER-GIS", "water", "D013")
    info = upload(admin, src["id"], "供水管线.zip", shapefile_zip(frame(origin, "ZLS"), tmp_path))
    assert info["format"] == "shapefile" and info["feature_count"] == 3
    assert "管线编号" in info["fields"] and "材质" in info["fields"]          # GBK read correctly
    guessed = info["mapping"]["fields"]
    assert guessed["code"] == "管线编号" and guessed["diameter_mm"] == "管径" and guessed["from_node"] == "起点编号"
    mapping = {"fields": FIELDS, "units": {"diameter_mm": "m", "depth_m": "cm"}}
    body = {"upload": info["upload"], "mapping": mapping}
    rep = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/validate", json=body).get_json()
    assert rep["valid"] == 3 and rep["rejected"] == 0 and rep["new_nodes"] == 4
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import", json=body)
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["inserted"], r.get_json()["updated"], r.get_json()["unchanged"]) == (3, 0, 0)
    rows = pipes(iot_dsn, "ZLS")
    assert [(x[0], x[1], x[2], x[3], x[4], x[5], x[8]) for x in rows][0] == \
        ("ZLS-001", "water", 300, "球墨铸铁", 1.5, 2015, "D013")                 # m→mm, cm→m, 球铁→球墨铸铁
    assert sql(iot_dsn, "SELECT count(*) FROM geo.pipe_node WHERE code LIKE 'ZLSN%%' AND network = 'water'")[0][0] == 4
    # same file again: unchanged; the mapping was saved on the source and is offered next time
    again = upload(admin, src["id"], "供水管线.zip", shapefile_zip(frame(origin, "ZLS"), tmp_path))
    assert again["mapping"]["saved"] is True and again["mapping"]["units"]["diameter_mm"] == "m"
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                   json={"upload": again["upload"], "mapping": again["mapping"]}).get_json()
    assert (r["inserted"], r["updated"], r["unchanged"]) == (0, 0, 3)
    # a GeoPackage with one changed diameter (0.4 m) and one new pipe: 1 inserted, 1 updated, 2 unchanged
    gdf = frame(origin, "ZLS", n=4, **{"1__管径": 0.4})
    info = upload(admin, src["id"], "pipes.gpkg", gpkg_bytes(gdf, tmp_path))
    assert info["format"] == "gpkg"
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                   json={"upload": info["upload"], "mapping": info["mapping"]}).get_json()
    assert (r["inserted"], r["updated"], r["unchanged"], r["rejected"]) == (1, 1, 2, 0)
    rows = {x[0]: x for x in pipes(iot_dsn, "ZLS")}
    assert rows["ZLS-002"][2] == 400 and rows["ZLS-002"][9] == 2 and rows["ZLS-001"][9] == 1
    # sync state and run log
    s = admin.get(f"/api/lifeline/docking/sources/{src['id']}").get_json()
    assert s["status"] == "ok" and s["rows_in"] == 3 + 3 + 4 and s["last_success_at"]
    runs = admin.get(f"/api/lifeline/docking/sources/{src['id']}/runs").get_json()["items"]
    assert len(runs) == 3 and runs[0]["inserted"] == 1 and runs[0]["updated"] == 1
    # the OGC collection reads the table: the imported pipe is there
    c = app.test_client()
    r = c.get("/ogc/collections/pipes-water/items/ZLS-002?f=json", headers=basic("admin", passwords["admin"]))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.get_json()["properties"]["diameter_mm"] == 400


def test_refusals_change_nothing_and_partial_import(admin, origin, iot_dsn, tmp_path):
    src = make_source(admin, "T-DRAIN-GIS", "drainage", "D016")
    count = lambda: sql(iot_dsn, "SELECT (SELECT count(*) FROM geo.pipe), (SELECT count(*) FROM geo.pipe_node), "  # noqa: E731
                                 "(SELECT count(*) FROM lifeline.dock_run)")[0]
    # row problems: duplicate code (rows 1, 2), out of county (row 3), unknown material (row 4),
    # dangling: row 5 ends at an existing demo node far from its end
    demo_node = sql(iot_dsn, "SELECT code FROM geo.pipe_node WHERE network = 'sewage' ORDER BY code LIMIT 1")[0][0]
    gdf = frame(origin, "PS", n=6, **{"1__管线编号": "PS-001", "3__材质": "玻璃钢夹砂", "4__终点编号": demo_node})
    gdf.loc[2, "geometry"] = LineString([(120.0, 30.0), (120.001, 30.0)])
    info = upload(admin, src["id"], "ps.gpkg", gpkg_bytes(gdf, tmp_path, "sewer"))
    mapping = {"fields": FIELDS, "units": {"diameter_mm": "m", "depth_m": "cm"}, "target_network": "sewage"}
    before = count()
    # unmapped required field
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                   json={"upload": info["upload"], "mapping": {"fields": {"code": "管线编号"}}})
    assert_error(r, 422, "docking_mapping_required")
    # a bad unit, a field not in the file
    assert_error(admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                            json={"upload": info["upload"], "mapping": {**mapping, "units": {"diameter_mm": "inch"}}}),
                 400, "docking_mapping_unit_invalid")
    assert_error(admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                            json={"upload": info["upload"], "mapping": {**mapping, "fields": {**FIELDS, "code": "无此字段"}}}),
                 422, "docking_mapping_field_unknown")
    # rows with problems refuse the whole import
    e = assert_error(admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                                json={"upload": info["upload"], "mapping": mapping}), 422, "docking_gis_invalid")
    codes = {p["code"]: p["count"] for p in e["details"]["problems"]}
    assert codes == {"code_duplicate": 2, "outside_county": 1, "material_unknown": 1, "node_dangling": 1}, codes
    assert count() == before
    # with allow_partial the one good row goes in, the rest are downloadable
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                   json={"upload": info["upload"], "mapping": mapping, "allow_partial": True})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["inserted"], r.get_json()["rejected"]) == (1, 5)
    assert [x[:2] for x in pipes(iot_dsn, "PS")] == [("PS-006", "sewage")]
    csv_text = admin.get(f"/api/lifeline/docking/runs/{r.get_json()['run_id']}/rejected.csv").get_data(as_text=True)
    assert "文件内编号重复" in csv_text and "位于县域范围外" in csv_text and "玻璃钢夹砂" in csv_text
    assert len(csv_text.strip().splitlines()) == 6
    # a material mapping fixes row 4 next time
    mapping["materials"] = {"玻璃钢夹砂": "玻璃钢"}
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/validate",
                   json={"upload": info["upload"], "mapping": mapping}).get_json()
    assert "material_unknown" not in {p["code"] for p in r["problems"]}
    # bridges have no pipe GIS; a wrong file type is refused by the upload gate
    br = admin.post("/api/lifeline/docking/sources", json={"code": "T-BR", "name": "桥梁", "network": "bridge",
                                                           "kind": "gis_file"}).get_json()
    assert_error(admin.upload(f"/api/lifeline/docking/sources/{br['id']}/gis/upload", {"file": ("a.gpkg", b"x")}),
                 400, "docking_gis_unsupported")
    assert_error(admin.upload(f"/api/lifeline/docking/sources/{src['id']}/gis/upload", {"file": ("a.exe", b"MZ")}),
                 415, "upload_type_forbidden")


def test_filegdb_import(admin, origin, iot_dsn, tmp_path):
    src = make_source(admin, "T-GAS-GIS", "gas", "D014")
    gdf = frame(origin, "RQ", n=2, diam_m=160, material="PE管")
    info = upload(admin, src["id"], "燃气管网.gdb.zip", filegdb_zip(gdf, tmp_path))
    assert info["format"] == "filegdb" and info["layer"] == "gas_pipes" and info["feature_count"] == 2
    r = admin.post(f"/api/lifeline/docking/sources/{src['id']}/gis/import",
                   json={"upload": info["upload"], "mapping": {"fields": FIELDS, "units": {"depth_m": "cm"}}})
    assert r.status_code == 200, r.get_json()
    assert [(x[0], x[1], x[2], x[3]) for x in pipes(iot_dsn, "RQ")] == [("RQ-001", "gas", 160, "PE"),
                                                                          ("RQ-002", "gas", 160, "PE")]


def test_demo_seed_is_idempotent(app, iot_dsn):
    from webapp.db import get_db
    from webapp.lifeline.docking import seed_demo
    with app.app_context():
        db = get_db()
        seed_demo(db, log=lambda *_: None)
        db.commit()
        n = sql(iot_dsn, "SELECT count(*) FROM lifeline.dock_source WHERE code LIKE '%%-SCADA' OR code LIKE '%%-PUSH'")[0][0]
        seed_demo(db, log=lambda *_: None)
        db.commit()
    assert n == 5
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.dock_source WHERE code IN ('WATER-GIS', 'GAS-GIS', 'HEAT-GIS', "
                        "'DRAIN-GIS')")[0][0] == 4
    nodes = sql(iot_dsn, "SELECT settings->'nodes' FROM lifeline.dock_source WHERE code = 'WATER-SCADA'")[0][0]
    assert nodes and all(sql(iot_dsn, "SELECT 1 FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t ON "
                                      "t.id = d.thing_id WHERE t.code || '/' || d.code = %s", (n["datastream"],))
                         for n in nodes)
