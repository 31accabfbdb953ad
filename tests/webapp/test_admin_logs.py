"""System logs API (R94): login and operation logs — filters, paging,
Shanghai times, Excel export, bad parameters and permissions."""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import login

TZ = ZoneInfo("Asia/Shanghai")


def token(client) -> str:
    page = client.get("/admin/logs").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture()
def admin(admin_client):
    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    return admin_client


@pytest.fixture()
def failed_login(app):
    """A failed login with a user name nobody else uses."""
    name = "nobody" + uuid.uuid4().hex[:8]
    c = app.test_client()
    login(c, name, "wrong-password")
    return name


def today() -> str:
    return dt.datetime.now(TZ).date().isoformat()


def test_login_log_search(admin, failed_login):
    r = admin.get(f"/api/admin/logs/login?username={failed_login}")
    assert r.status_code == 200
    d = r.get_json()
    assert d["total"] == 1 and d["page"] == 1
    row = d["items"][0]
    assert row["username"] == failed_login and row["success"] is False and row["reason"]
    assert row["at"].endswith("+08:00") and row["at_local"].startswith(today())
    assert row["ip"] == "127.0.0.1"
    assert admin.get(f"/api/admin/logs/login?username={failed_login}&success=true").get_json()["total"] == 0
    assert admin.get(f"/api/admin/logs/login?username={failed_login}&success=false").get_json()["total"] == 1
    r = admin.get(f"/api/admin/logs/login?username={failed_login}&from={today()}&to={today()}")
    assert r.get_json()["total"] == 1
    r = admin.get(f"/api/admin/logs/login?username={failed_login}&to=2020-01-01")
    assert r.get_json()["total"] == 0
    ok = admin.get("/api/admin/logs/login?username=admin&success=true").get_json()
    assert ok["total"] >= 1 and all(i["success"] for i in ok["items"])


def test_paging(admin):
    d1 = admin.get("/api/admin/logs/login?page_size=2").get_json()
    assert len(d1["items"]) <= 2 and d1["pages"] == (d1["total"] + 1) // 2
    if d1["total"] > 2:
        d2 = admin.get("/api/admin/logs/login?page_size=2&page=2").get_json()
        assert {i["id"] for i in d1["items"]}.isdisjoint({i["id"] for i in d2["items"]})
    far = admin.get("/api/admin/logs/operations?page=99999&page_size=500").get_json()
    assert far["items"] == [] and far["page_size"] == 500


def test_operation_log_search_with_diff(admin):
    code = "L" + uuid.uuid4().hex[:8].upper()
    r = admin.post("/api/admin/departments", json={"code": code, "name": "日志测试部门", "parent_code": "D002",
                                                   "kind": "section"})
    assert r.status_code == 201
    r = admin.patch(f"/api/admin/departments/{code}", json={"name": "日志测试部门二", "version": 1})
    assert r.status_code == 200
    assert admin.delete(f"/api/admin/departments/{code}").status_code == 204

    d = admin.get(f"/api/admin/logs/operations?table=admin.department&username=admin&from={today()}"
                  "&page_size=500").get_json()
    mine = [i for i in d["items"] if (i["target_id"] == code)]
    assert [i["action"] for i in mine] == ["delete", "update", "create"]       # newest first
    delete, update, create = mine
    assert update["action_name"] == "修改" and update["at"].endswith("+08:00")
    changes = {c["field"]: c for c in update["changes"]}
    assert changes["name"]["before"] == "日志测试部门" and changes["name"]["after"] == "日志测试部门二"
    assert changes["version"]["after"] == 2 and "updated_at" not in changes
    assert {c["field"] for c in create["changes"]} >= {"code", "name", "parent_code"}
    assert create["before"] is None and delete["after"] is None

    only_updates = admin.get("/api/admin/logs/operations?action=update&table=department").get_json()
    assert only_updates["total"] >= 1 and all(i["action"] == "update" for i in only_updates["items"])


@pytest.mark.parametrize("path", ["/api/admin/logs/login", "/api/admin/logs/operations",
                                  "/api/admin/logs/login/export.xlsx", "/api/admin/logs/operations/export.xlsx"])
@pytest.mark.parametrize("query,code", [
    ("from=2026-13-01", "date_invalid"),
    ("to=yesterday", "date_invalid"),
    ("from=2026-11-10&to=2026-11-01", "date_range_invalid"),
    ("colour=red", "param_unknown"),
    ("page_size=501", "page_size_invalid"),
    ("page_size=0", "page_size_invalid"),
    ("page=0", "param_invalid"),
    ("page=abc", "param_invalid"),
])
def test_bad_params(admin, path, query, code):
    r = admin.get(f"{path}?{query}")
    assert r.status_code == 400, (path, query)
    assert r.get_json()["error"]["code"] == code and r.get_json()["error"]["message"]


def test_bad_success_flag(admin):
    r = admin.get("/api/admin/logs/login?success=maybe")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "param_invalid"
    r = admin.get("/api/admin/logs/operations?success=true")      # not a filter of the operation log
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "param_unknown"


def test_export_login_xlsx(admin, failed_login):
    from openpyxl import load_workbook
    r = admin.get(f"/api/admin/logs/login/export.xlsx?username={failed_login}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("时间", "用户名", "结果", "原因", "IP 地址", "浏览器")
    assert len(rows) == 2 and rows[1][1] == failed_login and rows[1][2] == "失败"
    assert rows[1][0].startswith(today())


def test_export_operations_xlsx(admin):
    from openpyxl import load_workbook
    code = "X" + uuid.uuid4().hex[:8].upper()
    assert admin.post("/api/admin/departments", json={"code": code, "name": "导出测试", "parent_code": "D002",
                                                      "kind": "other"}).status_code == 201
    assert admin.delete(f"/api/admin/departments/{code}").status_code == 204
    r = admin.get(f"/api/admin/logs/operations/export.xlsx?table=admin.department&from={today()}")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:6] == ("时间", "操作人", "操作", "数据表", "记录编号", "变更内容")
    mine = [row for row in rows[1:] if row[4] == code]
    assert [row[2] for row in mine] == ["删除", "新增"]
    assert "导出测试" in mine[1][5] and code in mine[1][8]


def test_permissions(app, user_client, passwords):
    anon = app.test_client()
    for path in ("/api/admin/logs/login", "/api/admin/logs/operations", "/api/admin/logs/login/export.xlsx",
                 "/api/admin/logs/operations/export.xlsx"):
        assert anon.get(path).status_code == 401, path
        r = user_client.get(path)                             # acceptor: no admin:log:view
        assert r.status_code == 403 and "权限" in r.get_json()["error"]["message"], path
    r = anon.get("/admin/logs")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert user_client.get("/admin/logs").status_code == 403
    leader = app.test_client()                                # leader: may read the logs
    assert login(leader, "leader", passwords["demo"]).status_code == 302
    assert leader.get("/api/admin/logs/operations").status_code == 200


def test_page(admin):
    html = admin.get("/admin/logs").get_data(as_text=True)
    for s in ("日志管理", "登录日志", "操作日志", "导出 Excel", 'name="from"', 'name="to"'):
        assert s in html
