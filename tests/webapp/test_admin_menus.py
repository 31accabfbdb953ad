"""菜单管理 (R89): the menu tree (web and mobile), its guards, and the
navigation each user sees, built from the tree and their roles."""
from __future__ import annotations

import re

from sqlalchemy import text

from tests.conftest import assert_error, json_api

API = "/api/admin/menus"


def flat(tree):
    for n in tree:
        yield n
        yield from flat(n["children"])


def top_nav(client) -> list[str]:
    html = client.get("/admin/users" if client.get("/admin/users").status_code == 200 else "/guidance/").get_data(as_text=True)
    nav = html[html.index('id="main-nav"'):html.index("</div>", html.index('id="main-nav"'))]
    return re.findall(r'data-menu-id="\d+">([^<]+)</a>', nav)


def count_menus(app) -> int:
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text("SELECT count(*) FROM admin.menu")).scalar()


def test_seeded_tree(admin_api):
    tree = admin_api.get(API).get_json()["tree"]
    admin_dir = next(n for n in tree if n["name"] == "应用维护")
    names = [n["name"] for n in admin_dir["children"]]
    assert names[:4] == ["用户管理", "部门管理", "角色权限", "菜单管理"] and "系统设置" in names
    mobile = admin_api.get(API, query_string={"platform": "mobile"}).get_json()["tree"]
    assert [n["name"] for n in mobile][:2] == ["问题上报", "我的任务"]


def test_navigation_follows_roles(admin_client, user_client, app, passwords):
    assert "应用维护" in top_nav(admin_client)
    acceptor = top_nav(user_client)
    assert "综合地图" in acceptor and "应用维护" not in acceptor
    leader = json_api(app, "leader", passwords["demo"]).c
    html = leader.get("/admin/users").get_data(as_text=True)
    side = html[html.index('id="admin-menu"'):html.index("</nav>", html.index('id="admin-menu"'))]
    assert "用户管理" in side and "日志管理" in side and "菜单管理" in side  # leader may view these
    admin_html = admin_client.get("/admin/users").get_data(as_text=True)
    assert admin_html.count("nav-link active fw-bold") >= 1


def test_hiding_and_adding_menus_changes_navigation(admin_api, admin_client):
    tree = admin_api.get(API).get_json()["tree"]
    ogc = next(n for n in tree if n["endpoint"] == "/ogc/")
    r = admin_api.put(f"{API}/{ogc['id']}", {"visible": False, "version": ogc["version"]})
    assert r.status_code == 200, r.get_json()
    assert "OGC API 服务" not in top_nav(admin_client)
    admin_api.put(f"{API}/{ogc['id']}", {"visible": True, "version": ogc["version"] + 1})
    assert "OGC API 服务" in top_nav(admin_client)
    r = admin_api.post(API, {"name": "接口文档", "kind": "page", "endpoint": "/ogc/openapi", "sort": 999})
    assert r.status_code == 201, r.get_json()
    assert "接口文档" in top_nav(admin_client)
    assert admin_api.delete(f"{API}/{r.get_json()['id']}").status_code == 200
    assert "接口文档" not in top_nav(admin_client)


def test_bad_input_changes_nothing(app, admin_api):
    tree = admin_api.get(API).get_json()["tree"]
    admin_dir = next(n for n in tree if n["name"] == "应用维护")
    users = next(n for n in admin_dir["children"] if n["endpoint"] == "admin.users_page")
    before = count_menus(app)
    assert_error(admin_api.post(API, {"name": "x", "kind": "page", "endpoint": "admin.nothing"}), 400,
                 "menu_endpoint_unknown")
    assert_error(admin_api.post(API, {"name": "x", "kind": "button", "permission": "admin:user:edit"}), 400,
                 "menu_parent_invalid")
    assert_error(admin_api.post(API, {"name": "x", "kind": "page", "endpoint": "/x", "permission": "no:such"}), 400,
                 "menu_permission_unknown")
    assert_error(admin_api.post(API, {"name": "x", "kind": "menu"}), 400, "menu_kind_invalid")
    assert_error(admin_api.post(API, {"name": "x", "kind": "dir", "endpoint": "/x"}), 400, "menu_endpoint_forbidden")
    assert_error(admin_api.post(API, {"name": "x", "kind": "page", "endpoint": "/x", "parent_id": users["id"]}), 400,
                 "menu_parent_invalid")
    assert_error(admin_api.post(API, {"name": "", "kind": "dir"}), 400, "field_missing")
    assert_error(admin_api.post(API, {"name": "x", "kind": "dir", "url": "/x"}), 400, "field_unknown")
    assert_error(admin_api.post(API, {"name": "x", "kind": "page", "endpoint": "Bad Route", "platform": "mobile"}),
                 400, "menu_endpoint_invalid")
    # A directory cannot move below its own page.
    assert_error(admin_api.put(f"{API}/{admin_dir['id']}", {"parent_id": admin_dir["id"],
                                                            "version": admin_dir["version"]}), 400, "menu_cycle")
    assert_error(admin_api.delete(f"{API}/{admin_dir['id']}"), 409, "menu_has_children")
    assert_error(admin_api.put(f"{API}/{users['id']}", {"name": "旧", "version": users["version"] - 1}), 409,
                 "version_conflict")
    assert_error(admin_api.delete(f"{API}/99999999"), 404, "menu_not_found")
    assert count_menus(app) == before


def test_own_menu_for_apps(app, passwords):
    sup = json_api(app, "supervisor", passwords["demo"])
    mine = sup.get(f"{API}/mine", query_string={"platform": "mobile"}).get_json()["tree"]
    assert "问题上报" in [n["name"] for n in mine]
    web = [n["name"] for n in sup.get(f"{API}/mine").get_json()["tree"]]
    assert "应用维护" not in web and "综合地图" in web
    assert app.test_client().get(f"{API}/mine", headers={"Accept": "application/json"}).status_code == 401
    assert_error(sup.get(f"{API}/mine", query_string={"platform": "tv"}), 400, "menu_platform_invalid")


def test_menu_permission_hides_for_roles_without_it(admin_api, app, passwords):
    r = admin_api.post(API, {"name": "仅管理员", "kind": "page", "endpoint": "/ogc/conformance",
                             "permission": "admin:setting:edit", "sort": 998})
    assert r.status_code == 201
    try:
        leader = [n["name"] for n in json_api(app, "leader", passwords["demo"]).get(f"{API}/mine").get_json()["tree"]]
        assert "仅管理员" not in leader
        assert "仅管理员" in [n["name"] for n in admin_api.get(f"{API}/mine").get_json()["tree"]]
    finally:
        admin_api.delete(f"{API}/{r.get_json()['id']}")
