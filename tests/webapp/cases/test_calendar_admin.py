"""Working calendar and time limits API (/api/cases/config/…): seeded
defaults, the most specific rule wins, deadlines from the database calendar,
calendar days, working periods, holiday import/export round trip, and bad
input refused with a Chinese message and nothing changed."""
from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import create_engine, text

from tests.conftest import assert_error, json_api
from webapp.cases import worktime as wt

TZ = ZoneInfo("Asia/Shanghai")
CAL_API = "/api/cases/config/calendar"
TL_API = "/api/cases/config/time-limits"


@pytest.fixture()
def api(app, passwords):
    return json_api(app, "admin", passwords["admin"])


@pytest.fixture()
def chief(app, passwords):
    return json_api(app, "shift_chief", passwords["demo"])


@pytest.fixture()
def engine(demo_db):
    eng = create_engine(demo_db)
    yield eng
    eng.dispose()


def snapshot(engine) -> tuple:
    with engine.connect() as c:
        return tuple(c.execute(text(q)).all() for q in (
            "SELECT day, is_workday, note FROM cases.calendar_day ORDER BY day",
            "SELECT start_time, end_time FROM cases.work_period ORDER BY start_time",
            "SELECT kind, class_code, stage, hours, natural_time, warn_ratio, note, version FROM cases.time_limit "
            "ORDER BY kind, class_code, stage"))


@pytest.fixture()
def clean_days(engine):
    """Calendar days made by a test are removed afterwards (the session database is shared)."""
    with engine.connect() as c:
        before = {r[0] for r in c.execute(text("SELECT day FROM cases.calendar_day"))}
    yield
    with engine.begin() as c:
        for (day,) in c.execute(text("SELECT day FROM cases.calendar_day")).all():
            if day not in before:
                c.execute(text("DELETE FROM cases.calendar_day WHERE day = :d"), {"d": day})


# ---------------------------------------------------------------- seed and look-ups

def test_seeded_defaults(api):
    items = api.get(TL_API).get_json()["items"]
    rule = {(r["kind"], r["class_code"], r["stage"]): r for r in items}
    for kind in ("component", "event"):
        assert rule[(kind, "*", "accept")]["hours"] == 0.5
        assert rule[(kind, "*", "verify")]["hours"] == 1
        assert rule[(kind, "*", "handle")]["hours"] == 24 and not rule[(kind, "*", "handle")]["natural_time"]
        assert rule[(kind, "*", "close")]["hours"] == 0.5
    cover = rule[("component", "0101", "handle")]
    assert cover["hours"] == 6 and cover["natural_time"] and cover["class_name"] == "上水井盖"
    assert all(rule[("component", f"01{i:02d}", "handle")]["natural_time"] for i in range(1, 13))
    assert rule[("event", "04", "handle")]["natural_time"] and rule[("event", "04", "handle")]["level"] == "big"
    periods = api.get(f"{CAL_API}/periods").get_json()
    assert [(p["start"], p["end"]) for p in periods["periods"]] == [("08:30", "12:00"), ("14:30", "18:00")]
    assert periods["hours_per_day"] == 7


def test_seed_is_idempotent(app, engine):
    before = snapshot(engine)
    from sqlalchemy.orm import Session
    from webapp.cases.calendar_admin import seed_demo
    with Session(engine) as s:
        seed_demo(s, log=lambda *_: None)
        s.commit()
    assert snapshot(engine) == before


def test_most_specific_rule_wins(api):
    r = api.get(f"{TL_API}/resolve", query_string={"kind": "component", "class_code": "0103", "stage": "handle"})
    assert r.get_json()["class_code"] == "0103" and r.get_json()["natural_time"]
    r = api.get(f"{TL_API}/resolve", query_string={"kind": "component", "class_code": "0118", "stage": "handle"})
    assert r.get_json()["class_code"] == "*" and r.get_json()["hours"] == 24
    r = api.get(f"{TL_API}/resolve", query_string={"kind": "event", "class_code": "0401", "stage": "handle"})
    assert r.get_json()["class_code"] == "04"
    # A big-class rule is overridden by its small class.
    created = api.post(TL_API, {"kind": "event", "class_code": "0402", "stage": "handle", "hours": 2,
                                "natural_time": True}).get_json()
    try:
        r = api.get(f"{TL_API}/resolve", query_string={"kind": "event", "class_code": "0402", "stage": "handle"})
        assert r.get_json()["class_code"] == "0402" and r.get_json()["hours"] == 2
    finally:
        assert api.delete(f"{TL_API}/{created['id']}").status_code == 204


def test_deadline_for_uses_the_database_calendar(app, clean_days):
    from webapp.db import get_db
    with app.test_request_context():
        db = get_db()
        # Friday 2027-03-05 17:00 + 24 working hours (7 h per day): Fri 1 h, Mon 7, Tue 7, Wed 7, Thu 2 → Thu 10:30.
        start = dt.datetime(2027, 3, 5, 17, 0, tzinfo=TZ)
        deadline, warn_at, natural = wt.deadline_for(db, "event", "0101", "handle", start)
        assert not natural and deadline.tzinfo == dt.timezone.utc
        assert deadline.astimezone(TZ) == dt.datetime(2027, 3, 11, 10, 30, tzinfo=TZ)
        assert wt.working_between(warn_at, deadline, wt.load_calendar(db)) == pytest.approx(24 * 0.2)
        # Manhole cover: 6 natural hours.
        deadline, warn_at, natural = wt.deadline_for(db, "component", "0105", "handle", start)
        assert natural and deadline.astimezone(TZ) == dt.datetime(2027, 3, 5, 23, 0, tzinfo=TZ)
        assert wt.status(deadline, warn_at, start) == "normal"
        assert wt.status(deadline, warn_at, deadline + dt.timedelta(minutes=1)) == "overdue"


def test_calendar_changes_apply_at_once(api, clean_days):
    q = {"start": "2027-03-08T17:00", "hours": "2"}  # Monday
    assert api.get(f"{CAL_API}/preview", query_string=q).get_json()["deadline"].startswith("2027-03-09T09:30")
    assert api.put(f"{CAL_API}/days/2027-03-09", {"is_workday": False, "note": "测试休息"}).status_code == 200
    assert api.get(f"{CAL_API}/preview", query_string=q).get_json()["deadline"].startswith("2027-03-10T09:30")
    nat = api.get(f"{CAL_API}/preview", query_string={**q, "natural": "true"}).get_json()
    assert nat["deadline"].startswith("2027-03-08T19:00")


# ---------------------------------------------------------------- calendar days

def test_year_view_and_toggle(api, clean_days):
    data = api.get(CAL_API, query_string={"year": 2027}).get_json()
    assert len(data["days"]) == 365 and data["year"] == 2027
    sat = next(d for d in data["days"] if d["date"] == "2027-01-02")
    assert sat["is_workday"] is False and sat["default_workday"] is False and not sat["exception"]
    r = api.put(f"{CAL_API}/days/2027-01-02", {"is_workday": True, "note": "调休上班"})
    assert r.status_code == 200 and r.get_json() == {"date": "2027-01-02", "is_workday": True,
                                                     "default_workday": False, "exception": True, "note": "调休上班"}
    after = api.get(CAL_API, query_string={"year": 2027}).get_json()
    assert after["workdays"] == data["workdays"] + 1 and after["exceptions"] == data["exceptions"] + 1
    # Back to the default week rule: the exception is removed.
    r = api.put(f"{CAL_API}/days/2027-01-02", {"is_workday": False, "note": ""})
    assert r.get_json()["exception"] is False
    api.put(f"{CAL_API}/days/2027-01-04", {"is_workday": False, "note": "测试"})
    assert api.delete(f"{CAL_API}/days/2027-01-04").get_json()["is_workday"] is True


@pytest.mark.parametrize("url,body,status,code", [
    (f"{CAL_API}/days/2027-02-30", {"is_workday": False}, 400, "date_invalid"),
    (f"{CAL_API}/days/yesterday", {"is_workday": False}, 400, "date_invalid"),
    (f"{CAL_API}/days/1899-01-01", {"is_workday": False}, 400, "date_invalid"),
    (f"{CAL_API}/days/2027-02-03", {"is_workday": "no"}, 400, "is_workday_invalid"),
    (f"{CAL_API}/days/2027-02-03", {"is_workday": False, "note": "长" * 101}, 400, "note_invalid"),
    (f"{CAL_API}/days/2027-02-03", {"is_workday": False, "colour": "red"}, 400, "field_unknown"),
    (f"{CAL_API}/periods", {"periods": []}, 400, "calendar_empty"),
    (f"{CAL_API}/periods", {"periods": [{"start": "22:00", "end": "02:00"}]}, 400, "period_invalid"),
    (f"{CAL_API}/periods", {"periods": [{"start": "8:30", "end": "12:00"}]}, 400, "period_invalid"),
    (f"{CAL_API}/periods", {"periods": [{"start": "08:30", "end": "24:00"}]}, 400, "period_invalid"),
    (f"{CAL_API}/periods", {"periods": [{"start": "08:00", "end": "12:00"}, {"start": "11:30", "end": "14:00"}]},
     400, "period_overlap"),
    (f"{CAL_API}/periods", {"periods": "08:00-12:00"}, 400, "periods_invalid"),
    (f"{CAL_API}/periods", {"periods": [{"start": "08:00", "end": "12:00"}], "version": "stale"}, 409,
     "version_conflict"),
])
def test_bad_calendar_input_changes_nothing(api, engine, url, body, status, code):
    before = snapshot(engine)
    assert_error(api.put(url, body), status, code)
    assert snapshot(engine) == before


def test_periods_edit_and_restore(api, engine):
    cur = api.get(f"{CAL_API}/periods").get_json()
    try:
        r = api.put(f"{CAL_API}/periods", {"periods": [{"start": "14:00", "end": "17:30"}, {"start": "08:00", "end": "12:00"},
                                                        {"start": "19:00", "end": "20:00"}], "version": cur["version"]})
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["hours_per_day"] == 8.5
        assert [p["start"] for p in r.get_json()["periods"]] == ["08:00", "14:00", "19:00"]
        # The stale version is refused now.
        assert_error(api.put(f"{CAL_API}/periods", {"periods": [{"start": "08:00", "end": "12:00"}],
                                                    "version": cur["version"]}), 409, "version_conflict")
        q = {"start": "2027-03-08T17:00", "hours": "1.5"}
        assert api.get(f"{CAL_API}/preview", query_string=q).get_json()["deadline"].startswith("2027-03-08T20:00")
    finally:
        api.put(f"{CAL_API}/periods", {"periods": [{"start": p["start"], "end": p["end"]} for p in cur["periods"]]})
    assert api.get(f"{CAL_API}/periods").get_json()["version"] == cur["version"]


def test_empty_calendar_config_is_refused_clearly(api, engine):
    with engine.begin() as c:
        saved = c.execute(text("SELECT start_time, end_time FROM cases.work_period")).all()
        c.execute(text("DELETE FROM cases.work_period"))
    try:
        e = assert_error(api.get(f"{CAL_API}/preview", query_string={"start": "2027-03-08T09:00", "hours": "1"}),
                         409, "calendar_empty")
        assert "工作时段" in e["message"]
    finally:
        with engine.begin() as c:
            for s, e2 in saved:
                c.execute(text("INSERT INTO cases.work_period (start_time, end_time) VALUES (:s, :e)"), {"s": s, "e": e2})


def test_preview_bad_input(api):
    assert_error(api.get(f"{CAL_API}/preview", query_string={"start": "soon", "hours": "1"}), 400, "start_invalid")
    assert_error(api.get(f"{CAL_API}/preview", query_string={"start": "2027-03-08T09:00", "hours": "-1"}), 400,
                 "hours_invalid")
    assert_error(api.get(CAL_API, query_string={"year": "20x7"}), 400, "year_invalid")
    assert_error(api.get(CAL_API, query_string={"month": "3"}), 400, "parameter_unknown")


# ---------------------------------------------------------------- import / export

def xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_export_round_trip(api, engine, clean_days):
    rows = [["日期", "类型", "说明"], ["2031-10-01", "休", "国庆节（测试数据）"], [dt.date(2031, 10, 2), "休", "国庆节（测试数据）"],
            ["2031/10/11", "班", "国庆节调休上班（测试数据）"]]
    r = api.upload(f"{CAL_API}/import", {"file": ("holidays.xlsx", xlsx(rows))})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"created": 3, "updated": 0, "unchanged": 0}
    # Again: nothing new.
    r = api.upload(f"{CAL_API}/import", {"file": ("holidays.xlsx", xlsx(rows))})
    assert r.get_json() == {"created": 0, "updated": 0, "unchanged": 3}

    exp = api.get(f"{CAL_API}/export", query_string={"year": 2031, "format": "csv"})
    assert exp.status_code == 200 and exp.data.startswith(b"\xef\xbb\xbf")
    got = list(csv.reader(io.StringIO(exp.data.decode("utf-8-sig"))))
    assert got == [["日期", "类型", "说明"], ["2031-10-01", "休", "国庆节（测试数据）"], ["2031-10-02", "休", "国庆节（测试数据）"],
                   ["2031-10-11", "班", "国庆节调休上班（测试数据）"]]
    ex = api.get(f"{CAL_API}/export", query_string={"year": 2031, "format": "xlsx"})
    wb = load_workbook(io.BytesIO(ex.data))
    assert [list(r) for r in wb.active.iter_rows(values_only=True)] == got

    # Delete them, re-import the exported CSV (GBK, as Excel saves it in China): same state.
    before = snapshot(engine)
    with engine.begin() as c:
        c.execute(text("DELETE FROM cases.calendar_day WHERE day BETWEEN '2031-01-01' AND '2031-12-31'"))
    gbk = exp.data.decode("utf-8-sig").encode("gb18030")
    r = api.upload(f"{CAL_API}/import", {"file": ("holidays.csv", gbk)})
    assert r.status_code == 200, r.get_json()
    assert snapshot(engine) == before
    year = api.get(CAL_API, query_string={"year": 2031}).get_json()
    day = {d["date"]: d for d in year["days"]}
    assert day["2031-10-01"]["is_workday"] is False and day["2031-10-11"]["is_workday"] is True


@pytest.mark.parametrize("name,content,status,code", [
    ("h.xlsx", [["日期", "类别", "说明"], ["2031-05-01", "休", ""]], 400, "import_header_invalid"),
    ("h.xlsx", [["日期", "类型", "说明"], ["2031-05-01", "放假", ""]], 400, "import_invalid"),
    ("h.xlsx", [["日期", "类型", "说明"], ["2031-02-30", "休", ""]], 400, "import_invalid"),
    ("h.xlsx", [["日期", "类型", "说明"], ["2031-05-01", "休", ""], ["2031-05-01", "班", ""]], 400, "import_invalid"),
    ("h.xlsx", [["日期", "类型", "说明"]], 400, "import_empty"),
    ("h.csv", "日期,类型,说明\n2031-05-01,休,劳动节\n2031-05-02,休,劳动节,多余\n", 400, "import_invalid"),
    ("h.txt", "日期,类型\n", 415, "upload_type_forbidden"),
    ("h.xlsx", b"not a zip at all", 415, "upload_type_mismatch"),
])
def test_bad_imports_change_nothing(api, engine, name, content, status, code):
    before = snapshot(engine)
    if isinstance(content, list):
        data = xlsx(content)
    elif isinstance(content, str):
        data = content.encode("utf-8")
    else:
        data = content
    e = assert_error(api.upload(f"{CAL_API}/import", {"file": (name, data)}), status, code)
    if code == "import_invalid":
        assert "第" in e["message"] and "行" in e["message"]
    assert snapshot(engine) == before


# ---------------------------------------------------------------- time limit rules

def test_rule_create_edit_delete(api, engine):
    r = api.post(TL_API, {"kind": "component", "class_code": "02", "stage": "handle", "hours": "48",
                          "warn_ratio": 0.25, "note": "道路交通类"})
    assert r.status_code == 201, r.get_json()
    rule = r.get_json()
    assert rule["hours"] == 48 and rule["warn_ratio"] == 0.25 and rule["class_name"] == "道路交通"
    try:
        assert_error(api.post(TL_API, {"kind": "component", "class_code": "02", "stage": "handle", "hours": 1}), 409,
                     "time_limit_exists")
        r = api.patch(f"{TL_API}/{rule['id']}", {"hours": 36.5, "natural_time": True, "version": rule["version"]})
        assert r.status_code == 200 and r.get_json()["hours"] == 36.5 and r.get_json()["version"] == 2
        assert_error(api.patch(f"{TL_API}/{rule['id']}", {"hours": 30, "version": 1}), 409, "version_conflict")
        listed = api.get(TL_API, query_string={"kind": "component", "big_class": "02"}).get_json()["items"]
        assert {i["class_code"] for i in listed} == {"*", "02"}
    finally:
        assert api.delete(f"{TL_API}/{rule['id']}").status_code == 204
    assert_error(api.delete(f"{TL_API}/{rule['id']}"), 404, "time_limit_not_found")


def test_default_rule_cannot_be_deleted(api, engine):
    default = next(i for i in api.get(TL_API, query_string={"kind": "event"}).get_json()["items"]
                   if i["class_code"] == "*" and i["stage"] == "handle")
    before = snapshot(engine)
    assert_error(api.delete(f"{TL_API}/{default['id']}"), 409, "default_rule_required")
    assert snapshot(engine) == before


@pytest.mark.parametrize("body,status,code", [
    ({"kind": "component", "class_code": "0101", "stage": "repair", "hours": 1}, 400, "stage_unknown"),
    ({"kind": "vehicle", "class_code": "0101", "stage": "handle", "hours": 1}, 400, "kind_invalid"),
    ({"kind": "component", "class_code": "0199", "stage": "accept", "hours": 1}, 400, "class_unknown"),
    ({"kind": "event", "class_code": "99", "stage": "accept", "hours": 1}, 400, "class_unknown"),
    ({"kind": "component", "class_code": "1a", "stage": "accept", "hours": 1}, 400, "class_code_invalid"),
    ({"kind": "component", "class_code": "010", "stage": "accept", "hours": 1}, 400, "class_code_invalid"),
    ({"kind": "component", "class_code": "0100", "stage": "accept", "hours": 1}, 400, "class_code_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": -1}, 400, "hours_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": 0}, 400, "hours_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": 2000.5}, 400, "hours_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": "NaN"}, 400, "hours_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": 0.333}, 400, "hours_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": True}, 400, "hours_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": 1, "warn_ratio": 1}, 400,
     "warn_ratio_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": 1, "natural_time": "yes"}, 400,
     "natural_time_invalid"),
    ({"kind": "component", "class_code": "0201", "stage": "accept"}, 400, "field_missing"),
    ({"kind": "component", "class_code": "0201", "stage": "accept", "hours": 1, "urgent": True}, 400, "field_unknown"),
    ({"kind": "component", "class_code": "0101", "stage": "handle", "hours": 1}, 409, "time_limit_exists"),
    ({"kind": "component", "class_code": "*", "stage": "accept", "hours": 1}, 409, "time_limit_exists"),
])
def test_bad_rules_change_nothing(api, engine, body, status, code):
    before = snapshot(engine)
    assert_error(api.post(TL_API, body), status, code)
    assert snapshot(engine) == before


def test_bad_edits_change_nothing(api, engine):
    rule = next(i for i in api.get(TL_API).get_json()["items"] if i["class_code"] == "0101")
    before = snapshot(engine)
    for body, code in [({"hours": 5000, "version": rule["version"]}, "hours_invalid"),
                       ({"hours": 5}, "version_required"),
                       ({"class_code": "0102", "version": rule["version"]}, "field_unknown")]:
        assert_error(api.patch(f"{TL_API}/{rule['id']}", body), 400, code)
    assert_error(api.patch(f"{TL_API}/999999", {"hours": 5, "version": 1}), 404, "time_limit_not_found")
    assert_error(api.get(f"{TL_API}/resolve", query_string={"kind": "event", "class_code": "04", "stage": "handle"}),
                 400, "class_code_invalid")
    assert snapshot(engine) == before


# ---------------------------------------------------------------- permissions

def test_permissions(app, passwords, chief, engine):
    assert chief.get(TL_API).status_code == 200  # 值班长 has case:config
    acceptor = json_api(app, "acceptor", passwords["demo"])
    before = snapshot(engine)
    assert acceptor.get(TL_API).status_code == 403
    assert acceptor.get("/cases/config/calendar").status_code == 403
    assert acceptor.put(f"{CAL_API}/days/2027-05-05", {"is_workday": False}).status_code == 403
    assert acceptor.post(TL_API, {"kind": "event", "class_code": "05", "stage": "accept", "hours": 1}).status_code == 403
    assert snapshot(engine) == before
    anon = app.test_client()
    assert anon.get(TL_API, headers={"Accept": "application/json"}).status_code == 401


def test_pages_render(api):
    page = api.c.get("/cases/config/calendar").get_data(as_text=True)
    assert "工作日历" in page and "calendar.js" in page
    page = api.c.get("/cases/config/time-limits").get_data(as_text=True)
    assert "办理时限" in page and "上水井盖" in page
