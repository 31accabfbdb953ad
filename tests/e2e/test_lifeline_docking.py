"""数据对接 page in headless Chromium: sync state per source (ok / error /
never), run-now on an unreachable OPC UA source records the error, and a
Shapefile (GBK, Chinese field names) imported through the page with the
saved mapping template and unit conversions. Screenshot: docs/images/docking.png."""
from __future__ import annotations

import pytest

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)
from tests.webapp.lifeline.conftest import restore_pipes, sql  # noqa: F401  (fixture)
from tests.webapp.lifeline.test_docking_gis import frame, shapefile_zip

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def iot_dsn(demo_db):
    from ogc.config import libpq_dsn
    return libpq_dsn(demo_db)


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


def test_docking_page_state_and_gis_import(admin_session, app, iot_dsn, tmp_path, restore_pipes):
    from tests.conftest import free_port
    from webapp.db import get_db
    from webapp.lifeline.docking import seed_demo
    with app.app_context():
        db = get_db()
        seed_demo(db, log=lambda *_: None)
        db.commit()
    # the demo water SCADA points at a server that is not there: enable it (run-now records the error)
    sql(iot_dsn, "UPDATE lifeline.dock_source SET enabled = true, settings = jsonb_set(settings, '{endpoint}', "
                 "to_jsonb(%s::text)) WHERE code = 'WATER-SCADA'", (f"opc.tcp://127.0.0.1:{free_port()}/xiping",))
    wid = sql(iot_dsn, "SELECT id FROM lifeline.dock_source WHERE code = 'WATER-SCADA'")[0][0]
    gid = sql(iot_dsn, "SELECT id FROM lifeline.dock_source WHERE code = 'WATER-GIS'")[0][0]
    origin = sql(iot_dsn, "SELECT ST_X(geom), ST_Y(geom) FROM geo.pipe_node WHERE network = 'water' ORDER BY code "
                          "DESC LIMIT 1")[0]
    zpath = tmp_path / "供水管线.zip"
    zpath.write_bytes(shapefile_zip(frame(origin, "E2E"), tmp_path))

    s, page = admin_session, admin_session.page
    page.goto(s.base + "/lifeline/docking")
    page.wait_for_selector(f"#dk-table tr[data-id='{wid}']")
    assert page.locator("#dk-table tbody tr").count() >= 9
    assert page.inner_text(f"#dk-table tr[data-id='{gid}'] [data-state]") == "未同步"
    # run now on the unreachable server: error state shown in the row and in the run log
    page.click(f"#dk-table tr[data-id='{wid}'] .dk-run")
    page.wait_for_selector(f"#dk-table tr[data-id='{wid}'] [data-state=error]", timeout=30000)
    assert "连接 OPC UA 服务器失败" in page.inner_text(f"#dk-table tr[data-id='{wid}']")
    page.wait_for_selector("#dk-runs tbody tr td.text-danger")
    assert "失败" in page.inner_text("#dk-runs tbody")

    # GIS import through the page: the saved template maps the Chinese fields; units m / cm chosen here
    page.click(f"#dk-table tr[data-id='{gid}'] .dk-open")
    page.set_input_files("#dk-gis-file", str(zpath))
    page.wait_for_selector("#dk-gis-mapping:not([hidden])")
    assert "已套用上次保存的字段映射" in page.inner_text("#dk-gis-info")
    assert page.input_value("#dk-map select[data-target=code]") == "管线编号"
    assert page.input_value("#dk-map select[data-target=from_node]") == "起点编号"
    page.select_option("#dk-unit-d", "m")
    page.select_option("#dk-unit-h", "cm")
    page.fill("#dk-materials", "球铁=球墨铸铁")
    page.click("#dk-validate")
    page.wait_for_selector("#dk-report-summary")
    assert "可导入 3" in page.inner_text("#dk-report-summary")
    page.click("#dk-import")
    page.wait_for_function("() => (document.getElementById('dk-report-summary') || {}).textContent"
                           "?.includes('导入完成')")
    assert "新增 3" in page.inner_text("#dk-report-summary")
    page.wait_for_selector(f"#dk-table tr[data-id='{gid}'] [data-state=ok]")
    page.wait_for_function("() => document.querySelector('#dk-runs tbody').textContent.includes('GIS 导入')")
    assert sql(iot_dsn, "SELECT diameter_mm, material, depth_m FROM geo.pipe WHERE code = 'E2E-001'")[0] == \
        (300, "球墨铸铁", 1.5)
    page.screenshot(path=str(IMAGES / "docking.png"), full_page=True)
