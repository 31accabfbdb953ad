"""业务指导 (R1) API and pages against the real PostGIS: categories, article
CRUD with status rules and optimistic locking, visibility by role and region
(list, detail, download, search), Chinese full-text search quality,
attachments through the upload gate, and refused input changing nothing."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORDS, login

BOCHENG, BOTING = "411721001", "411721002"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def uid() -> str:
    return uuid.uuid4().hex[:8]


def token(client) -> str:
    page = client.get("/guidance/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def as_user(app, username: str, password: str | None = None):
    c = app.test_client()
    assert login(c, username, password or PASSWORDS["demo"]).status_code == 302
    c.environ_base["HTTP_X_CSRFTOKEN"] = token(c)
    return c


@pytest.fixture(scope="module")
def engine(app):
    eng = create_engine(app.extensions["cityops.url"])
    yield eng
    eng.dispose()


@pytest.fixture(scope="module", autouse=True)
def _cleanup(engine):
    """Remove this module's test categories (t_…) and their articles afterwards,
    so later tests and screenshots see the demo content only."""
    yield
    with engine.begin() as c:
        c.execute(text("DELETE FROM guidance.article WHERE category_code LIKE 't\\_%'"))
        c.execute(text("DELETE FROM guidance.category WHERE code LIKE 't\\_%' AND parent_code IS NOT NULL"))
        c.execute(text("DELETE FROM guidance.category WHERE code LIKE 't\\_%'"))


@pytest.fixture()
def admin(app):
    return as_user(app, "admin", PASSWORDS["admin"])


@pytest.fixture()
def acceptor(app):
    return as_user(app, "acceptor")


@pytest.fixture()
def supervisor(app):          # role supervisor, region 411721001 (柏城街道)
    return as_user(app, "supervisor")


@pytest.fixture()
def handler(app):             # role dept_handler, no region
    return as_user(app, "handler")


def err(r) -> str:
    return r.get_json()["error"]["code"]


def new_category(admin) -> str:
    code = "t_" + uid()
    r = admin.post("/api/guidance/categories", json={"code": code, "name": "测试栏目" + code[-4:]})
    assert r.status_code == 201, r.get_json()
    return code


def create(admin, category: str, publish: bool = True, **fields) -> dict:
    body = {"category_code": category, "title": fields.pop("title", "测试文章" + uid()), **fields}
    r = admin.post("/api/guidance/articles", json=body)
    assert r.status_code == 201, r.get_json()
    a = r.get_json()
    if publish:
        r = admin.post(f"/api/guidance/articles/{a['id']}/publish", json={"version": a["version"]})
        assert r.status_code == 200, r.get_json()
        a = r.get_json()
    return a


def ids(client, **params) -> list[int]:
    r = client.get("/api/guidance/articles", query_string={"size": 100, **params})
    assert r.status_code == 200, r.get_json()
    return [i["id"] for i in r.get_json()["items"]]


def counts(engine) -> tuple[int, int, int, int]:
    with engine.connect() as c:
        return tuple(c.execute(text(
            "SELECT (SELECT count(*) FROM guidance.category), (SELECT count(*) FROM guidance.article), "
            "(SELECT count(*) FROM guidance.attachment), (SELECT coalesce(sum(version), 0) FROM guidance.article)"
        )).one())


# ---------------------------------------------------------------- demo data and categories

def test_demo_seed_categories_and_articles(admin, acceptor):
    tree = admin.get("/api/guidance/categories").get_json()["tree"]
    roots = {n["name"]: n for n in tree}
    assert {"政策法规", "行业动态", "经验交流"} <= set(roots)
    assert [c["name"] for c in roots["政策法规"]["children"]][:3] == ["法律法规", "标准规范", "地方规定"]
    body = admin.get("/api/guidance/articles?size=100").get_json()
    assert body["total"] >= 30
    statuses = {i["status"] for i in body["items"]}
    assert statuses == {"draft", "published", "withdrawn"}
    # A reader sees only published articles; pinned ones come first.
    items = acceptor.get("/api/guidance/articles?size=100").get_json()["items"]
    assert items and all(i["status"] == "published" for i in items)
    pins = [i["pinned"] for i in items]
    assert pins == sorted(pins, reverse=True) and pins[0] is True
    assert len(items) < body["total"]


def test_demo_seed_is_idempotent(app):
    from webapp.guidance.service import seed_demo
    sessions = app.extensions["cityops.sessions"]
    with sessions() as db:
        before = db.execute(text("SELECT count(*) FROM guidance.article")).scalar()
        seed_demo(db, log=lambda *_: None)
        after = db.execute(text("SELECT count(*) FROM guidance.article")).scalar()
    assert before == after


def test_categories_crud_and_guards(admin, acceptor, engine):
    root = new_category(admin)
    r = admin.post("/api/guidance/categories", json={"code": root + "_c", "name": "子栏目", "parent_code": root})
    assert r.status_code == 201
    child = r.get_json()
    before = counts(engine)
    assert err(admin.post("/api/guidance/categories", json={"code": root + "_d", "name": "孙栏目",
                                                            "parent_code": child["code"]})) == "category_depth"
    assert admin.post("/api/guidance/categories", json={"code": root, "name": "重复"}).status_code == 409
    assert err(admin.post("/api/guidance/categories", json={"code": "坏编码", "name": "x"})) == "category_code_invalid"
    assert err(admin.post("/api/guidance/categories", json={"code": "ok_code", "name": " "})) == "field_required"
    assert err(admin.post("/api/guidance/categories", json={"code": "ok_code", "name": "x", "x": 1})) == \
        "field_unknown"
    assert acceptor.post("/api/guidance/categories", json={"code": "zz_" + uid(), "name": "x"}).status_code == 403
    assert counts(engine) == before
    r = admin.patch(f"/api/guidance/categories/{child['code']}", json={"name": "改名后", "version": 1})
    assert r.status_code == 200 and r.get_json()["version"] == 2
    r = admin.patch(f"/api/guidance/categories/{child['code']}", json={"name": "旧版本", "version": 1})
    assert r.status_code == 409 and err(r) == "version_conflict"
    a = create(admin, child["code"], publish=False)
    r = admin.delete(f"/api/guidance/categories/{root}")
    assert r.status_code == 409 and err(r) == "category_in_use"
    assert admin.delete(f"/api/guidance/articles/{a['id']}").status_code == 204
    assert admin.delete(f"/api/guidance/categories/{child['code']}").status_code == 204
    assert admin.delete(f"/api/guidance/categories/{root}").status_code == 204
    assert admin.delete(f"/api/guidance/categories/{root}").status_code == 404


# ---------------------------------------------------------------- articles

def test_create_edit_publish_withdraw_delete(admin, acceptor, engine):
    cat = new_category(admin)
    a = create(admin, cat, publish=False, summary="摘要", body="## 小标题\n\n正文 **加粗**", doc_no="西城管〔2026〕1号",
               source="西平县城市管理局", effective_date="2026-01-01", pinned=True)
    assert a["status"] == "draft" and a["version"] == 1 and a["author_name"] == "系统管理员"
    assert "<h2>小标题</h2>" in a["body_html"] and "<strong>加粗</strong>" in a["body_html"]
    # Readers do not see drafts, anywhere.
    assert acceptor.get(f"/api/guidance/articles/{a['id']}").status_code == 404
    assert a["id"] not in ids(acceptor, category=cat)
    assert acceptor.get(f"/guidance/articles/{a['id']}").status_code == 404
    r = admin.patch(f"/api/guidance/articles/{a['id']}", json={"title": "修改后的标题", "version": 1})
    assert r.status_code == 200 and r.get_json()["version"] == 2
    r = admin.post(f"/api/guidance/articles/{a['id']}/publish", json={"version": 2})
    assert r.status_code == 200 and r.get_json()["status"] == "published" and r.get_json()["published_at"]
    assert acceptor.get(f"/api/guidance/articles/{a['id']}").get_json()["title"] == "修改后的标题"
    assert ids(acceptor, category=cat) == [a["id"]]
    # Illegal transitions and deleting a published article are refused and change nothing.
    before = counts(engine)
    r = admin.post(f"/api/guidance/articles/{a['id']}/publish")
    assert r.status_code == 409 and err(r) == "status_transition_invalid"
    r = admin.delete(f"/api/guidance/articles/{a['id']}")
    assert r.status_code == 409 and err(r) == "article_not_draft"
    assert counts(engine) == before
    r = admin.post(f"/api/guidance/articles/{a['id']}/withdraw")
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    assert acceptor.get(f"/api/guidance/articles/{a['id']}").status_code == 404
    assert err(admin.post(f"/api/guidance/articles/{a['id']}/withdraw")) == "status_transition_invalid"
    assert admin.post(f"/api/guidance/articles/{a['id']}/publish").status_code == 200
    # Writes reach the operation log.
    with engine.connect() as c:
        actions = c.execute(text("SELECT action FROM admin.operation_log WHERE target_table = 'guidance.article' "
                                 "AND (target_id = :i OR (action = 'create' AND after->>'title' = :t))"),
                            {"i": str(a["id"]), "t": a["title"]}).scalars().all()
    assert "create" in actions and actions.count("update") >= 4
    d = create(admin, cat, publish=False)
    assert admin.delete(f"/api/guidance/articles/{d['id']}").status_code == 204
    assert admin.get(f"/api/guidance/articles/{d['id']}").status_code == 404


def test_version_conflict(admin, engine):
    a = create(admin, new_category(admin), publish=False, title="并发编辑测试")
    assert admin.patch(f"/api/guidance/articles/{a['id']}", json={"summary": "第一人", "version": 1}).status_code == 200
    before = counts(engine)
    r = admin.patch(f"/api/guidance/articles/{a['id']}", json={"summary": "第二人", "version": 1})
    assert r.status_code == 409 and err(r) == "version_conflict"
    assert r.get_json()["error"]["details"]["current_version"] == 2
    r = admin.post(f"/api/guidance/articles/{a['id']}/publish", json={"version": 1})
    assert r.status_code == 409
    assert err(admin.patch(f"/api/guidance/articles/{a['id']}", json={"summary": "无版本"})) == "version_required"
    assert counts(engine) == before
    assert admin.get(f"/api/guidance/articles/{a['id']}").get_json()["summary"] == "第一人"


@pytest.mark.parametrize("body, code", [
    ({"title": "x", "category_code": "policy_law", "colour": "red"}, "field_unknown"),
    ({"title": "  ", "category_code": "policy_law"}, "field_required"),
    ({"category_code": "policy_law"}, "field_required"),
    ({"title": "x", "category_code": "no_such_cat"}, "category_unknown"),
    ({"title": "x", "category_code": "policy_law", "visible_roles": ["nobody"]}, "role_unknown"),
    ({"title": "x", "category_code": "policy_law", "visible_regions": ["411721999"]}, "region_unknown"),
    ({"title": "x", "category_code": "policy_law", "visible_regions": "411721001"}, "field_invalid"),
    ({"title": "x", "category_code": "policy_law", "effective_date": "2026-13-01"}, "field_invalid"),
    ({"title": "x", "category_code": "policy_law", "pinned": "yes"}, "field_invalid"),
    ({"title": "x" * 201, "category_code": "policy_law"}, "field_invalid"),
    ({"title": "x", "category_code": "policy_law", "status": "published"}, "field_readonly"),
    ({"title": "x", "category_code": "policy_law", "dept_code": "NOPE"}, "dept_unknown"),
])
def test_bad_article_input_is_refused_and_changes_nothing(admin, engine, body, code):
    before = counts(engine)
    r = admin.post("/api/guidance/articles", json=body)
    assert 400 <= r.status_code < 500 and err(r) == code, r.get_json()
    assert re.search(r"[\u4e00-\u9fff]", r.get_json()["error"]["message"])
    assert counts(engine) == before


def test_bad_list_parameters(acceptor, admin):
    assert err(acceptor.get("/api/guidance/articles?foo=1")) == "parameter_unknown"
    assert err(acceptor.get("/api/guidance/articles?page=0")) == "parameter_invalid"
    assert err(acceptor.get("/api/guidance/articles?size=abc")) == "parameter_invalid"
    assert err(acceptor.get("/api/guidance/articles?status=gone")) == "parameter_invalid"
    assert err(acceptor.get("/api/guidance/articles?category=nope")) == "category_unknown"
    assert err(acceptor.get("/api/guidance/articles", query_string={"q": "井" * 101})) == "parameter_invalid"
    assert admin.post("/api/guidance/articles", data="not json", content_type="application/json").status_code == 400
    assert acceptor.post("/api/guidance/articles", json={"title": "x", "category_code": "policy_law"}).status_code \
        == 403
    assert acceptor.get("/guidance/edit").status_code == 403
    assert acceptor.get("/guidance/categories").status_code == 403


# ---------------------------------------------------------------- visibility

@pytest.fixture(scope="module")
def scoped(app):
    """Four articles with one shared token, limited in different ways, and a
    user who lives in a community of 柏城街道."""
    admin = as_user(app, "admin", PASSWORDS["admin"])
    tok = "vis" + uid()
    cat = new_category(admin)
    arts = {
        "all": create(admin, cat, title=f"全员可见 {tok}"),
        "supervisor": create(admin, cat, title=f"仅监督员 {tok}", visible_roles=["supervisor"]),
        "bocheng": create(admin, cat, title=f"仅柏城街道 {tok}", visible_regions=[BOCHENG]),
        "handler_boting": create(admin, cat, title=f"柏亭专业部门 {tok}", visible_roles=["dept_handler"],
                                 visible_regions=[BOTING]),
    }
    for a in arts.values():
        r = admin.post(f"/api/guidance/articles/{a['id']}/attachments",
                       data={"file": (__import__("io").BytesIO(PDF), f"附件{tok}.pdf")},
                       content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
        a["attachment"] = r.get_json()["id"]
    with app.extensions["cityops.sessions"]() as db:
        community = db.execute(text("SELECT code FROM geo.region WHERE parent_code = :s AND level = 'community' "
                                    "ORDER BY code LIMIT 1"), {"s": BOCHENG}).scalar()
    name = "gd" + uid()
    r = admin.post("/api/admin/users", json={"username": name, "display_name": "社区用户", "password": "Xiping2026a",
                                             "roles": ["acceptor"], "region_code": community})
    assert r.status_code == 201, r.get_json()
    with app.extensions["cityops.sessions"]() as db:   # skip the forced first-login password change
        db.execute(text("UPDATE admin.\"user\" SET must_change_password = false WHERE username = :u"), {"u": name})
        db.commit()
    return {"tok": tok, "cat": cat, "arts": arts, "community_user": name}


EXPECTED = {
    "admin": {"all", "supervisor", "bocheng", "handler_boting"},     # editor: everything
    "acceptor": {"all"},
    "supervisor": {"all", "supervisor", "bocheng"},                  # supervisor in 柏城街道
    "handler": {"all"},                                              # dept_handler but no region
    "community": {"all", "bocheng"},                                 # acceptor in a 柏城 community
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_visibility_by_role_and_region(app, scoped, who):
    if who == "admin":
        c = as_user(app, "admin", PASSWORDS["admin"])
    elif who == "community":
        c = as_user(app, scoped["community_user"], "Xiping2026a")
    else:
        c = as_user(app, who)
    arts = scoped["arts"]
    want = {arts[k]["id"] for k in EXPECTED[who]}
    assert set(ids(c, category=scoped["cat"])) == want                  # list
    assert set(ids(c, q=scoped["tok"])) == want                         # search
    r = c.get("/api/guidance/categories")
    node = next(n for n in r.get_json()["tree"] if n["code"] == scoped["cat"])
    assert node["count"] == len(want)                                   # category counts
    for key, a in arts.items():
        seen = key in EXPECTED[who]
        assert (c.get(f"/api/guidance/articles/{a['id']}").status_code == 200) is seen, key
        assert (c.get(f"/guidance/articles/{a['id']}").status_code == 200) is seen, key
        dl = c.get(f"/guidance/attachments/{a['attachment']}")
        assert (dl.status_code == 200) is seen, (key, dl.status_code)
        if seen:
            assert dl.data == PDF
        page = c.get("/guidance/", query_string={"q": scoped["tok"]}).get_data(as_text=True)
        assert (f'data-id="{a["id"]}"' in page) is seen


def test_handler_in_boting_sees_its_article(app, scoped, admin):
    """Same role, different region: moving the handler to 柏亭街道 opens the article."""
    r = admin.get("/api/admin/users", query_string={"q": "handler"})
    user = next(u for u in r.get_json()["items"] if u["username"] == "handler")
    r = admin.patch(f"/api/admin/users/{user['id']}", json={"region_code": BOTING, "version": user["version"]})
    assert r.status_code == 200
    try:
        c = as_user(app, "handler")
        art = scoped["arts"]["handler_boting"]
        assert c.get(f"/api/guidance/articles/{art['id']}").status_code == 200
        assert art["id"] in ids(c, q=scoped["tok"])
    finally:
        v = admin.get(f"/api/admin/users/{user['id']}").get_json()["version"]
        assert admin.patch(f"/api/admin/users/{user['id']}", json={"region_code": None, "version": v}).status_code \
            == 200


# ---------------------------------------------------------------- search quality

@pytest.fixture(scope="module")
def corpus(app):
    admin = as_user(app, "admin", PASSWORDS["admin"])
    cat = new_category(admin)
    docs = {
        "title_jg": dict(title="窨井盖板更换技术要求", body="规定了更换作业的安全措施。"),
        "body_jg": dict(title="道路设施巡查要点", body="巡查时注意井盖是否缺失。井盖破损要立即上报。还要看井盖是否移位。"),
        "split_jg": dict(title="排水设施说明", body="检查井，盖子另行采购。"),
        "zhandao": dict(title="门前秩序整治", summary="集中整治占道经营和店外经营。", body="共劝导摊点 300 处。"),
        "split_phrase": dict(title="夜市管理", body="严禁占道。设置经营疏导点若干。"),
        "phrase": dict(title="疏导点建设", body="在城区设置占道经营疏导点，引导摊贩入点经营。"),
        "gbt": dict(title="单元网格划分", doc_no="GB/T 30428.1-2013", body="按 GB/T 30428 划分单元网格。"),
        "gbt_other": dict(title="其他国家标准", body="参照 GB/T 50000 执行，与 30428 无关的编号仅作对照。"),
        "mixed": dict(title="数字城管app使用说明", body="城管通APP用于监督员上报。"),
    }
    out = {k: create(admin, cat, **v)["id"] for k, v in docs.items()}
    return cat, out


def search(client, cat, q):
    r = client.get("/api/guidance/articles", query_string={"q": q, "category": cat, "size": 50})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_search_two_character_words(acceptor, corpus):
    cat, d = corpus
    body = search(acceptor, cat, "井盖")
    found = [i["id"] for i in body["items"]]
    assert set(found) == {d["title_jg"], d["body_jg"]}          # not "检查井，盖子" (across punctuation)
    assert found[0] == d["title_jg"]                             # title outranks body, even 3 body hits
    assert body["items"][0]["rank"] > body["items"][1]["rank"]
    assert "<mark>井盖</mark>" in body["items"][0]["title_html"]
    assert "<mark>井盖</mark>" in body["items"][1]["snippet_html"]
    assert {i["id"] for i in search(acceptor, cat, "占道")["items"]} == {d["zhandao"], d["split_phrase"], d["phrase"]}


def test_search_phrases_and_terms(acceptor, corpus):
    cat, d = corpus
    assert [i["id"] for i in search(acceptor, cat, "占道经营疏导点")["items"]] == [d["phrase"]]
    # Two terms: both must occur, anywhere.
    assert {i["id"] for i in search(acceptor, cat, "占道 疏导点")["items"]} == {d["split_phrase"], d["phrase"]}
    assert search(acceptor, cat, "井盖板更换")["items"][0]["id"] == d["title_jg"]
    assert search(acceptor, cat, "没有这个词组")["total"] == 0
    # One character has no bigram: matched by substring.
    assert d["split_jg"] in {i["id"] for i in search(acceptor, cat, "盖")["items"]}


def test_search_mixed_chinese_and_ascii(acceptor, corpus):
    cat, d = corpus
    assert [i["id"] for i in search(acceptor, cat, "GB/T 30428")["items"]] == [d["gbt"]]
    assert [i["id"] for i in search(acceptor, cat, "gb/t30428.1")["items"]] == [d["gbt"]]
    assert [i["id"] for i in search(acceptor, cat, "ＧＢ／Ｔ　３０４２８")["items"]] == [d["gbt"]]   # full width
    assert {i["id"] for i in search(acceptor, cat, "城管app")["items"]} == {d["mixed"]}
    body = search(acceptor, cat, "GB/T 30428")
    assert "<mark>GB/T 30428</mark>" in body["items"][0]["snippet_html"] or \
        "<mark>GB/T</mark>" in body["items"][0]["snippet_html"]


def test_search_ignores_markup_and_escapes_output(admin, acceptor):
    cat = new_category(admin)
    a = create(admin, cat, title="<b>标题</b>测试", body="[链接](javascript:alert(1)) <script>alert(1)</script> 安全词语")
    body = search(acceptor, cat, "安全词语")
    assert [i["id"] for i in body["items"]] == [a["id"]]
    assert "<script>" not in body["items"][0]["snippet_html"] and "<b>" not in body["items"][0]["title_html"]
    html = acceptor.get(f"/api/guidance/articles/{a['id']}").get_json()["body_html"]
    assert "<script>" not in html and 'href="javascript' not in html
    page = acceptor.get(f"/guidance/articles/{a['id']}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;b&gt;标题" in page


# ---------------------------------------------------------------- attachments

def test_attachments_upload_download_and_refusals(app, admin, acceptor, engine):
    from webapp import sysconfig
    cat = new_category(admin)
    a = create(admin, cat)
    name = "西平县井盖管理办法（2026年修订）.pdf"
    r = admin.post(f"/api/guidance/articles/{a['id']}/attachments", data={"file": (__import__("io").BytesIO(PDF), name)},
                   content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    att = r.get_json()
    assert att["filename"] == name and att["size"] == len(PDF)
    dl = acceptor.get(att["url"])
    assert dl.status_code == 200 and dl.data == PDF
    assert "filename*=UTF-8''%E8%A5%BF%E5%B9%B3" in dl.headers["Content-Disposition"]
    # The attachment's name is searchable (weight D).
    assert search(acceptor, cat, "修订")["items"][0]["id"] == a["id"]

    import io
    before = counts(engine)
    r = admin.post(f"/api/guidance/articles/{a['id']}/attachments",
                   data={"file": (io.BytesIO(b"just text pretending to be a pdf"), "假文件.pdf")},
                   content_type="multipart/form-data")
    assert r.status_code == 415 and err(r) == "upload_type_mismatch"
    r = admin.post(f"/api/guidance/articles/{a['id']}/attachments",
                   data={"file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")}, content_type="multipart/form-data")
    assert r.status_code == 415 and err(r) == "upload_type_forbidden"
    r = admin.post(f"/api/guidance/articles/{a['id']}/attachments", data={}, content_type="multipart/form-data")
    assert err(r) == "upload_missing"
    r = admin.post("/api/guidance/articles/99999999/attachments",
                   data={"file": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 404
    r = acceptor.post(f"/api/guidance/articles/{a['id']}/attachments",
                      data={"file": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 403
    # Size limit from the settings (R95), changed without restart.
    with engine.begin() as c:
        c.execute(text("INSERT INTO admin.setting (key, value) VALUES ('upload.max_mb', '1') "
                       "ON CONFLICT (key) DO UPDATE SET value = '1'"))
    sysconfig.invalidate()
    try:
        big = PDF + b"0" * (1024 * 1024)
        r = admin.post(f"/api/guidance/articles/{a['id']}/attachments", data={"file": (io.BytesIO(big), "大文件.pdf")},
                       content_type="multipart/form-data")
        assert r.status_code == 413 and err(r) == "upload_too_large"
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM admin.setting WHERE key = 'upload.max_mb'"))
        sysconfig.invalidate()
    assert counts(engine) == before

    assert admin.delete(f"/api/guidance/attachments/{att['id']}").status_code == 204
    assert acceptor.get(att["url"]).status_code == 404
    assert admin.delete(f"/api/guidance/attachments/{att['id']}").status_code == 404
    assert search(acceptor, cat, "修订")["total"] == 0


# ---------------------------------------------------------------- pages

def test_pages(admin, acceptor):
    page = acceptor.get("/guidance/").get_data(as_text=True)
    assert "业务指导" in page and "政策法规" in page and "置顶" in page and 'id="btn-new-article"' not in page
    page = acceptor.get("/guidance/", query_string={"q": "占道经营"}).get_data(as_text=True)
    assert "<mark>占道经营</mark>" in page and "按相关度排序" in page
    page = acceptor.get("/guidance/", query_string={"category": "policy"}).get_data(as_text=True)
    assert 'id="subcategories"' in page and "标准规范" in page
    page = acceptor.get("/guidance/", query_string={"foo": "1", "q": "x" * 200}).get_data(as_text=True)
    assert "搜索词不能超过" in page
    assert 'id="btn-new-article"' in admin.get("/guidance/").get_data(as_text=True)
    item = acceptor.get("/api/guidance/articles?q=GB/T 30428.1").get_json()["items"][0]
    before = item["view_count"]
    page = acceptor.get(f"/guidance/articles/{item['id']}").get_data(as_text=True)
    assert "单元网格" in page and "<table>" in page
    after = acceptor.get(f"/api/guidance/articles/{item['id']}").get_json()
    assert after["view_count"] == before + 1 and after["version"] == item["version"]   # a view is not an edit
    assert admin.get("/guidance/edit").status_code == 200
    assert admin.get(f"/guidance/articles/{item['id']}/edit").status_code == 200
    assert admin.get("/guidance/articles/99999999/edit").status_code == 404
    assert admin.get("/guidance/categories").status_code == 200
    assert acceptor.get("/guidance/attachments/99999999").status_code == 404
