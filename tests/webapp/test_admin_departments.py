"""Departments API (R87): tree, create/edit/move/delete with their guards,
optimistic locking, permissions and the operation log."""
from __future__ import annotations

import itertools
import re
import uuid

import pytest
from sqlalchemy import text

_seq = itertools.count(1)


def ucode(prefix: str = "T") -> str:
    """A department code unique across runs on the shared database."""
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}{next(_seq)}"


def token(client) -> str:
    page = client.get("/admin/departments").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture()
def admin(admin_client):
    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    return admin_client


def create(admin, parent="D002", kind="section", **extra):
    code = extra.pop("code", None) or ucode()
    body = {"code": code, "name": f"测试部门{code}", "parent_code": parent, "kind": kind, **extra}
    r = admin.post("/api/admin/departments", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def err(r):
    return r.get_json()["error"]["code"]


def find(nodes, code):
    for n in nodes:
        if n["code"] == code:
            return n
        hit = find(n["children"], code)
        if hit:
            return hit
    return None


def test_tree_nested_with_member_counts(admin):
    d = admin.get("/api/admin/departments").get_json()
    assert d["count"] >= 22
    gov = find(d["tree"], "D001")
    assert gov["name"] == "西平县人民政府" and gov["parent_code"] is None
    cgj = find(gov["children"], "D002")
    assert cgj["name"] == "西平县城市管理局"
    center = find(cgj["children"], "D012")
    assert center["member_count"] >= 5          # leader, acceptor, shift_chief, dispatcher, supervisor
    assert cgj["total_member_count"] >= center["member_count"]
    assert {"D020", "D013"} <= {n["code"] for n in gov["children"]} | {c["code"] for n in gov["children"]
                                                                       for c in n["children"]}


def test_detail(admin):
    d = admin.get("/api/admin/departments/D002").get_json()
    assert d["name"] == "西平县城市管理局" and d["parent_name"] == "西平县人民政府" and d["kind"] == "bureau"
    assert {"D011", "D012"} <= {c["code"] for c in d["children"]}
    assert isinstance(d["version"], int)
    assert admin.get("/api/admin/departments/NOPE99").status_code == 404


def test_create_edit_move_delete_and_oplog(admin, app):
    a = create(admin)
    b = create(admin, parent=a["code"])
    assert a["version"] == 1 and b["parent_code"] == a["code"]
    tree = admin.get("/api/admin/departments").get_json()["tree"]
    assert find(find(tree, "D002")["children"], a["code"])["children"][0]["code"] == b["code"]

    r = admin.patch(f"/api/admin/departments/{a['code']}",
                    json={"name": "测试部门改名", "sort": 9, "region_code": "411721001", "version": 1})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "测试部门改名" and r.get_json()["version"] == 2

    r = admin.post(f"/api/admin/departments/{b['code']}/move", json={"parent_code": "D003"})
    assert r.status_code == 200 and r.get_json()["parent_code"] == "D003"
    r = admin.post(f"/api/admin/departments/{b['code']}/move", json={"parent_code": None})
    assert r.status_code == 200 and r.get_json()["parent_code"] is None

    assert admin.delete(f"/api/admin/departments/{b['code']}").status_code == 204
    assert admin.delete(f"/api/admin/departments/{a['code']}").status_code == 204
    assert admin.get(f"/api/admin/departments/{a['code']}").status_code == 404

    with app.extensions["cityops.sessions"]() as db:
        rows = db.execute(text("SELECT action, before, after FROM admin.operation_log "
                               "WHERE target_table = 'admin.department' AND username = 'admin' "
                               "AND (after->>'code' = :c OR before->>'code' = :c) ORDER BY id"),
                          {"c": a["code"]}).all()
        assert [r.action for r in rows] == ["create", "update", "delete"]
        assert rows[1].before["name"] != rows[1].after["name"] == "测试部门改名"
        moves = db.execute(text("SELECT before->>'parent_code', after->>'parent_code' FROM admin.operation_log "
                                "WHERE target_table = 'admin.department' AND action = 'update' "
                                "AND target_id = :c ORDER BY id"), {"c": b["code"]}).all()
        assert [tuple(m) for m in moves] == [(a["code"], "D003"), ("D003", None)]


def test_cycle_refused(admin):
    a = create(admin)
    b = create(admin, parent=a["code"])
    c = create(admin, parent=b["code"])
    for target in (a["code"], c["code"], b["code"]):
        r = admin.post(f"/api/admin/departments/{a['code']}/move", json={"parent_code": target})
        assert r.status_code == 400 and err(r) == "dept_cycle", target
        assert "不能" in r.get_json()["error"]["message"]
    r = admin.post(f"/api/admin/departments/{a['code']}/move", json={"parent_code": "NOPE99"})
    assert r.status_code == 400 and err(r) == "dept_parent_unknown"
    r = admin.post(f"/api/admin/departments/{a['code']}/move", json={})
    assert r.status_code == 400 and err(r) == "field_missing"
    assert admin.get(f"/api/admin/departments/{a['code']}").get_json()["parent_code"] == "D002"
    # delete guard for children, then clean up bottom-up
    r = admin.delete(f"/api/admin/departments/{a['code']}")
    assert r.status_code == 409 and err(r) == "dept_has_children"
    for d in (c, b, a):
        assert admin.delete(f"/api/admin/departments/{d['code']}").status_code == 204


def test_delete_with_members_refused(admin):
    r = admin.delete("/api/admin/departments/D012")
    assert r.status_code == 409 and err(r) == "dept_has_members"
    assert "用户" in r.get_json()["error"]["message"]


def test_delete_with_members_of_new_department(admin, app):
    d = create(admin)
    with app.extensions["cityops.sessions"]() as db:
        uid = db.execute(text("SELECT id FROM admin.\"user\" WHERE username = 'monitor'")).scalar()
        old = db.execute(text("SELECT dept_code FROM admin.\"user\" WHERE id = :i"), {"i": uid}).scalar()
        db.execute(text("UPDATE admin.\"user\" SET dept_code = :d WHERE id = :i"), {"d": d["code"], "i": uid})
        db.commit()
    try:
        r = admin.delete(f"/api/admin/departments/{d['code']}")
        assert r.status_code == 409 and err(r) == "dept_has_members"
        assert r.get_json()["error"]["details"]["members"] == 1
    finally:
        with app.extensions["cityops.sessions"]() as db:
            db.execute(text("UPDATE admin.\"user\" SET dept_code = :d WHERE id = :i"), {"d": old, "i": uid})
            db.commit()
    assert admin.delete(f"/api/admin/departments/{d['code']}").status_code == 204


def test_delete_with_components_refused(admin, app):
    # D019 (广播电视网络公司) has no sub-departments and no users but owns components.
    with app.extensions["cityops.sessions"]() as db:
        n = db.execute(text("SELECT count(*) FROM geo.component WHERE owner_dept = 'D019' "
                            "OR maintainer_dept = 'D019'")).scalar()
    assert n > 0
    r = admin.delete("/api/admin/departments/D019")
    assert r.status_code == 409 and err(r) == "dept_in_use"
    body = r.get_json()["error"]
    assert "城市部件" in body["message"] and sum(body["details"]["usage"].values()) >= n
    detail = admin.get("/api/admin/departments/D019").get_json()
    assert any(k.startswith("城市部件") for k in detail["usage"])


def test_delete_with_risk_point_refused(admin, app):
    d = create(admin)
    with app.extensions["cityops.sessions"]() as db:
        rid = db.execute(text("SELECT code FROM geo.risk_point ORDER BY code LIMIT 1")).scalar()
        old = db.execute(text("SELECT dept_code FROM geo.risk_point WHERE code = :i"), {"i": rid}).scalar()
        db.execute(text("UPDATE geo.risk_point SET dept_code = :d WHERE code = :i"), {"d": d["code"], "i": rid})
        db.commit()
    try:
        r = admin.delete(f"/api/admin/departments/{d['code']}")
        assert r.status_code == 409 and err(r) == "dept_in_use"
        assert "风险点" in r.get_json()["error"]["message"]
    finally:
        with app.extensions["cityops.sessions"]() as db:
            db.execute(text("UPDATE geo.risk_point SET dept_code = :d WHERE code = :i"), {"d": old, "i": rid})
            db.commit()
    assert admin.delete(f"/api/admin/departments/{d['code']}").status_code == 204


@pytest.mark.parametrize("body,status,code", [
    ({"code": "D002", "name": "重复", "parent_code": "D001", "kind": "bureau"}, 409, "dept_code_taken"),
    ({"code": "x1", "name": "小写", "parent_code": "D001", "kind": "bureau"}, 400, "dept_code_invalid"),
    ({"code": "A", "name": "太短", "parent_code": "D001", "kind": "bureau"}, 400, "dept_code_invalid"),
    ({"code": "TNOPARENT1", "name": "无上级", "parent_code": "NOPE99", "kind": "bureau"}, 400,
     "dept_parent_unknown"),
    ({"code": "TBADKIND1", "name": "坏类型", "parent_code": "D001", "kind": "ministry"}, 400, "dept_kind_invalid"),
    ({"code": "TUNKNOWN1", "name": "x", "parent_code": "D001", "kind": "bureau", "colour": "red"}, 400,
     "field_unknown"),
    ({"code": "TNONAME1", "parent_code": "D001", "kind": "bureau"}, 400, "field_missing"),
    ({"code": "TBLANK1", "name": "  ", "parent_code": "D001", "kind": "bureau"}, 400, "name_invalid"),
    ({"code": "TSORT1", "name": "x", "parent_code": "D001", "kind": "bureau", "sort": "1"}, 400, "sort_invalid"),
    ({"code": "TREG1", "name": "x", "parent_code": "D001", "kind": "bureau", "region_code": "abc"}, 400,
     "region_code_invalid"),
])
def test_create_bad_input(admin, body, status, code):
    r = admin.post("/api/admin/departments", json=body)
    assert r.status_code == status and err(r) == code, r.get_json()
    assert r.get_json()["error"]["message"]


def test_create_not_json(admin):
    r = admin.post("/api/admin/departments", data="x", content_type="text/plain")
    assert r.status_code == 400 and err(r) == "body_invalid"


def test_edit_guards(admin):
    d = create(admin)
    url = f"/api/admin/departments/{d['code']}"
    r = admin.patch(url, json={"name": "无版本"})
    assert r.status_code == 400 and err(r) == "version_missing"
    assert admin.patch(url, json={"name": "第一次", "version": 1}).status_code == 200
    r = admin.patch(url, json={"name": "过期版本", "version": 1})
    assert r.status_code == 409 and err(r) == "version_conflict"
    assert r.get_json()["error"]["details"]["current_version"] == 2
    r = admin.patch(url, json={"name": "x", "version": 2, "phone": "1"})
    assert r.status_code == 400 and err(r) == "field_unknown"
    r = admin.patch(url, json={"parent_code": "D003", "version": 2})
    assert r.status_code == 400 and err(r) == "field_unknown"
    r = admin.patch(url, json={"kind": "nope", "version": 2})
    assert r.status_code == 400 and err(r) == "dept_kind_invalid"
    r = admin.post(f"{url}/move", json={"parent_code": "D003", "version": 1})
    assert r.status_code == 409 and err(r) == "version_conflict"
    assert admin.patch("/api/admin/departments/NOPE99", json={"name": "x", "version": 1}).status_code == 404
    assert admin.get(url).get_json()["name"] == "第一次"
    assert admin.delete(url).status_code == 204
    assert admin.delete(url).status_code == 404


def test_permissions(app, admin_client, user_client, passwords):
    from tests.conftest import login
    anon = app.test_client()
    login_page = anon.get("/login").get_data(as_text=True)      # a CSRF token, so writes reach the guard
    anon.environ_base["HTTP_X_CSRFTOKEN"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    for method, path in (("get", "/api/admin/departments"), ("get", "/api/admin/departments/D002"),
                         ("post", "/api/admin/departments"), ("patch", "/api/admin/departments/D002"),
                         ("post", "/api/admin/departments/D002/move"), ("delete", "/api/admin/departments/D002")):
        assert getattr(anon, method)(path, json={}).status_code == 401, (method, path)
    r = anon.get("/admin/departments")
    assert r.status_code == 302 and "/login" in r.headers["Location"]

    r = user_client.get("/api/admin/departments")          # acceptor: no admin:dept:view
    assert r.status_code == 403 and "权限" in r.get_json()["error"]["message"]
    assert user_client.get("/admin/departments").status_code == 403

    viewer = app.test_client()                              # dispatcher: view only
    assert login(viewer, "dispatcher", passwords["demo"]).status_code == 302
    viewer.environ_base["HTTP_X_CSRFTOKEN"] = token(viewer)
    assert viewer.get("/api/admin/departments").status_code == 200
    page = viewer.get("/admin/departments").get_data(as_text=True)
    assert 'data-can-edit="0"' in page and 'id="btn-delete"' not in page
    for method, path in (("post", "/api/admin/departments"), ("patch", "/api/admin/departments/D002"),
                         ("post", "/api/admin/departments/D002/move"), ("delete", "/api/admin/departments/D002")):
        r = getattr(viewer, method)(path, json={"parent_code": "D001"})
        assert r.status_code == 403, (method, path)

    # session-cookie writes need the CSRF token
    r = admin_client.post("/api/admin/departments", json={"code": ucode(), "name": "x", "kind": "other"})
    assert r.status_code == 400


def test_page(admin):
    html = admin.get("/admin/departments").get_data(as_text=True)
    for s in ("部门管理", "新增下级", "修改", "移动", "删除", 'id="dept-tree"', "街道办事处"):
        assert s in html
