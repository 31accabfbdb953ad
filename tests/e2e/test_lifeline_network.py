"""管网分析 and 应急管理 pages in headless Chromium: a click on a water pipe in
爆管分析 draws the valves and the cut-off pipes and lists them; 上下游追踪 on a
rain pipe reaches an outfall; the 最近资源 tool lists the nearest teams and
materials by distance. Screenshots: docs/images/network-burst.png,
network-trace.png, emergency.png."""
from __future__ import annotations

import psycopg
import pytest

from ogc.config import libpq_dsn
from tests.e2e.test_home_map import Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded(app):
    from webapp.lifeline.emergency import seed_demo
    with app.app_context():
        db = app.extensions["cityops.sessions"]()
        seed_demo(db, log=lambda *_: None)
        db.commit()
        db.close()


@pytest.fixture()
def monitor(browser, live_server, passwords, seeded):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("monitor", passwords["demo"])
    yield s
    s.close()


def _midpoint(dsn, code):
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p "
                            "FROM geo.pipe WHERE code = %s) q", (code,)).fetchone()


def _click_at(page, lon, lat):
    page.evaluate("([lat, lon]) => { window.NetPage.map.setView([lat, lon], 17, {animate: false}); }", [lat, lon])
    pt = page.evaluate("([lat, lon]) => { const p = window.NetPage.map.latLngToContainerPoint([lat, lon]); "
                       "return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#net-map").bounding_box()
    page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])


def test_burst_and_trace(monitor, admin_client, demo_db):
    s, page = monitor, monitor.page
    dsn = libpq_dsn(demo_db)
    with psycopg.connect(dsn) as conn:
        codes = [r[0] for r in conn.execute("SELECT code FROM geo.pipe WHERE network = 'water' ORDER BY code")]
    # a pipe whose burst leaves some pipes without supply (so both colours show)
    want = None
    for code in codes[::7]:
        d = admin_client.get(f"/api/lifeline/network/burst?network=water&pipe={code}").get_json()
        if d["cut_off"]["count"] >= 3 and len(d["valves"]) >= 2:
            want = d
            break
    assert want, "no water pipe with a cut-off zone in the demo network"
    lon, lat = _midpoint(dsn, want["pipe"]["code"])

    page.goto(s.base + "/lifeline/network")
    page.wait_for_function("() => document.getElementById('net-map').dataset.baseCount > 1000")
    assert page.inner_text("label[for=tool-burst]") == "爆管分析"
    _click_at(page, lon, lat)
    page.wait_for_function("() => document.getElementById('k-valves')")
    assert page.inner_text("#res-title") == "爆管分析结果"
    assert int(page.inner_text("#k-valves")) == len(want["valves"])
    assert int(page.inner_text("#k-cutoff")) == want["cut_off"]["count"]
    assert page.locator("#net-map path.net-valve").count() == len(want["valves"])
    assert page.locator("#net-map path.net-isolated").count() == want["isolated"]["count"] - 1
    assert page.locator("#net-map path.net-cutoff").count() == want["cut_off"]["count"]
    listed = page.locator(".net-valves tbody tr td:first-child").all_inner_texts()
    assert listed == [v["code"] for v in want["valves"]]
    assert page.locator(".net-cutoff-list tbody tr").count() == want["cut_off"]["count"]
    href = page.get_attribute("#btn-export", "href")
    assert "/burst/export.xlsx" in href
    assert admin_client.get(href).data[:2] == b"PK"
    page.mouse.move(5, 5)
    s.shot("network-burst.png")

    # upstream/downstream tracing on a rain pipe reaches an outfall
    page.click("label[for=tool-trace]")
    page.wait_for_function("() => document.getElementById('net-map').dataset.baseNetwork === 'rain'")
    with psycopg.connect(dsn) as conn:
        rain = conn.execute("SELECT code FROM geo.pipe WHERE network = 'rain' ORDER BY code OFFSET 1500 LIMIT 1").fetchone()[0]
    lon, lat = _midpoint(dsn, rain)
    _click_at(page, lon, lat)
    page.wait_for_function("() => document.getElementById('res-outfalls')")
    assert "RS" in page.inner_text("#res-outfalls")
    assert page.locator("#net-map path.net-outfall").count() >= 1
    assert page.locator("#net-map path.net-down").count() >= 1
    page.mouse.move(5, 5)
    s.shot("network-trace.png")

    # a click far from any pipe gives the clear message, not a broken panel
    page.click("label[for=tool-burst]")
    _click_at(page, 113.95, 33.45)
    page.wait_for_function("() => document.getElementById('res-error')")
    assert "米内没有供水管线" in page.inner_text("#res-error")
    assert not [u for u in s.foreign_requests() if "127.0.0.1" not in u]


def test_emergency_nearest(monitor, admin_client):
    s, page = monitor, monitor.page
    page.goto(s.base + "/lifeline/emergency")
    page.wait_for_function("() => document.getElementById('em-app').dataset.ready === '1'")
    assert page.locator("#em-table tbody tr").count() == admin_client.get("/api/lifeline/emergency/teams").get_json()["total"]
    assert "燃气抢修队" in page.inner_text("#em-table")
    assert page.locator("#btn-new").count() == 0           # monitor reads, does not edit
    page.click("#em-tabs a[data-kind=plan]")
    page.wait_for_function("() => document.querySelector('#em-table a.em-file')")
    page.click("#em-tabs a[data-res=materials]")
    page.wait_for_function("() => document.getElementById('em-table').innerText.includes('防汛沙袋')")
    n_map = len(admin_client.get("/api/lifeline/emergency/map").get_json()["features"])
    assert page.locator("#em-map path.em-res").count() == n_map

    page.click("#btn-nearest")
    lon, lat = 114.0305, 33.3755
    page.evaluate("([lat, lon]) => { window.EmPage.map.setView([lat, lon], 15, {animate: false}); }", [lat, lon])
    box = page.locator("#em-map").bounding_box()
    pt = page.evaluate("([lat, lon]) => { const p = window.EmPage.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                       [lat, lon])
    page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])
    page.wait_for_function("() => document.querySelectorAll('.em-near').length === 3")
    for kind in ("team", "material"):
        dists = [float(t.replace(",", "").replace(" 米", ""))
                 for t in page.locator(f".em-near[data-kind={kind}] td.em-dist").all_inner_texts()]
        assert len(dists) == 5 and dists == sorted(dists)
    assert page.locator("#em-map path.em-near-line").count() >= 10
    page.mouse.move(5, 5)
    s.shot("emergency.png")
