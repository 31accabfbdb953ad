"""Guidance articles: who may see what, listing and search, writes with
their rules (status changes, optimistic locking) and the search index.

Visibility, enforced here for list, detail, download and search alike: a
reader sees a published article when its role list is empty or holds one of
the reader's roles, and its region list is empty or holds the reader's
region or one of its ancestors (a community user sees articles for their
street). Editors (guidance:edit) see every article in every status."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session

from geo.errors import GeoError
from webapp import textsearch
from webapp.guidance import render
from webapp.guidance.models import Article, Attachment, Category

STATUS_NAMES = {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}
# Allowed status changes, one table (action → from-states, to-state).
TRANSITIONS = {"publish": ({"draft", "withdrawn"}, "published"),
               "withdraw": ({"published"}, "withdrawn")}
RANK_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"   # D, C, B, A: title ≫ 文号/来源/摘要 > body > attachment names

_REGION_CHAIN = text("""
WITH RECURSIVE up(code, parent_code) AS (
    SELECT code, parent_code FROM geo.region WHERE code = :code
    UNION
    SELECT r.code, r.parent_code FROM geo.region r JOIN up ON r.code = up.parent_code
)
SELECT code FROM up""")


@dataclass(frozen=True)
class Viewer:
    roles: tuple[str, ...]
    regions: tuple[str, ...]      # own region and its ancestors
    editor: bool


def viewer_for(db: Session, who) -> Viewer:
    from webapp.auth.permissions import has_permission
    regions: tuple[str, ...] = ()
    if who.region_code:
        regions = tuple(db.scalars(_REGION_CHAIN, {"code": who.region_code}))
    return Viewer(tuple(sorted(who.role_codes)), regions, has_permission(who, "guidance:edit"))


def visible(viewer: Viewer):
    """WHERE clause: the articles this viewer may see."""
    if viewer.editor:
        return Article.id.is_not(None)
    role_ok = func.cardinality(Article.visible_roles) == 0
    if viewer.roles:
        role_ok = or_(role_ok, Article.visible_roles.overlap(list(viewer.roles)))
    region_ok = func.cardinality(Article.visible_regions) == 0
    if viewer.regions:
        region_ok = or_(region_ok, Article.visible_regions.overlap(list(viewer.regions)))
    return (Article.status == "published") & role_ok & region_ok


def get_visible(db: Session, viewer: Viewer, article_id: int, lock: bool = False) -> Article:
    """The article, or 404 when it does not exist or is not visible (no hint which)."""
    q = select(Article).where(Article.id == article_id, visible(viewer))
    if lock:
        q = q.with_for_update()
    art = db.scalar(q)
    if art is None:
        raise GeoError("article_not_found", f"文章 {article_id} 不存在或无权查看", status=404)
    return art


def category_codes_under(db: Session, code: str) -> list[str]:
    codes = [code] + list(db.scalars(select(Category.code).where(Category.parent_code == code)))
    return codes


# ---------------------------------------------------------------- search

@dataclass
class Page:
    total: int
    items: list[tuple[Article, float | None]]
    query: textsearch.Query


def search(db: Session, viewer: Viewer, q: str = "", category: str | None = None, status: str | None = None,
           page: int = 1, size: int = 20) -> Page:
    parsed = textsearch.parse_query(q or "")
    conds = [visible(viewer)]
    if category:
        conds.append(Article.category_code.in_(category_codes_under(db, category)))
    if status:
        conds.append(Article.status == status)
    rank = None
    if parsed.tsquery:
        tsq = func.to_tsquery("simple", parsed.tsquery)
        vec = literal_column("guidance.article.search_vec", TSVECTOR)
        conds.append(vec.op("@@")(tsq))
        rank = func.ts_rank(text(f"'{RANK_WEIGHTS}'::float4[]"), vec, tsq)
    for term in parsed.like_terms:
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(Article.title.ilike(like), Article.summary.ilike(like), Article.body.ilike(like)))
    base = select(Article).where(*conds)
    total = db.scalar(select(func.count()).select_from(base.subquery()))
    newest = func.coalesce(Article.published_at, Article.updated_at)
    if rank is not None:
        stmt = select(Article, rank.label("rank")).where(*conds).order_by(text("rank DESC"), newest.desc(),
                                                                            Article.id.desc())
    else:
        stmt = select(Article, text("NULL::float4 AS rank")).where(*conds).order_by(
            Article.pinned.desc(), newest.desc(), Article.id.desc())
    rows = db.execute(stmt.offset((page - 1) * size).limit(size)).all()
    return Page(total, [(a, r) for a, r in rows], parsed)


def reindex(db: Session, article: Article) -> None:
    """Recompute the article's search vector (after a flush, in the same transaction)."""
    names = " \n".join(db.scalars(select(Attachment.filename).where(Attachment.article_id == article.id)))
    head = "\n".join(x for x in (article.doc_no, article.source, article.summary) if x)
    lit = textsearch.vector_literal([(article.title, "A"), (head, "B"), (render.to_text(article.body), "C"),
                                     (names, "D")])
    db.execute(text("UPDATE guidance.article SET search_vec = CAST(:v AS tsvector) WHERE id = :id"),
               {"v": lit, "id": article.id})


def count_view(db: Session, article_id: int) -> None:
    # A counter, not an edit: plain SQL so it neither bumps `version` (no 409 for
    # an editor because someone read the article) nor fills the operation log.
    db.execute(update(Article).where(Article.id == article_id)
               .values(view_count=Article.view_count + 1, updated_at=Article.updated_at)
               .execution_options(synchronize_session=False))
    db.commit()


def transition(article: Article, action: str, now: dt.datetime | None = None) -> None:
    sources, target = TRANSITIONS[action]
    if article.status not in sources:
        raise GeoError("status_transition_invalid",
                       f"“{STATUS_NAMES[article.status]}”状态的文章不能{ {'publish': '发布', 'withdraw': '撤回'}[action]}",
                       status=409, status_now=article.status)
    article.status = target
    if target == "published":
        article.published_at = now or dt.datetime.now(dt.timezone.utc)
    article.version += 1


# ---------------------------------------------------------------- demo data

def seed_demo(db: Session, log=print) -> None:
    """Categories and about 30 articles (idempotent: existing codes/titles are kept)."""
    from webapp.guidance.demo import seed
    seed(db, log)
