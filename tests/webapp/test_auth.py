"""Login, lockout, CSRF, roles, API signatures, login and operation logs."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import text

from tests.conftest import login
from webapp.auth.service import sign, verify_signature
from geo.errors import GeoError


def _db(app):
    return app.extensions["cityops.sessions"]()


def test_home_requires_login(client):
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_page_is_chinese(client):
    page = client.get("/login").get_data(as_text=True)
    assert "用户名" in page and "密码" in page and 'lang="zh-CN"' in page


def test_login_and_logout(client, passwords):
    r = login(client, "supervisor", passwords["demo"])
    assert r.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "陈监督" in home.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.get_data(as_text=True)).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, passwords):
    r = client.post("/login", data={"username": "acceptor", "password": passwords["demo"]})
    assert r.status_code == 400
    assert client.get("/").status_code == 302


def test_wrong_password_logged_and_lockout(app, client, passwords):
    with _db(app) as db:
        db.execute(text("""UPDATE admin."user" SET failed_logins=0, locked_until=NULL WHERE username='leader'"""))
        db.commit()
    for _ in range(5):
        r = login(client, "leader", "wrong-password-1")
        assert r.status_code == 401
        assert "用户名或密码错误" in r.get_data(as_text=True)
    # Locked now: even the right password is refused until the lock expires.
    r = login(client, "leader", passwords["demo"])
    assert r.status_code == 401 and "锁定" in r.get_data(as_text=True)
    with _db(app) as db:
        fails = db.execute(text("SELECT count(*) FROM admin.login_log WHERE username='leader' AND NOT success")).scalar()
        assert fails >= 6
        db.execute(text("""UPDATE admin."user" SET failed_logins=0, locked_until=NULL WHERE username='leader'"""))
        db.commit()
    assert login(client, "leader", passwords["demo"]).status_code == 302


def test_passwords_are_hashed(app, passwords):
    with _db(app) as db:
        hashes = [r[0] for r in db.execute(text('SELECT password_hash FROM admin."user"'))]
    assert hashes and all(h.startswith("scrypt:") for h in hashes)
    assert not any(passwords["demo"] in h for h in hashes)


def test_open_redirect_refused(client, passwords):
    page = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/login?next=//evil.example/x",
                    data={"username": "acceptor", "password": passwords["demo"], "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_signature_roundtrip_and_tamper():
    class Key:
        secret = "s3cret"
    ts = str(int(time.time()))
    sig = sign("s3cret", "POST", "/api/x", ts, b"{}")
    verify_signature(Key, "POST", "/api/x", ts, sig, b"{}")
    with pytest.raises(GeoError) as e:
        verify_signature(Key, "POST", "/api/x", ts, sig, b"{\"a\":1}")
    assert e.value.code == "signature_invalid"
    with pytest.raises(GeoError) as e:
        old = str(int(time.time()) - 3600)
        verify_signature(Key, "POST", "/api/x", old, sign("s3cret", "POST", "/api/x", old), b"")
    assert e.value.code == "signature_expired"


def test_operation_log_records_orm_writes(app):
    from webapp.auth.models import Department
    with _db(app) as db:
        db.add(Department(code="DT01", name="测试科", kind="section", parent_code=None))
        db.commit()
        dept = db.get(Department, "DT01")
        dept.name = "测试二科"
        db.commit()
        db.delete(dept)
        db.commit()
        rows = db.execute(text(
            "SELECT action, before->>'name', after->>'name' FROM admin.operation_log "
            "WHERE target_table='admin.department' AND (after->>'code'='DT01' OR before->>'code'='DT01') ORDER BY id"
        )).fetchall()
    assert [r[0] for r in rows] == ["create", "update", "delete"]
    assert rows[1][1:] == ("测试科", "测试二科")


def test_unknown_page_is_chinese_404(user_client):
    r = user_client.get("/no/such/page")
    assert r.status_code == 404 and "不存在" in r.get_data(as_text=True)
