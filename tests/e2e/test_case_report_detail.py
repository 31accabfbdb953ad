"""问题上报 and 案卷详情 in headless Chromium.

A supervisor on a phone-sized screen chooses a class, taps the map, attaches
a photo made with Pillow (a fake one is refused by the server, beside the
photo field, and nothing is stored), submits and sees the case number. Then
the acceptor, shift chief, dispatcher, department handler and supervisor open
the detail page and take the case to 结案 with its action buttons; a stale
page gets the server's 409 and reloads. Screenshots for the operators'
manual: docs/images/case-report-mobile.png, case-detail.png, case-print.png."""
from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import text

from tests.e2e.test_home_map import IMAGES, LOOPBACK, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e

TILES_DONE = """sel => {
  const tiles = document.querySelectorAll(sel + ' img.leaflet-tile');
  return tiles.length > 0 && Array.from(tiles).every(t => t.complete);
}"""
# 非法小广告: an event class no auto-registration rule covers, so every desk acts by hand.
CLASS_CODE = "0201"


def street_photo() -> bytes:
    """A plausible scene: a wall and a utility pole plastered with small ads, as a JPEG."""
    import random
    rnd = random.Random(7)
    im = Image.new("RGB", (1280, 960), (196, 190, 178))
    d = ImageDraw.Draw(im)
    for y in range(0, 760, 48):  # brick courses
        d.line([(0, y), (1280, y)], fill=(170, 164, 152), width=3)
    d.rectangle([0, 760, 1280, 960], fill=(120, 120, 118))  # pavement
    d.rectangle([560, 0, 680, 960], fill=(150, 150, 150))  # pole
    for _ in range(36):  # the small ads
        x, y = rnd.randint(40, 1150), rnd.randint(60, 680)
        w, h = rnd.randint(50, 110), rnd.randint(70, 130)
        colour = rnd.choice([(250, 250, 245), (250, 230, 90), (240, 120, 120), (140, 200, 250)])
        d.rectangle([x, y, x + w, y + h], fill=colour, outline=(90, 90, 90))
        for k in range(4):
            d.line([(x + 8, y + 14 + k * 16), (x + w - 8, y + 14 + k * 16)], fill=(60, 60, 60), width=3)
    im = im.filter(ImageFilter.GaussianBlur(1.0))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.fixture(scope="module")
def spot(app):
    """A point inside the supervisor's street (柏城街道, 411721001) and that street's class name."""
    with app.extensions["cityops.sessions"]() as db:
        lon, lat, community = db.execute(text(
            "SELECT ST_X(p), ST_Y(p), c.name FROM geo.region c, LATERAL (SELECT ST_PointOnSurface(c.geom) p) q "
            "WHERE c.level='community' AND c.code LIKE '411721001%' ORDER BY c.code LIMIT 1")).one()
        name = db.scalar(text("SELECT name FROM geo.dict_item WHERE type_code='event_class' AND code=:c"),
                         {"c": CLASS_CODE})
    return {"lon": lon, "lat": lat, "community": community, "class_name": name}


def case_count(app) -> int:
    with app.extensions["cityops.sessions"]() as db:
        return db.scalar(text('SELECT count(*) FROM cases."case"'))


class Person:
    """One user in their own browser context (phone or desktop)."""

    def __init__(self, browser, base, username, password, phone=False, geolocation=None):  # noqa: F811
        opts = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
        if phone:
            opts.update(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
        else:
            opts.update(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        if geolocation:
            opts.update(geolocation=geolocation, permissions=["geolocation"])
        self.base = base
        self.context = browser.new_context(**opts)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(base + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("#login-submit")
        assert urlparse(self.page.url).path == "/", self.page.url

    def foreign(self) -> list[str]:
        return [u for u in self.urls if urlparse(u).scheme in ("http", "https") and urlparse(u).hostname not in LOOPBACK]

    def close(self):
        self.context.close()


def open_case(p: Person, case_id: int):
    p.page.goto(f"{p.base}/cases/{case_id}")
    p.page.wait_for_selector("#timeline li")
    p.page.wait_for_function(TILES_DONE, arg="#case-map")


def click_action(p: Person, action: str, comment: str | None = None, dept: str | None = None):
    page = p.page
    before = page.get_attribute("#case-app", "data-version")
    page.click(f"#tasks button[data-action={action}]")
    page.wait_for_selector("#act-modal.show")
    if dept:
        page.select_option("#act-dept", dept)
    if comment:
        page.fill("#act-comment", comment)
    page.click("#act-submit")
    page.wait_for_function("v => document.getElementById('case-app').dataset.version !== v", arg=before)
    page.wait_for_selector("#act-modal", state="hidden")


def test_report_on_a_phone_then_work_the_case_to_close(browser, live_server, passwords, app, spot):  # noqa: F811
    pw = passwords["demo"]
    sup = Person(browser, live_server.url, "supervisor", pw, phone=True,
                 geolocation={"latitude": spot["lat"], "longitude": spot["lon"], "accuracy": 10})
    page = sup.page
    page.goto(live_server.url + "/cases/report")
    page.wait_for_function(TILES_DONE, arg="#report-map")
    assert page.locator("#source option").all_inner_texts() == ["监督员上报"]

    # Class: search by name, pick the hit (kind and big class follow).
    page.fill("#class-search", spot["class_name"][:2])
    page.click(f"#class-hits button:has-text('{spot['class_name']}')")
    assert page.input_value("#small-class") == CLASS_CODE
    assert page.is_checked("#kind-event")

    # Tap the map where the spot is: the pin is placed and the place described.
    xy = page.evaluate("ll => { const m = window.caseReport.map; m.setView(ll, 17, {animate: false});"
                       " const p = m.latLngToContainerPoint(ll); return {x: p.x, y: p.y}; }",
                       [spot["lat"], spot["lon"]])
    page.wait_for_function(TILES_DONE, arg="#report-map")
    page.locator("#report-map").tap(position=xy)
    page.wait_for_function("t => document.getElementById('place-info').textContent.includes(t)", arg=spot["community"])
    assert page.locator("#report-map .leaflet-marker-icon").count() == 1
    page.wait_for_function("() => document.getElementById('address').value.length > 0")
    # 定位 uses the phone's position (WGS84) and keeps the pin on the same spot.
    page.click("#btn-locate")
    page.wait_for_function("t => document.getElementById('place-info').textContent.includes(t)", arg=spot["community"])

    page.fill("#description", "公交站亭和电线杆上张贴大量非法小广告，影响市容")

    # A file that only claims to be a photo: the server refuses it, beside the photo field, and stores nothing.
    before = case_count(app)
    page.set_input_files("#photos", files=[{"name": "假照片.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture" * 20}])
    page.click("#btn-submit")
    err = page.locator('[data-error-for="media"]')
    err.wait_for(state="visible")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.inner_text()), err.inner_text()
    assert case_count(app) == before
    page.click("#photo-grid .photo-del")
    assert page.locator("#photo-grid img").count() == 0

    page.set_input_files("#photos", files=[{"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": street_photo()}])
    page.wait_for_selector("#photo-grid img")
    page.wait_for_function("() => { const i = document.querySelector('#photo-grid img'); return i && i.complete && i.naturalWidth > 0; }")
    page.evaluate("() => window.scrollTo(0, 0)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "case-report-mobile.png"), full_page=True)

    page.click("#btn-submit")
    page.wait_for_selector("#report-done:not(.d-none)")
    case_no = page.inner_text("#done-case-no").strip()
    with app.extensions["cityops.sessions"]() as db:
        cid, community, media = db.execute(text(
            'SELECT c.id, c.community_code, (SELECT count(*) FROM cases.case_media m WHERE m.case_id=c.id) '
            'FROM cases."case" c WHERE case_no=:n'), {"n": case_no}).one()
    assert case_count(app) == before + 1
    assert community.startswith("411721001") and media == 1
    assert "当前环节" in page.inner_text("#report-done")
    assert not sup.foreign() and not sup.errors, (sup.foreign(), sup.errors)

    # -- the case through the desks' hands, on the detail page -----------------
    people = {}

    def person(name):
        if name not in people:
            people[name] = Person(browser, live_server.url, name, pw)
        return people[name]

    acc = person("acceptor")
    open_case(acc, cid)
    assert case_no in acc.page.inner_text("header") and acc.page.locator("#media img").count() == 1
    assert "上报" in acc.page.inner_text("#timeline li:first-child")
    stage = acc.page.get_attribute("#case-app", "data-stage")
    assert stage == "accept", stage
    if stage == "accept":
        # Meanwhile the shift chief urges the case (督办): the acceptor's page is now stale.
        chief = person("shift_chief")
        open_case(chief, cid)
        chief.page.click("#btn-urge")
        chief.page.wait_for_selector("#act-modal.show")
        chief.page.click("#act-submit")  # no comment: refused in the form, nothing sent
        assert "督办意见" in chief.page.inner_text("#act-comment-error")
        chief.page.fill("#act-comment", "群众反映强烈，请尽快处置")
        chief.page.click("#act-submit")
        chief.page.wait_for_selector("#badge-flags :text('督办 1 次')")

        acc.page.click("#tasks button[data-action=file]")
        acc.page.wait_for_selector("#act-modal.show")
        acc.page.click("#act-submit")
        acc.page.wait_for_selector("#case-alert:not(.d-none)")
        assert "已被他人更新" in acc.page.inner_text("#case-alert")
        acc.page.wait_for_selector("#timeline li:nth-child(2)")  # reloaded: the urging is there
        click_action(acc, "file", comment="现场照片清晰，情况属实")
        stage = acc.page.get_attribute("#case-app", "data-stage")

    # Each stage by its role; whoever the case reaches acts through the buttons.
    by_stage = {"verify": ("supervisor", "confirm", "现场核实属实", None),
                "file": ("shift_chief", "file", None, None),
                "dispatch": ("dispatcher", "dispatch", "请环卫中心今日清除", "D010"),
                "handle": ("handler", "done", "已清除小广告 36 处，现场已恢复", None),
                "check": ("supervisor", "pass", "现场核查，小广告已清除干净", None),
                "close": ("shift_chief", "close", None, None)}
    seen = []
    for _ in range(10):
        if not stage:
            break
        who, action, comment, dept = by_stage[stage]
        if stage == "handle":
            dept_code = acc.page.evaluate(f"() => fetch('/api/cases/{cid}').then(r => r.json()).then(c => c.dept_code)")
            assert dept_code == "D010", dept_code
        p = person(who)
        open_case(p, cid)
        assert p.page.get_attribute("#case-app", "data-stage") == stage
        if stage == "check":
            if p.page.locator("#case-diagram").is_visible():
                p.page.wait_for_function("() => ['1', 'error'].includes(document.getElementById('case-diagram').dataset.ready)")
            p.page.screenshot(path=str(IMAGES / "case-detail.png"), full_page=True)
            # A reason is required for 核查不通过: the form says so and sends nothing.
            p.page.click("#tasks button[data-action=fail]")
            p.page.wait_for_selector("#act-modal.show")
            p.page.click("#act-submit")
            assert "须填写原因" in p.page.inner_text("#act-comment-error")
            p.page.click("#act-modal .btn-close")
            p.page.wait_for_selector("#act-modal", state="hidden")
        click_action(p, action, comment=comment, dept=dept)
        seen.append(stage)
        stage = p.page.get_attribute("#case-app", "data-stage")
        assert not p.errors, p.errors

    assert seen == ["file", "dispatch", "handle", "check", "close"], seen
    final = people["shift_chief"].page
    assert final.get_attribute("#case-app", "data-status") == "closed"
    assert "已结案" in final.inner_text("#badge-status")
    assert "案卷已结案" in final.inner_text("#tasks")
    timeline = final.inner_text("#timeline")
    for word in ("上报", "处置反馈", "核查通过", "结案", "按时"):
        assert word in timeline, word
    with app.extensions["cityops.sessions"]() as db:
        status, n_events = db.execute(text('SELECT status, (SELECT count(*) FROM cases.case_event e WHERE e.case_id=c.id) '
                                           'FROM cases."case" c WHERE id=:i'), {"i": cid}).one()
    assert status == "closed" and final.locator("#timeline li").count() == n_events

    # -- the printable sheet --------------------------------------------------
    with final.expect_popup() as pop:
        final.click("#link-print")
    sheet = pop.value
    sheet.set_viewport_size({"width": 900, "height": 1270})
    sheet.wait_for_selector("#sheet-log tbody tr")
    sheet.wait_for_function(TILES_DONE, arg="#print-map")
    sheet.wait_for_function("() => document.getElementById('sheet-photo').complete")
    assert case_no in sheet.inner_text("#sheet-case-no")
    assert sheet.locator("#sheet-log tbody tr").count() == n_events
    assert "签字确认" in sheet.inner_text("body") and sheet.locator("#topnav").count() == 0
    sheet.screenshot(path=str(IMAGES / "case-print.png"), full_page=True)

    for p in [sup, *people.values()]:
        assert not p.foreign(), p.foreign()
        p.close()
