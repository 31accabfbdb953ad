"""Region management (R90) in headless Chromium: the admin opens the region
tree, expands it, clicks a street and a community (the map zooms to each),
loads the unit grids lazily, enters edit mode, drags a vertex with the mouse
and gets the server's refusal shown beside the map with the offending area
drawn; cancelling leaves the boundary as it was; renaming works. A leader
(read-only) sees no edit controls.
Screenshots: docs/images/admin-regions.png, docs/images/admin-regions-edit.png."""
from __future__ import annotations

import pytest

from tests.e2e.test_home_map import IMAGES, TILES_DONE, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e

STREET, COMMUNITY = "411721001", "411721001001"
READY = "code => { const m = document.getElementById('region-map'); " \
        "return m.dataset.selected === code && m.dataset.ready === '1' && m.dataset.pending === '0'; }"
BOUNDS = "() => { const b = window.regionsApp.map.getBounds(); " \
         "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


def api(page, path: str) -> dict:
    return page.evaluate("p => fetch('/api/admin/regions' + p).then(r => r.json())", path)


def assert_zoomed_to(page, code: str) -> None:
    """The map shows the whole region, and not much more than it."""
    x0, y0, x1, y1 = api(page, "/" + code)["bbox"]
    w, s, e, n = page.evaluate(BOUNDS)
    assert w <= x0 and s <= y0 and e >= x1 and n >= y1, (code, (w, s, e, n), (x0, y0, x1, y1))
    assert (e - w) < 4.5 * (x1 - x0) or (n - s) < 4.5 * (y1 - y0), "map not zoomed to the region"


def click_node(page, code: str) -> None:
    page.click(f"#region-tree .node[data-code='{code}'] .name")
    page.wait_for_function(READY, arg=code)


def test_region_tree_map_and_edit(admin_session):
    s, page = admin_session, admin_session.page
    page.goto(s.base + "/admin/regions")
    page.wait_for_function(READY, arg="411721")
    assert "西平县" in page.inner_text("#region-title")
    county_view = page.evaluate(BOUNDS)

    # The county is open, streets are collapsed.
    street_li = page.locator(f"#region-tree li[data-code='{STREET}']")
    assert "collapsed" in street_li.get_attribute("class")
    assert not page.locator(f"#region-tree .node[data-code='{COMMUNITY}']").is_visible()

    # A street: the map zooms in from the county view to the street.
    click_node(page, STREET)
    assert_zoomed_to(page, STREET)
    street_view = page.evaluate(BOUNDS)
    assert street_view[2] - street_view[0] < (county_view[2] - county_view[0]) / 3
    assert page.inner_text("#i-level") == "街道（乡镇）"
    assert "8 个社区" in page.inner_text("#i-counts")
    assert page.evaluate("() => window.regionsApp.map.hasLayer(window.regionsApp.layer('411721002'))")

    # Expand it and click a community.
    street_li.locator(":scope > .node .toggle").click()
    page.locator(f"#region-tree .node[data-code='{COMMUNITY}']").wait_for(state="visible")
    click_node(page, COMMUNITY)
    assert_zoomed_to(page, COMMUNITY)
    assert page.inner_text("#i-code") == COMMUNITY and page.inner_text("#i-name") == "健康路社区"
    assert "平方千米" in page.inner_text("#i-area") and "78 个单元网格" in page.inner_text("#i-counts")
    assert "柏城街道" in page.inner_text("#i-parent")
    assert page.locator("#region-map path.leaflet-interactive").count() >= 8 + 78

    # Unit grids load lazily under the community.
    community_li = page.locator(f"#region-tree li[data-code='{COMMUNITY}']")
    assert community_li.locator("li").count() == 0
    community_li.locator(":scope > .node .toggle").click()
    page.locator(f"#region-tree .node[data-code='{COMMUNITY}001']").wait_for(state="visible")
    assert community_li.locator("li").count() == 78
    page.wait_for_function(TILES_DONE)
    page.wait_for_timeout(300)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-regions.png"))

    # Edit mode: drag a vertex of the community's boundary with the mouse and save.
    before = api(page, "/" + COMMUNITY)
    page.click("#btn-edit")
    page.wait_for_function("() => document.getElementById('region-map').dataset.editing === '1'")
    assert page.evaluate("() => window.regionsApp.editing()") == [COMMUNITY]
    vertices = page.locator("#region-map .marker-icon:not(.marker-icon-middle)")
    assert vertices.count() >= 4
    # Right-click removes a vertex (Geoman's removeVertexOn: contextmenu).
    n_before = page.evaluate("c => window.regionsApp.layer(c).toGeoJSON(false).geometry.coordinates[0][0].length",
                             COMMUNITY)
    vertices.nth(1).click(button="right")
    page.wait_for_function("([c, n]) => window.regionsApp.layer(c).toGeoJSON(false).geometry"
                           ".coordinates[0][0].length === n - 1", arg=[COMMUNITY, n_before])
    box = None
    for i in range(vertices.count()):      # a vertex well inside the view
        b = vertices.nth(i).bounding_box()
        if b and 200 < b["x"] < 900 and 200 < b["y"] < 600:
            box = b
            break
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 30, steps=8)
    page.mouse.move(x + 90, y + 70, steps=8)
    page.mouse.up()
    moved = page.evaluate("c => JSON.stringify(window.regionsApp.layer(c).toGeoJSON(false).geometry)", COMMUNITY)
    assert moved != str(before["geometry"])
    page.click("#btn-save")
    page.wait_for_selector("#region-msg .alert-danger")
    text = page.inner_text("#region-msg")
    assert text.startswith("保存失败") and "平方米" in text
    assert page.get_attribute("#region-map", "data-refused") in (
        "outside_parent", "overlaps_sibling", "child_outside", "gap_opened")
    assert int(page.get_attribute("#region-map", "data-problems")) >= 1     # offending area drawn
    page.wait_for_timeout(300)
    page.screenshot(path=str(IMAGES / "admin-regions-edit.png"))
    after = api(page, "/" + COMMUNITY)
    assert after["version"] == before["version"] and after["geometry"] == before["geometry"]

    # Cancel restores the stored boundary on the map.
    page.click("#btn-cancel")
    page.wait_for_function(READY, arg=COMMUNITY)
    assert page.get_attribute("#region-map", "data-editing") == "0"
    shown = page.evaluate("c => window.regionsApp.layer(c).toGeoJSON(false).geometry", COMMUNITY)
    assert shown == before["geometry"]

    # Rename (and back).
    page.fill("#rename-input", "健康路社区（测试）")
    page.click("#btn-rename")
    page.wait_for_function("() => document.getElementById('region-msg').textContent.includes('已更名')")
    page.wait_for_function(READY, arg=COMMUNITY)
    assert page.inner_text("#i-name") == "健康路社区（测试）"
    assert "健康路社区（测试）" in page.inner_text(f"#region-tree .node[data-code='{COMMUNITY}']")
    page.fill("#rename-input", "健康路社区")
    page.click("#btn-rename")
    page.wait_for_function("() => document.getElementById('i-name').textContent === '健康路社区'")
    assert s.foreign_requests() == []


def test_leader_sees_the_tree_without_edit_controls(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    try:
        s.login("leader", passwords["demo"])
        page = s.page
        page.goto(s.base + "/admin/regions")
        page.wait_for_function(READY, arg="411721")
        click_node(page, "411721002")
        assert_zoomed_to(page, "411721002")
        assert page.locator("#btn-edit").count() == 0 and page.locator("#rename-form").count() == 0
        assert not any("geoman" in u for u in s.urls)
    finally:
        s.close()


def click_inside(page, code: str, geom) -> None:
    """Click the map at a point well inside a geometry (EPSG:4490)."""
    pt = geom.buffer(-geom.length / 200 if geom.length else 0).representative_point()
    x, y = page.evaluate("([lat, lng]) => { const p = window.regionsApp.map.latLngToContainerPoint([lat, lng]);"
                         " const r = document.getElementById('region-map').getBoundingClientRect();"
                         " return [r.left + p.x, r.top + p.y]; }", [pt.y, pt.x])
    page.mouse.click(x, y)


def test_border_moved_between_two_communities(admin_session, admin_client, app):
    """Edit two neighbouring communities and the two unit grids along their border in one save.

    The four layers are put into the edit by clicking them on the map; their
    new outlines are set through Leaflet (a notch of one grid moved across the
    border: precise to the vertex, which mouse drags are not), then 保存边界
    sends them in one request."""
    from shapely.geometry import mapping
    from tests.webapp.test_admin_regions import geom_of, multi, notch, token

    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    with app.extensions["cityops.sessions"]() as sql:
        pair, tri = notch(admin_client, sql)
    olds = {c: geom_of(admin_client, c) for c in (pair.ca, pair.cb, pair.ga, pair.gb)}
    new = {pair.ca: multi(olds[pair.ca][0].union(tri)), pair.cb: multi(olds[pair.cb][0].difference(tri)),
           pair.ga: multi(olds[pair.ga][0].union(tri)), pair.gb: multi(olds[pair.gb][0].difference(tri))}

    s, page = admin_session, admin_session.page
    page.goto(s.base + "/admin/regions")
    page.wait_for_function(READY, arg="411721")
    page.locator(f"#region-tree li[data-code='{pair.ca[:9]}'] > .node .toggle").click()
    click_node(page, pair.ca)
    page.click("#btn-edit")
    click_inside(page, pair.cb, olds[pair.cb][0].difference(olds[pair.ca][0].buffer(0.002)))
    page.wait_for_function("() => document.getElementById('region-map').dataset.ready === '1' && "
                           "document.getElementById('region-map').dataset.pending === '0'")
    click_inside(page, pair.ga, olds[pair.ga][0])
    click_inside(page, pair.gb, olds[pair.gb][0])
    assert sorted(page.evaluate("() => window.regionsApp.editing()")) == sorted(new)
    assert "一并校验" in page.inner_text("#region-msg")
    for code, g in new.items():
        page.evaluate("([c, gj]) => { const l = window.regionsApp.layer(c);"
                      " l.setLatLngs(L.GeoJSON.coordsToLatLngs(gj.coordinates, 2)); }", [code, mapping(g)])
    page.click("#btn-save")
    page.wait_for_function("() => document.getElementById('region-msg').textContent.includes('已保存边界')")
    page.wait_for_function(READY, arg=pair.ca)
    try:
        for code, g in new.items():
            got, version, _ = geom_of(admin_client, code)
            assert version == olds[code][1] + 1 and got.symmetric_difference(g).area < 1e-12
        assert page.inner_text("#i-version") == str(olds[pair.ca][1] + 1)
    finally:
        back = admin_client.put("/api/admin/regions", json={"regions": [
            {"code": c, "geometry": mapping(olds[c][0]), "version": olds[c][1] + 1} for c in new]})
        assert back.status_code == 200, back.get_json()
