"""Department management (R87) in headless Chromium: the admin opens the
tree, expands 西平县城市管理局, adds a sub-department, sees it in the tree,
gets the API's Chinese error for a guarded delete, and deletes the new one.
Screenshot: docs/images/admin-departments.png."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


def test_departments_tree_and_create(admin_session):
    s, page = admin_session, admin_session.page
    dialogs: list[str] = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)

    page.goto(s.base + "/admin/departments")
    page.wait_for_selector("#dept-tree .node[data-code=D001]")
    page.wait_for_function("() => document.getElementById('dept-title').textContent.includes('西平县人民政府')")
    cgj = page.locator("#dept-tree li[data-code=D002]")
    # Second level starts collapsed: its sections are hidden until expanded.
    assert "collapsed" in cgj.get_attribute("class")
    assert not page.locator("#dept-tree .node[data-code=D012]").is_visible()
    cgj.locator(":scope > .node .toggle").click()
    page.locator("#dept-tree .node[data-code=D012]").wait_for(state="visible")
    assert "数字化城市管理监督指挥中心" in page.locator("#dept-tree .node[data-code=D012]").inner_text()

    # Select 西平县城市管理局 and add a sub-department.
    cgj.locator(":scope > .node .name").click()
    page.wait_for_function("() => document.getElementById('f-code').value === 'D002'")
    assert page.input_value("#f-parent").startswith("西平县人民政府")
    code = "E2E" + uuid.uuid4().hex[:6].upper()
    page.click("#btn-add-child")
    assert page.input_value("#f-parent") == "西平县城市管理局（D002）"
    page.fill("#f-code", code)
    page.fill("#f-name", "西平县城市管理局市容环境科")
    page.select_option("#f-kind", "section")
    page.fill("#f-region", "411721001")
    page.fill("#f-sort", "30")
    page.click("#btn-save")
    node = page.locator(f"#dept-tree .node[data-code={code}]")
    node.wait_for(state="visible")
    assert "市容环境科" in node.inner_text()
    assert page.locator(f"#dept-tree li[data-code=D002] li[data-code={code}]").count() == 1
    page.wait_for_function(f"() => document.getElementById('f-code').value === '{code}'")
    page.wait_for_function("() => document.getElementById('dept-msg').textContent.includes('已新增部门')")
    assert "active" in node.get_attribute("class")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-departments.png"))

    # A guarded delete shows the API's Chinese reason.
    page.click("#dept-tree .node[data-code=D012] .name")
    page.wait_for_function("() => document.getElementById('f-code').value === 'D012'")
    page.click("#btn-delete")
    page.wait_for_selector("#dept-msg .alert-danger")
    assert "用户" in page.inner_text("#dept-msg") and "D012" in dialogs[-1]
    assert page.locator("#dept-tree .node[data-code=D012]").count() == 1

    # Edit, then delete the new department (with confirmation).
    node.locator(".name").click()
    page.wait_for_function(f"() => document.getElementById('f-code').value === '{code}'")
    page.click("#btn-edit")
    page.fill("#f-name", "西平县城市管理局市容科")
    page.click("#btn-save")
    page.wait_for_function("() => document.getElementById('dept-msg').textContent.includes('已保存')")
    assert "市容科" in node.inner_text()
    page.click("#btn-delete")
    page.wait_for_function(f"() => !document.querySelector('#dept-tree .node[data-code={code}]')")
    assert "确定删除" in dialogs[-1]
    page.wait_for_function("() => document.getElementById('dept-msg').textContent.includes('已删除')")
    assert s.foreign_requests() == []


def test_logs_page(admin_session):
    """The log page (R94): both tabs load, filter, and the department writes show as diffs."""
    s, page = admin_session, admin_session.page
    page.goto(s.base + "/admin/logs")
    page.wait_for_selector("#pane-login tbody tr td")
    assert "admin" in page.inner_text("#pane-login tbody")
    assert "共" in page.inner_text("#pane-login .pager")
    page.select_option("#pane-login select[name=success]", "true")
    page.click("#pane-login button[type=submit]")
    page.wait_for_function("() => !document.querySelector('#pane-login tbody .bg-danger')")
    href = page.get_attribute("#pane-login .export", "href")
    assert href.startswith("/api/admin/logs/login/export.xlsx") and "success=true" in href

    page.click("#tab-operations")
    page.wait_for_selector("#pane-operations tbody tr td")
    page.fill("#pane-operations input[name=table]", "admin.department")
    page.click("#pane-operations button[type=submit]")
    page.wait_for_function("() => document.querySelector('#pane-operations tbody').textContent.includes('admin.department')")
    assert not page.locator("#pane-login").is_visible()
    assert page.locator("#pane-operations .changes li").count() > 0
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-logs.png"))
    assert s.foreign_requests() == []
