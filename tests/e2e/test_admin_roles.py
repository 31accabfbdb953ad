"""角色权限, 菜单管理 and 系统设置 in headless Chromium: the admin creates a
role with a data scope and permissions, assigns a user to it; that user logs
in, must change the temporary password, and sees exactly the menus the role
grants. Screenshots for the manual: admin-roles.png, password-change.png,
role-user-nav.png, admin-menus.png, admin-settings.png."""
from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import JsonApi, login
from tests.e2e.test_home_map import ARGS, CHROMIUM, IMAGES

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def new_page(browser, live_server, username, password):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    p = context.new_page()
    p.set_default_timeout(30_000)
    p.errors = []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    p.goto(live_server.url + "/login")
    p.fill("#username", username)
    p.fill("#password", password)
    with p.expect_navigation():
        p.click("#login-submit")
    return p


def test_role_assignment_and_menus(browser, live_server, app, passwords):
    admin_http = app.test_client()
    login(admin_http, "admin", passwords["admin"])
    admin_api = JsonApi(admin_http)
    username = "e2e_" + uuid.uuid4().hex[:6]
    temp = admin_api.post("/api/admin/users", {"username": username, "display_name": "孙街道", "roles": [],
                                               "region_code": "411721001", "dept_code": "D020"}
                          ).get_json()["temporary_password"]
    code = "street_admin_" + uuid.uuid4().hex[:4]

    page = new_page(browser, live_server, "admin", passwords["admin"])
    page.goto(live_server.url + "/admin/roles")
    page.wait_for_selector("#role-list a")
    page.click("#btn-new-role")
    page.fill("#r-code", code)
    page.fill("#r-name", "街道管理员" + code[-4:])
    page.fill("#r-remark", "管理本街道用户，查看地图")
    page.check("#scope-region")
    page.check("#perm-tree input[value='admin:user:view']")
    page.check("#perm-tree input[value='map:view']")
    page.click("#btn-save-role")
    page.wait_for_selector(f"#role-list a.active[data-code='{code}']")
    page.fill("#member-q", username)
    page.wait_for_function(f"() => [...document.querySelectorAll('#member-options option')].some(o => o.value.startsWith('{username}'))")
    page.fill("#member-q", f"{username}（孙街道）")
    page.click("#btn-add-member")
    page.wait_for_selector(f"#member-table td:text('{username}')")
    assert page.inner_text("#member-count") == "1"
    # Bad input shows the server's message: a builtin role cannot be deleted.
    page.click("#role-list a[data-code='supervisor']")
    page.wait_for_selector("#r-code[disabled]")
    page.screenshot(path=str(IMAGES / "admin-roles.png"), full_page=False)
    page.click(f"#role-list a[data-code='{code}']")
    page.wait_for_function(f"() => document.getElementById('r-code').value === '{code}'")
    assert page.is_checked("#scope-region") and page.is_checked("#perm-tree input[value='admin:user:view']")
    assert not page.errors, page.errors

    # The user logs in with the temporary password: first the password change.
    user = new_page(browser, live_server, username, temp)
    assert "/password" in user.url
    user.wait_for_selector("#forced-notice")
    user.fill("#old_password", temp)
    user.fill("#new_password", "Street-2026x")
    user.fill("#confirm", "Street-2026y")
    user.click("#password-submit")
    user.wait_for_selector("text=两次输入的新密码不一致")
    user.screenshot(path=str(IMAGES / "password-change.png"))
    user.fill("#old_password", temp)
    user.fill("#new_password", "Street-2026x")
    user.fill("#confirm", "Street-2026x")
    with user.expect_navigation():
        user.click("#password-submit")
    nav = user.inner_text("#main-nav")
    assert "综合地图" in nav and "应用维护" in nav
    user.click("#main-nav >> text=应用维护")
    user.wait_for_selector("#users-body tr[data-id]")
    side = user.inner_text("#admin-menu")
    assert "用户管理" in side and "角色权限" not in side and "部门管理" not in side
    # Region scope: only users of street 411721001 are listed.
    user.wait_for_function("() => document.querySelectorAll('#users-body tr[data-id]').length > 0")
    user.screenshot(path=str(IMAGES / "role-user-nav.png"))
    listed = admin_api.get("/api/admin/users?size=200").get_json()["items"]
    outside = [u["username"] for u in listed if u["region_code"] and not u["region_code"].startswith("411721001")]
    body = user.inner_text("#users-body")
    assert username in body and not any(name in body for name in outside)
    assert not user.errors, user.errors
    user.context.close()
    page.context.close()


def test_menus_and_settings_pages(browser, live_server, app, passwords):
    page = new_page(browser, live_server, "admin", passwords["admin"])
    page.goto(live_server.url + "/admin/menus")
    page.wait_for_selector("#menu-table tr[data-id]")
    assert "用户管理" in page.inner_text("#menu-table")
    page.screenshot(path=str(IMAGES / "admin-menus.png"))
    page.click("#platform-tabs a[data-platform='mobile']")
    page.wait_for_selector("#menu-table td:text('问题上报')")

    page.goto(live_server.url + "/admin/settings")
    page.wait_for_selector("#s-site-title_zh")
    page.fill("#s-site-title_zh", "西平县一网统管（测试）")
    page.fill("#s-upload-max_mb", "0")
    page.click("#btn-save-settings")
    page.wait_for_function("() => document.getElementById('settings-error').textContent.includes('附件大小上限')")
    page.fill("#s-upload-max_mb", "30")
    page.click("#btn-save-settings")
    page.wait_for_selector("text=设置已保存并生效")
    page.reload()
    page.wait_for_selector("#s-site-title_zh")
    assert "西平县一网统管（测试）" in page.inner_text(".navbar-brand")
    page.screenshot(path=str(IMAGES / "admin-settings.png"))
    page.fill("#s-site-title_zh", "西平县城市运行管理服务平台")
    page.fill("#s-upload-max_mb", "20")
    page.click("#btn-save-settings")
    page.wait_for_selector("text=设置已保存并生效")
    assert not page.errors, page.errors
    page.context.close()
