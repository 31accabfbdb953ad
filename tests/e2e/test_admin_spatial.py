"""Spatial base data (R8) in headless Chromium: the admin uploads a
GeoPackage, sees the report (layers, fields, CRS), checks the geometries,
publishes, finds the layer in the list and on the home map, then deletes it;
a CSV with swapped coordinates shows the problem report and cannot be
published. The map-sources page adds an XYZ source that the home map offers.
Screenshots: docs/images/admin-spatial.png, admin-map-sources.png."""
from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from tests.e2e.test_home_map import IMAGES, MAP_IDLE, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


@pytest.fixture()
def gpkg(tmp_path):
    path = tmp_path / "西平绿地.gpkg"
    parks = gpd.GeoDataFrame({"名称": ["西平公园", "文化广场", "柏亭绿地"], "面积": [1200.5, 800.0, 450.25]},
                             geometry=[shapely.box(114.010 + i * 0.006, 33.376, 114.014 + i * 0.006, 33.380)
                                       for i in range(3)], crs="EPSG:4490")
    trees = gpd.GeoDataFrame({"树种": ["法桐"]}, geometry=[shapely.Point(114.02, 33.38)], crs="EPSG:4490")
    parks.to_file(path, layer="parks", driver="GPKG")
    trees.to_file(path, layer="trees", driver="GPKG")
    return path


def test_upload_check_publish_see_on_map_delete(admin_session, gpkg, tmp_path):
    s, page = admin_session, admin_session.page
    page.on("dialog", lambda d: d.accept())
    page.goto(s.base + "/admin/spatial")
    page.wait_for_selector("#layer-table tbody tr")

    # A CSV with latitude and longitude swapped: the check lists the problem, publishing stays off.
    bad = tmp_path / "颠倒.csv"
    bad.write_text("名称,经度,纬度\n路灯1,33.38,114.02\n路灯2,33.381,114.021\n", encoding="utf-8")
    page.set_input_files("#f-file", str(bad))
    page.click("#btn-upload")
    page.wait_for_selector("#crs-missing")
    page.select_option("#f-crs", "EPSG:4490")
    page.click("#btn-check")
    page.wait_for_selector("#check-failed")
    assert "经纬度颠倒" in page.inner_text("#problem-counts")
    assert page.locator("#problem-rows tbody tr").count() == 2
    assert page.is_disabled("#btn-publish")

    # The GeoPackage: two layers to choose from, Chinese field names kept as titles.
    page.set_input_files("#f-file", str(gpkg))
    page.click("#btn-upload")
    page.wait_for_selector("#field-table")
    assert page.inner_text("#inspect-count") == "3"
    assert "EPSG:4490" in page.inner_text("#inspect-crs")
    assert page.locator("#f-layer option").count() == 2
    assert "名称" in page.inner_text("#field-table")
    page.click("#btn-check")
    page.wait_for_selector("#check-ok")
    page.fill("#f-id", "e2e-parks")
    page.fill("#f-title", "城区公园绿地")
    page.fill("#f-desc", "端到端测试上传")
    page.select_option("#f-access", "internal")
    page.evaluate("() => { const c = document.getElementById('f-color'); c.value = '#2ca25f'; }")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-spatial.png"), full_page=True)
    page.click("#btn-publish")
    page.wait_for_selector("#layer-table tr[data-id=e2e-parks]")
    assert "已发布图层" in page.inner_text("#spatial-msg")
    assert "城区公园绿地" in page.inner_text("#layer-table tr[data-id=e2e-parks]")

    # The home map lists it in its layer switcher and draws its three polygons.
    page.goto(s.base + "/#16/33.378/114.02")
    s.wait_idle()
    toggle = page.locator("#layer-toggle-e2e-parks")
    assert "城区公园绿地" in page.inner_text("#layer-switcher")
    if not toggle.is_checked():
        toggle.check()
    page.wait_for_function("() => window.cityMap && window.cityMap.count('e2e-parks') === 3")
    page.wait_for_function(MAP_IDLE)

    # Delete it from the page.
    page.goto(s.base + "/admin/spatial")
    page.wait_for_selector("#layer-table tr[data-id=e2e-parks]")
    page.click("#layer-table tr[data-id=e2e-parks] .btn-del")
    page.wait_for_function("() => !document.querySelector('#layer-table tr[data-id=\"e2e-parks\"]')")
    assert s.foreign_requests() == []


def test_map_sources_page(admin_session):
    s, page = admin_session, admin_session.page
    page.on("dialog", lambda d: d.accept())
    page.goto(s.base + "/admin/map-sources")
    page.wait_for_selector("#ms-table tbody tr[data-id]")
    assert "离线底图" in page.inner_text("#ms-table") and "默认" in page.inner_text("#ms-table")
    # A javascript: URL is refused with the API's Chinese message.
    page.fill("#m-name", "恶意地址")
    page.select_option("#m-kind", "xyz")
    page.fill("#m-url", "javascript:alert(1)//{z}/{x}/{y}")
    page.click("#ms-save")
    page.wait_for_selector("#ms-msg .alert-danger")
    assert "http" in page.inner_text("#ms-msg")
    # A WMS source with its layers.
    page.fill("#m-name", "县规划 WMS")
    page.select_option("#m-kind", "wms")
    page.fill("#m-url", "https://gis.example.cn/geoserver/wms")
    page.fill("#m-wms-layers", "xiping:plan2025")
    page.fill("#m-attribution", "西平县自然资源局")
    page.click("#ms-save")
    page.wait_for_selector("#ms-msg .alert-success")
    row = page.locator("#ms-table tr", has_text="县规划 WMS")
    row.wait_for()
    assert "xiping:plan2025" in row.inner_text()
    page.screenshot(path=str(IMAGES / "admin-map-sources.png"), full_page=True)
    # The home map offers it in the basemap switcher (not loaded: no network here).
    page.goto(s.base + "/")
    assert "县规划 WMS" in page.inner_text("#basemap-switcher")
    assert page.is_checked("#basemap-switcher input[value=offline]")
    # Clean up.
    page.goto(s.base + "/admin/map-sources")
    page.locator("#ms-table tr", has_text="县规划 WMS").locator(".ms-del").click()
    page.wait_for_function("() => !document.querySelector('#ms-table').textContent.includes('县规划 WMS')")
