"""Real OGC clients against the live server: GDAL's OAPIF driver (what QGIS
uses underneath) and OWSLib; GDAL's MVT driver reads our vector tiles."""
from __future__ import annotations

import json
import subprocess

import pytest
from sqlalchemy import create_engine, text

from ogc.layers import load_layers
from geo.settings import ROOT

LAYERS = load_layers(ROOT / "layers")


def gdal(*args: str, user=None, timeout=120) -> str:
    cmd = list(args)
    if user:
        cmd += ["--config", "GDAL_HTTP_AUTH", "BASIC", "--config", "GDAL_HTTP_USERPWD", f"{user[0]}:{user[1]}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_gdal_lists_every_collection(live_server, passwords):
    out = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server.url}/ogc", user=("admin", passwords["admin"]))
    for layer in LAYERS:
        assert layer.id in out, layer.id


@pytest.mark.parametrize("layer", LAYERS, ids=[l.id for l in LAYERS])
def test_gdal_reads_every_collection(live_server, passwords, layer, tmp_path, demo_db):
    dst = tmp_path / f"{layer.id}.geojson"
    # A window over the town keeps the big layers quick; -spat is sent as bbox.
    gdal("ogr2ogr", "-f", "GeoJSON", str(dst), f"OAPIF:{live_server.url}/ogc", layer.id, "-oo", "PAGE_SIZE=1000",
         "-spat", "114.010", "33.370", "114.030", "33.390", user=("admin", passwords["admin"]), timeout=300)
    fc = json.loads(dst.read_text())
    assert fc["features"], layer.id
    eng = create_engine(demo_db)
    with eng.connect() as c:
        expected = c.execute(text(
            f"SELECT count(*) FROM {layer.table} WHERE ST_Intersects(geom, ST_MakeEnvelope(114.010,33.370,114.030,33.390,4490))")
        ).scalar()
    eng.dispose()
    assert len(fc["features"]) == expected, layer.id
    # Attributes arrive with their published names.
    assert set(layer.fields) <= set(fc["features"][0]["properties"]) | {layer.id_field}


def test_gdal_internal_layer_refused_without_credentials(live_server):
    res = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}/ogc", "components"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 or "401" in res.stderr


def test_owslib_features(live_server, passwords):
    from owslib.ogcapi.features import Features
    from owslib.util import Authentication
    api = Features(live_server.url + "/ogc", auth=Authentication("acceptor", passwords["demo"]))
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {l.id for l in LAYERS} <= ids
    items = api.collection_items("unit-grids", bbox=[114.01, 33.37, 114.03, 33.39], limit=20)
    assert len(items["features"]) == 20
    assert all(len(f["properties"]["code"]) == 15 for f in items["features"])
    comps = api.collection_items("components", limit=5)
    assert len(comps["features"]) == 5
    q = api.collection_queryables("components")
    assert "class_code" in q["properties"]


def test_vector_tile_readable_by_gdal(user_client, tmp_path):
    meta = user_client.get("/ogc/collections/components/tiles?f=json")
    assert meta.status_code == 200
    # z14 tile over the town centre (114.02E, 33.38N).
    r = user_client.get("/ogc/collections/components/tiles/WebMercatorQuad/14/6578/13381?f=mvt")
    assert r.status_code == 200 and len(r.data) > 1000
    tile = tmp_path / "13381.mvt"
    tile.write_bytes(r.data)
    out = gdal("ogrinfo", "-ro", "-so", "-al", str(tile))
    assert "Feature Count" in out
    counts = [int(line.split(":")[1]) for line in out.splitlines() if line.startswith("Feature Count")]
    assert sum(counts) > 100


def test_tile_bad_coordinates(user_client):
    assert user_client.get("/ogc/collections/components/tiles/WebMercatorQuad/14/99999/1?f=mvt").status_code in (400, 404)
    assert user_client.get("/ogc/collections/components/tiles/NoSuchTMS/14/1/1?f=mvt").status_code in (400, 404)
    assert user_client.get("/ogc/collections/components/tiles/WebMercatorQuad/a/b/c?f=mvt").status_code in (400, 404)
