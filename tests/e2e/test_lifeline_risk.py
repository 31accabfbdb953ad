"""The risk pages in headless Chromium: the risk 一张图 (coloured points,
legend, level filter, R110 popup), the hazard-grouped risk list with its map,
collection on a phone viewport and approval by the auditor. Screenshots:
docs/images/risk-map.png, risk-list.png, risk-collect-mobile.png."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e
READY = "id => document.getElementById(id).dataset.ready === '1'"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f80f000001010000050018dd8db40000000049454e44ae426082")


def session(browser, live_server, user, pw):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login(user, pw)
    return s


def api_count(page, query: str) -> int:
    return page.evaluate("q => fetch('/api/lifeline/risk/points?' + q, {headers: {Accept: 'application/json'}})"
                         ".then(r => r.json()).then(d => d.numberMatched)", query)


def test_risk_map_legend_filter_popup(browser, live_server, passwords):  # noqa: F811
    s = session(browser, live_server, "leader", passwords["demo"])
    page = s.page
    page.goto(s.base + "/lifeline/risk/map")
    page.wait_for_function(READY, arg="risk-map")
    total = int(page.get_attribute("#risk-map", "data-features"))
    assert total == api_count(page, "") > 100
    colours = page.evaluate("() => Array.from(new Set(riskMap.layer.getLayers().map(l => l.options.fillColor))).sort()")
    assert colours == sorted(["#d7191c", "#fd8d3c", "#fecc5c", "#2c7bb6"])
    legend = page.inner_text("#risk-legend")
    for name in ("重大风险", "较大风险", "一般风险", "低风险"):
        assert name in legend
    counts = [int(page.inner_text(f".lc[data-level='{i}'] b")) for i in (1, 2, 3, 4)]
    assert sum(counts) == total
    # Filter: only 重大 and 较大.
    page.uncheck("#f-level-3")
    page.uncheck("#f-level-4")
    page.wait_for_function(f"() => document.getElementById('risk-map').dataset.features === '{counts[0] + counts[1]}'")
    assert api_count(page, "level=1,2") == counts[0] + counts[1] < total
    # The popup shows every R110 attribute.
    page.evaluate("() => { riskMap.layer.getLayers()[0].openPopup(); }")
    pop = page.locator(".leaflet-popup-content")
    pop.wait_for()
    text = pop.inner_text()
    for label in ("风险点名称", "监管单位", "责任人", "所在位置", "图片", "风险对象", "风险源", "存在隐患", "事故类型",
                  "事故可能性 L", "暴露频繁度 E", "危害后果 C", "风险等级"):
        assert label in text, label
    assert "重大风险" in text or "较大风险" in text
    page.wait_for_timeout(500)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "risk-map.png"))
    assert not s.foreign_requests()
    s.close()


def test_risk_list_groups_on_map(browser, live_server, passwords):  # noqa: F811
    s = session(browser, live_server, "leader", passwords["demo"])
    page = s.page
    page.goto(s.base + "/lifeline/risk/list")
    page.wait_for_selector("#groups-table tr.group-row")
    page.wait_for_function(READY, arg="list-map")
    row = page.locator("#groups-table tr.group-row").nth(1)
    n = int(row.locator(".count").inner_text())
    row.click()
    page.wait_for_function(f"() => document.getElementById('list-map').dataset.features === '{n}'")
    assert page.locator("#points-table tbody tr").count() == n
    assert "active" in row.get_attribute("class")
    page.wait_for_timeout(500)
    page.screenshot(path=str(IMAGES / "risk-list.png"))
    s.close()


def test_collect_on_phone_then_approve(browser, live_server, passwords, tmp_path):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(live_server.url + "/login")
    page.fill("#username", "monitor")
    page.fill("#password", passwords["demo"])
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(live_server.url + "/lifeline/risk/collect")
    name = "人民路阀门井燃气异味" + uuid.uuid4().hex[:4]
    page.fill("#rf-name", name)
    page.select_option("#rf-category", "燃气管网")
    page.check("input[name=rf-hz][value='相邻空间燃气聚集']")
    page.check("input[name=rf-acc][value='爆炸']")
    page.fill("#rf-object", "燃气阀门井")
    page.fill("#rf-source", "阀门井内燃气泄漏")
    page.select_option("#rf-l", "3")
    page.select_option("#rf-e", "6")
    page.select_option("#rf-c", "15")
    assert "270" in page.inner_text("#rf-lec") and "较大风险" in page.inner_text("#rf-lec")
    box = page.locator("#rf-map").bounding_box()
    page.locator("#rf-map").scroll_into_view_if_needed()
    box = page.locator("#rf-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('rf-dept').value !== ''")
    assert page.input_value("#rf-location")
    photo = tmp_path / "scene.png"
    photo.write_bytes(PNG)
    page.set_input_files("#rf-photo", str(photo))
    page.locator("#rf-name").scroll_into_view_if_needed()
    page.screenshot(path=str(IMAGES / "risk-collect-mobile.png"), full_page=True)
    page.click("#rf-submit")
    page.wait_for_selector("#collect-done:not([hidden])")
    assert name in page.inner_text("#collect-done")
    page.wait_for_function("n => document.getElementById('my-subs').textContent.includes(n)", arg=name)
    ctx.close()

    s = session(browser, live_server, "leader", passwords["demo"])
    page = s.page
    page.goto(s.base + "/lifeline/risk/review")
    row = page.locator("#subs-table tr", has_text=name)
    row.click()
    page.wait_for_selector("#sub-detail:not([hidden])")
    assert "相邻空间燃气聚集" in page.inner_text("#sub-info")
    page.fill("#sub-reason", "现场核实属实")
    page.click("#btn-approve")
    page.locator("#toast-area .alert", has_text="入库编码").wait_for()
    code = page.inner_text("#toast-area .alert").split("入库编码 ")[1].strip()
    # On the map, the new point's popup shows its photo.
    page.goto(s.base + "/lifeline/risk/map")
    page.wait_for_function(READY, arg="risk-map")
    page.evaluate("c => { riskMap.layer.getLayers().find(l => l.getPopup().getContent().includes(c)).openPopup(); }", code)
    page.wait_for_selector(".leaflet-popup-content img.risk-photo")
    assert page.evaluate("() => document.querySelector('.leaflet-popup-content img.risk-photo').naturalWidth") == 1
    s.close()
