"""Dictionaries API (R91): list, create with code rules, edit, delete guards."""
from __future__ import annotations

import re

import pytest


def token(client) -> str:
    page = client.get("/admin/dicts").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture()
def admin(admin_client):
    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    return admin_client


def test_types_and_items(admin):
    types = {t["code"]: t for t in admin.get("/api/admin/dicts").get_json()["types"]}
    assert types["component_class"]["name"] == "部件分类" and types["component_class"]["count"] > 50
    items = {i["code"]: i for i in admin.get("/api/admin/dicts/component_class").get_json()["items"]}
    assert items["0101"]["name"] == "上水井盖" and items["0101"]["parent_code"] == "01"
    assert admin.get("/api/admin/dicts/nope").status_code == 404


def test_create_edit_delete_small_class(admin):
    r = admin.post("/api/admin/dicts/event_class", json={"code": "0599", "name": "测试事件", "parent_code": "05"})
    assert r.status_code == 201, r.get_json()
    r = admin.patch("/api/admin/dicts/event_class/0599", json={"name": "测试事件二", "enabled": False})
    assert r.status_code == 200 and r.get_json()["enabled"] is False
    assert admin.delete("/api/admin/dicts/event_class/0599").status_code == 204
    assert admin.get("/api/admin/dicts/event_class").get_json()["items"][-1]["code"] != "0599"


@pytest.mark.parametrize("body,status,code", [
    ({"code": "0101", "name": "重复", "parent_code": "01"}, 409, "dict_code_taken"),
    ({"code": "0150", "name": "错上级", "parent_code": "02"}, 400, "dict_parent_invalid"),
    ({"code": "01x1", "name": "坏编码", "parent_code": "01"}, 400, "class_code_invalid"),
    ({"code": "0160", "name": "x", "parent_code": "01", "colour": "red"}, 400, "field_unknown"),
    ({"code": "0161"}, 400, "field_missing"),
    ({"code": "0162", "name": " ", "parent_code": "01"}, 400, "name_invalid"),
])
def test_bad_input(admin, body, status, code):
    r = admin.post("/api/admin/dicts/component_class", json=body)
    assert r.status_code == status and r.get_json()["error"]["code"] == code


def test_used_code_cannot_be_deleted(admin):
    r = admin.delete("/api/admin/dicts/component_class/0101")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "dict_in_use"
    r = admin.delete("/api/admin/dicts/component_class/01")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "dict_has_children"


def test_writes_need_permission_and_csrf(app, admin_client, user_client):
    assert admin_client.post("/api/admin/dicts/event_class", json={"code": "0598", "name": "x",
                                                                   "parent_code": "05"}).status_code == 400  # no CSRF
    r = user_client.get("/api/admin/dicts")
    assert r.status_code == 403 and "权限" in r.get_json()["error"]["message"]


def test_operation_log(admin, app):
    from sqlalchemy import text
    admin.post("/api/admin/dicts/risk_category", json={"code": "测试类别", "name": "测试类别"})
    with app.extensions["cityops.sessions"]() as db:
        n = db.execute(text("SELECT count(*) FROM admin.operation_log WHERE target_table='geo.dict_item' "
                            "AND after->>'code'='测试类别' AND username='admin'")).scalar()
    assert n == 1
