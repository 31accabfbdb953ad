"""Workflow definitions (R92) and mobile app versions (R93) in headless
Chromium: the admin deploys two versions of a BPMN file through the page
form, sees an invalid diagram refused with the parser's reason, opens the
version history; uploads an APK through the form, publishes it, sees a fake
APK refused, and the public update check offers the new version.
Screenshots: docs/images/admin-workflows.png, docs/images/admin-mobile.png."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)
from tests.webapp.test_admin_mobile import apk, top_code
from tests.webapp.test_admin_workflows import bpmn

pytestmark = pytest.mark.e2e


@pytest.fixture()
def admin_session(browser, live_server, passwords):  # noqa: F811
    s = Session(browser, live_server.url)
    s.login("admin", passwords["admin"])
    yield s
    s.close()


def _deploy(page, name: str, xml: str, category: str, remark: str = "") -> None:
    page.click("#btn-deploy")
    page.wait_for_selector("#deploy-modal.show")
    page.set_input_files("#d-file", {"name": name, "mimeType": "application/xml", "buffer": xml.encode()})
    page.select_option("#d-category", category)
    page.fill("#d-remark", remark)
    page.click("#deploy-submit")


def test_workflow_definitions_page(admin_session):
    s, page = admin_session, admin_session.page
    page.goto(s.base + "/admin/workflows")
    demo = page.locator("#wf-body tr[data-key=demo_hazard_inspection]")
    demo.first.wait_for()
    text = demo.first.inner_text()
    assert "隐患巡查处置（示例）" in text and "隐患处置流程" in text and "生效" in text

    key = "case_flow_" + uuid.uuid4().hex[:6]
    _deploy(page, f"{key}.bpmn", bpmn(key, name="城管案件处置（测试）", task="受理立案"), "case", "首次部署")
    page.wait_for_function("() => document.getElementById('wf-toast').textContent.includes('第 1 版')")
    _deploy(page, f"{key}.bpmn", bpmn(key, name="城管案件处置（测试）", task="受理并核实"), "case", "增加核实环节")
    page.wait_for_function("() => document.getElementById('wf-toast').textContent.includes('第 2 版')")
    rows = page.locator(f"#wf-body tr[data-key={key}]")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    assert "V2" in rows.nth(0).inner_text() and "生效" in rows.nth(0).inner_text()
    assert "V1" in rows.nth(1).inner_text() and "已被新版本取代" in rows.nth(1).inner_text()

    # The same file again and an invalid diagram are refused with the reason; nothing is added.
    _deploy(page, f"{key}.bpmn", bpmn(key, name="城管案件处置（测试）", task="受理并核实"), "case")
    page.wait_for_selector("#deploy-error:not(.d-none)")
    assert "与当前版本相同" in page.inner_text("#deploy-error")
    page.set_input_files("#d-file", {"name": "bad.bpmn", "mimeType": "application/xml",
                                     "buffer": bpmn(key, target="Task_missing").encode()})
    page.click("#deploy-submit")
    page.wait_for_function("() => document.getElementById('deploy-error').textContent.includes('Task_missing')")
    assert "流程图校验未通过" in page.inner_text("#deploy-error")
    page.click("#deploy-modal .btn-secondary")
    page.wait_for_selector("#deploy-modal", state="hidden")
    assert page.locator(f"#wf-body tr[data-key={key}]").count() == 2

    # Show everything for the screenshot.
    page.fill("#q-key", "")
    page.click("#wf-filter button[type=submit]")
    page.locator("#wf-body tr[data-key=demo_hazard_inspection]").first.wait_for()
    page.wait_for_function(f"() => document.querySelectorAll('#wf-body tr[data-key={key}]').length === 2")
    page.wait_for_function("() => !document.querySelector('.modal-backdrop')")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-workflows.png"))

    # Version history with the steps of the active version and their lanes.
    page.locator("#wf-body tr[data-key=demo_hazard_inspection] [data-op=history]").first.click()
    page.wait_for_selector("#hist-modal.show")
    page.wait_for_function("() => document.getElementById('hist-tasks').textContent.includes('上报隐患')")
    assert "监督员" in page.inner_text("#hist-tasks") and "整改处置" in page.inner_text("#hist-tasks")
    page.click("#hist-modal .btn-close")
    page.wait_for_selector("#hist-modal", state="hidden")

    # Suspend v2: new cases fall back to v1.
    page.once("dialog", lambda d: d.accept())
    page.fill("#q-key", key)
    page.click("#wf-filter button[type=submit]")
    page.wait_for_function(f"() => document.querySelectorAll('#wf-body tr[data-key={key}]').length === 2")
    page.locator(f"#wf-body tr[data-key={key}][data-version='2'] [data-op=suspend]").click()
    page.wait_for_function(f"""() => {{
        const r = document.querySelector('#wf-body tr[data-key={key}][data-version="1"]');
        return r && r.textContent.includes('生效');
    }}""")
    assert "已挂起" in page.locator(f"#wf-body tr[data-key={key}][data-version='2']").inner_text()
    assert s.foreign_requests() == []


def test_mobile_versions_page(admin_session, app):
    s, page = admin_session, admin_session.page
    code = top_code(app) + 10
    page.goto(s.base + "/admin/mobile")
    page.wait_for_selector("#app-body tr")

    def fill(name: str, data: bytes, version_name: str, version_code: int, notes: str, force: bool = False):
        page.click("#btn-upload")
        page.wait_for_selector("#upload-modal.show")
        page.select_option("#u-app", "chengguantong")
        page.select_option("#u-platform", "android")
        page.fill("#u-name", version_name)
        page.fill("#u-code", str(version_code))
        page.fill("#u-notes", notes)
        if force:
            page.check("#u-force")
        page.set_input_files("#u-file", {"name": name, "mimeType": "application/vnd.android.package-archive",
                                         "buffer": data})
        page.click("#upload-submit")

    # A text file renamed to .apk is refused with the gate's reason.
    fill("chengguantong.apk", "不是安装包".encode() * 50, "2.3.0", code, "测试")
    page.wait_for_selector("#upload-error:not(.d-none)")
    assert "文件内容与扩展名" in page.inner_text("#upload-error")
    page.click("#upload-modal .btn-secondary")
    page.wait_for_selector("#upload-modal", state="hidden")

    notes = "1. 新增案件核查拍照水印\n2. 修复离线上报偶发失败\n3. 优化轨迹上报耗电"
    fill("chengguantong-2.3.0.apk", apk(b"e2e"), "2.3.0", code, notes, force=True)
    page.wait_for_function("() => document.getElementById('app-toast').textContent.includes('草稿')")
    row = page.locator("#app-body tr", has_text="2.3.0").first
    row.wait_for()
    assert "草稿" in row.inner_text() and "强制" in row.inner_text() and "新增案件核查拍照水印" in row.inner_text()

    # Not offered to the apps until published.
    check = f"{s.base}/api/mobile/update?app=chengguantong&platform=android&version_code={code - 1}"
    assert page.request.get(check).json()["update_available"] is False
    page.once("dialog", lambda d: d.accept())
    row.locator("[data-op=publish]").click()
    page.wait_for_function("""() => Array.from(document.querySelectorAll('#app-body tr'))
        .some(r => r.textContent.includes('2.3.0') && r.textContent.includes('已发布'))""")
    ans = page.request.get(check).json()
    assert ans["update_available"] is True and ans["force_update"] is True
    assert ans["latest"]["version_name"] == "2.3.0" and ans["latest"]["release_notes"] == notes
    pkg = page.request.get(ans["latest"]["download_url"])
    assert pkg.status == 200 and pkg.body()[:2] == b"PK"

    fill("chengguantong-2.3.1.apk", apk(b"e2e-next"), "2.3.1", code + 1, "1. 修复案件列表分页显示问题")
    page.wait_for_function("() => document.querySelectorAll('#app-body tr').length >= 2 && "
                           "document.getElementById('app-body').textContent.includes('2.3.1')")
    page.wait_for_selector("#upload-modal", state="hidden")
    page.wait_for_function("() => !document.querySelector('.modal-backdrop')")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "admin-mobile.png"))
    assert s.foreign_requests() == []
