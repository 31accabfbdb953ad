"""The hazard and inspection pages in headless Chromium: the ledger (counts
equal to the API, filter by 挂牌督办, map), one hazard taken through the
process by clicking (监测中心 派遣 → 责任单位 处置 → 反馈 with a photo → 核查
通过 → 完成整改), a stale page getting 409, and the inspection statistics
page. Screenshots: docs/images/hazard-ledger.png, hazard-detail.png,
inspection-stats.png."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f80f000001010000050018dd8db40000000049454e44ae426082")


@pytest.fixture(scope="module")
def seeded(app, demo_db):
    from sqlalchemy.orm import Session as DbSession
    from geo.db import get_engine
    from webapp.lifeline.hazards import seed_demo
    with app.app_context(), DbSession(get_engine(demo_db)) as s:
        seed_demo(s, log=lambda *_: None)
        s.commit()
    eng = create_engine(demo_db.replace("postgresql://", "postgresql+psycopg://", 1)
                        if demo_db.startswith("postgresql://") else demo_db)

    def run(q, **p):
        with eng.begin() as c:
            return c.execute(text(q), p).all()
    yield run
    eng.dispose()


def session(browser, live_server, user, pw):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login(user, pw)
    return s


def fetch(page, url):
    return page.evaluate("u => fetch(u, {headers: {Accept: 'application/json'}}).then(r => r.json())", url)


def test_ledger_page(browser, live_server, passwords, seeded):  # noqa: F811
    s = session(browser, live_server, "monitor", passwords["demo"])
    page = s.page
    page.goto(s.base + "/lifeline/hazards")
    page.wait_for_function("() => document.getElementById('hz-map').dataset.ready === '1'")
    api = fetch(page, "/api/lifeline/hazards?size=1")
    for k in ("open", "pending", "rectifying", "checking", "rectified", "supervised", "overdue"):
        assert int(page.inner_text(f"#k-{k}")) == api["counts"][k], k
    assert api["counts"]["supervised"] >= 2
    rows = page.locator("#hz-table tbody tr[data-id]").count()
    assert rows == min(20, api["total"])
    markers = page.evaluate("() => document.querySelectorAll('#hz-map path.leaflet-interactive').length")
    assert markers == api["total"]
    page.wait_for_timeout(600)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "hazard-ledger.png"))
    # 挂牌督办 card filters the table.
    page.click(".hz-kpi-card[data-supervised='1']")
    page.wait_for_function(f"() => document.querySelectorAll('#hz-table tbody tr[data-id]').length === {api['counts']['supervised']}"
                           f" || document.querySelectorAll('#hz-table tbody tr[data-id]').length === "
                           f"{fetch(page, '/api/lifeline/hazards?supervised=1&size=1')['total']}")
    assert page.locator("#hz-table .hz-badge-sup").count() >= 1
    assert not s.foreign_requests()


def test_act_through_a_hazard_to_rectified(browser, live_server, passwords, seeded, tmp_path):  # noqa: F811
    sql = seeded
    hid = sql("SELECT id FROM lifeline.hazard WHERE status = 'pending' ORDER BY id LIMIT 1")[0][0]
    photo = tmp_path / "现场.png"
    photo.write_bytes(PNG)
    mon = session(browser, live_server, "monitor", passwords["demo"])
    han = session(browser, live_server, "handler", passwords["demo"])
    url = f"{mon.base}/lifeline/hazards/{hid}"
    ready = "() => document.getElementById('hd-app').dataset.ready === '1'"

    def stage_is(page, stage):
        page.wait_for_function(f"() => document.getElementById('hd-app').dataset.stage === '{stage}'")

    p = mon.page
    p.goto(url)
    p.wait_for_function(ready)
    stale = mon.context.new_page()     # a second tab that will be out of date
    stale.goto(url)
    stale.wait_for_function(ready)
    form = p.locator("form.hd-task[data-stage='dispatch']")
    form.locator("select[name=dept_code]").select_option("D010")
    form.locator("input[name=comment]").fill("请刘处置所在单位限期整改")
    form.locator("button[type=submit]").click()
    stage_is(p, "handle")
    # The stale tab submits 派遣 again: 409, the page says so and reloads to the current state.
    stale.locator("form.hd-task[data-stage='dispatch'] input[name=comment]").fill("重复派遣")
    stale.locator("form.hd-task[data-stage='dispatch'] button[type=submit]").click()
    stale.wait_for_function("() => !document.getElementById('hd-alert').classList.contains('d-none')")
    assert "已被他人处理" in stale.inner_text("#hd-alert")
    stage_is(stale, "handle")
    # The department handles and feeds back with a photo.
    h = han.page
    h.goto(url)
    h.wait_for_function(ready)
    f = h.locator("form.hd-task[data-stage='handle']")
    f.locator("input[name=comment]").fill("已安排抢修队更换井盖")
    f.locator("button[type=submit]").click()
    stage_is(h, "feedback")
    f = h.locator("form.hd-task[data-stage='feedback']")
    f.locator("input[name=comment]").fill("整改完毕")
    f.locator("input[name=photo]").set_input_files(str(photo))
    f.locator("button[type=submit]").click()
    stage_is(h, "check")
    # The monitor checks and passes it.
    p.goto(url)
    p.wait_for_function(ready)
    f = p.locator("form.hd-task[data-stage='check']")
    f.locator("select[name=decision]").select_option("pass")
    f.locator("input[name=comment]").fill("现场核查整改到位")
    f.locator("button[type=submit]").click()
    p.wait_for_function("() => document.getElementById('hd-app').dataset.status === 'rectified'")
    assert p.inner_text("#hd-status") == "完成整改"
    history = p.inner_text("#hd-history")
    for step in ("登记隐患", "派遣", "处置", "反馈", "核查通过"):
        assert step in history
    assert sql("SELECT status FROM lifeline.hazard WHERE id = :h", h=hid)[0][0] == "rectified"
    assert [a for (a,) in sql("SELECT action FROM lifeline.hazard_event WHERE hazard_id = :h ORDER BY at, id",
                              h=hid)][-4:] == ["dispatch", "handle", "feedback", "check_pass"]
    p.wait_for_function("() => { const d = document.getElementById('hd-diagram'); return d && d.dataset.ready; }",
                        timeout=15000)
    p.wait_for_timeout(500)
    p.screenshot(path=str(IMAGES / "hazard-detail.png"), full_page=True)


def test_inspection_stats_page(browser, live_server, passwords, seeded):  # noqa: F811
    s = session(browser, live_server, "leader", passwords["demo"])
    page = s.page
    page.goto(s.base + "/lifeline/inspection/stats")
    page.wait_for_function("() => document.getElementById('is-app').dataset.ready === '1'")
    api = fetch(page, "/api/lifeline/inspection/stats")
    assert int(page.inner_text("#k-problems")) == api["totals"]["problems"] > 0
    assert int(page.inner_text("#k-records")) == api["totals"]["records"] >= 12
    assert page.locator("#is-table tbody tr").count() == len(api["items"]) >= 2
    assert page.inner_text("#k-km") == str(api["totals"]["km"])
    page.wait_for_timeout(800)
    page.screenshot(path=str(IMAGES / "inspection-stats.png"))
    # Records page: a route on the map and the problem count linking to the ledger.
    page.goto(s.base + "/lifeline/inspection/records")
    page.wait_for_function("() => document.getElementById('ir-map').dataset.ready === '1'")
    assert page.evaluate("() => document.querySelectorAll('#ir-map path.leaflet-interactive').length") >= 1
    link = page.locator("#ir-table a[href*='/lifeline/hazards?record=']").first
    href = link.get_attribute("href")
    rid = href.split("record=")[1]
    n = int(link.inner_text())
    link.click()
    page.wait_for_function("() => document.getElementById('hz-map').dataset.ready === '1'")
    assert page.locator("#hz-table tbody tr[data-id]").count() == n == \
        fetch(page, f"/api/lifeline/hazards?record={rid}")["total"]
    page.wait_for_timeout(500)
    page.goto(s.base + "/lifeline/inspection/records")
    page.wait_for_function("() => document.getElementById('ir-map').dataset.ready === '1'")
    page.wait_for_timeout(600)
    page.screenshot(path=str(IMAGES / "inspection-records.png"))
    assert not s.foreign_requests()
