"""Password and session rules (R86, R95): rules and lockout from the settings,
forced change after a temporary password or when the password is too old,
idle timeout."""
from __future__ import annotations


import time

import pytest
from sqlalchemy import text

from tests.conftest import JsonApi, assert_error, basic, login, new_user

USERS = "/api/admin/users"


@pytest.fixture()
def restore(admin_api):
    yield
    admin_api.put("/api/admin/settings", {"password.min_length": None, "password.require_classes": None,
                                          "password.lockout_attempts": None, "password.max_age_days": None,
                                          "session.idle_minutes": None})


def test_new_user_must_change_password_first(app, admin_api):
    r = admin_api.post(USERS, {"username": "fc_" + str(time.time_ns())[-8:], "display_name": "首登", "roles": ["acceptor"]})
    u = r.get_json()
    c = app.test_client()
    assert login(c, u["username"], u["temporary_password"]).status_code == 302
    page = c.get("/")
    assert page.status_code == 302 and "/password" in page.headers["Location"]
    assert_error(c.get("/api/admin/menus/mine", headers={"Accept": "application/json"}), 403,
                 "password_change_required")
    # GIS clients with HTTP Basic are refused too.
    assert_error(app.test_client().get("/ogc/collections/components/items?limit=1",
                                       headers=basic(u["username"], u["temporary_password"])), 403,
                 "password_change_required")
    html = c.get("/password").get_data(as_text=True)
    assert "临时密码" in html and "密码至少 8 位" in html
    api = JsonApi(c)
    assert_error(api.post("/api/me/password", {"old_password": "wrong", "new_password": "Good-2026x"}), 403,
                 "password_wrong")
    assert_error(api.post("/api/me/password", {"old_password": u["temporary_password"], "new_password": "short"}), 400,
                 "password_too_weak")
    assert_error(api.post("/api/me/password", {"old_password": u["temporary_password"],
                                               "new_password": u["temporary_password"]}), 400, "password_unchanged")
    assert_error(api.post("/api/me/password", {"old_password": u["temporary_password"], "new": "x"}), 400,
                 "field_unknown")
    assert c.get("/").status_code == 302  # still forced: nothing changed
    assert api.post("/api/me/password", {"old_password": u["temporary_password"],
                                         "new_password": "Good-2026x"}).status_code == 200
    assert c.get("/").status_code == 200
    assert login(app.test_client(), u["username"], "Good-2026x").status_code == 302


def test_change_password_form(app, admin_api):
    me, api = new_user(app, admin_api, ["acceptor"])
    c = api.c
    import re
    page = c.get("/password").get_data(as_text=True)
    tok = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = c.post("/password", data={"csrf_token": tok, "old_password": "Second-2026x", "new_password": "Third-2026x",
                                  "confirm": "Other-2026x"})
    assert r.status_code == 400 and "两次输入的新密码不一致" in r.get_data(as_text=True)
    r = c.post("/password", data={"csrf_token": tok, "old_password": "Second-2026x", "new_password": "Third-2026x",
                                  "confirm": "Third-2026x"})
    assert r.status_code == 302
    assert login(app.test_client(), me["username"], "Third-2026x").status_code == 302


def test_admin_reset_forces_change(app, admin_api):
    me, api = new_user(app, admin_api, ["acceptor"])
    r = admin_api.post(f"{USERS}/{me['id']}/reset-password", {})
    pw = r.get_json()["temporary_password"]
    c = app.test_client()
    login(c, me["username"], pw)
    assert "/password" in c.get("/").headers["Location"]


def test_rules_come_from_settings(app, admin_api, restore):
    me, _ = new_user(app, admin_api, ["acceptor"])
    admin_api.put("/api/admin/settings", {"password.min_length": 12, "password.require_classes": 4})
    e = assert_error(admin_api.post(f"{USERS}/{me['id']}/reset-password", {"password": "Abcdefgh1234"}), 400,
                     "password_too_weak")
    assert "12" in e["message"] and "4" in e["message"]
    assert admin_api.post(f"{USERS}/{me['id']}/reset-password", {"password": "Abcdefgh-1234"}).status_code == 200
    # A generated temporary password follows the stricter rules too.
    temp = admin_api.post(f"{USERS}/{me['id']}/reset-password", {}).get_json()["temporary_password"]
    assert len(temp) >= 12 and not temp.isalnum()


def test_lockout_attempts_from_settings(app, admin_api, restore):
    me, _ = new_user(app, admin_api, ["acceptor"])
    admin_api.put("/api/admin/settings", {"password.lockout_attempts": 3})
    for _ in range(3):
        login(app.test_client(), me["username"], "wrong-Password-1")
    assert admin_api.get(f"{USERS}/{me['id']}").get_json()["locked"] is True


def test_password_age(app, admin_api, restore):
    me, api = new_user(app, admin_api, ["acceptor"])
    assert api.c.get("/").status_code == 200
    admin_api.put("/api/admin/settings", {"password.max_age_days": 30})
    with app.extensions["cityops.sessions"]() as db:
        db.execute(text("UPDATE admin.user SET password_changed_at = now() - interval '40 days' WHERE id = :i"),
                   {"i": me["id"]})
        db.commit()
    assert "/password" in api.c.get("/").headers["Location"]


def test_idle_session_expires(app, admin_api, restore):
    _, api = new_user(app, admin_api, ["acceptor"])
    assert api.c.get("/").status_code == 200
    with api.c.session_transaction() as s:
        s["seen"] = time.time() - 3 * 3600  # longer than the default 120 minutes
    assert_error(api.get("/api/admin/menus/mine"), 401, "session_expired")
    assert "/login" in api.c.get("/").headers["Location"]
    # a shorter setting applies at once
    _, api = new_user(app, admin_api, ["acceptor"])
    admin_api.put("/api/admin/settings", {"session.idle_minutes": 5})
    with api.c.session_transaction() as s:
        s["seen"] = time.time() - 6 * 60
    assert api.c.get("/").status_code == 302

