"""用户管理 (R86): the JSON API, Excel export/import, permissions, the
operation log and that a disabled user cannot log in."""
from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import login

API = "/api/admin/users"


def uname(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def token(client) -> str:
    page = client.get("/admin/users").get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if m is None:  # a user without access to the page: take it from the home page
        m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True))
    return m.group(1)


class Api:
    def __init__(self, client):
        self.c = client
        self.t = token(client)

    def get(self, url, **kw):
        return self.c.get(url, **kw)

    def post(self, url, json=None, **kw):
        return self.c.post(url, json=json, headers={"X-CSRFToken": self.t}, **kw)

    def patch(self, url, json=None):
        return self.c.patch(url, json=json, headers={"X-CSRFToken": self.t})

    def upload(self, data: bytes, filename="users.xlsx", **extra):
        form = {"file": (io.BytesIO(data), filename), **extra}
        return self.c.post(f"{API}/import", data=form, headers={"X-CSRFToken": self.t},
                           content_type="multipart/form-data")


@pytest.fixture()
def api(admin_client):
    return Api(admin_client)


@pytest.fixture(scope="module")
def refs(app):
    with app.extensions["cityops.sessions"]() as db:
        dept = db.execute(text("SELECT code FROM admin.department ORDER BY code LIMIT 1")).scalar()
        region = db.execute(text("SELECT code FROM geo.region WHERE level='community' ORDER BY code LIMIT 1")).scalar()
    assert dept and region
    return {"dept": dept, "region": region}


def create(api, refs, **over):
    body = {"username": uname(), "display_name": "测试用户", "dept_code": refs["dept"], "roles": ["acceptor"],
            "region_code": refs["region"], "phone": "13800000000"}
    body.update(over)
    r = api.post(API, body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def change_own_password(c, old: str, new: str) -> None:
    """A new user's first step: the administrator's password must be replaced."""
    assert c.get("/").status_code == 302  # sent to the change-password page first
    r = c.post("/api/me/password", json={"old_password": old, "new_password": new}, headers=csrf_header(c))
    assert r.status_code == 200, r.get_json()


def csrf_header(c) -> dict:
    import re
    page = c.get("/password").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)}


def err(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:400])
    e = r.get_json()["error"]
    assert e["code"] == code, e
    assert any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]), e
    return e


def count_users(app) -> int:
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text("SELECT count(*) FROM admin.user")).scalar()


# ------------------------------------------------------------ happy paths

def test_page_renders_in_chinese(admin_client):
    r = admin_client.get("/admin/users")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for word in ("用户管理", "新增用户", "导入 Excel", "导出 Excel", "重置", "角色", "区域"):
        assert word in html
    assert "cdn" not in html.lower()
    assert admin_client.get("/admin/static/admin/users.js").status_code == 200


def test_create_get_and_login(app, api, refs, passwords):
    u = create(api, refs, password="Secret-2026x")
    assert u["roles"] == ["acceptor"] and u["dept_code"] == refs["dept"] and u["region_code"] == refs["region"]
    assert u["version"] == 1 and u["enabled"] and "temporary_password" not in u
    got = api.get(f"{API}/{u['id']}").get_json()
    assert got["username"] == u["username"] and got["dept_name"]
    c = app.test_client()
    assert login(c, u["username"], "Secret-2026x").status_code == 302
    with app.extensions["cityops.sessions"]() as db:
        h = db.execute(text("SELECT password_hash FROM admin.user WHERE id=:i"), {"i": u["id"]}).scalar()
    assert h.startswith("scrypt:") and "Secret-2026x" not in h


def test_create_without_password_returns_temporary(app, api, refs):
    u = create(api, refs)
    pw = u["temporary_password"]
    assert len(pw) >= 12
    assert login(app.test_client(), u["username"], pw).status_code == 302


def test_edit_with_version(api, refs):
    u = create(api, refs)
    r = api.patch(f"{API}/{u['id']}", {"display_name": "改名后", "roles": ["acceptor", "monitor"], "phone": None,
                                      "version": u["version"]})
    assert r.status_code == 200, r.get_json()
    v = r.get_json()
    assert v["display_name"] == "改名后" and v["roles"] == ["acceptor", "monitor"] and v["phone"] is None
    assert v["version"] == u["version"] + 1
    # A stale version is refused and changes nothing.
    e = err(api.patch(f"{API}/{u['id']}", {"display_name": "旧版本", "version": u["version"]}), 409, "version_conflict")
    assert e["details"]["current_version"] == v["version"]
    assert api.get(f"{API}/{u['id']}").get_json()["display_name"] == "改名后"


def test_disable_enable_and_login(app, api, refs):
    u = create(api, refs, password="Disable-2026x")
    r = api.post(f"{API}/{u['id']}/disable")
    assert r.status_code == 200 and r.get_json()["enabled"] is False
    c = app.test_client()
    r = login(c, u["username"], "Disable-2026x")
    assert r.status_code == 401 and "停用" in r.get_data(as_text=True)
    assert c.get("/", headers={"Accept": "application/json"}).status_code in (302, 401)
    r = api.post(f"{API}/{u['id']}/enable")
    assert r.status_code == 200 and r.get_json()["enabled"] is True
    assert login(app.test_client(), u["username"], "Disable-2026x").status_code == 302


def test_disable_ends_existing_session(app, api, refs):
    u = create(api, refs, password="Session-2026x")
    c = app.test_client()
    assert login(c, u["username"], "Session-2026x").status_code == 302
    change_own_password(c, "Session-2026x", "Session-2026y")
    assert c.get("/").status_code == 200
    api.post(f"{API}/{u['id']}/disable")
    assert c.get("/").status_code == 302


def test_cannot_disable_self(api):
    admin = api.get(API, query_string={"q": "admin", "role": "admin"}).get_json()["items"][0]
    err(api.post(f"{API}/{admin['id']}/disable"), 400, "self_disable")


def test_reset_password_generates_and_unlocks(app, api, refs):
    u = create(api, refs, password="Before-2026x")
    c = app.test_client()
    for _ in range(5):
        login(c, u["username"], "wrong-password-1")
    assert api.get(f"{API}/{u['id']}").get_json()["locked"] is True
    r = login(c, u["username"], "Before-2026x")
    assert r.status_code == 401 and "锁定" in r.get_data(as_text=True)
    r = api.post(f"{API}/{u['id']}/reset-password", {})
    assert r.status_code == 200
    pw = r.get_json()["temporary_password"]
    assert api.get(f"{API}/{u['id']}").get_json()["locked"] is False
    assert login(app.test_client(), u["username"], pw).status_code == 302
    assert login(app.test_client(), u["username"], "Before-2026x").status_code == 401


def test_reset_password_to_given(app, api, refs):
    u = create(api, refs)
    r = api.post(f"{API}/{u['id']}/reset-password", {"password": "Given-2026abc"})
    assert r.status_code == 200 and "temporary_password" not in r.get_json()
    assert login(app.test_client(), u["username"], "Given-2026abc").status_code == 302
    err(api.post(f"{API}/{u['id']}/reset-password", {"password": "short"}), 400, "password_too_weak")
    err(api.post(f"{API}/{u['id']}/reset-password", {"password": "Given-2026abc", "x": 1}), 400, "field_unknown")
    assert login(app.test_client(), u["username"], "Given-2026abc").status_code == 302


def test_search_filters_and_paging(api, refs):
    tag = uuid.uuid4().hex[:8]
    made = [create(api, refs, username=f"pg_{tag}_{i}", display_name=f"分页{i}",
                   phone=f"1390000{i:04d}", roles=["monitor"] if i % 2 else ["acceptor"]) for i in range(5)]
    api.post(f"{API}/{made[0]['id']}/disable")
    r = api.get(API, query_string={"q": f"pg_{tag}", "size": 2, "page": 1}).get_json()
    assert r["total"] == 5 and len(r["items"]) == 2 and r["page"] == 1 and r["size"] == 2
    page3 = api.get(API, query_string={"q": f"pg_{tag}", "size": 2, "page": 3}).get_json()
    assert [u["username"] for u in page3["items"]] == [f"pg_{tag}_4"]
    assert api.get(API, query_string={"q": f"pg_{tag}", "role": "monitor"}).get_json()["total"] == 2
    assert api.get(API, query_string={"q": f"pg_{tag}", "enabled": "false"}).get_json()["total"] == 1
    assert api.get(API, query_string={"q": f"pg_{tag}", "dept_code": refs["dept"]}).get_json()["total"] == 5
    # by phone and by display name
    assert api.get(API, query_string={"q": made[3]["phone"]}).get_json()["total"] >= 1
    assert api.get(API, query_string={"q": "分页2"}).get_json()["items"][0]["username"] == f"pg_{tag}_2"
    # LIKE wildcards are literal
    assert api.get(API, query_string={"q": "%%%_"}).get_json()["total"] == 0


def test_operation_log_written(app, api, refs):
    u = create(api, refs)
    api.patch(f"{API}/{u['id']}", {"display_name": "日志测试", "version": u["version"]})
    with app.extensions["cityops.sessions"]() as db:
        rows = db.execute(text(
            "SELECT action, username, after->>'username', after->>'display_name', before::text FROM admin.operation_log "
            "WHERE target_table='admin.user' AND (after->>'username') = :u ORDER BY id"), {"u": u["username"]}).all()
    actions = [r[0] for r in rows]
    assert "create" in actions and "update" in actions
    assert all(r[1] == "admin" for r in rows)
    assert rows[-1][3] == "日志测试"
    assert not any("password_hash" in (r[4] or "") or "scrypt:" in (r[4] or "") for r in rows)


def test_export_xlsx(api, refs):
    from openpyxl import load_workbook
    u = create(api, refs, roles=["acceptor", "monitor"])
    r = api.get(f"{API}/export.xlsx", query_string={"q": u["username"]})
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == ["用户名", "姓名", "部门编码", "部门", "角色", "区域编码", "电话", "状态"]
    assert len(rows) == 2
    assert rows[1][0] == u["username"] and rows[1][2] == refs["dept"] and rows[1][4] == "acceptor,monitor"
    assert rows[1][6] == "13800000000" and rows[1][7] == "启用"
    err(api.get(f"{API}/export.xlsx", query_string={"foo": 1}), 400, "parameter_unknown")


def xlsx(rows, header=("用户名", "姓名", "部门编码", "部门", "角色", "区域编码", "电话", "状态")) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    if header:
        ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_creates_and_updates(app, api, refs):
    existing = create(api, refs)
    new1, new2 = uname("imp"), uname("imp")
    data = xlsx([
        (new1, "导入一", refs["dept"], "", "acceptor", refs["region"], 13700000001, "启用"),
        (new2, "导入二", "", "", "受理员、监测值守员", "", "", "停用"),
        (existing["username"], "导入改名", refs["dept"], "", "monitor", "", "", "启用"),
        (None, None, None, None, None, None, None, None),  # blank rows are skipped
    ])
    r = api.upload(data)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["created"] == 2 and body["updated"] == 1
    pws = {p["username"]: p["temporary_password"] for p in body["passwords"]}
    assert set(pws) == {new1, new2}
    assert login(app.test_client(), new1, pws[new1]).status_code == 302
    assert login(app.test_client(), new2, pws[new2]).status_code == 401  # imported as disabled
    u1 = api.get(API, query_string={"q": new1}).get_json()["items"][0]
    assert u1["phone"] == "13700000001" and u1["roles"] == ["acceptor"] and u1["region_code"] == refs["region"]
    u2 = api.get(API, query_string={"q": new2}).get_json()["items"][0]
    assert u2["roles"] == ["acceptor", "monitor"] and not u2["enabled"]
    ex = api.get(f"{API}/{existing['id']}").get_json()
    assert ex["display_name"] == "导入改名" and ex["roles"] == ["monitor"] and ex["version"] == existing["version"] + 1
    # the export is importable as it is (round trip: nothing changes)
    again = api.upload(api.get(f"{API}/export.xlsx", query_string={"q": new1}).data)
    assert again.status_code == 200 and again.get_json()["unchanged"] == 1, again.get_json()


# ------------------------------------------------------------ bad input

@pytest.mark.parametrize("body,status,code", [
    ({"username": "ab", "display_name": "x"}, 400, "username_invalid"),
    ({"username": "bad name!", "display_name": "x"}, 400, "username_invalid"),
    ({"username": "x" * 41, "display_name": "x"}, 400, "username_invalid"),
    ({"display_name": "x"}, 400, "field_required"),
    ({"username": "USERNAME", "display_name": ""}, 400, "field_required"),
    ({"username": "USERNAME", "display_name": "x", "roles": ["nosuchrole"]}, 400, "role_unknown"),
    ({"username": "USERNAME", "display_name": "x", "roles": "admin"}, 400, "field_invalid"),
    ({"username": "USERNAME", "display_name": "x", "dept_code": "NOPE99"}, 400, "dept_unknown"),
    ({"username": "USERNAME", "display_name": "x", "region_code": "999999999999"}, 400, "region_unknown"),
    ({"username": "USERNAME", "display_name": "x", "password": "abc"}, 400, "password_too_weak"),
    ({"username": "USERNAME", "display_name": "x", "password": "onlyletters"}, 400, "password_too_weak"),
    ({"username": "USERNAME", "display_name": "x", "phone": "call me"}, 400, "phone_invalid"),
    ({"username": "USERNAME", "display_name": "x", "is_admin": True}, 400, "field_unknown"),
    ({"username": "USERNAME", "display_name": "x", "enabled": "yes"}, 400, "field_invalid"),
    ({"username": "USERNAME", "display_name": 5}, 400, "field_invalid"),
])
def test_create_bad_input(app, api, body, status, code):
    body = dict(body)
    if body.get("username") == "USERNAME":
        body["username"] = uname("bad")
    before = count_users(app)
    err(api.post(API, body), status, code)
    assert count_users(app) == before


def test_create_not_json(app, api):
    r = api.c.post(API, data="x", headers={"X-CSRFToken": api.t, "Content-Type": "text/plain"})
    err(r, 400, "body_invalid")
    err(api.post(API, [1, 2]), 400, "body_invalid")


def test_duplicate_username(app, api, refs):
    u = create(api, refs)
    before = count_users(app)
    err(api.post(API, {"username": u["username"], "display_name": "重复"}), 409, "username_taken")
    err(api.post(API, {"username": u["username"].upper(), "display_name": "重复"}), 409, "username_taken")
    assert count_users(app) == before


def test_edit_bad_input(api, refs):
    u = create(api, refs)
    url = f"{API}/{u['id']}"
    err(api.patch(url, {"display_name": "x"}), 400, "version_required")
    err(api.patch(url, {"display_name": "x", "version": "1"}), 400, "version_required")
    err(api.patch(url, {"display_name": "x", "version": 1, "foo": 1}), 400, "field_unknown")
    err(api.patch(url, {"username": "other", "version": 1}), 400, "field_readonly")
    err(api.patch(url, {"roles": ["ghost"], "version": 1}), 400, "role_unknown")
    err(api.patch(url, {"dept_code": "NOPE99", "version": 1}), 400, "dept_unknown")
    err(api.patch(url, {"display_name": "", "version": 1}), 400, "field_required")
    err(api.patch(f"{API}/999999999", {"display_name": "x", "version": 1}), 404, "user_not_found")
    after = api.get(url).get_json()
    for key in ("display_name", "dept_code", "roles", "region_code", "phone", "version"):
        assert after[key] == u[key], key


@pytest.mark.parametrize("query,code", [
    ({"foo": "1"}, "parameter_unknown"),
    ({"page": "0"}, "parameter_invalid"),
    ({"page": "x"}, "parameter_invalid"),
    ({"size": "1000"}, "parameter_invalid"),
    ({"enabled": "maybe"}, "parameter_invalid"),
])
def test_list_bad_params(api, query, code):
    err(api.get(API, query_string=query), 400, code)


def test_not_found(api):
    err(api.get(f"{API}/999999999"), 404, "user_not_found")
    err(api.post(f"{API}/999999999/disable"), 404, "user_not_found")


def test_import_rejects_bad_rows_and_changes_nothing(app, api, refs):
    existing = create(api, refs)
    good = uname("imp")
    data = xlsx([
        (good, "好的一行", "", "", "acceptor", "", "", "启用"),
        ("x!", "坏用户名", "", "", "", "", "", ""),
        (uname("imp"), "", "", "", "", "", "", ""),
        (uname("imp"), "未知角色", "", "", "nosuchrole", "", "", ""),
        (uname("imp"), "未知部门", "NOPE99", "", "", "", "", ""),
        (uname("imp"), "状态不对", "", "", "", "", "", "也许"),
        (good, "重复", "", "", "", "", "", ""),
        (existing["username"], "应当不变", "", "", "", "999999999999", "", ""),
    ])
    before = count_users(app)
    e = err(api.upload(data), 400, "import_invalid")
    rows = {x["row"]: x for x in e["details"]["errors"]}
    assert set(rows) == {3, 4, 5, 6, 7, 8, 9}
    assert rows[3]["code"] == "username_invalid" and "第 3 行" in rows[3]["message"]
    assert rows[4]["code"] == "field_required"
    assert rows[5]["code"] == "role_unknown"
    assert rows[6]["code"] == "dept_unknown"
    assert rows[7]["code"] == "field_invalid"
    assert rows[8]["code"] == "username_duplicate"
    assert rows[9]["code"] == "region_unknown"
    assert count_users(app) == before
    assert api.get(f"{API}/{existing['id']}").get_json()["display_name"] == existing["display_name"]


@pytest.mark.parametrize("kind,status,code", [
    ("text", 400, "upload_invalid"),
    ("fake_zip", 400, "upload_invalid"),
    ("renamed_png", 400, "upload_invalid"),
    ("truncated", 400, "upload_invalid"),
    ("bad_header", 400, "import_header_invalid"),
    ("no_header", 400, "import_header_invalid"),
    ("empty", 400, "import_empty"),
    ("oversized", 413, "upload_too_large"),
])
def test_import_bad_files(app, api, kind, status, code):
    import zipfile
    if kind == "text":
        data = "用户名,姓名\nabc,def\n".encode()
    elif kind == "fake_zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("hello.txt", "not a workbook")
        data = buf.getvalue()
    elif kind == "renamed_png":
        data = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    elif kind == "truncated":
        data = xlsx([("abc_def", "名字")])[:600]
    elif kind == "bad_header":
        data = xlsx([("abc_def", "名字", "x")], header=("用户名", "姓名", "密码"))
    elif kind == "no_header":
        data = xlsx([], header=None)
    elif kind == "empty":
        data = xlsx([])
    else:
        data = b"PK\x03\x04" + b"\0" * (2 * 1024 * 1024 + 10)
    before = count_users(app)
    err(api.upload(data), status, code)
    assert count_users(app) == before


def test_import_without_file(api):
    r = api.c.post(f"{API}/import", data={}, headers={"X-CSRFToken": api.t}, content_type="multipart/form-data")
    err(r, 400, "upload_missing")


def test_writes_need_csrf(admin_client):
    r = admin_client.post(API, json={"username": uname(), "display_name": "x"})
    assert r.status_code == 400


# ------------------------------------------------------------ permissions

def test_acceptor_is_forbidden(app, user_client, refs):
    api = Api(user_client)
    for r in (api.get(API), api.get(f"{API}/1"), api.get(f"{API}/export.xlsx"),
              user_client.get("/admin/users", headers={"Accept": "application/json"}),
              api.post(API, {"username": uname(), "display_name": "x"}),
              api.patch(f"{API}/1", {"display_name": "x", "version": 1}),
              api.post(f"{API}/1/disable"), api.post(f"{API}/1/enable"),
              api.post(f"{API}/1/reset-password", {}), api.upload(xlsx([]))):
        assert r.status_code == 403, r.request.path
        assert "权限" in r.get_json()["error"]["message"]


def test_leader_can_view_but_not_edit(app, passwords):
    c = app.test_client()
    assert login(c, "leader", passwords["demo"]).status_code == 302
    api = Api(c)
    assert api.get(API).status_code == 200
    page = c.get("/admin/users").get_data(as_text=True)
    assert 'data-can-edit="0"' in page and "btn-new-user" not in page
    err(api.post(API, {"username": uname(), "display_name": "x"}), 403, "forbidden")


def test_anonymous_gets_401(client):
    assert client.get(API).status_code == 401
    assert client.post(f"{API}/1/disable").status_code in (400, 401)
