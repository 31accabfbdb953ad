"""JSON API under /api/guidance: categories CRUD, article list/search,
detail, create, update (version → 409), publish, withdraw, delete draft,
attachments. Writes go through the ORM session (operation log); bad input
answers 4xx with a stable code and a Chinese message and changes nothing."""
from __future__ import annotations

import datetime as dt
import re

from flask import jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from geo.errors import GeoError
from geo.models import Region
from webapp import uploads
from webapp.auth.guard import principal
from webapp.auth.models import Department, Role
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.guidance import api, render, service
from webapp.guidance.models import STATUSES, Article, Attachment, Category

MAX_PAGE_SIZE = 100
MAX_BODY = 200_000
MAX_QUERY = 100
LIST_PARAMS = {"q", "category", "status", "page", "size"}
ARTICLE_FIELDS = {"category_code", "title", "summary", "body", "source", "doc_no", "effective_date", "pinned",
                  "visible_roles", "visible_regions", "dept_code"}
CATEGORY_CREATE = {"code", "name", "parent_code", "sort"}
CATEGORY_EDIT = {"name", "sort", "version"}
_CAT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


# ---------------------------------------------------------------- helpers

def _viewer():
    return service.viewer_for(get_db(), principal())


def _body(allowed: set[str]) -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise GeoError("body_invalid", "请求体须为 JSON 对象")
    if "status" in data and "status" not in allowed:
        raise GeoError("field_readonly", "状态不能直接修改，请使用“发布”或“撤回”", field="status")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise GeoError("field_unknown", f"不支持的字段：{', '.join(unknown)}", unknown=unknown)
    return data


def _int_param(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GeoError("parameter_invalid", f"{name} 须为整数", parameter=name) from None
    if not lo <= value <= hi:
        raise GeoError("parameter_invalid", f"{name} 须在 {lo}–{hi} 之间", parameter=name)
    return value


def _text(data: dict, key: str, label: str, max_len: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise GeoError("field_invalid", f"{label}须为文本", field=key)
    value = value.strip()
    if required and not value:
        raise GeoError("field_required", f"请填写{label}", field=key)
    if len(value) > max_len:
        raise GeoError("field_invalid", f"{label}不能超过 {max_len} 个字符", field=key)
    return value or None


def _codes(data: dict, key: str, label: str, known: set[str], code: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GeoError("field_invalid", f"{label}须为编码列表", field=key)
    unknown = [v for v in value if v not in known]
    if unknown:
        raise GeoError(code, f"{label}中的编码不存在：{'、'.join(unknown)}", field=key, unknown=unknown)
    return sorted(set(value))


def _version(data: dict, required: bool) -> int | None:
    if "version" not in data:
        if required:
            raise GeoError("version_required", "请求须包含整数 version（用于防止覆盖他人的修改）", field="version")
        return None
    v = data["version"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise GeoError("version_required", "version 须为整数", field="version")
    return v


def _check_version(obj, version: int | None, what: str) -> None:
    if version is not None and obj.version != version:
        raise GeoError("version_conflict", f"{what}已被他人修改，请刷新后重试", status=409,
                       current_version=obj.version)


def _clean_article(db, data: dict, creating: bool) -> dict:
    out: dict = {}
    if creating or "title" in data:
        out["title"] = _text(data, "title", "标题", 200, required=True)
    if creating or "category_code" in data:
        code = data.get("category_code")
        if not isinstance(code, str) or not code:
            raise GeoError("field_required", "请选择栏目", field="category_code")
        if db.get(Category, code) is None:
            raise GeoError("category_unknown", f"栏目“{code}”不存在", field="category_code")
        out["category_code"] = code
    for key, label, n in (("summary", "摘要", 1000), ("source", "发布机关/来源", 100), ("doc_no", "文号", 80)):
        if key in data:
            out[key] = _text(data, key, label, n)
    if "body" in data:
        body = data["body"] if data["body"] is not None else ""
        if not isinstance(body, str):
            raise GeoError("field_invalid", "正文须为文本（Markdown）", field="body")
        if len(body) > MAX_BODY:
            raise GeoError("field_invalid", f"正文不能超过 {MAX_BODY} 个字符", field="body")
        out["body"] = body
    if "effective_date" in data:
        raw = data["effective_date"]
        if raw in (None, ""):
            out["effective_date"] = None
        else:
            try:
                out["effective_date"] = dt.date.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                out["effective_date"] = None
            if out["effective_date"] is None:
                raise GeoError("field_invalid", "施行日期须为 YYYY-MM-DD 格式的日期", field="effective_date")
    if "pinned" in data:
        if not isinstance(data["pinned"], bool):
            raise GeoError("field_invalid", "置顶须为 true 或 false", field="pinned")
        out["pinned"] = data["pinned"]
    if "visible_roles" in data:
        out["visible_roles"] = _codes(data, "visible_roles", "可见角色", set(db.scalars(select(Role.code))),
                                      "role_unknown")
    if "visible_regions" in data:
        regions = set(db.scalars(select(Region.code).where(Region.level.in_(("street", "community")))))
        out["visible_regions"] = _codes(data, "visible_regions", "可见区域（街道/社区）", regions, "region_unknown")
    if "dept_code" in data:
        code = _text(data, "dept_code", "发布部门", 20)
        if code and db.get(Department, code) is None:
            raise GeoError("dept_unknown", f"部门编码“{code}”不存在", field="dept_code")
        out["dept_code"] = code
    return out


def attachment_dict(a: Attachment) -> dict:
    return {"id": a.id, "filename": a.filename, "size": a.size, "mime": a.mime, "uploaded_by": a.uploaded_by,
            "created_at": a.created_at.isoformat() if a.created_at else None,
            "url": f"/guidance/attachments/{a.id}"}


def article_dict(db, a: Article, full: bool = False) -> dict:
    cat = db.get(Category, a.category_code)
    out = {
        "id": a.id, "category_code": a.category_code, "category_name": cat.name if cat else None,
        "title": a.title, "summary": a.summary, "source": a.source, "doc_no": a.doc_no,
        "effective_date": a.effective_date.isoformat() if a.effective_date else None,
        "status": a.status, "status_name": service.STATUS_NAMES[a.status], "pinned": a.pinned,
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "author_name": a.author_name, "dept_code": a.dept_code, "view_count": a.view_count,
        "visible_roles": list(a.visible_roles or []), "visible_regions": list(a.visible_regions or []),
        "version": a.version, "updated_at": a.updated_at.isoformat() if a.updated_at else None,
    }
    if full:
        out["body"] = a.body
        out["body_html"] = str(render.to_html(a.body))
        out["attachments"] = [attachment_dict(x) for x in db.scalars(
            select(Attachment).where(Attachment.article_id == a.id).order_by(Attachment.id))]
    return out


def _editable(db, article_id: int, lock: bool = True) -> Article:
    art = db.get(Article, article_id, with_for_update=lock)
    if art is None:
        raise GeoError("article_not_found", f"文章 {article_id} 不存在", status=404)
    return art


# ---------------------------------------------------------------- categories

def category_tree(db, counts: dict[str, int] | None = None) -> list[dict]:
    counts = counts or {}
    cats = db.scalars(select(Category).order_by(Category.sort, Category.code)).all()
    nodes = {c.code: {"code": c.code, "name": c.name, "parent_code": c.parent_code, "sort": c.sort,
                      "version": c.version, "count": counts.get(c.code, 0), "children": []} for c in cats}
    roots = []
    for c in cats:
        (nodes[c.parent_code]["children"] if c.parent_code in nodes else roots).append(nodes[c.code])
    for n in roots:
        n["total"] = n["count"] + sum(ch["count"] for ch in n["children"])
    return roots


def visible_counts(db, viewer) -> dict[str, int]:
    return dict(db.execute(select(Article.category_code, func.count()).where(service.visible(viewer))
                           .group_by(Article.category_code)).all())


@api.get("/categories")
@require_permission("guidance:view")
def list_categories():
    db = get_db()
    return jsonify({"tree": category_tree(db, visible_counts(db, _viewer()))})


@api.post("/categories")
@require_permission("guidance:edit")
def create_category():
    data = _body(CATEGORY_CREATE)
    db = get_db()
    code = data.get("code")
    if not isinstance(code, str) or not _CAT_CODE.match(code):
        raise GeoError("category_code_invalid", "栏目编码须为 2–32 位小写字母、数字或下划线，以字母开头", field="code")
    if db.get(Category, code) is not None:
        raise GeoError("category_exists", f"栏目编码“{code}”已存在", status=409, field="code")
    name = _text(data, "name", "栏目名称", 40, required=True)
    parent = data.get("parent_code") or None
    if parent is not None:
        p = db.get(Category, parent) if isinstance(parent, str) else None
        if p is None:
            raise GeoError("category_unknown", f"上级栏目“{parent}”不存在", field="parent_code")
        if p.parent_code is not None:
            raise GeoError("category_depth", "栏目最多两级：只能在一级栏目下新增子栏目", field="parent_code")
    sort = data.get("sort", 0)
    if not isinstance(sort, int) or isinstance(sort, bool) or not -100000 <= sort <= 100000:
        raise GeoError("field_invalid", "排序号须为整数", field="sort")
    cat = Category(code=code, name=name, parent_code=parent, sort=sort, version=1)
    db.add(cat)
    db.commit()
    return jsonify({"code": cat.code, "name": cat.name, "parent_code": cat.parent_code, "sort": cat.sort,
                    "version": cat.version}), 201


@api.patch("/categories/<code>")
@require_permission("guidance:edit")
def edit_category(code: str):
    data = _body(CATEGORY_EDIT)
    version = _version(data, required=True)
    db = get_db()
    cat = db.get(Category, code, with_for_update=True)
    if cat is None:
        raise GeoError("category_unknown", f"栏目“{code}”不存在", status=404)
    _check_version(cat, version, f"栏目“{cat.name}”")
    if "name" in data:
        cat.name = _text(data, "name", "栏目名称", 40, required=True)
    if "sort" in data:
        if not isinstance(data["sort"], int) or isinstance(data["sort"], bool):
            raise GeoError("field_invalid", "排序号须为整数", field="sort")
        cat.sort = data["sort"]
    cat.version += 1
    db.commit()
    return jsonify({"code": cat.code, "name": cat.name, "parent_code": cat.parent_code, "sort": cat.sort,
                    "version": cat.version})


@api.delete("/categories/<code>")
@require_permission("guidance:edit")
def delete_category(code: str):
    db = get_db()
    cat = db.get(Category, code, with_for_update=True)
    if cat is None:
        raise GeoError("category_unknown", f"栏目“{code}”不存在", status=404)
    children = db.scalar(select(func.count()).select_from(Category).where(Category.parent_code == code))
    articles = db.scalar(select(func.count()).select_from(Article).where(Article.category_code == code))
    if children or articles:
        raise GeoError("category_in_use", f"栏目“{cat.name}”下还有 {children} 个子栏目、{articles} 篇文章，不能删除",
                       status=409, children=children, articles=articles)
    db.delete(cat)
    db.commit()
    return "", 204


# ---------------------------------------------------------------- articles

def parse_list_args(args) -> dict:
    unknown = sorted(set(args.keys()) - LIST_PARAMS)
    if unknown:
        raise GeoError("parameter_unknown", f"不支持的参数：{', '.join(unknown)}", unknown=unknown)
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        raise GeoError("parameter_invalid", f"搜索词不能超过 {MAX_QUERY} 个字符", parameter="q")
    category = args.get("category") or None
    if category is not None and get_db().get(Category, category) is None:
        raise GeoError("category_unknown", f"栏目“{category}”不存在", parameter="category")
    status = args.get("status") or None
    if status is not None and status not in STATUSES:
        raise GeoError("parameter_invalid", "status 须为 draft、published 或 withdrawn", parameter="status")
    return {"q": q, "category": category, "status": status,
            "page": _int_param("page", 1, 1, 100000), "size": _int_param("size", 20, 1, MAX_PAGE_SIZE)}


@api.get("/articles")
@require_permission("guidance:view")
def list_articles():
    params = parse_list_args(request.args)
    db = get_db()
    result = service.search(db, _viewer(), **params)
    terms = result.query.terms
    from webapp.textsearch import highlight, snippet
    items = []
    for art, rank in result.items:
        d = article_dict(db, art)
        d["rank"] = rank
        d["title_html"] = str(highlight(art.title, terms))
        d["snippet_html"] = str(snippet(art.summary or render.to_text(art.body), terms)) if not terms else \
            str(snippet(_best_text(art, terms), terms))
        items.append(d)
    return jsonify({"total": result.total, "page": params["page"], "size": params["size"], "items": items,
                    "terms": terms})


def _best_text(art: Article, terms: list[str]) -> str:
    """The summary when it holds a match, else the body's text."""
    from webapp.textsearch import _pattern
    pat = _pattern(terms)
    if art.summary and pat and pat.search(art.summary):
        return art.summary
    body = render.to_text(art.body)
    return body if pat and pat.search(body) else (art.summary or body)


@api.get("/articles/<int:article_id>")
@require_permission("guidance:view")
def get_article(article_id: int):
    db = get_db()
    art = service.get_visible(db, _viewer(), article_id)
    return jsonify(article_dict(db, art, full=True))


@api.post("/articles")
@require_permission("guidance:edit")
def create_article():
    data = _body(ARTICLE_FIELDS)
    db = get_db()
    clean = _clean_article(db, data, creating=True)
    who = principal()
    if "dept_code" not in clean:
        clean["dept_code"] = who.dept_code
    fields = {"body": "", "visible_roles": [], "visible_regions": [], "pinned": False, **clean}
    art = Article(status="draft", version=1, author_id=who.id, author_name=who.display_name, view_count=0, **fields)
    db.add(art)
    db.flush()
    service.reindex(db, art)
    db.commit()
    return jsonify(article_dict(db, art, full=True)), 201


@api.patch("/articles/<int:article_id>")
@require_permission("guidance:edit")
def edit_article(article_id: int):
    data = _body(ARTICLE_FIELDS | {"version"})
    version = _version(data, required=True)
    db = get_db()
    art = _editable(db, article_id)
    _check_version(art, version, f"文章“{art.title}”")
    clean = _clean_article(db, data, creating=False)
    for key, value in clean.items():
        setattr(art, key, value)
    art.version += 1
    db.flush()
    service.reindex(db, art)
    db.commit()
    return jsonify(article_dict(db, art, full=True))


def _status_change(article_id: int, action: str):
    data = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise GeoError("body_invalid", "请求体须为 JSON 对象")
    unknown = sorted(set(data) - {"version"})
    if unknown:
        raise GeoError("field_unknown", f"不支持的字段：{', '.join(unknown)}", unknown=unknown)
    version = _version(data, required=False)
    db = get_db()
    art = _editable(db, article_id)
    _check_version(art, version, f"文章“{art.title}”")
    service.transition(art, action)
    db.commit()
    return jsonify(article_dict(db, art, full=True))


@api.post("/articles/<int:article_id>/publish")
@require_permission("guidance:edit")
def publish_article(article_id: int):
    return _status_change(article_id, "publish")


@api.post("/articles/<int:article_id>/withdraw")
@require_permission("guidance:edit")
def withdraw_article(article_id: int):
    return _status_change(article_id, "withdraw")


@api.delete("/articles/<int:article_id>")
@require_permission("guidance:edit")
def delete_article(article_id: int):
    db = get_db()
    art = _editable(db, article_id)
    if art.status != "draft":
        raise GeoError("article_not_draft", f"只能删除草稿；“{service.STATUS_NAMES[art.status]}”的文章请先撤回",
                       status=409, status_now=art.status)
    for att in db.scalars(select(Attachment).where(Attachment.article_id == art.id)):
        db.delete(att)
    db.delete(art)
    db.commit()
    return "", 204


# ---------------------------------------------------------------- attachments

@api.post("/articles/<int:article_id>/attachments")
@require_permission("guidance:edit")
def upload_attachment(article_id: int):
    if set(request.form.keys()):
        raise GeoError("field_unknown", f"不支持的字段：{', '.join(sorted(request.form.keys()))}")
    if set(request.files.keys()) - {"file"}:
        raise GeoError("field_unknown", "只能上传一个文件（表单字段 file）")
    db = get_db()
    art = _editable(db, article_id)
    stored = uploads.accept(request.files.get("file"), "attachment")
    att = Attachment(article_id=art.id, filename=stored.original_name[:255], relpath=stored.relpath,
                     sha256=stored.sha256, size=stored.size, mime=stored.mime, uploaded_by=principal().username)
    db.add(att)
    db.flush()
    service.reindex(db, art)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise GeoError("article_not_found", f"文章 {article_id} 不存在", status=404) from None
    return jsonify(attachment_dict(att)), 201


@api.delete("/attachments/<int:attachment_id>")
@require_permission("guidance:edit")
def delete_attachment(attachment_id: int):
    db = get_db()
    att = db.get(Attachment, attachment_id)
    if att is None:
        raise GeoError("attachment_not_found", f"附件 {attachment_id} 不存在", status=404)
    art = _editable(db, att.article_id)
    db.delete(att)
    db.flush()
    service.reindex(db, art)
    db.commit()
    return "", 204
