"""Pages under /guidance: the list (category tabs, search, pinned first,
paging), an article, attachment download, the editor and the category
editor. The list and article pages are rendered on the server from the same
service functions as the API, so visibility is decided in one place."""
from __future__ import annotations

import math

from flask import abort, render_template, request, send_file
from sqlalchemy import select

from geo.errors import GeoError
from geo.models import Region
from webapp import uploads
from webapp.auth.guard import principal
from webapp.auth.models import Department, Role
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp import textsearch
from webapp.guidance import pages, render, service
from webapp.guidance.rest import _best_text, category_tree, parse_list_args, visible_counts
from webapp.guidance.models import Article, Attachment, Category

PAGE_SIZE = 10


@pages.get("/")
@require_permission("guidance:view")
def index_page():
    db = get_db()
    viewer = service.viewer_for(db, principal())
    args = {k: v for k, v in request.args.items() if k in ("q", "category", "status", "page")}
    error = None
    try:
        params = parse_list_args(args)
    except GeoError as err:
        error, params = err.message, {"q": "", "category": None, "status": None, "page": 1}
    params["size"] = PAGE_SIZE
    result = service.search(db, viewer, **params)
    terms = result.query.terms
    cats = {c.code: c for c in db.scalars(select(Category))}
    rows = []
    for art, rank in result.items:
        text = _best_text(art, terms) if terms else (art.summary or render.to_text(art.body))
        rows.append({"a": art, "category": cats.get(art.category_code), "rank": rank,
                     "title_html": textsearch.highlight(art.title, terms),
                     "snippet_html": textsearch.snippet(text, terms)})
    tree = category_tree(db, visible_counts(db, viewer))
    active_root = None
    if params["category"]:
        c = cats[params["category"]]
        active_root = c.parent_code or c.code
    return render_template("guidance/index.html", rows=rows, total=result.total, params=params, tree=tree,
                           active_root=active_root, pages=max(1, math.ceil(result.total / PAGE_SIZE)),
                           error=error, editor=viewer.editor, status_names=service.STATUS_NAMES)


@pages.get("/articles/<int:article_id>")
@require_permission("guidance:view")
def article_page(article_id: int):
    db = get_db()
    viewer = service.viewer_for(db, principal())
    art = service.get_visible(db, viewer, article_id)
    if art.status == "published":
        service.count_view(db, art.id)
        db.refresh(art)
    cat = db.get(Category, art.category_code)
    parent = db.get(Category, cat.parent_code) if cat and cat.parent_code else None
    atts = db.scalars(select(Attachment).where(Attachment.article_id == art.id).order_by(Attachment.id)).all()
    dept = db.get(Department, art.dept_code) if art.dept_code else None
    role_names = dict(db.execute(select(Role.code, Role.name)).all())
    region_names = dict(db.execute(select(Region.code, Region.name).where(
        Region.code.in_(list(art.visible_regions or [])))).all()) if art.visible_regions else {}
    return render_template("guidance/article.html", a=art, category=cat, parent=parent, attachments=atts,
                           dept=dept, body_html=render.to_html(art.body), editor=viewer.editor,
                           role_names=role_names, region_names=region_names, status_names=service.STATUS_NAMES)


@pages.get("/attachments/<int:attachment_id>")
@require_permission("guidance:view")
def download(attachment_id: int):
    db = get_db()
    att = db.get(Attachment, attachment_id)
    if att is None:
        raise GeoError("attachment_not_found", f"附件 {attachment_id} 不存在或无权查看", status=404)
    try:
        service.get_visible(db, service.viewer_for(db, principal()), att.article_id)
    except GeoError:
        raise GeoError("attachment_not_found", f"附件 {attachment_id} 不存在或无权查看", status=404) from None
    path = uploads.resolve(att.relpath)
    # download_name: Werkzeug sends the Chinese name as RFC 5987 filename*=UTF-8''…
    return send_file(path, mimetype=att.mime, as_attachment=True, download_name=att.filename, max_age=0)


def _editor_refs(db) -> dict:
    return {
        "roles": [list(r) for r in db.execute(select(Role.code, Role.name).order_by(Role.sort, Role.code)).all()],
        "regions": [list(r) for r in db.execute(
            select(Region.code, Region.name, Region.level, Region.parent_code)
            .where(Region.level.in_(("street", "community"))).order_by(Region.code)).all()],
        "depts": [list(r) for r in db.execute(select(Department.code, Department.name)
                                              .order_by(Department.sort, Department.code)).all()],
        "tree": category_tree(db),
    }


@pages.get("/edit")
@require_permission("guidance:edit")
def new_page():
    return render_template("guidance/edit.html", article_id=None, refs=_editor_refs(get_db()))


@pages.get("/articles/<int:article_id>/edit")
@require_permission("guidance:edit")
def edit_page(article_id: int):
    db = get_db()
    if db.get(Article, article_id) is None:
        abort(404, description=f"文章 {article_id} 不存在")
    return render_template("guidance/edit.html", article_id=article_id, refs=_editor_refs(db))


@pages.get("/categories")
@require_permission("guidance:edit")
def categories_page():
    return render_template("guidance/categories.html")


@pages.app_template_filter("guidance_date")
def _date(value) -> str:
    """A timestamp as an Asia/Shanghai calendar date."""
    if value is None:
        return ""
    from zoneinfo import ZoneInfo
    return value.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
