"""角色权限 (R88): roles with permissions and data scope, enforced on the
server for pages, APIs and data; membership; guards; the operation log."""
from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.conftest import assert_error, new_user

API = "/api/admin/roles"


def rcode() -> str:
    return "r_" + uuid.uuid4().hex[:8]


def count_roles(app) -> int:
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text("SELECT count(*) FROM admin.role")).scalar()


def test_list_and_permission_tree(admin_api):
    items = {r["code"]: r for r in admin_api.get(API).get_json()["items"]}
    assert items["supervisor"]["data_scope"] == "region" and items["supervisor"]["builtin"]
    assert items["dept_handler"]["data_scope"] == "dept" and items["supervisor"]["users"] >= 1
    tree = admin_api.get("/api/admin/permissions").get_json()
    admin_dir = next(n for n in tree["menu"] if n["name"] == "应用维护")
    users = next(n for n in admin_dir["children"] if n["permission"] == "admin:user:view")
    assert [b["permission"] for b in users["children"]] == ["admin:user:edit"]
    assert "geo:query" in {o["permission"] for o in tree["others"]}


def test_page_renders(admin_client):
    html = admin_client.get("/admin/roles").get_data(as_text=True)
    for word in ("角色权限", "数据范围", "功能权限", "角色成员"):
        assert word in html


def test_bad_input_changes_nothing(app, admin_api):
    before = count_roles(app)
    assert_error(admin_api.post(API, {"code": "Bad Code", "name": "x"}), 400, "role_code_invalid")
    assert_error(admin_api.post(API, {"code": rcode(), "name": "x", "permissions": ["nope:x"]}), 400,
                 "permission_unknown")
    assert_error(admin_api.post(API, {"code": rcode(), "name": "x", "data_scope": "city"}), 400, "data_scope_invalid")
    assert_error(admin_api.post(API, {"code": rcode(), "name": "x", "colour": "red"}), 400, "field_unknown")
    assert_error(admin_api.post(API, {"code": rcode()}), 400, "field_missing")
    assert_error(admin_api.post(API, {"code": "supervisor", "name": "重复"}), 409, "role_code_taken")
    assert_error(admin_api.post(API, {"code": rcode(), "name": "监督员"}), 409, "role_name_taken")
    assert count_roles(app) == before


def test_role_grants_pages_apis_and_menus_and_revoking_applies_at_once(app, admin_api):
    code = rcode()
    r = admin_api.post(API, {"code": code, "name": "街道用户管理员" + code[-4:], "data_scope": "region",
                             "permissions": ["map:view", "admin:user:view"]})
    assert r.status_code == 201, r.get_json()
    _, api = new_user(app, admin_api, [code], region_code="411721001")
    assert api.get("/api/admin/users").status_code == 200
    assert api.c.get("/admin/users").status_code == 200

    assert_error(api.get(API), 403, "forbidden")
    nav = api.c.get("/admin/users").get_data(as_text=True)
    assert "用户管理" in nav and "角色权限" not in nav and "部门管理" not in nav
    # Revoke: the next request is refused (sessions re-read roles on every request).
    updated_at = admin_api.get(f"{API}/{code}").get_json()["updated_at"]
    r = admin_api.put(f"{API}/{code}", {"permissions": ["map:view"], "updated_at": updated_at})
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/admin/users").status_code == 403
    # A stale editor gets 409 and changes nothing.
    assert_error(admin_api.put(f"{API}/{code}", {"permissions": ["*"], "updated_at": updated_at}), 400,
                 "permission_unknown")
    assert_error(admin_api.put(f"{API}/{code}", {"name": "过期", "updated_at": updated_at}), 409, "version_conflict")


def test_region_scope_limits_user_list(app, admin_api):
    code = rcode()
    admin_api.post(API, {"code": code, "name": "区域" + code[-6:], "data_scope": "region",
                         "permissions": ["admin:user:view"]})
    me, api = new_user(app, admin_api, [code], region_code="411721001")
    # Someone outside the street: invisible in the list and as a record.
    other = admin_api.post("/api/admin/users", {"username": "o_" + code, "display_name": "外街道", "roles": ["acceptor"],
                                                "region_code": "411721002"}).get_json()
    items = api.get("/api/admin/users", query_string={"size": 100}).get_json()["items"]
    assert items and all((u["region_code"] or "").startswith("411721001") for u in items)
    assert me["id"] in {u["id"] for u in items}
    assert_error(api.get(f"/api/admin/users/{other['id']}"), 404, "user_not_found")


def test_dept_scope_includes_sub_departments(app, admin_api):
    code = rcode()
    admin_api.post(API, {"code": code, "name": "部门" + code[-6:], "data_scope": "dept",
                         "permissions": ["admin:user:view"]})
    with app.extensions["cityops.sessions"]() as db:
        parent, child = db.execute(text(
            "SELECT p.code, c.code FROM admin.department c JOIN admin.department p ON c.parent_code = p.code "
            "ORDER BY p.code LIMIT 1")).one()
        subtree = {r[0] for r in db.execute(text(
            "WITH RECURSIVE t(code) AS (SELECT CAST(:p AS varchar) UNION SELECT d.code FROM admin.department d "
            "JOIN t ON d.parent_code = t.code) SELECT code FROM t"), {"p": parent})}
    _, api = new_user(app, admin_api, [code], dept_code=parent)
    admin_api.post("/api/admin/users", {"username": "c_" + code, "display_name": "下级部门", "roles": ["acceptor"],
                                        "dept_code": child})
    items = api.get("/api/admin/users", query_string={"size": 100}).get_json()["items"]
    depts = {u["dept_code"] for u in items}
    assert child in depts and depts <= subtree


def test_own_scope_sees_only_self(app, admin_api):
    code = rcode()
    admin_api.post(API, {"code": code, "name": "本人" + code[-6:], "data_scope": "own",
                         "permissions": ["admin:user:view"]})
    me, api = new_user(app, admin_api, [code], dept_code="D012")
    items = api.get("/api/admin/users").get_json()["items"]
    assert [u["id"] for u in items] == [me["id"]]


def test_members_and_delete_guards(app, admin_api):
    code = rcode()
    admin_api.post(API, {"code": code, "name": "成员" + code[-6:], "permissions": ["map:view"]})
    me, _ = new_user(app, admin_api, ["acceptor"])
    r = admin_api.post(f"{API}/{code}/members", {"add": [me["id"]]})
    assert r.status_code == 200 and r.get_json()["added"] == [me["id"]]
    detail = admin_api.get(f"{API}/{code}").get_json()
    assert [m["id"] for m in detail["members"]] == [me["id"]] and detail["users"] == 1
    assert_error(admin_api.delete(f"{API}/{code}"), 409, "role_in_use")
    assert_error(admin_api.post(f"{API}/{code}/members", {"add": [99999999]}), 404, "user_not_found")
    assert_error(admin_api.post(f"{API}/{code}/members", {"add": [me["id"]], "remove": [me["id"]]}), 400,
                 "user_ids_invalid")
    assert admin_api.post(f"{API}/{code}/members", {"remove": [me["id"]]}).get_json()["removed"] == [me["id"]]
    assert admin_api.delete(f"{API}/{code}").status_code == 200
    assert_error(admin_api.get(f"{API}/{code}"), 404, "role_not_found")
    assert_error(admin_api.delete(f"{API}/supervisor"), 409, "role_builtin")


def test_admin_role_is_protected(app, admin_api):
    r = admin_api.get(f"{API}/admin").get_json()
    assert_error(admin_api.put(f"{API}/admin", {"permissions": ["map:view"]}), 409, "role_builtin_locked")
    assert_error(admin_api.put(f"{API}/admin", {"data_scope": "own"}), 409, "role_builtin_locked")
    admin_ids = [m["id"] for m in r["members"]]
    assert_error(admin_api.post(f"{API}/admin/members", {"remove": admin_ids}), 409, "last_admin")


def test_read_only_role_cannot_write(app, passwords):
    from tests.conftest import json_api
    leader = json_api(app, "leader", passwords["demo"])
    assert leader.get(API).status_code == 200
    assert leader.post(API, {"code": rcode(), "name": "x"}).status_code == 403
    assert leader.put(f"{API}/acceptor", {"name": "x"}).status_code == 403


def test_writes_are_logged(app, admin_api):
    code = rcode()
    admin_api.post(API, {"code": code, "name": "日志" + code[-6:], "permissions": ["map:view"]})
    with app.extensions["cityops.sessions"]() as db:
        row = db.execute(text("SELECT action, username FROM admin.operation_log WHERE target_table='admin.role' "
                              "AND after->>'code' = :c"), {"c": code}).one()
    assert tuple(row) == ("create", "admin")
