"""Workflow definitions (R92): deploy BPMN versions validated by SpiffWorkflow,
identical uploads refused, invalid diagrams refused with the parser's reason
and nothing stored, suspend/resume, download, filters, permissions, and the
service API the case workflow will use."""
from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import login

BPMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             'id="Defs_{key}" targetNamespace="https://xiping.example/test">\n')


def bpmn(key: str, name: str = "测试流程", task: str = "受理", executable: bool = True, target: str = "Task_1") -> str:
    """A small valid process: start → user task → end (target changes the first flow's target)."""
    return (BPMN_HEAD.format(key=key) +
            f'<bpmn:process id="{key}" name="{name}" isExecutable="{"true" if executable else "false"}">'
            '<bpmn:startEvent id="Start_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
            f'<bpmn:userTask id="Task_1" name="{task}"><bpmn:incoming>F1</bpmn:incoming>'
            '<bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:endEvent id="End_1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>'
            f'<bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="{target}"/>'
            '<bpmn:sequenceFlow id="F2" sourceRef="Task_1" targetRef="End_1"/>'
            '</bpmn:process></bpmn:definitions>\n')


def ukey() -> str:
    return "test_" + uuid.uuid4().hex[:10]


def token(client) -> str:
    page = client.get("/admin/workflows").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def admin(admin_client):
    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    return admin_client


def err(r):
    return r.get_json()["error"]


def counts(app) -> tuple[int, int]:
    """(stored definitions, operation-log rows on them)."""
    with app.extensions["cityops.engine"].connect() as c:
        return (c.execute(text("SELECT count(*) FROM admin.process_definition")).scalar(),
                c.execute(text("SELECT count(*) FROM admin.operation_log "
                               "WHERE target_table = 'admin.process_definition'")).scalar())


def deploy(admin, xml: str, category: str = "case", **extra):
    return admin.post("/api/admin/workflows", json={"xml": xml, "category": category, **extra})


def test_demo_definition_and_categories(admin):
    d = admin.get("/api/admin/workflows?key=demo_hazard_inspection").get_json()
    assert d["total"] == 1
    row = d["items"][0]
    assert row["version"] == 1 and row["status"] == "active" and row["category"] == "hazard"
    assert row["category_name"] == "隐患处置流程" and row["name"] == "隐患巡查处置（示例）"
    detail = admin.get("/api/admin/workflows/demo_hazard_inspection/versions/1").get_json()
    steps = {t["name"]: t for t in detail["tasks"]}
    assert steps["上报隐患"]["lane"] == "监督员" and steps["整改处置"]["lane"] == "专业部门"
    assert steps["是否属实"]["type"] == "ExclusiveGateway"
    names = {i["name"] for i in admin.get("/api/admin/dicts/workflow_category").get_json()["items"]}
    assert {"案件处置流程", "隐患处置流程", "告警处置流程", "其他"} <= names


def test_deploy_versions_identical_and_history(admin, app):
    key = ukey()
    r1 = deploy(admin, bpmn(key), remark="首版")
    assert r1.status_code == 201, r1.get_json()
    v1 = r1.get_json()
    assert v1["version"] == 1 and v1["status"] == "active" and v1["deployed_by"] == "admin"
    assert v1["process_key"] == key and v1["name"] == "测试流程" and v1["remark"] == "首版"
    assert [t["name"] for t in v1["tasks"] if t["type"] == "UserTask"] == ["受理"]

    r2 = deploy(admin, bpmn(key, task="受理并立案"))
    assert r2.status_code == 201
    assert r2.get_json()["version"] == 2 and r2.get_json()["status"] == "active"

    before = counts(app)
    r3 = deploy(admin, bpmn(key, task="受理并立案"))
    assert r3.status_code == 409 and err(r3)["code"] == "bpmn_unchanged"
    assert "与当前版本相同" in err(r3)["message"]
    assert counts(app) == before

    hist = admin.get(f"/api/admin/workflows/{key}/versions").get_json()
    assert hist["active_version"] == 2
    assert [(i["version"], i["status"]) for i in hist["items"]] == [(2, "active"), (1, "superseded")]
    # Every write is in the operation log: v1 create, v1 → superseded, v2 create.
    with app.extensions["cityops.engine"].connect() as c:
        ids = [str(i["id"]) for i in hist["items"]]
        logged = c.execute(text("SELECT action, target_id, after->>'status' FROM admin.operation_log "
                                "WHERE target_table = 'admin.process_definition' AND "
                                "(target_id = ANY(:ids) OR after->>'process_key' = :k) ORDER BY id"),
                           {"ids": ids, "k": key}).all()
    assert [(a, s) for a, _, s in logged] == [("create", "active"), ("update", "superseded"), ("create", "active")]


def test_service_api_runs_the_stored_process(app, admin):
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from webapp.admin import workflow_store as store
    key = ukey()
    assert deploy(admin, bpmn(key, task="核实")).status_code == 201
    assert deploy(admin, bpmn(key, task="核查")).status_code == 201
    with app.app_context():
        from webapp.db import get_db
        db = get_db()
        active = store.active_definition(db, key)
        assert active.version == 2
        old = store.definition(db, key, 1)
        assert old.status == "superseded"
        assert store.definition(db, key, 9) is None and store.active_definition(db, "no_such_key") is None
        spec = store.parsed_spec(old)
        assert store.parsed_spec(old) is spec  # cached by content hash
        wf = BpmnWorkflow(spec, store.subprocess_specs(old))
        wf.do_engine_steps()
        ready = wf.get_tasks(state=TaskState.READY)
        assert [t.task_spec.bpmn_name for t in ready] == ["核实"]  # a running case keeps its version
        ready[0].run()
        wf.do_engine_steps()
        assert wf.completed
        new_case = BpmnWorkflow(store.parsed_spec(active))
        new_case.do_engine_steps()
        assert [t.task_spec.bpmn_name for t in new_case.get_tasks(state=TaskState.READY)] == ["核查"]


@pytest.mark.parametrize("case,xml,code,phrase", [
    ("not_xml", "这不是XML <bpmn", "bpmn_not_xml", "不是有效的 XML"),
    ("empty", "   ", "field_required", "xml"),
    ("not_bpmn", '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "bpmn_not_bpmn", "BPMN 2.0"),
    ("no_process", BPMN_HEAD.format(key="x") + "</bpmn:definitions>", "bpmn_no_process", "没有流程"),
    ("not_executable", None, "bpmn_not_executable", "可执行"),
    ("dangling_flow", None, "bpmn_invalid", "Task_missing"),
    ("schema_error", None, "bpmn_invalid", "'bpmn:userTaskX': This element is not expected"),
    ("no_start", None, "bpmn_invalid", "No start event"),
    ("xxe", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>',
     "bpmn_not_xml", "DOCTYPE"),
    ("bad_script", None, "bpmn_invalid", "脚本任务 Task_1 的脚本有 Python 语法错误"),
    ("bad_condition", None, "bpmn_invalid", "顺序流 F2 的条件表达式有 Python 语法错误"),
    ("bad_timer", None, "bpmn_invalid", "定时事件 B1 的时间表达式"),
    ("boundary_detached", None, "bpmn_invalid", "边界事件 B1 附着的任务“Task_gone”不存在"),
])
def test_invalid_diagrams_refused_with_reason(admin, app, case, xml, code, phrase):
    key = ukey()
    if case == "not_executable":
        xml = bpmn(key, executable=False)
    elif case == "dangling_flow":
        xml = bpmn(key, target="Task_missing")
    elif case == "schema_error":
        xml = bpmn(key).replace("<bpmn:userTask ", "<bpmn:userTaskX ").replace("</bpmn:userTask>",
                                                                                "</bpmn:userTaskX>")
    elif case == "no_start":
        xml = re.sub(r"<bpmn:startEvent.*?</bpmn:startEvent>", "", bpmn(key)).replace(
            '<bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Task_1"/>', "").replace(
            "<bpmn:incoming>F1</bpmn:incoming>", "")
    elif case == "bad_condition":
        xml = bpmn(key).replace('<bpmn:sequenceFlow id="F2" sourceRef="Task_1" targetRef="End_1"/>',
                                '<bpmn:sequenceFlow id="F2" sourceRef="Task_1" targetRef="End_1">'
                                '<bpmn:conditionExpression>confirmed ==</bpmn:conditionExpression>'
                                '</bpmn:sequenceFlow>')
    elif case in ("bad_timer", "boundary_detached"):
        attached, duration = ("Task_1", "PT1H'") if case == "bad_timer" else ("Task_gone", "'PT1H'")
        xml = bpmn(key).replace("</bpmn:process>", f'<bpmn:boundaryEvent id="B1" attachedToRef="{attached}">'
                                '<bpmn:outgoing>F3</bpmn:outgoing><bpmn:timerEventDefinition>'
                                f'<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>'
                                '</bpmn:boundaryEvent><bpmn:endEvent id="E2"><bpmn:incoming>F3</bpmn:incoming>'
                                '</bpmn:endEvent><bpmn:sequenceFlow id="F3" sourceRef="B1" targetRef="E2"/>'
                                '</bpmn:process>')
    elif case == "bad_script":
        xml = bpmn(key).replace('<bpmn:userTask id="Task_1" name="受理">',
                                '<bpmn:scriptTask id="Task_1" name="受理" scriptFormat="python">').replace(
            "</bpmn:userTask>", "<bpmn:script>def (:</bpmn:script></bpmn:scriptTask>")
    before = counts(app)
    r = deploy(admin, xml)
    assert r.status_code == 400, (case, r.get_json())
    e = err(r)
    assert e["code"] == code and phrase in e["message"], (case, e)
    assert counts(app) == before
    assert admin.get(f"/api/admin/workflows?key={key}").get_json()["total"] == 0


def test_several_processes_need_a_choice(admin, app):
    k1, k2 = ukey(), ukey()
    one = bpmn(k1)
    two = bpmn(k2)
    proc2 = two[two.index("<bpmn:process"):two.index("</bpmn:definitions>")]
    # Element ids must be unique in one file.
    proc2 = re.sub(r'(id|sourceRef|targetRef)="(Start_1|Task_1|End_1|F1|F2)"', r'\1="\2b"', proc2)
    proc2 = re.sub(r">(F1|F2)<", r">\1b<", proc2)
    xml = one.replace("</bpmn:definitions>", proc2 + "</bpmn:definitions>")
    before = counts(app)
    r = deploy(admin, xml)
    assert r.status_code == 400 and err(r)["code"] == "bpmn_process_ambiguous"
    assert k1 in err(r)["message"] and k2 in err(r)["message"]
    assert sorted(err(r)["details"]["processes"]) == sorted([k1, k2])
    r = deploy(admin, xml, process_key="nope")
    assert r.status_code == 400 and err(r)["code"] == "bpmn_process_unknown"
    assert counts(app) == before
    r = deploy(admin, xml, process_key=k2)
    assert r.status_code == 201 and r.get_json()["process_key"] == k2


def test_multipart_upload_and_limits(admin, app):
    key = ukey()
    r = admin.post("/api/admin/workflows", data={"category": "alarm", "remark": "上传",
                                                 "file": (io.BytesIO(bpmn(key).encode()), f"{key}.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["category"] == "alarm"
    before = counts(app)
    r = admin.post("/api/admin/workflows", data={"category": "alarm",
                                                 "file": (io.BytesIO(bpmn(key).encode()), "flow.txt")},
                   content_type="multipart/form-data")
    assert r.status_code == 415 and err(r)["code"] == "upload_type_forbidden"
    big = bpmn(ukey()).replace("</bpmn:definitions>", "<!--" + "x" * (2 * 1024 * 1024) + "--></bpmn:definitions>")
    r = admin.post("/api/admin/workflows", data={"category": "alarm", "file": (io.BytesIO(big.encode()), "big.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 413 and err(r)["code"] == "bpmn_too_large"
    r = admin.post("/api/admin/workflows", data={"category": "alarm"}, content_type="multipart/form-data")
    assert r.status_code == 400 and err(r)["code"] == "upload_missing"
    r = admin.post("/api/admin/workflows", data={"category": "alarm", "evil": "1",
                                                 "file": (io.BytesIO(bpmn(ukey()).encode()), "a.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 400 and err(r)["code"] == "field_unknown"
    r = deploy(admin, bpmn(ukey()), category="nope")
    assert r.status_code == 400 and err(r)["code"] == "category_unknown"
    r = admin.post("/api/admin/workflows", json={"xml": bpmn(ukey())})
    assert r.status_code == 400 and err(r)["code"] == "field_required"
    r = admin.post("/api/admin/workflows", json=["x"])
    assert r.status_code == 400 and err(r)["code"] == "body_invalid"
    assert counts(app) == before


def test_suspend_resume_and_download(admin, app):
    key = ukey()
    xml1, xml2 = bpmn(key), bpmn(key, task="二版")
    assert deploy(admin, xml1).status_code == 201
    assert deploy(admin, xml2).status_code == 201
    base = f"/api/admin/workflows/{key}/versions"

    r = admin.post(f"{base}/2/suspend")
    assert r.status_code == 200 and r.get_json()["status"] == "suspended"
    # New cases fall back to the newest version still in service.
    assert [(i["version"], i["status"]) for i in admin.get(base).get_json()["items"]] == \
        [(2, "suspended"), (1, "active")]
    r = admin.post(f"{base}/2/suspend")
    assert r.status_code == 409 and err(r)["code"] == "workflow_state_invalid"
    r = admin.post(f"{base}/1/suspend")
    assert r.status_code == 200
    assert admin.get(base).get_json()["active_version"] is None
    assert admin.post(f"{base}/2/resume").get_json()["status"] == "active"
    r = admin.post(f"{base}/1/resume")
    assert r.get_json()["status"] == "superseded"  # older than the active version
    assert [(i["version"], i["status"]) for i in admin.get(base).get_json()["items"]] == \
        [(2, "active"), (1, "superseded")]
    r = admin.post(f"{base}/1/resume")
    assert r.status_code == 409
    assert admin.post(f"{base}/7/suspend").status_code == 404
    assert admin.post("/api/admin/workflows/no_such_key/versions/1/suspend").status_code == 404

    r = admin.get(f"{base}/1/bpmn")
    assert r.status_code == 200 and r.get_data(as_text=True) == xml1
    assert f'{key}-v1.bpmn' in r.headers["Content-Disposition"]
    assert admin.get(f"{base}/2/bpmn").get_data(as_text=True) == xml2
    assert admin.get(f"{base}/3/bpmn").status_code == 404
    assert admin.get("/api/admin/workflows/no_such_key/versions").status_code == 404


def test_list_filters(admin):
    key = ukey()
    assert deploy(admin, bpmn(key), category="other").status_code == 201
    assert deploy(admin, bpmn(key, task="改"), category="other").status_code == 201
    rows = admin.get(f"/api/admin/workflows?key={key}").get_json()["items"]
    assert [r["version"] for r in rows] == [2, 1]
    rows = admin.get(f"/api/admin/workflows?key={key}&status=active").get_json()["items"]
    assert [r["version"] for r in rows] == [2]
    rows = admin.get("/api/admin/workflows?category=other&size=200").get_json()["items"]
    assert key in {r["process_key"] for r in rows} and {r["category"] for r in rows} == {"other"}
    assert admin.get(f"/api/admin/workflows?key={key}&category=hazard").get_json()["total"] == 0
    for bad in ("status=done", "category=nope", "page=0", "size=x", "foo=1"):
        r = admin.get(f"/api/admin/workflows?{bad}")
        assert r.status_code == 400, bad
        assert err(r)["code"] in ("parameter_invalid", "parameter_unknown")


def test_permissions(app, user_client, passwords):
    assert user_client.get("/api/admin/workflows").status_code == 403
    assert user_client.get("/admin/workflows").status_code == 403
    leader = app.test_client()
    assert login(leader, "leader", passwords["demo"]).status_code == 302
    assert leader.get("/api/admin/workflows").status_code == 200
    page = leader.get("/admin/workflows")
    assert page.status_code == 200 and "部署新版本" not in page.get_data(as_text=True)
    leader.environ_base["HTTP_X_CSRFTOKEN"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                                                        page.get_data(as_text=True)).group(1)
    r = leader.post("/api/admin/workflows", json={"xml": bpmn(ukey()), "category": "case"})
    assert r.status_code == 403
    anon = app.test_client()
    assert anon.get("/api/admin/workflows").status_code == 401


def test_seed_demo_is_idempotent(app):
    from webapp.admin import workflows
    with app.app_context():
        from webapp.db import get_db
        db = get_db()
        before = counts(app)
        items = db.execute(text("SELECT count(*) FROM geo.dict_item WHERE type_code = 'workflow_category'")).scalar()
        logged: list[str] = []
        workflows.seed_demo(db, log=logged.append)
        db.commit()
        assert counts(app) == before and logged == []
        assert db.execute(text("SELECT count(*) FROM geo.dict_item WHERE type_code = 'workflow_category'")
                          ).scalar() == items == 4
