"""Smart dispatch (R29–R30): the service the case core calls (first-match
auto-registration rules, the most specific responsibility entries, fallback
to the responsibility grid, ambiguity, validity dates, disabled entries) and
the JSON API (CRUD, reorder, Excel round trip, test bench) against the real
PostGIS demo data; refused requests change nothing; stale versions get 409."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import text

from tests.conftest import assert_error, json_api
from webapp.cases.dispatch_rules import (Place, RegisterRule, RespEntry, auto_actions, dispatch_candidates,
                                         dispatch_decision)

API = "/api/cases/config"
TODAY = dt.date.today()


@pytest.fixture()
def db(app):
    s = app.extensions["cityops.sessions"]()
    yield s
    s.rollback()
    s.close()


@pytest.fixture(scope="module")
def places(app):
    """A real unit grid in each street, with its community and responsibility grid."""
    s = app.extensions["cityops.sessions"]()
    out = {}
    for street in ("411721001", "411721002", "411721003"):
        row = s.execute(text("""
            SELECT u.code, u.community_code, r.code, r.dept_code,
                   ST_X(ST_PointOnSurface(u.geom)), ST_Y(ST_PointOnSurface(u.geom))
              FROM geo.unit_grid u
              JOIN geo.resp_grid r ON ST_Intersects(r.geom, ST_PointOnSurface(u.geom))
             WHERE u.street_code = :s ORDER BY u.code LIMIT 1"""), {"s": street}).one()
        out[street] = {"place": Place(street, row[1], row[0], row[2], row[3]), "lon": row[4], "lat": row[5]}
    s.close()
    return out


def _snapshot(db) -> tuple:
    """Every row of both tables: a refused request must leave them as they were."""
    rows = []
    for t in ("cases.register_rule", "cases.resp_entry"):
        rows.append(tuple(map(tuple, db.execute(text(f"SELECT * FROM {t} ORDER BY id")).all())))
    db.rollback()
    return tuple(rows)


def _add(db, obj):
    db.add(obj)
    db.commit()
    return obj


def _drop(db, *objs):
    for o in objs:
        db.delete(db.merge(o))
    db.commit()


# ---------------------------------------------------------------- service: responsibility list

def test_most_specific_class_wins_over_area(db, places):
    p = places["411721001"]["place"]
    # 05 街面秩序 per street: the street office of 柏城街道.
    cands = dispatch_candidates(db, "event", "0501", p)
    assert [c.dept_code for c in cands] == ["D020"]
    assert cands[0].entry_id is not None and "街道" in cands[0].reason
    # 0505 has its own county-wide entry: a small class beats the street-level big class.
    cands = dispatch_candidates(db, "event", "0505", p)
    assert [c.dept_code for c in cands] == ["D008"]
    assert "覆盖" in cands[0].reason
    # Another street, same class: another street office.
    assert [c.dept_code for c in dispatch_candidates(db, "event", "0501", places["411721003"]["place"])] == ["D022"]
    # Small class over big class, both county-wide.
    assert [c.dept_code for c in dispatch_candidates(db, "event", "0101", p)] == ["D002"]
    assert [c.dept_code for c in dispatch_candidates(db, "event", "0102", p)] == ["D010"]


def test_area_specificity_grid_over_community_over_street(db, places):
    p = places["411721002"]["place"]
    assert [c.dept_code for c in dispatch_candidates(db, "event", "0502", p)] == ["D021"]
    comm = _add(db, RespEntry(kind="event", class_code="05", area_level="community", area_code=p.community_code,
                              dept_code="D002", post="社区执法组"))
    grid = None
    try:
        cands = dispatch_candidates(db, "event", "0502", p)
        assert [c.dept_code for c in cands] == ["D002"] and cands[0].entry_id == comm.id
        grid = _add(db, RespEntry(kind="event", class_code="05", area_level="grid", area_code=p.grid_code,
                                  dept_code="D011", post="网格专班"))
        cands = dispatch_candidates(db, "event", "0502", p)
        assert [c.dept_code for c in cands] == ["D011"] and cands[0].post == "网格专班"
        assert cands[0].specificity > dispatch_candidates(db, "event", "0501", places["411721001"]["place"])[0].specificity
        # A point elsewhere in the street is not in that grid or community.
        other = Place(p.street_code, None, None, None, None)
        assert [c.dept_code for c in dispatch_candidates(db, "event", "0502", other)] == ["D021"]
    finally:
        _drop(db, *[o for o in (comm, grid) if o is not None])


def test_fallback_to_responsibility_grid(db, places):
    p = places["411721001"]["place"]
    # 06 其他设施 components have no entry in the demo list.
    cands = dispatch_candidates(db, "component", "0602", p)
    assert len(cands) == 1 and cands[0].entry_id is None and cands[0].dept_code == p.resp_grid_dept
    assert "责任网格" in cands[0].reason and p.resp_grid_code in cands[0].reason
    d = dispatch_decision(db, "component", "0602", p)
    assert d.automatic and d.dept_code == p.resp_grid_dept and "兜底" in d.explanation
    # No responsibility grid either: nobody to suggest.
    d = dispatch_decision(db, "component", "0602", Place("411721001", None, None, None, None))
    assert d.candidates == [] and not d.automatic and "人工" in d.explanation


def test_ambiguous_answer_asks_the_dispatcher(db, places):
    d = dispatch_decision(db, "event", "0113", places["411721002"]["place"])
    assert sorted(c.dept_code for c in d.candidates) == ["D002", "D010"]
    assert not d.automatic and "请派遣员选择" in d.explanation
    assert all(c.reason.startswith("权责清单 #") for c in d.candidates)
    # A higher priority settles it.
    e = db.execute(text("SELECT id FROM cases.resp_entry WHERE class_code='0113' AND dept_code='D010'")).scalar()
    db.execute(text("UPDATE cases.resp_entry SET priority = 5 WHERE id = :i"), {"i": e})
    try:
        d = dispatch_decision(db, "event", "0113", places["411721002"]["place"])
        assert d.automatic and d.dept_code == "D010" and "优先级" in d.candidates[0].reason
    finally:
        db.rollback()


def test_validity_dates_and_disabled_entries(db, places):
    p = places["411721001"]["place"]
    past = _add(db, RespEntry(kind="event", class_code="0503", area_level="county", area_code=None, dept_code="D002",
                              post="过期条目", valid_from=TODAY - dt.timedelta(days=30),
                              valid_to=TODAY - dt.timedelta(days=1)))
    off = _add(db, RespEntry(kind="event", class_code="0503", area_level="county", area_code=None, dept_code="D011",
                             post="停用条目", enabled=False))
    future = _add(db, RespEntry(kind="event", class_code="0503", area_level="county", area_code=None,
                                dept_code="D009", post="明天生效", valid_from=TODAY + dt.timedelta(days=1)))
    try:
        # None of them applies today: the street-level 05 entry answers.
        assert [c.dept_code for c in dispatch_candidates(db, "event", "0503", p)] == ["D020"]
        # On the expired entry's last valid day it wins; tomorrow the future one does.
        assert [c.dept_code for c in dispatch_candidates(db, "event", "0503", p, on=TODAY - dt.timedelta(days=1))] \
            == ["D002"]
        assert [c.dept_code for c in dispatch_candidates(db, "event", "0503", p, on=TODAY + dt.timedelta(days=1))] \
            == ["D009"]
    finally:
        _drop(db, past, off, future)


def test_person_and_kind(db, places):
    p = places["411721002"]["place"]
    cands = dispatch_candidates(db, "event", "0104", p)
    assert [c.dept_code for c in cands] == ["D010"] and cands[0].user_name == "刘处置"
    # Component 0101 and event 0101 are different things.
    assert [c.dept_code for c in dispatch_candidates(db, "component", "0101", p)] == ["D013"]
    assert [c.dept_code for c in dispatch_candidates(db, "event", "0101", p)] == ["D002"]


# ---------------------------------------------------------------- service: auto-registration

def test_auto_actions_first_match_and_order(db, places):
    p = places["411721001"]["place"]
    d = auto_actions(db, "supervisor", "event", "0102", p)
    assert d.actions == {"auto_accept", "auto_dispatch"} and d.rule_id is not None and "市容环境" in d.explanation
    assert auto_actions(db, "sensor", "component", "0101", p).actions == {"auto_accept", "auto_file", "auto_dispatch"}
    # Public reports go through acceptance (the night rule is disabled).
    d = auto_actions(db, "public", "event", "0102", p, at=dt.datetime(2026, 12, 2, 23, 30))
    assert d.actions == set() and d.rule_id is None and "没有匹配" in d.explanation

    a = _add(db, RegisterRule(name="测试A：视频识别全县自动受理", sources=["video"], actions=["auto_accept"], sort=-20))
    b = _add(db, RegisterRule(name="测试B：视频识别柏城街道自动立案", sources=["video"], region_prefix="411721001",
                              actions=["auto_accept", "auto_file"], sort=-10))
    try:
        assert auto_actions(db, "video", "event", "0501", p).rule_id == a.id
        db.execute(text("UPDATE cases.register_rule SET sort = -30 WHERE id = :i"), {"i": b.id})
        db.commit()
        d = auto_actions(db, "video", "event", "0501", p)
        assert d.rule_id == b.id and d.actions == {"auto_accept", "auto_file"}
        # Outside 柏城街道 the second rule does not match; the first one does.
        assert auto_actions(db, "video", "event", "0501", places["411721002"]["place"]).rule_id == a.id
        # Disabled rules are skipped.
        db.execute(text("UPDATE cases.register_rule SET enabled = false WHERE id = :i"), {"i": b.id})
        db.commit()
        assert auto_actions(db, "video", "event", "0501", p).rule_id == a.id
    finally:
        _drop(db, a, b)


def test_time_window_over_midnight(db, places):
    p = places["411721001"]["place"]
    r = _add(db, RegisterRule(name="测试：夜间媒体曝光自动受理", sources=["media"], kind="event",
                              time_from=dt.time(22), time_to=dt.time(6), actions=["auto_accept"], sort=-5))
    try:
        tz = dt.timezone(dt.timedelta(hours=8))
        assert auto_actions(db, "media", "event", "0101", p, at=dt.datetime(2026, 12, 2, 23, 0, tzinfo=tz)).rule_id == r.id
        assert auto_actions(db, "media", "event", "0101", p, at=dt.datetime(2026, 12, 3, 5, 59, tzinfo=tz)).rule_id == r.id
        assert auto_actions(db, "media", "event", "0101", p, at=dt.datetime(2026, 12, 3, 6, 0, tzinfo=tz)).rule_id is None
        # 15:30 UTC is 23:30 in Xiping.
        assert auto_actions(db, "media", "event", "0101", p,
                            at=dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.timezone.utc)).rule_id == r.id
        assert auto_actions(db, "media", "component", "0101", p,
                            at=dt.datetime(2026, 12, 2, 23, 0, tzinfo=tz)).rule_id is None
    finally:
        _drop(db, r)


# ---------------------------------------------------------------- API: rules

def test_rule_crud_reorder_and_409(admin_api, db, places):
    body = {"name": "测试：领导交办突发事件自动立案", "sources": ["leader"], "kind": "event", "class_prefix": "04",
            "region_prefix": "411721002", "actions": ["auto_file", "auto_accept"], "remark": "测试"}
    r = admin_api.post(f"{API}/rules", body)
    assert r.status_code == 201, r.get_json()
    rule = r.get_json()
    assert rule["actions"] == ["auto_accept", "auto_file"] and rule["version"] == 1 and "领导交办" in rule["summary"]
    rid = rule["id"]
    try:
        listed = admin_api.get(f"{API}/rules", query_string={"source": "leader"}).get_json()["items"]
        assert rid in [x["id"] for x in listed] and all(not x["sources"] or "leader" in x["sources"] for x in listed)
        r = admin_api.patch(f"{API}/rules/{rid}", {"version": 1, "time_from": "08:00", "time_to": "18:00"})
        assert r.status_code == 200 and r.get_json()["version"] == 2 and r.get_json()["time_to"] == "18:00"
        before = _snapshot(db)
        assert_error(admin_api.patch(f"{API}/rules/{rid}", {"version": 1, "enabled": False}), 409, "version_conflict")
        assert _snapshot(db) == before
        # The service sees it (only 08:00–18:00, only 柏亭街道).
        tz = dt.timezone(dt.timedelta(hours=8))
        assert auto_actions(db, "leader", "event", "0401", places["411721002"]["place"],
                            at=dt.datetime(2026, 12, 2, 9, tzinfo=tz)).rule_id == rid
        assert auto_actions(db, "leader", "event", "0401", places["411721002"]["place"],
                            at=dt.datetime(2026, 12, 2, 19, tzinfo=tz)).rule_id is None
        # Move it to the top, then back to the end.
        ids = [x["id"] for x in admin_api.get(f"{API}/rules").get_json()["items"]]
        order = [rid] + [i for i in ids if i != rid]
        r = admin_api.post(f"{API}/rules/reorder", {"ids": order})
        assert r.status_code == 200 and [x["id"] for x in r.get_json()["items"]] == order
        before = _snapshot(db)
        assert_error(admin_api.post(f"{API}/rules/reorder", {"ids": order[1:]}), 409, "order_incomplete")
        assert _snapshot(db) == before
        version = admin_api.get(f"{API}/rules/{rid}").get_json()["version"]
        assert_error(admin_api.delete(f"{API}/rules/{rid}?version={version - 1}"), 409, "version_conflict")
        assert admin_api.delete(f"{API}/rules/{rid}?version={version}").status_code == 204
        assert_error(admin_api.get(f"{API}/rules/{rid}"), 404, "rule_not_found")
    finally:
        db.execute(text("DELETE FROM cases.register_rule WHERE id = :i"), {"i": rid})
        db.commit()


@pytest.mark.parametrize("patch,status,code", [
    ({"class_prefix": "0999"}, 400, "class_code_unknown"),
    ({"class_prefix": "012"}, 400, "class_code_invalid"),
    ({"region_prefix": "411721999"}, 400, "region_prefix_unknown"),
    ({"region_prefix": "41a"}, 400, "region_prefix_invalid"),
    ({"sources": ["twitter"]}, 400, "source_unknown"),
    ({"actions": []}, 400, "actions_invalid"),
    ({"actions": ["auto_close"]}, 400, "action_unknown"),
    ({"time_from": "25:00", "time_to": "06:00"}, 400, "time_invalid"),
    ({"time_from": "22:00"}, 400, "time_window_invalid"),
    ({"colour": "red"}, 400, "field_unknown"),
    ({"name": ""}, 400, "field_missing"),
    ({"kind": "person"}, 400, "kind_invalid"),
])
def test_bad_rule_changes_nothing(admin_api, db, patch, status, code):
    body = {"name": "测试：坏规则", "sources": ["public"], "actions": ["auto_accept"], **patch}
    before = _snapshot(db)
    assert_error(admin_api.post(f"{API}/rules", body), status, code)
    assert _snapshot(db) == before
    rid = db.execute(text("SELECT min(id) FROM cases.register_rule")).scalar()
    version = db.execute(text("SELECT version FROM cases.register_rule WHERE id = :i"), {"i": rid}).scalar()
    db.rollback()
    if code != "field_missing":
        assert_error(admin_api.patch(f"{API}/rules/{rid}", {"version": version, **patch}), status, code)
    assert _snapshot(db) == before


# ---------------------------------------------------------------- API: responsibility list

def test_entry_crud_and_409(admin_api, db, places):
    p = places["411721003"]["place"]
    handler = db.execute(text("SELECT id FROM admin.\"user\" WHERE username = 'handler'")).scalar()
    db.rollback()
    body = {"kind": "event", "class_code": "0106", "area_code": p.community_code, "dept_code": "D010",
            "post": "社区保洁组", "user_id": handler, "valid_from": TODAY.isoformat()}
    r = admin_api.post(f"{API}/responsibilities", body)
    assert r.status_code == 201, r.get_json()
    e = r.get_json()
    assert e["area_level"] == "community" and e["area_name"] and e["user_name"] == "刘处置" and e["class_name"] == "绿地脏乱"
    eid = e["id"]
    try:
        cands = dispatch_candidates(db, "event", "0106", p)
        assert [(c.entry_id, c.user_id) for c in cands] == [(eid, handler)]
        listed = admin_api.get(f"{API}/responsibilities", query_string={"class_code": "0106", "kind": "event"}).get_json()
        assert [x["id"] for x in listed["items"]] == [eid] and listed["total"] == 1
        before = _snapshot(db)
        assert_error(admin_api.post(f"{API}/responsibilities", body), 409, "entry_duplicate")
        assert_error(admin_api.patch(f"{API}/responsibilities/{eid}", {"version": 7, "post": "x"}), 409,
                     "version_conflict")
        assert_error(admin_api.patch(f"{API}/responsibilities/{eid}", {"post": "x"}), 400, "version_missing")
        assert _snapshot(db) == before
        r = admin_api.patch(f"{API}/responsibilities/{eid}", {"version": 1, "enabled": False})
        assert r.status_code == 200 and r.get_json()["version"] == 2
        assert [c.dept_code for c in dispatch_candidates(db, "event", "0106", p)] == ["D010"]
        assert dispatch_candidates(db, "event", "0106", p)[0].entry_id != eid
        assert admin_api.delete(f"{API}/responsibilities/{eid}?version=2").status_code == 204
    finally:
        db.execute(text("DELETE FROM cases.resp_entry WHERE id = :i"), {"i": eid})
        db.commit()


@pytest.mark.parametrize("patch,status,code", [
    ({"class_code": "0999"}, 400, "class_code_unknown"),
    ({"kind": "component", "class_code": "0509"}, 400, "class_code_unknown"),
    ({"area_code": "411721009"}, 400, "area_code_unknown"),
    ({"area_code": "411721001ZR999"}, 400, "area_code_unknown"),
    ({"dept_code": "D999"}, 400, "dept_unknown"),
    ({"dept_code": None}, 400, "field_missing"),
    ({"user_id": 999999}, 400, "user_unknown"),
    ({"user_id": "HANDLER"}, 400, "user_not_in_dept"),
    ({"valid_from": "2026-13-01"}, 400, "date_invalid"),
    ({"valid_from": "2026-12-02", "valid_to": "2026-12-01"}, 400, "date_range_invalid"),
    ({"priority": "high"}, 400, "field_invalid"),
    ({"owner": "x"}, 400, "field_unknown"),
    ({"class_code": "0101", "kind": "component", "area_code": None, "dept_code": "D013",
      "post": "管网维修班"}, 409, "entry_duplicate"),
])
def test_bad_entry_changes_nothing(admin_api, db, patch, status, code):
    if patch.get("user_id") == "HANDLER":  # a real user, but of 环卫中心
        patch = {**patch, "user_id": db.execute(text("SELECT id FROM admin.\"user\" WHERE username='handler'")).scalar()}
        db.rollback()
    body = {"kind": "event", "class_code": "0107", "dept_code": "D002", "post": "测试岗", **patch}
    before = _snapshot(db)
    assert_error(admin_api.post(f"{API}/responsibilities", body), status, code)
    assert _snapshot(db) == before
    eid, version = db.execute(text("SELECT id, version FROM cases.resp_entry WHERE class_code = '0401' "
                                   "AND kind = 'event'")).one()
    db.rollback()
    if code not in ("entry_duplicate",):
        assert_error(admin_api.patch(f"{API}/responsibilities/{eid}", {"version": version, **patch}), status, code)
    assert _snapshot(db) == before


def test_excel_round_trip_and_refused_import(admin_api, db):
    from openpyxl import load_workbook, Workbook
    r = admin_api.get(f"{API}/responsibilities/export.xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:6] == ["类型", "类别代码", "类别名称", "区域代码", "区域名称", "部门编码"]
    total = db.execute(text("SELECT count(*) FROM cases.resp_entry")).scalar()
    db.rollback()
    assert ws.max_row - 1 == total
    codes = [ws.cell(row=i, column=2).value for i in range(2, ws.max_row + 1)]
    assert "0101" in codes  # leading zeros kept

    def upload(book):
        buf = io.BytesIO()
        book.save(buf)
        return admin_api.upload(f"{API}/responsibilities/import", {"file": ("权责清单.xlsx", buf.getvalue())})

    # Unchanged file: nothing to do.
    r = upload(wb)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"created": 0, "updated": 0, "rows": total}
    # One changed priority and one new row.
    row = codes.index("0111") + 2
    ws.cell(row=row, column=10, value=3)
    ws.append(["事件", "0509", "", "411721002", "", "D021", "", "夜间巡查组", "", 0, "2026-01-01", "", "启用", "导入测试"])
    before = _snapshot(db)
    r = upload(wb)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["created"] == 1 and r.get_json()["updated"] == 1
    assert db.execute(text("SELECT priority FROM cases.resp_entry WHERE class_code='0111'")).scalar() == 3
    db.rollback()
    # A bad row refuses the whole file.
    ws.cell(row=row, column=10, value=0)
    ws.append(["事件", "0508", "", "", "", "D002", "", "", "", 0, "", "", "启用", ""])  # 0508 is no class
    ws.append(["事件", "0509", "", "411721002", "", "D021", "", "夜间巡查组", "", 0, "", "", "启用", "重复"])
    mid = _snapshot(db)
    r = upload(wb)
    e = assert_error(r, 400, "import_invalid")
    rows = {x["row"] for x in e["details"]["errors"]}
    assert ws.max_row - 1 in rows and ws.max_row in rows
    assert _snapshot(db) == mid
    # Wrong header, not Excel.
    bad = Workbook()
    bad.active.append(["部门", "类别"])
    assert_error(upload(bad), 400, "import_header_invalid")
    r = admin_api.upload(f"{API}/responsibilities/import", {"file": ("x.xlsx", b"not a workbook")})
    assert r.status_code == 415 and r.get_json()["error"]["code"]  # the upload gate sniffs the content
    assert _snapshot(db) == mid
    db.execute(text("DELETE FROM cases.resp_entry WHERE remark = '导入测试'"))
    db.execute(text("UPDATE cases.resp_entry SET priority = 0 WHERE class_code = '0111'"))
    db.commit()
    assert before != mid


# ---------------------------------------------------------------- API: test bench and permissions

def test_dispatch_test_bench(admin_api, places):
    pt = places["411721001"]
    r = admin_api.post(f"{API}/dispatch-test", {"source": "supervisor", "kind": "event", "class_code": "0501",
                                                "lon": pt["lon"], "lat": pt["lat"]})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["location"]["grid_code"] == pt["place"].grid_code
    assert out["auto"]["rule_id"] is not None and "auto_accept" in out["auto"]["actions"]
    assert [c["dept_code"] for c in out["dispatch"]["candidates"]] == ["D020"]
    assert out["auto_dispatch"] is True and "自动派遣" in out["verdict"]
    # Public report: unique department but no rule allows automatic dispatch.
    r = admin_api.post(f"{API}/dispatch-test", {"source": "public", "kind": "event", "class_code": "0501",
                                                "lon": pt["lon"], "lat": pt["lat"], "at": "2026-12-02T10:00"})
    assert r.get_json()["auto_dispatch"] is False and "派遣员确认" in r.get_json()["verdict"]
    for body, code in [({"source": "x", "kind": "event", "class_code": "0501", "lon": 1, "lat": 1}, "source_unknown"),
                       ({"source": "public", "kind": "event", "class_code": "05"}, "class_code_invalid"),
                       ({"source": "public", "kind": "event", "class_code": "0501"}, "place_missing"),
                       ({"source": "public", "kind": "event", "class_code": "0501", "lon": "a", "lat": 1},
                        "coordinate_invalid"),
                       ({"source": "public", "kind": "event", "class_code": "0501", "zoom": 3}, "field_unknown")]:
        assert_error(admin_api.post(f"{API}/dispatch-test", body), 400, code)
    r = admin_api.post(f"{API}/dispatch-test", {"source": "public", "kind": "event", "class_code": "0501",
                                                "lon": 116.0, "lat": 30.0})
    assert 400 <= r.status_code < 500 and "error" in r.get_json()


def test_dispatch_test_by_address(admin_api, db):
    addr = db.execute(text("SELECT full_address FROM geo.address ORDER BY code LIMIT 1")).scalar()
    db.rollback()
    r = admin_api.post(f"{API}/dispatch-test", {"source": "sensor", "kind": "component", "class_code": "0111",
                                                "address": addr})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["geocoded"][0]["address"] == addr
    assert out["auto"]["actions"] == ["auto_accept", "auto_dispatch", "auto_file"]
    assert [c["dept_code"] for c in out["dispatch"]["candidates"]] == ["D014"] and out["auto_dispatch"]


def test_permission_case_config(app, passwords):
    acceptor = json_api(app, "acceptor", passwords["demo"])
    for path in (f"{API}/rules", f"{API}/responsibilities", "/cases/config/dispatch-rules",
                 "/cases/config/dispatch-test"):
        assert acceptor.get(path).status_code == 403
    assert acceptor.post(f"{API}/rules", {"name": "x", "actions": ["auto_accept"]}).status_code == 403
    chief = json_api(app, "shift_chief", passwords["demo"])
    assert chief.get(f"{API}/rules").status_code == 200
    page = chief.c.get("/cases/config/dispatch-rules")
    assert page.status_code == 200 and "权责清单" in page.get_data(as_text=True)


def test_seed_is_idempotent(app, db):
    from webapp.cases.rules_admin import seed_demo
    before = _snapshot(db)
    seed_demo(db, log=lambda *_: None)
    assert _snapshot(db) == before
