"""物联监测 page (R119) in headless Chromium: device counts by type, the
devices on the offline map, a datastream curve after clicking a bridge
monitor, and the camera player set up with the camera's HLS address.
Screenshot: docs/images/iot-monitor.png."""
from __future__ import annotations

import pytest

from tests.e2e.test_home_map import Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def monitor_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("monitor", passwords["demo"])
    yield s
    s.close()


def test_iot_page_counts_map_curve_camera(monitor_session, app, admin_client):
    s, page = monitor_session, monitor_session.page
    summary = admin_client.get("/api/lifeline/iot/summary").get_json()
    cams = admin_client.get("/api/lifeline/iot/things?kind=camera").get_json()["features"]

    page.goto(s.base + "/lifeline/iot")
    page.wait_for_function("() => document.getElementById('k-total').textContent !== '–'")
    assert int(page.inner_text("#k-total")) == summary["total"]
    assert int(page.inner_text("#k-online")) + int(page.inner_text("#k-offline")) == summary["total"]
    rows = page.locator("#kind-table tbody tr")
    assert rows.count() == len(summary["by_kind"])
    bridge_row = page.locator("#kind-table tbody tr[data-kind=bridge_monitor]").inner_text()
    want = next(k for k in summary["by_kind"] if k["code"] == "bridge_monitor")
    assert "桥梁结构监测" in bridge_row and str(want["total"]) in bridge_row

    # every device is a marker on the map
    page.wait_for_function(f"() => document.querySelectorAll('#iot-map path.iot-marker').length === {summary['total']}")

    # the first device's curve is drawn; clicking a bridge monitor shows its strain curve
    page.wait_for_function("() => Number(document.getElementById('iot-chart').dataset.points || 0) > 200")
    page.select_option("#f-network", "bridge")
    page.wait_for_function("() => window.IotPage.state.things.every(f => f.properties.network === 'bridge')")
    page.locator("#iot-map path.iot-marker").first.click(force=True)
    page.wait_for_function("() => document.getElementById('chart-title').textContent.includes('应变')")
    assert "结构健康监测" in page.inner_text("#chart-title")
    assert int(page.get_attribute("#iot-chart", "data-points")) > 200
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "桥梁" in popup and "με" in popup
    page.select_option("#f-stream", index=1)
    page.wait_for_function("() => document.getElementById('chart-title').textContent.includes('挠度')")

    # the camera player is set up with the first camera's HLS address (no stream to play in the test)
    url = cams[0]["properties"]["hls_url"]
    assert page.get_attribute("#cam-video", "data-src") == url
    assert page.evaluate("() => window.IotPage.state.hls && window.IotPage.state.hls.url") == url
    page.wait_for_function("() => /视频流无法连接|正在连接/.test(document.getElementById('cam-info').textContent)")
    page.select_option("#f-network", "")
    page.wait_for_function(f"() => document.querySelectorAll('#iot-map path.iot-marker').length === {summary['total']}")
    page.keyboard.press("Escape")
    assert not [u for u in s.foreign_requests() if "127.0.0.1" not in u]
    s.shot("iot-monitor.png")
