"""用户管理 in headless Chromium: the admin creates a user through the modal,
finds it by search, and the page stays on this machine. Screenshot for the
user manual: docs/images/admin-users.png."""
from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

import pytest

from tests.e2e.test_home_map import ARGS, CHROMIUM, IMAGES, LOOPBACK

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def page(live_server, passwords):
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", device_scale_factor=1)
        p = context.new_page()
        p.set_default_timeout(30_000)
        p.urls = []
        p.on("request", lambda req: p.urls.append(req.url))
        p.goto(live_server.url + "/login")
        p.fill("#username", "admin")
        p.fill("#password", passwords["admin"])
        with p.expect_navigation():
            p.click("#login-submit")
        yield p
        context.close()
        browser.close()


def test_create_and_search_user(page, live_server):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + "/admin/users")
    page.wait_for_selector("#users-body tr[data-id]")
    assert "共" in page.inner_text("#page-info")

    username = f"e2e_{uuid.uuid4().hex[:8]}"
    page.click("#btn-new-user")
    page.wait_for_selector("#user-modal.show")
    # Bad input first: the server's Chinese message shows in the form.
    page.fill("#u-username", "x!")
    page.fill("#u-display", "测试")
    page.click("#user-save")
    page.wait_for_selector("#form-error:not(.d-none)")
    assert "用户名" in page.inner_text("#form-error")

    page.fill("#u-username", username)
    page.fill("#u-display", "张三（测试）")
    page.select_option("#u-dept", index=1)
    page.select_option("#u-region", index=2)
    page.fill("#u-phone", "13912345678")
    page.check("#role-acceptor")
    page.check("#role-monitor")
    page.click("#user-save")
    page.wait_for_selector("#info-modal.show #temp-password")
    temp = page.inner_text("#temp-password").strip()
    assert len(temp) >= 12
    page.click("#info-modal .modal-footer button")
    page.wait_for_selector("#info-modal", state="hidden")

    page.fill("#f-q", username)
    page.click("#btn-search")
    row = page.locator(f"#users-body tr[data-username='{username}']")
    row.wait_for()
    page.wait_for_function("() => document.querySelectorAll('#users-body tr[data-id]').length === 1")
    text = row.inner_text()
    for word in ("张三（测试）", "受理员", "监测值守员", "13912345678", "启用"):
        assert word in text, word
    assert "共 1 个用户" in page.inner_text("#page-info")

    # Edit through the modal: the change shows in the table.
    row.locator("button[data-op=edit]").click()
    page.wait_for_selector("#user-modal.show")
    assert page.is_disabled("#u-username")
    page.fill("#u-display", "张三")
    page.click("#user-save")
    page.wait_for_selector("#user-modal", state="hidden")
    page.wait_for_function("""(name) => {
        const tr = document.querySelector(`#users-body tr[data-username='${name}']`);
        return tr && tr.innerText.includes('张三') && !tr.innerText.includes('（测试）');
    }""", arg=username)

    # Back to the full list for the manual's screenshot.
    page.fill("#f-q", "")
    page.click("#btn-search")
    page.wait_for_function("() => document.querySelectorAll('#users-body tr[data-id]').length > 3")
    page.wait_for_function("() => document.getElementById('users-app').dataset.loading === '0'")
    page.wait_for_function("() => !document.querySelector('#toast-area .alert')")
    assert page.evaluate("() => document.querySelector('.table-responsive').scrollWidth"
                         " <= document.querySelector('.table-responsive').clientWidth"), "the table should fit"
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-users.png"))

    assert not errors, errors
    foreign = [u for u in page.urls if urlparse(u).scheme in ("http", "https") and urlparse(u).hostname not in LOOPBACK]
    assert foreign == []
