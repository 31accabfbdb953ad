"""An alarm from a simulated fault to its resolution (R119), end to end:
a real mosquitto, the real ingester process and the simulator injecting a
threshold breach on a demo gas detector → the alarm appears on the 告警管理
page → the monitor confirms it in headless Chromium (a 数字城管 case of class
0403 is opened and its number shown) → dispatches it → the case is walked to
结案 through the case API by the demo users → the sweep resolves the alarm.
Screenshots: docs/images/alarm-list.png, docs/images/alarm-detail.png."""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from geo.settings import ROOT
from tests.conftest import json_api
from tests.e2e.test_home_map import Session, browser  # noqa: F401  (module fixture)
from tests.webapp.lifeline.conftest import iot_dsn, mqtt_broker, sql, wait_for  # noqa: F401  (fixtures)
from tests.webapp.lifeline.test_alarms import walk_case_to_close

pytestmark = pytest.mark.e2e


@pytest.fixture()
def ingester(mqtt_broker, iot_dsn, workdir):  # noqa: F811
    log = workdir / f"alarm-ingest-{uuid.uuid4().hex[:6]}.log"
    p = subprocess.Popen([sys.executable, "-m", "etl.iot.ingest", "--db", iot_dsn, "--port", str(mqtt_broker.port),
                          "--client-id", f"e2e-alarm-{uuid.uuid4().hex[:6]}", "--batch", "50", "--flush-ms", "50",
                          "--log-file", str(log)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for(lambda: log.exists() and "connected to" in log.read_text(), what="ingester connected")
    yield p
    p.terminate()
    p.wait(30)


def test_alarm_from_simulated_breach_to_resolution(browser, live_server, app, passwords, mqtt_broker,  # noqa: F811
                                                    iot_dsn, ingester):  # noqa: F811
    thing, ds = sql(iot_dsn, """SELECT t.code, d.id FROM lifeline.iot_thing t JOIN lifeline.iot_datastream d
                                  ON d.thing_id = t.id AND d.code = 'ch4' WHERE t.code LIKE 'GAS-%%'
                                   AND NOT EXISTS (SELECT 1 FROM lifeline.alarm a WHERE a.datastream_id = d.id)
                                 ORDER BY t.code LIMIT 1""")[0]
    # the simulator as operators run it: all gas devices, one of them leaking
    sim = subprocess.run([sys.executable, "-m", "etl.iot.simulate", "--db", iot_dsn, "--port", str(mqtt_broker.port),
                          "--network", "gas", "--rate", "20", "--duration", "4", "--fault", f"{thing}:breach"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert sim.returncode == 0, sim.stderr
    aid = wait_for(lambda: (sql(iot_dsn, "SELECT id FROM lifeline.alarm WHERE datastream_id = %s AND "
                                         "kind = 'threshold' AND status = 'raised'", (ds,)) or [[None]])[0][0],
                   timeout=30, what="alarm raised by the ingester")
    level, count, peak = sql(iot_dsn, "SELECT level, count, peak_value FROM lifeline.alarm WHERE id = %s", (aid,))[0]
    assert level == 1 and count == 1 and peak >= 50        # 60 %LEL ≥ 一级 50 %LEL, one crossing, no storm

    s = Session(browser, live_server.url)
    page = s.page
    try:
        s.login("monitor", passwords["demo"])
        page.goto(s.base + "/lifeline/alarms")
        page.select_option("#f-network", "gas")
        row = page.locator(f"#alarm-table tr[data-alarm-id='{aid}']")
        row.wait_for()
        assert "一级（红）" in row.inner_text() and "待确认" in row.inner_text()
        assert "alm-row-1" in row.get_attribute("class")
        assert int(page.inner_text("[data-kpi-level='1']")) >= 1
        page.wait_for_timeout(300)
        s.page.screenshot(path=str(ROOT / "docs/images/alarm-list.png"))

        row.locator("td").nth(4).click()
        page.wait_for_url(f"**/lifeline/alarms/{aid}")
        page.locator("#act-buttons button[data-action='confirm']").wait_for()
        assert page.input_value("#act-class") == "0403"
        # the curve has the reading that crossed, the 一级 threshold line is drawn
        page.wait_for_function("() => echarts.getInstanceByDom(document.getElementById('alm-chart'))"
                               ".getOption().series[0].data.length > 0")
        marks = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('alm-chart'))"
                              ".getOption().series[0].markLine.data.map(d => d.yAxis)")
        assert 50 in marks and 25 in marks
        assert page.locator("#nb-table tbody tr").count() >= 1
        page.fill("#act-comment", "监测中心核实：甲烷浓度持续超过一级阈值，确认燃气泄漏")
        page.click("#act-buttons button[data-action='confirm']")
        page.locator("#case-link").wait_for()
        case_no = page.inner_text("#case-link")
        case_id, cls, src = sql(iot_dsn, 'SELECT id, class_code, source FROM cases."case" WHERE case_no = %s',
                                (case_no,))[0]
        assert (cls, src) == ("0403", "sensor")
        assert page.get_attribute("#case-link", "href") == f"/cases/{case_id}"
        assert "已确认" in page.inner_text("#alm-status")
        page.fill("#act-comment", "已通知燃气公司抢修队赶赴现场")
        page.click("#act-buttons button[data-action='dispatch']")
        page.wait_for_function("() => document.getElementById('alm-status').textContent === '处置中'")
        assert "派发处置" in page.inner_text("#history-table")
        s.shot("alarm-detail.png")

        # the case side finds the alarm; the case goes to 结案 through the API
        acceptor = json_api(app, "acceptor", passwords["demo"])
        assert [a["id"] for a in acceptor.get(f"/api/lifeline/alarms/by-case/{case_id}").get_json()["items"]] == [aid]
        apis = {u: json_api(app, u, passwords["demo"]) for u in
                ("acceptor", "supervisor", "shift_chief", "dispatcher", "handler")}
        apis["admin"] = json_api(app, "admin", passwords["admin"])
        walk_case_to_close(apis, case_id)
        monitor = json_api(app, "monitor", passwords["demo"])
        assert monitor.post("/api/lifeline/alarms/sweep", {}).get_json()["auto_resolved"] >= 1
        page.reload()
        page.wait_for_function("() => document.getElementById('alm-status').textContent === '已解除'")
        assert "自动解除" in page.inner_text("#history-table") and "已结案" in page.inner_text("#alm-case")
        assert not [u for u in s.foreign_requests() if "127.0.0.1" not in u]
    finally:
        s.close()
