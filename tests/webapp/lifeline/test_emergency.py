"""Emergency management API (R117): the demo seed, CRUD with validation and
optimistic locking for every resource, plan files through the upload gate,
nearest resources in true metric order (checked against plain SQL over the
whole table), refusals that change nothing, and permissions."""
from __future__ import annotations

import psycopg
import pytest

from ogc.config import libpq_dsn
from tests.conftest import assert_error, json_api

API = "/api/lifeline/emergency"
TABLES = ("emergency_team", "emergency_person", "emergency_expert", "emergency_document", "emergency_material")


@pytest.fixture(scope="module")
def dsn(demo_db):
    return libpq_dsn(demo_db)


@pytest.fixture(scope="module")
def seeded(app):
    from webapp.lifeline.emergency import seed_demo
    with app.app_context():
        db = app.extensions["cityops.sessions"]()
        seed_demo(db, log=lambda *_: None)
        db.commit()
        seed_demo(db, log=lambda *_: None)      # idempotent
        db.commit()
        db.close()


@pytest.fixture()
def admin(app, passwords, seeded):
    return json_api(app, "admin", passwords["admin"])


@pytest.fixture()
def viewer(app, passwords, seeded):
    return json_api(app, "leader", passwords["demo"])


def snapshot(dsn):
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM lifeline.{t} t")
                .fetchone()[0] for t in TABLES}


def test_seed_lists(viewer):
    teams = viewer.get(f"{API}/teams").get_json()
    names = {t["name"] for t in teams["items"]}
    assert {"燃气抢修队", "供水抢修队", "排水防汛队", "热力抢修队", "桥梁养护队", "消防救援大队"} <= names
    assert teams["total"] == len(teams["items"]) == 9
    gas = viewer.get(f"{API}/teams?specialty=gas").get_json()["items"]
    assert gas and all(t["specialty"] == "gas" and t["specialty_name"] == "燃气抢修" for t in gas)
    plans = viewer.get(f"{API}/documents?kind=plan").get_json()["items"]
    assert plans and all(p["kind"] == "plan" and p["has_file"] for p in plans)
    f = viewer.get(f"{API}/documents/{plans[0]['id']}/file")
    assert f.status_code == 200 and plans[0]["title"] in f.get_data(as_text=True)
    mats = viewer.get(f"{API}/materials?q=沙袋").get_json()["items"]
    assert mats[0]["name"] == "防汛沙袋" and mats[0]["lon"] and mats[0]["storage_name"]
    team = viewer.get(f"{API}/teams/{gas[0]['id']}").get_json()
    assert team["people"] and all(p["team_id"] == gas[0]["id"] for p in team["people"])
    fc = viewer.get(f"{API}/map").get_json()
    assert {f["properties"]["kind"] for f in fc["features"]} == {"team", "material", "expert_org"}


def test_crud_team_people_material(admin, dsn):
    body = {"dept_code": "D013", "name": "测试供水抢修二队", "leader": "测试", "phone": "13800000000",
            "members_count": 6, "specialty": "water", "base_name": "测试驻地", "lon": 114.02, "lat": 33.38}
    r = admin.post(f"{API}/teams", body)
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert t["dept_name"] == "西平县自来水公司" and abs(t["lon"] - 114.02) < 1e-9 and t["version"] == 1
    assert_error(admin.post(f"{API}/teams", body), 409, "name_taken")
    p = admin.post(f"{API}/people", {"team_id": t["id"], "dept_code": "D013", "name": "甲", "role": "队员",
                                     "phone": "13800000001"}).get_json()
    assert_error(admin.delete(f"{API}/teams/{t['id']}"), 409, "team_has_people")
    r = admin.patch(f"{API}/teams/{t['id']}", {"members_count": 7, "version": 1})
    assert r.status_code == 200 and r.get_json()["version"] == 2 and r.get_json()["members_count"] == 7
    before = snapshot(dsn)
    assert_error(admin.patch(f"{API}/teams/{t['id']}", {"members_count": 8, "version": 1}), 409, "version_conflict")
    assert_error(admin.patch(f"{API}/teams/{t['id']}", {"members_count": 8}), 400, "version_missing")
    assert snapshot(dsn) == before
    assert admin.delete(f"{API}/people/{p['id']}").status_code == 204
    assert admin.delete(f"{API}/teams/{t['id']}").status_code == 204
    assert_error(admin.get(f"{API}/teams/{t['id']}"), 404, "resource_not_found")
    m = admin.post(f"{API}/materials", {"name": "测试抽水泵", "type": "equipment", "category": "flood", "quantity": 3,
                                        "unit": "台", "storage_name": "测试库", "dept_code": "D016", "expiry": "2027-06-30",
                                        "lon": 114.03, "lat": 33.37})
    assert m.status_code == 201 and m.get_json()["quantity"] == 3.0 and m.get_json()["expiry"] == "2027-06-30"
    assert admin.delete(f"{API}/materials/{m.get_json()['id']}").status_code == 204


def test_documents_with_files(admin, viewer, dsn):
    body = {"kind": "plan", "category": "special", "title": "测试桥梁突发事件应急预案", "issued_on": "2026-01-05"}
    r = admin.upload(f"{API}/documents", {"file": ("桥梁预案.txt", "第一章 总则\n".encode())},
                     data=__import__("json").dumps(body))
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["file_name"] == "桥梁预案.txt" and d["category_name"] == "专项应急预案"
    assert viewer.get(f"{API}/documents/{d['id']}/file").get_data(as_text=True) == "第一章 总则\n"
    before = snapshot(dsn)
    bad = admin.upload(f"{API}/documents", {"file": ("预案.pdf", b"not a pdf at all")}, data=__import__("json").dumps(body))
    assert_error(bad, 415, "upload_type_mismatch")
    bad = admin.upload(f"{API}/documents", {"file": ("预案.exe", b"MZ....")}, data=__import__("json").dumps(body))
    assert_error(bad, 415, "upload_type_forbidden")
    assert_error(admin.post(f"{API}/documents", dict(body, category="law")), 400, "choice_invalid")
    assert snapshot(dsn) == before
    # a category edit is checked against the document's own kind
    assert_error(admin.patch(f"{API}/documents/{d['id']}", {"category": "law", "version": 1}), 400, "choice_invalid")
    r = admin.patch(f"{API}/documents/{d['id']}", {"category": "department", "version": 1})
    assert r.status_code == 200 and r.get_json()["category_name"] == "部门应急预案"
    assert admin.delete(f"{API}/documents/{d['id']}").status_code == 204


@pytest.mark.parametrize("res,body,code", [
    ("teams", {"name": "缺字段"}, "field_missing"),
    ("teams", {"dept_code": "D999", "name": "X", "leader": "X", "phone": "13800000000", "members_count": 1,
               "specialty": "gas", "base_name": "X", "lon": 114.02, "lat": 33.38}, "dept_unknown"),
    ("teams", {"dept_code": "D013", "name": "X", "leader": "X", "phone": "电话", "members_count": 1,
               "specialty": "gas", "base_name": "X", "lon": 114.02, "lat": 33.38}, "phone_invalid"),
    ("teams", {"dept_code": "D013", "name": "X", "leader": "X", "phone": "13800000000", "members_count": -1,
               "specialty": "gas", "base_name": "X", "lon": 114.02, "lat": 33.38}, "field_invalid"),
    ("teams", {"dept_code": "D013", "name": "X", "leader": "X", "phone": "13800000000", "members_count": 1,
               "specialty": "magic", "base_name": "X", "lon": 114.02, "lat": 33.38}, "choice_invalid"),
    ("teams", {"dept_code": "D013", "name": "X", "leader": "X", "phone": "13800000000", "members_count": 1,
               "specialty": "gas", "base_name": "X", "lon": 116.4, "lat": 39.9}, "outside_county"),
    ("teams", {"dept_code": "D013", "name": "X", "leader": "X", "phone": "13800000000", "members_count": 1,
               "specialty": "gas", "base_name": "X"}, "location_missing"),
    ("materials", {"name": "X", "type": "material", "category": "flood", "quantity": "many", "unit": "个",
                   "storage_name": "X", "dept_code": "D016", "lon": 114.02, "lat": 33.38}, "field_invalid"),
    ("materials", {"name": "X", "type": "material", "category": "flood", "quantity": 1, "unit": "个",
                   "storage_name": "X", "dept_code": "D016", "expiry": "明年", "lon": 114.02, "lat": 33.38},
     "date_invalid"),
    ("people", {"team_id": 99999, "dept_code": "D013", "name": "X", "role": "X", "phone": "13800000000"}, "team_unknown"),
    ("experts", {"name": "X", "industry": "gas", "title": "X", "org": "X", "phone": "13800000000", "extra": 1},
     "field_unknown"),
])
def test_validation_changes_nothing(admin, dsn, res, body, code):
    before = snapshot(dsn)
    assert_error(admin.post(f"{API}/{res}", body), 400, code)
    assert snapshot(dsn) == before


def test_nearest_in_metric_order(viewer, dsn):
    x, y = 114.0305, 33.3755
    r = viewer.get(f"{API}/nearest?lon={x}&lat={y}&kind=team,material,expert_org&limit=4")
    assert r.status_code == 200, r.get_json()
    got = r.get_json()["results"]
    with psycopg.connect(dsn) as conn:
        for kind, table in (("team", "emergency_team"), ("material", "emergency_material"),
                            ("expert_org", "emergency_expert")):
            want = conn.execute(f"""
                SELECT id, round(ST_Distance(ST_Transform(geom, 4547),
                       ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4490), 4547))::numeric, 1)::float AS d
                  FROM lifeline.{table} WHERE geom IS NOT NULL ORDER BY 2, 1 LIMIT 4""", (x, y)).fetchall()
            assert [(g["id"], g["distance_m"]) for g in got[kind]] == [tuple(w) for w in want]
            ds = [g["distance_m"] for g in got[kind]]
            assert ds == sorted(ds)


@pytest.mark.parametrize("q,code", [("lon=114.02&lat=33.38&kind=boat", "kind_invalid"),
                                    ("lon=114.02&lat=33.38&limit=0", "limit_invalid"),
                                    ("lon=114.02&lat=33.38&limit=x", "limit_invalid"),
                                    ("kind=team", "location_missing"),
                                    ("lon=120&lat=30", "outside_county")])
def test_nearest_bad_input(viewer, q, code):
    assert_error(viewer.get(f"{API}/nearest?{q}"), 400, code)


def test_permissions(app, passwords, seeded, dsn):
    leader = json_api(app, "leader", passwords["demo"])
    before = snapshot(dsn)
    assert_error(leader.post(f"{API}/experts", {"name": "X", "industry": "gas", "title": "X", "org": "X",
                                                "phone": "13800000000"}), 403, "forbidden")
    assert_error(leader.delete(f"{API}/teams/1"), 403, "forbidden")
    assert snapshot(dsn) == before
    acceptor = json_api(app, "acceptor", passwords["demo"])
    assert_error(acceptor.get(f"{API}/teams"), 403, "forbidden")
    assert acceptor.get("/lifeline/emergency").status_code == 403
    assert app.test_client().get(f"{API}/nearest?lon=114.02&lat=33.38").status_code == 401
    page = leader.get("/lifeline/emergency").get_data(as_text=True)
    assert "最近资源" in page and 'data-can-edit="false"' in page
    assert_error(leader.get(f"{API}/boats"), 404, "resource_unknown")
