"""The home map in headless Chromium: login, layers, zoom-dependent loading,
popups, search, and no request leaving the machine. Screenshots go to
docs/images/ for the user manual."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CDN_HOSTS = ("unpkg.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net", "fonts.googleapis.com")

MAP_IDLE = """() => {
  const el = document.getElementById('map');
  return el && el.dataset.ready === '1' && el.dataset.pending === '0';
}"""
TILES_DONE = """() => {
  const tiles = document.querySelectorAll('img.leaflet-tile');
  return tiles.length > 0 && Array.from(tiles).every(t => t.complete);
}"""


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Session:
    """A browser page that records every URL it requests."""

    def __init__(self, browser, base_url: str):
        self.base = base_url
        self.context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                           timezone_id="Asia/Shanghai", device_scale_factor=1)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.urls: list[str] = []
        self.page.on("request", lambda req: self.urls.append(req.url))

    def foreign_requests(self) -> list[str]:
        out = []
        for url in self.urls:
            u = urlparse(url)
            if u.scheme in ("data", "blob", "about", "chrome", "chrome-extension"):
                continue
            if u.hostname not in LOOPBACK:
                out.append(url)
        return out

    def login(self, username: str, password: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("#login-submit")
        assert urlparse(self.page.url).path == "/", self.page.url

    def wait_idle(self) -> None:
        self.page.wait_for_function(MAP_IDLE)

    def features(self) -> int:
        return int(self.page.get_attribute("#map", "data-features"))

    def count(self, layer: str) -> int:
        return self.page.evaluate("id => window.cityMap.count(id)", layer)

    def shot(self, name: str) -> None:
        IMAGES.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_function(TILES_DONE)
        self.page.wait_for_timeout(300)        # let the canvas repaint
        self.page.screenshot(path=str(IMAGES / name))

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def session(browser, live_server, passwords):
    s = Session(browser, live_server.url)
    s.login("acceptor", passwords["demo"])
    yield s
    s.close()


def test_home_map(session):
    page = session.page
    session.wait_idle()
    legend = page.locator("#map-legend")

    # Default layers drawn; large layers wait for zoom, with a hint in the legend.
    for layer in ("county", "streets", "communities", "roads", "rivers", "unit-grids"):
        assert session.count(layer) > 0, layer
    assert session.count("county") == 1
    for title in ("县域", "道路中心线", "单元网格", "城市部件", "供水管线", "燃气管线"):
        assert title in legend.inner_text()
    assert "放大后显示" in legend.locator("li[data-layer=components]").inner_text()
    groups = [t.split()[0] for t in page.locator(".layer-group summary").all_inner_texts()]
    assert groups == ["基础底图", "数字城管一张图", "城市生命线一张图"]
    session.shot("home-map.png")

    # Layer switcher: one off, one on.
    before, roads = session.features(), session.count("roads")
    page.uncheck("#layer-toggle-roads")
    page.wait_for_function(f"() => Number(document.getElementById('map').dataset.features) === {before - roads}")
    assert legend.locator("li[data-layer=roads]").count() == 0
    page.check("#layer-toggle-pois")
    session.wait_idle()
    page.wait_for_function(f"() => Number(document.getElementById('map').dataset.features) > {before - roads}")
    assert session.count("pois") > 0
    assert legend.locator("li[data-layer=pois]").count() == 1
    page.check("#layer-toggle-roads")
    session.wait_idle()

    # Zoom in: components appear from zoom 17 (loaded for the view only).
    comp = page.evaluate("""() => fetch('/ogc/collections/components/items?f=json&limit=1&offset=500')
        .then(r => r.json()).then(fc => fc.features[0])""")
    lon, lat = comp["geometry"]["coordinates"]
    page.evaluate("([lat, lon]) => void window.cityMap.map.setView([lat, lon], 16, {animate: false})", [lat, lon])
    session.wait_idle()
    assert session.count("components") == 0
    assert page.get_attribute(".layer-row[data-layer=components]", "data-status") == "zoom"
    assert session.count("pipes-water") > 0
    page.click(".leaflet-control-zoom-in")
    page.wait_for_function("() => window.cityMap.map.getZoom() === 17")
    page.wait_for_function("() => window.cityMap.count('components') > 0")
    session.wait_idle()
    assert "放大后显示" not in legend.locator("li[data-layer=components]").inner_text()

    # Click a component → popup with Chinese labels and its values.
    page.evaluate("([lat, lon]) => void window.cityMap.map.setView([lat, lon], 19, {animate: false})", [lat, lon])
    session.wait_idle()
    box = page.locator("#map").bounding_box()
    pt = page.evaluate("""([lat, lon]) => {
        const p = window.cityMap.map.latLngToContainerPoint([lat, lon]);
        return {x: p.x, y: p.y};
    }""", [lat, lon])
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    popup = page.locator(".leaflet-popup .feature-popup")
    popup.wait_for()
    assert popup.get_attribute("data-layer") == "components"
    text = popup.inner_text()
    for label in ("编码", "名称", "分类代码", "状态", "权属单位", "养护单位", "所在网格"):
        assert label in text, label
    # Components may share a spot (covers side by side): the one drawn on top answers.
    code = popup.locator("td[data-field=code]").inner_text().strip()
    assert len(code) == 16 and code.isdigit() and code.startswith("411721")
    assert popup.locator("td[data-field=status]").inner_text().strip()
    session.shot("home-popup.png")
    page.click(".leaflet-popup-close-button")

    # Search a unit grid by code: the map zooms to it and outlines it.
    grid = page.evaluate("""() => fetch('/ogc/collections/unit-grids/items?f=json&limit=1&offset=200')
        .then(r => r.json()).then(fc => fc.features[0])""")
    code = grid["properties"]["code"]
    page.evaluate("() => void window.cityMap.map.setView([33.38, 114.02], 12, {animate: false})")
    session.wait_idle()
    page.fill("#search-input", code)
    page.press("#search-input", "Enter")
    item = page.locator(f".sr-item[data-id='{code}']")
    item.wait_for()
    item.click()
    page.wait_for_function("() => window.cityMap.map.getZoom() >= 14")
    page.wait_for_selector("#map path.hl-shape")
    assert page.get_attribute("#map", "data-highlight") == code
    inside = page.evaluate("""(ring) => {
        const c = window.cityMap.map.getCenter();
        const xs = ring.map(p => p[0]), ys = ring.map(p => p[1]);
        return c.lng >= Math.min(...xs) && c.lng <= Math.max(...xs) && c.lat >= Math.min(...ys) && c.lat <= Math.max(...ys);
    }""", grid["geometry"]["coordinates"][0][0])
    assert inside, "the map should centre on the grid found"
    session.wait_idle()
    page.locator(".feature-popup[data-layer='unit-grids']").wait_for()
    assert code in page.locator(".feature-popup[data-layer='unit-grids']").inner_text()
    session.shot("home-search.png")

    assert session.foreign_requests() == []


def test_ogc_html_pages_are_styled_offline(session):
    page = session.page
    page.goto(session.base + "/ogc/collections/unit-grids/items?f=html")
    page.wait_for_selector("#items-map.leaflet-container")
    styled = page.evaluate("""() => Array.from(document.styleSheets).some(s => {
        try { return s.href && s.href.includes('/assets/vendor/bootstrap/') && s.cssRules.length > 100; }
        catch (e) { return false; }
    })""")
    assert styled, "Bootstrap was not loaded from /assets/vendor"
    assert page.evaluate("() => getComputedStyle(document.querySelector('table')).borderCollapse") == "collapse"
    assert page.evaluate("() => document.getElementById('items-map').getBoundingClientRect().height") >= 300
    assert "西平县城市运行管理服务平台" in page.inner_text("header")
    page.wait_for_function(TILES_DONE)
    session.shot("ogc-items.png")
    page.goto(session.base + "/ogc/openapi?f=html")
    page.wait_for_selector(".swagger-ui .info")
    assert not [u for u in session.urls if any(h in u for h in CDN_HOSTS)]
    assert session.foreign_requests() == []
