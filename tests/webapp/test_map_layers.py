"""GET /api/map/layers: the catalogue the home map is built from."""
from __future__ import annotations


def test_requires_login(client):
    r = client.get("/api/map/layers")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_layers_with_style_legend_group_and_loading(user_client, app):
    body = user_client.get("/api/map/layers").get_json()
    layers = {l["id"]: l for l in body["layers"]}
    assert set(layers) == {l.id for l in app.extensions["cityops.layers"]}
    assert body["groups"] == ["基础底图", "数字城管一张图", "城市生命线一张图"]
    for layer in layers.values():
        assert {"id", "title_zh", "geometry", "style", "legend", "access", "maps", "tiles", "order"} <= set(layer)
    assert layers["components"]["loading"] == {"mode": "bbox", "minzoom": 17, "limit": 8000}
    assert layers["pipes-water"]["loading"]["minzoom"] == 15
    assert layers["county"]["loading"]["mode"] == "all"
    visible = {i for i, l in layers.items() if l["visible"]}
    assert visible == {"county", "streets", "communities", "roads", "rivers", "unit-grids", "components",
                       "pipes-water", "pipes-gas"}
    orders = [l["order"] for l in body["layers"]]
    assert orders == sorted(orders)
    assert body["lookups"]["region"] and body["lookups"]["department"]
    west, south, east, north = body["extent"]          # the town, inside the county
    assert 113.7 < west < east < 114.3 and 33.15 < south < north < 33.6


def test_home_page_loads_local_assets_only(user_client):
    html = user_client.get("/").get_data(as_text=True)
    assert "按编码或名称搜索" in html and "离线底图" in html
    assert "/assets/vendor/leaflet/dist/leaflet.js" in html and "/static/home/map.js" in html
    assert not any(host in html for host in ("unpkg.com", "jsdelivr.net", "cdnjs.cloudflare.com"))
    assert "天地图" not in html          # no key configured


def test_tianditu_offered_only_with_a_key(user_client, monkeypatch):
    monkeypatch.setenv("CITYOPS_TIANDITU_KEY", "test-key-123")
    html = user_client.get("/").get_data(as_text=True)
    assert 'value="tianditu"' in html and "天地图" in html
    assert 'data-tianditu-key="test-key-123"' in html
