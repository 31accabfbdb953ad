"""The BPMN editor in headless Chromium: the administrator opens `city_case`,
renames a task through the property panel, compares with the current version,
undoes/redoes, saves a new version (listed on the definitions page); a broken
condition expression is refused with the reason beside the diagram and the
flow highlighted. The read-only viewer for leaders, a new process, and the
CaseDiagram component for case pages.
Screenshots: docs/images/admin-workflow-editor.png, admin-workflow-invalid.png,
admin-workflow-case-diagram.png."""
from __future__ import annotations

import uuid

import pytest

from tests.conftest import json_api
from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)
from tests.webapp.cases.test_case_lifecycle import report, spot  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e
READY = "() => document.getElementById('canvas').dataset.ready === '1'"


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


def versions(app, passwords) -> list[dict]:
    api = json_api(app, "admin", passwords["admin"])
    return api.get("/api/admin/workflows/city_case/versions").get_json()["items"]


def label(page, element_id: str) -> str:
    return page.locator(f'.djs-element[data-element-id="{element_id}"] text').first.text_content()


def test_edit_save_and_refusal(admin_session, app, passwords):
    s, page = admin_session, admin_session.page
    before = versions(app, passwords)
    v = before[0]["version"]
    page.goto(s.base + "/admin/workflows/city_case/editor")
    page.wait_for_function(READY)
    assert page.inner_text("#wf-version") == f"V{v}" and "生效" in page.inner_text("#wf-status")
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark the licence asks for
    # Nothing selected: the panel edits the process itself; its key cannot change.
    assert page.input_value("#p-proc-id") == "city_case" and page.is_disabled("#p-proc-id")

    # Select the task 核查 on the canvas: the panel shows it, with the engine's actions; its id is locked.
    page.locator('.djs-element[data-element-id="check"]').first.click()
    page.wait_for_selector("#p-name")
    assert page.input_value("#p-id") == "check" and page.is_disabled("#p-id")
    assert "核查通过" in page.inner_text("#p-task-actions")
    page.fill("#p-name", "核查（结案前复核）")
    page.press("#p-name", "Tab")
    page.wait_for_function("() => document.querySelector('.djs-element[data-element-id=\"check\"] text')"
                           ".textContent.includes('复核')")

    # A lane shows the role it maps to.
    page.locator('.djs-element[data-element-id="lane_dispatcher"]').first.click(position={"x": 15, "y": 30})
    page.wait_for_selector("#p-lane-role")
    assert "派遣员" in page.inner_text("#p-lane-role") and "dispatcher" in page.inner_text("#p-lane-role")

    # Undo and redo the rename.
    page.click("#btn-undo")
    page.wait_for_function("() => !document.querySelector('.djs-element[data-element-id=\"check\"] text')"
                           ".textContent.includes('复核')")
    page.click("#btn-redo")
    page.wait_for_function("() => document.querySelector('.djs-element[data-element-id=\"check\"] text')"
                           ".textContent.includes('复核')")

    # Compare with the current version: exactly the renamed task.
    page.click("#btn-diff")
    page.wait_for_selector("#diff-modal[data-state=shown]")
    page.wait_for_function("() => document.getElementById('diff-summary').textContent.includes('修改 1 个')")
    row = page.locator("#diff-table tbody tr")
    assert row.count() == 1 and "check" in row.inner_text() and "核查（结案前复核）" in row.inner_text()
    page.click("#diff-modal .btn-close")
    page.wait_for_selector("#diff-modal", state="hidden")

    page.click("#btn-zoom-in")
    page.click("#btn-zoom-in")
    page.locator('.djs-element[data-element-id="check"]').first.click()
    page.wait_for_selector("#p-task-actions")
    page.wait_for_function("() => !document.querySelector('.modal-backdrop')")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-workflow-editor.png"))

    # Save as a new version.
    page.click("#btn-save")
    page.wait_for_selector("#save-modal[data-state=shown]")
    page.click("#save-submit")  # no remark: asked for one, nothing sent
    page.wait_for_selector("#save-error:not(.d-none)")
    assert "变更说明" in page.inner_text("#save-error")
    page.fill("#s-remark", "核查环节更名为“核查（结案前复核）”")
    page.click("#save-submit")
    page.wait_for_function(f"() => document.getElementById('wf-toast').textContent.includes('第 {v + 1} 版')")
    assert page.inner_text("#wf-version") == f"V{v + 1}" and page.url.endswith(f"?version={v + 1}")
    after = versions(app, passwords)
    assert [i["version"] for i in after][:2] == [v + 1, v] and after[0]["status"] == "active"

    # The definitions page lists it.
    page.goto(s.base + "/admin/workflows")
    page.fill("#q-key", "city_case")
    page.click("#wf-filter button[type=submit]")
    page.wait_for_function(f"() => document.querySelector('#wf-body tr[data-key=city_case][data-version=\"{v + 1}\"]')")
    top = page.locator("#wf-body tr[data-key=city_case]").first
    assert f"V{v + 1}" in top.inner_text() and "生效" in top.inner_text() and "结案前复核" in top.inner_text()

    # Break a condition expression: refused, the reason beside the diagram, the flow highlighted.
    with page.expect_navigation():
        top.locator("[data-edit]").click()
    page.wait_for_function(READY)
    page.locator('.djs-element[data-element-id="f_check_pass_label"]').first.click()
    page.wait_for_selector("#p-cond")
    assert page.input_value("#p-cond") == "decision == 'pass'"
    page.fill("#p-cond", "decision == = 'pass'")
    page.press("#p-cond", "Tab")
    page.click("#btn-save")
    page.wait_for_selector("#save-modal[data-state=shown]")
    page.fill("#s-remark", "试改条件")
    page.click("#save-submit")
    page.wait_for_selector("#wf-error:not(.d-none)")
    msg = page.inner_text("#wf-error")
    assert "流程图校验未通过" in msg and "f_check_pass" in msg and "条件表达式" in msg
    assert page.get_attribute("#wf-error", "data-element") == "f_check_pass"
    assert page.locator('.djs-element.wf-invalid[data-element-id="f_check_pass"]').count() == 1
    page.wait_for_function("() => !document.querySelector('.modal-backdrop')")
    page.screenshot(path=str(IMAGES / "admin-workflow-invalid.png"))
    assert len(versions(app, passwords)) == len(after)

    # Fixing it clears the highlight on the next successful save.
    page.fill("#p-cond", "decision == 'pass'")
    page.press("#p-cond", "Tab")
    page.click("#btn-fit")
    page.locator('.djs-element[data-element-id="check"]').first.click()  # moves the flow's context pad away
    page.locator('.djs-element[data-element-id="close"]').first.click()
    page.wait_for_function("() => document.getElementById('p-id') && document.getElementById('p-id').value === 'close'")
    page.fill("#p-doc", "结案前确认处置结果")
    page.press("#p-doc", "Tab")
    page.click("#btn-save")
    page.wait_for_selector("#save-modal[data-state=shown]")
    page.fill("#s-remark", "结案环节补充说明")
    page.click("#save-submit")
    page.wait_for_function(f"() => document.getElementById('wf-toast').textContent.includes('第 {v + 2} 版')")
    assert page.locator(".djs-element.wf-invalid").count() == 0 and page.is_hidden("#wf-error")
    assert s.foreign_requests() == []


def test_new_process(admin_session, app, passwords):
    s, page = admin_session, admin_session.page
    page.goto(s.base + "/admin/workflows")
    with page.expect_navigation():
        page.click("#btn-new")
    page.wait_for_function(READY)
    key = "e2e_" + uuid.uuid4().hex[:8]
    page.fill("#p-proc-id", "9bad")
    page.press("#p-proc-id", "Tab")
    page.wait_for_selector("#wf-toast .alert-danger")
    assert "字母或下划线开头" in page.inner_text("#wf-toast")
    page.fill("#p-proc-id", key)
    page.press("#p-proc-id", "Tab")
    page.fill("#p-proc-name", "门前三包巡查（测试）")
    page.press("#p-proc-name", "Tab")
    page.click("#btn-diff")
    page.wait_for_selector("#diff-modal[data-state=shown]")
    assert "无从比较" in page.inner_text("#diff-summary")
    page.click("#diff-modal .btn-close")
    page.wait_for_selector("#diff-modal", state="hidden")
    page.click("#btn-save")
    page.wait_for_selector("#save-modal[data-state=shown]")
    page.select_option("#s-category", "other")
    page.fill("#s-remark", "新建")
    with page.expect_navigation():
        page.click("#save-submit")
    page.wait_for_function(READY)
    assert f"/admin/workflows/{key}/editor?version=1" in page.url
    assert "门前三包巡查（测试）" in page.inner_text("#wf-title")
    api = json_api(app, "admin", passwords["admin"])
    d = api.get(f"/api/admin/workflows/{key}/versions/1").get_json()
    assert d["category"] == "other" and d["remark"] == "新建" and d["status"] == "active"


def test_leader_reads_only(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    try:
        s.login("leader", passwords["demo"])
        page = s.page
        page.goto(s.base + "/admin/workflows/city_case/editor?version=1")
        page.wait_for_function(READY)
        assert page.locator("#btn-save").count() == 0 and page.locator("#btn-undo").count() == 0
        page.locator('.djs-element[data-element-id="handle"]').first.click()
        page.wait_for_selector("#p-name")
        assert page.input_value("#p-name") == "处置" and page.is_disabled("#p-name")
        assert page.locator(".djs-palette").count() == 0  # the viewer, not the modeler
    finally:
        s.close()


def test_case_diagram_component(admin_session, app, passwords, spot):  # noqa: F811
    """CaseDiagram.show on a page, with a real case's done and current tasks, from the case:view endpoint."""
    s, page = admin_session, admin_session.page
    sup = json_api(app, "supervisor", passwords["demo"])
    case = report(sup, spot, description="井盖缺失，需尽快处理").get_json()
    case = sup.get(f"/api/cases/{case['id']}").get_json()
    current = [t["stage"] for t in case["tasks"] if t["status"] == "open"]
    done = [t["stage"] for t in case["tasks"] if t["status"] == "done"] or ["accept"]
    assert current
    page.goto(s.base + "/admin/workflows")
    page.wait_for_selector("#wf-body tr[data-key]")
    url = f"/api/admin/workflows/city_case/versions/{case['process']['version']}/diagram"
    page.evaluate("""([url, current, done]) => {
        document.getElementById('wf-app').innerHTML = '<h1 class="h5">案卷流程图</h1><div id="cd" style="height:460px"></div>';
        return CaseDiagram.show(document.getElementById('cd'), url, {current, done}).then(() => true);
    }""", [url, current, done])
    page.wait_for_selector("#cd[data-ready='1']")
    for sid in current:
        assert page.locator(f'.djs-element.case-current[data-element-id="{sid}"]').count() == 1
    for sid in done:
        if sid not in current:
            assert page.locator(f'.djs-element.case-done[data-element-id="{sid}"]').count() == 1
    assert "当前环节" in page.inner_text("#cd")
    page.screenshot(path=str(IMAGES / "admin-workflow-case-diagram.png"))
    # A URL the user may not read: the reason is shown, nothing drawn.
    page.evaluate("""() => CaseDiagram.show(document.getElementById('cd'),
        '/api/admin/workflows/demo_hazard_inspection/versions/1/diagram').catch(() => null)""")
    page.wait_for_selector("#cd[data-ready='error']")
    assert "没有第 1 版" in page.inner_text("#cd")
    assert s.foreign_requests() == []
