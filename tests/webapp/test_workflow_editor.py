"""The BPMN editor page (bpmn-js served locally), deploying an edited diagram
as version n+1 while a running case keeps its version, the `city_case`
contract (task ids and lanes the case engine knows), and the case-diagram
XML endpoint for case pages."""
from __future__ import annotations

import json
import re

import pytest
from lxml import etree
from sqlalchemy import text

from tests.conftest import assert_error, json_api
from tests.webapp.cases.test_case_lifecycle import report, spot  # noqa: F401  (module fixture)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@pytest.fixture(scope="module")
def admin(app, passwords):
    return json_api(app, "admin", passwords["admin"])


@pytest.fixture(scope="module")
def leader(app, passwords):
    return json_api(app, "leader", passwords["demo"])


@pytest.fixture(scope="module")
def supervisor(app, passwords):
    return json_api(app, "supervisor", passwords["demo"])


def active_city_case(admin) -> tuple[int, str]:
    hist = admin.get("/api/admin/workflows/city_case/versions").get_json()
    v = hist["active_version"]
    return v, admin.get(f"/api/admin/workflows/city_case/versions/{v}/bpmn").get_data(as_text=True)


def state(app) -> tuple:
    """What a refused deploy must leave untouched: versions, statuses, log rows."""
    with app.extensions["cityops.engine"].connect() as c:
        return (c.execute(text("SELECT process_key, version, status FROM admin.process_definition "
                               "ORDER BY process_key, version")).all(),
                c.execute(text("SELECT count(*) FROM admin.operation_log "
                               "WHERE target_table = 'admin.process_definition'")).scalar())


def deploy(admin, xml: str, remark: str = "编辑器测试"):
    return admin.post("/api/admin/workflows", {"xml": xml, "category": "case", "process_key": "city_case",
                                               "remark": remark})


def rename_id(xml: str, old: str, new: str) -> str:
    """Rename one element id everywhere it is referenced (attributes and flowNodeRef/incoming/outgoing)."""
    return re.sub(rf'(?<=[">]){re.escape(old)}(?=["<])', new, xml)


def set_name(xml: str, element_id: str, name: str) -> str:
    root = etree.fromstring(xml.encode())
    el = root.find(f".//*[@id='{element_id}']")
    el.set("name", name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


# ---------------------------------------------------------------- the page

def page_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="wf-editor-data">(.*?)</script>',
                                html, re.S).group(1))


def test_editor_page_serves_bpmn_js_locally(admin):
    version, _ = active_city_case(admin)
    r = admin.get("/admin/workflows/city_case/editor")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "保存为新版本" in html and "与当前版本比较" in html and "下载 XML" in html
    assert "/assets/vendor/bpmn-js/dist/bpmn-modeler.production.min.js" in html
    assert "/assets/vendor/bpmn-js/dist/assets/bpmn-js.css" in html
    urls = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    for u in urls:  # every script and stylesheet is served by this app
        res = admin.c.get(u)
        assert res.status_code == 200, u
        res.close()
    data = page_data(html)
    assert data["key"] == "city_case" and data["version"] == version == data["active_version"]
    assert data["can_edit"] is True and data["category"] == "case"
    # The case engine's contract and the lane → role mapping for the property panel.
    assert data["contract"]["tasks"]["check"] == ["核查通过", "核查不通过（返工）"]
    assert data["lane_roles"]["监督员"] == {"code": "supervisor", "name": "监督员"}
    assert admin.c.get("/assets/vendor/bpmn-js/package.json").status_code == 200
    assert admin.c.get("/assets/vendor/bpmn-js/dist/bpmn-navigated-viewer.production.min.js").status_code == 200


def test_editor_older_version_new_process_and_bad_params(admin):
    r = admin.get("/admin/workflows/city_case/editor?version=1")
    assert r.status_code == 200 and page_data(r.get_data(as_text=True))["version"] == 1
    new = admin.get("/admin/workflows/editor")
    assert new.status_code == 200
    data = page_data(new.get_data(as_text=True))
    assert data["key"] is None and data["contract"] is None and "新建流程" in new.get_data(as_text=True)
    assert 'id="s-category"' in new.get_data(as_text=True)
    assert admin.get("/admin/workflows/city_case/editor?version=abc").status_code == 400
    assert admin.get("/admin/workflows/city_case/editor?version=0").status_code == 400
    assert admin.get("/admin/workflows/city_case/editor?version=999").status_code == 404
    assert admin.get("/admin/workflows/city_case/editor?x=1").status_code == 400
    assert admin.get("/admin/workflows/no_such_process/editor").status_code == 404
    # The list page links to the editor.
    assert "/admin/workflows/editor" in admin.get("/admin/workflows").get_data(as_text=True)


def test_viewer_opens_read_only(leader, supervisor, app):
    r = leader.get("/admin/workflows/city_case/editor")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "bpmn-navigated-viewer.production.min.js" in html and "bpmn-modeler" not in html
    assert 'id="btn-save"' not in html and "只读" in html and page_data(html)["can_edit"] is False
    # Nothing to show read-only for a new process; and no deploying without admin:workflow:edit.
    r = leader.c.get("/admin/workflows/editor")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/workflows")
    before = state(app)
    _, xml = active_city_case(leader)
    assert_error(deploy(leader, set_name(xml, "check", "核查（领导改）")), 403, "forbidden")
    assert state(app) == before
    assert supervisor.get("/admin/workflows/city_case/editor").status_code == 403


# ---------------------------------------------------------------- new version, running case keeps its own

def test_edited_diagram_is_version_n_plus_1_and_running_case_keeps_its_version(admin, supervisor, spot, app):  # noqa: F811
    v, xml = active_city_case(admin)
    r = report(supervisor, spot, description="人行道上有废弃家具堆放")
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["process"] == {"key": "city_case", "version": v}

    edited = set_name(xml, "check", "核查（结案前复核）")
    r = deploy(admin, edited, remark="核查环节更名")
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["version"] == v + 1 and d["status"] == "active" and d["remark"] == "核查环节更名"
    assert {"id": "check", "name": "核查（结案前复核）"}.items() <= next(
        t for t in d["tasks"] if t["id"] == "check").items()
    hist = admin.get("/api/admin/workflows/city_case/versions").get_json()
    assert hist["active_version"] == v + 1
    assert next(i for i in hist["items"] if i["version"] == v)["status"] == "superseded"

    # The running case stays on its version and can still be worked on; new cases take the new one.
    again = supervisor.get(f"/api/cases/{case['id']}").get_json()
    assert again["process"] == {"key": "city_case", "version": v}
    assert any(t["status"] == "open" for t in again["tasks"])
    with app.extensions["cityops.engine"].connect() as c:
        assert c.execute(text("SELECT process_version FROM cases.\"case\" WHERE id=:i"),
                         {"i": case["id"]}).scalar() == v
    fresh = report(supervisor, spot, description="道路两侧有积存垃圾").get_json()
    assert fresh["process"] == {"key": "city_case", "version": v + 1}

    # The same XML again is refused (nothing to deploy).
    assert_error(deploy(admin, edited), 409, "bpmn_unchanged")


# ---------------------------------------------------------------- the city_case contract

@pytest.mark.parametrize("mutate, needle, element", [
    (lambda x: rename_id(x, "close", "close_case"), "close", None),
    (lambda x: rename_id(x, "approve_return", "approve_back"), "approve_return", None),
    (lambda x: x.replace('<bpmn:userTask id="suspended"', '<bpmn:manualTask id="suspended"')
              .replace('</bpmn:userTask>\n    <bpmn:userTask id="check"', '</bpmn:manualTask>\n    <bpmn:userTask id="check"'),
     "suspended（已改为 manualTask）", "suspended"),
    (lambda x: x.replace('name="派遣员"', 'name="调度员"'), "派遣员", None),
])
def test_city_case_must_keep_task_ids_and_lanes(admin, app, mutate, needle, element):
    _, xml = active_city_case(admin)
    bad = mutate(xml)
    assert bad != xml
    before = state(app)
    e = assert_error(deploy(admin, bad), 400, "bpmn_case_incompatible")
    assert needle in e["message"] and "city_case" in e["message"]
    if element:
        assert e["details"]["element"] == element
    assert state(app) == before


def test_city_case_refuses_unknown_task_and_unmapped_lane(admin, app):
    _, xml = active_city_case(admin)
    before = state(app)
    # A new user task the engine has no actions for, inside the 值班长 lane, between close and the end.
    root = etree.fromstring(xml.encode())
    proc = root.find(f"{{{BPMN}}}process")
    flow = proc.find(f"{{{BPMN}}}sequenceFlow[@sourceRef='close']")
    task = etree.SubElement(proc, f"{{{BPMN}}}userTask", id="archive", name="归档")
    etree.SubElement(task, f"{{{BPMN}}}incoming").text = flow.get("id")
    etree.SubElement(task, f"{{{BPMN}}}outgoing").text = "f_archive"
    etree.SubElement(proc, f"{{{BPMN}}}sequenceFlow", id="f_archive", sourceRef="archive",
                     targetRef=flow.get("targetRef"))
    end = proc.find(f"*[@id='{flow.get('targetRef')}']")
    end.find(f"{{{BPMN}}}incoming[.='{flow.get('id')}']").text = "f_archive"
    flow.set("targetRef", "archive")
    lane = proc.find(f".//{{{BPMN}}}lane[@name='值班长']")
    etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = "archive"
    e = assert_error(deploy(admin, etree.tostring(root, encoding="unicode")), 400, "bpmn_case_incompatible")
    assert "archive" in e["message"] and "无人可以办理" in e["message"] and e["details"]["element"] == "archive"

    # An extra lane with a name that maps to no role.
    root = etree.fromstring(xml.encode())
    lane_set = root.find(f".//{{{BPMN}}}laneSet")
    etree.SubElement(lane_set, f"{{{BPMN}}}lane", id="lane_extra", name="网格员")
    e = assert_error(deploy(admin, etree.tostring(root, encoding="unicode")), 400, "bpmn_case_incompatible")
    assert "网格员" in e["message"] and e["details"]["element"] == "lane_extra"
    assert state(app) == before


def test_contract_applies_only_to_city_case(admin):
    # The same diagram under another key is an ordinary process: no contract to keep.
    _, xml = active_city_case(admin)
    other = rename_id(rename_id(xml, "city_case", "city_case_trial"), "close", "close_case")
    r = admin.post("/api/admin/workflows", {"xml": other, "category": "other", "remark": "试验"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["process_key"] == "city_case_trial"


def test_broken_condition_names_the_flow(admin, app):
    _, xml = active_city_case(admin)
    before = state(app)
    bad = xml.replace("decision == 'pass'", "decision == = 'pass'")
    assert bad != xml
    e = assert_error(deploy(admin, bad), 400, "bpmn_invalid")
    assert e["details"]["element"].startswith("f_check") and "条件表达式" in e["message"]
    assert state(app) == before


# ---------------------------------------------------------------- diagram XML for case pages

def test_case_diagram_endpoint(supervisor, admin):
    v, xml = active_city_case(admin)
    r = supervisor.get(f"/api/admin/workflows/city_case/versions/{v}/diagram")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert r.get_data(as_text=True) == xml
    etag = r.headers["ETag"]
    assert supervisor.c.get(f"/api/admin/workflows/city_case/versions/{v}/diagram",
                            headers={"If-None-Match": etag}).status_code == 304
    # Only case processes; the admin download stays admin-only.
    assert_error(supervisor.get("/api/admin/workflows/demo_hazard_inspection/versions/1/diagram"), 404,
                 "workflow_not_found")
    assert_error(supervisor.get("/api/admin/workflows/city_case/versions/999/diagram"), 404, "workflow_not_found")
    assert_error(supervisor.get(f"/api/admin/workflows/city_case/versions/{v}/bpmn"), 403, "forbidden")
