"""API keys (外部系统): issued to a user and shown once, the caller acts with
that user's rights, disabling and expiry refuse it, bad input changes nothing."""
from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.conftest import assert_error, json_api

API = "/api/admin/api-keys"


def user_id(app, username: str) -> int:
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text('SELECT id FROM admin."user" WHERE username=:u'), {"u": username}).scalar()


def keys(app) -> int:
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text("SELECT count(*) FROM admin.api_key")).scalar()


def test_issue_use_and_disable(app, admin_api):
    r = admin_api.post(API, {"name": "住建局数据共享", "user_id": user_id(app, "supervisor")})
    assert r.status_code == 201, r.get_json()
    k = r.get_json()
    assert k["key"].startswith(k["key_id"] + ".") and k["enabled"] and "陈监督" in k["user"]
    listed = admin_api.get(API).get_json()["items"]
    assert k["key_id"] in [i["key_id"] for i in listed] and all("key" not in i for i in listed)
    caller = app.test_client()
    mine = caller.get("/api/admin/menus/mine", headers={"X-API-Key": k["key"]})
    assert mine.status_code == 200  # acts as the supervisor
    assert caller.get("/api/admin/users", headers={"X-API-Key": k["key"]}).status_code == 403
    # a second key, disabled before its first use, is refused at once
    k2 = admin_api.post(API, {"name": "停用测试", "user_id": user_id(app, "supervisor")}).get_json()
    assert admin_api.patch(f"{API}/{k2['key_id']}", {"enabled": False}).get_json()["enabled"] is False
    assert_error(caller.get("/api/admin/menus/mine", headers={"X-API-Key": k2["key"]}), 401, "api_key_invalid")
    with app.extensions["cityops.sessions"]() as db:
        row = db.execute(text("SELECT after::text FROM admin.operation_log WHERE target_table='admin.api_key' "
                              "ORDER BY id DESC LIMIT 1")).scalar()
    assert k2["key"].split(".")[1] not in (row or "")  # the secret is never logged


def test_bad_input_changes_nothing(app, admin_api, passwords):
    before = keys(app)
    uid = user_id(app, "acceptor")
    assert_error(admin_api.post(API, {"name": "x", "user_id": 99999999}), 404, "user_not_found")
    assert_error(admin_api.post(API, {"name": "", "user_id": uid}), 400, "field_missing")
    assert_error(admin_api.post(API, {"name": "x", "user_id": "1"}), 400, "user_id_invalid")
    assert_error(admin_api.post(API, {"name": "x", "user_id": uid, "expires_at": "2020-01-01T00:00:00+08:00"}), 400,
                 "expires_at_invalid")
    assert_error(admin_api.post(API, {"name": "x", "user_id": uid, "expires_at": "明年"}), 400, "expires_at_invalid")
    assert_error(admin_api.post(API, {"name": "x", "user_id": uid, "secret": "mine"}), 400, "field_unknown")
    assert_error(admin_api.patch(f"{API}/k{uuid.uuid4().hex[:16]}", {"enabled": False}), 404, "api_key_not_found")
    assert keys(app) == before
    leader = json_api(app, "leader", passwords["demo"])
    assert leader.get(API).status_code == 200
    assert leader.post(API, {"name": "x", "user_id": uid}).status_code == 403


def test_page(admin_client):
    html = admin_client.get("/admin/api-keys").get_data(as_text=True)
    assert "签发密钥" in html and "显示一次" in html
