"""Map sources (R8): the seeded offline default, create/edit/delete with
validation (XYZ template, WMS layers, Tianditu key, no javascript: URLs),
exactly one default, optimistic locking, and the home map offering them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

API = "/api/admin/map-sources"
KEY = "0123456789abcdef0123456789ABCDEF"


@pytest.fixture(scope="module")
def sql(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
    eng.dispose()


@pytest.fixture()
def admin(admin_client):
    html = admin_client.get("/admin/map-sources").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    admin_client.h = {"X-CSRFToken": token, "Accept": "application/json"}
    yield admin_client
    # Leave the shared demo database as seeded: only the offline default.
    with admin_client.application.extensions["cityops.sessions"]() as db:
        db.execute(text("UPDATE admin.map_source SET is_default = (name = '离线底图')"))
        db.execute(text("DELETE FROM admin.map_source WHERE name <> '离线底图'"))
        db.commit()


def rows(sql):
    return sql.execute(text("SELECT name, kind, is_default, enabled FROM admin.map_source ORDER BY id")).all()


def test_offline_default_seeded_and_idempotent(admin, sql, app):
    assert rows(sql) == [("离线底图", "offline", True, True)]
    from webapp.admin.spatial import seed_demo
    with app.extensions["cityops.sessions"]() as db:
        seed_demo(db, log=lambda *_: None)
        db.commit()
    assert rows(sql) == [("离线底图", "offline", True, True)]
    body = admin.get(API, headers=admin.h).get_json()
    assert body["items"][0]["tiles"][0]["url"] == "/basemap/{z}/{x}/{y}.png"


def test_create_xyz_wms_tianditu_and_home_map_offers_them(admin, sql, user_client):
    xyz = admin.post(API, json={"name": "县影像", "kind": "xyz", "url": "https://img.example.cn/{z}/{x}/{y}.jpg",
                                "attribution": "县自然资源局", "max_zoom": 19, "sort": 5}, headers=admin.h)
    assert xyz.status_code == 201, xyz.get_json()
    wms = admin.post(API, json={"name": "规划 WMS", "kind": "wms", "url": "http://gis.example.cn/wms",
                                "wms_layers": "xiping:plan,xiping:roads"}, headers=admin.h)
    assert wms.status_code == 201 and wms.get_json()["tiles"][0]["type"] == "wms"
    tdt = admin.post(API, json={"name": "天地图影像", "kind": "tianditu", "tdt_layer": "img", "tdt_key": KEY,
                                "enabled": False}, headers=admin.h)
    assert tdt.status_code == 201
    urls = [t["url"] for t in tdt.get_json()["tiles"]]
    assert len(urls) == 2 and "img_w" in urls[0] and "cia_w" in urls[1] and KEY.lower() in urls[0]

    sources = user_client.get("/api/map/sources").get_json()["sources"]
    names = [s["name"] for s in sources]
    assert names[0] == "离线底图" and "县影像" in names and "规划 WMS" in names
    assert "天地图影像" not in names                      # disabled
    assert "tdt_key" not in sources[1]                  # admin fields stay in the admin API
    html = user_client.get("/").get_data(as_text=True)
    assert "县影像" in html and 'value="offline" checked' in html


def test_exactly_one_default(admin, sql):
    a = admin.post(API, json={"name": "新默认", "kind": "xyz", "url": "https://t.example.cn/{z}/{x}/{y}.png",
                              "is_default": True}, headers=admin.h).get_json()
    assert [r[0] for r in rows(sql) if r[2]] == ["新默认"]
    offline = next(i for i in admin.get(API, headers=admin.h).get_json()["items"] if i["kind"] == "offline")
    # Unsetting the default or deleting it is refused: there must be one.
    r = admin.patch(f"{API}/{a['id']}", json={"is_default": False, "version": a["version"]}, headers=admin.h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "map_source_default_required"
    r = admin.delete(f"{API}/{a['id']}", headers=admin.h)
    assert r.status_code == 409
    r = admin.patch(f"{API}/{a['id']}", json={"enabled": False, "version": a["version"]}, headers=admin.h)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "map_source_default_disabled"
    r = admin.patch(f"{API}/{offline['id']}", json={"is_default": True, "version": offline["version"]},
                    headers=admin.h)
    assert r.status_code == 200
    assert [r[0] for r in rows(sql) if r[2]] == ["离线底图"]
    assert admin.delete(f"{API}/{a['id']}", headers=admin.h).status_code == 204


def test_optimistic_locking(admin):
    a = admin.post(API, json={"name": "锁测试", "kind": "xyz", "url": "https://t.example.cn/{z}/{x}/{y}.png"},
                   headers=admin.h).get_json()
    ok = admin.patch(f"{API}/{a['id']}", json={"attribution": "甲", "version": a["version"]}, headers=admin.h)
    assert ok.status_code == 200 and ok.get_json()["version"] == a["version"] + 1
    stale = admin.patch(f"{API}/{a['id']}", json={"attribution": "乙", "version": a["version"]}, headers=admin.h)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "version_conflict"


@pytest.mark.parametrize("body,code", [
    ({"name": "x", "kind": "xyz", "url": "javascript:alert(1)//{z}{x}{y}"}, "map_source_url_scheme"),
    ({"name": "x", "kind": "xyz", "url": "data:image/png;base64,{z}{x}{y}"}, "map_source_url_scheme"),
    ({"name": "x", "kind": "xyz", "url": "ftp://t.example.cn/{z}/{x}/{y}.png"}, "map_source_url_scheme"),
    ({"name": "x", "kind": "xyz", "url": "https://t.example.cn/{z}/{x}.png"}, "map_source_url_template"),
    ({"name": "x", "kind": "xyz", "url": "https://t.example.cn/{z}/{x}/{y}.png\" onerror=\"x"}, "map_source_url_invalid"),
    ({"name": "x", "kind": "wms", "url": "https://gis.example.cn/wms"}, "map_source_wms_layers"),
    ({"name": "x", "kind": "wms", "url": "https://gis.example.cn/wms", "wms_layers": "a b"}, "map_source_wms_layers"),
    ({"name": "x", "kind": "tianditu", "tdt_key": "not-a-key"}, "map_source_tdt_key"),
    ({"name": "x", "kind": "tianditu", "tdt_key": KEY, "tdt_layer": "sat"}, "map_source_tdt_layer"),
    ({"name": "x", "kind": "bing"}, "map_source_kind_invalid"),
    ({"name": "", "kind": "offline"}, "name_invalid"),
    ({"name": "x", "kind": "offline", "min_zoom": 12, "max_zoom": 5}, "zoom_invalid"),
    ({"name": "x", "kind": "offline", "evil": 1}, "field_unknown"),
    ({"name": "离线底图", "kind": "offline"}, "map_source_name_taken"),
])
def test_bad_input_refused_and_nothing_changes(admin, sql, body, code):
    before = rows(sql)
    r = admin.post(API, json=body, headers=admin.h)
    assert 400 <= r.status_code < 500
    err = r.get_json()["error"]
    assert err["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])
    assert rows(sql) == before


def test_permissions(client, user_client):
    assert client.get(API, headers={"Accept": "application/json"}).status_code == 401
    assert user_client.get(API, headers={"Accept": "application/json"}).status_code == 403
    assert user_client.get("/admin/map-sources").status_code == 403


def test_page_renders(admin_client):
    html = admin_client.get("/admin/map-sources").get_data(as_text=True)
    assert "地图源配置" in html and "map_sources.js" in html and "天地图" in html
