"""Business guidance tables (schema `guidance`): categories (two levels),
articles and their attachments."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text,
                        func)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "guidance"
STATUSES = ("draft", "published", "withdrawn")


class Category(Versioned, Base):
    """政策法规 → 法律法规/标准规范/地方规定, 行业动态, 经验交流, …"""
    __tablename__ = "category"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.category.code"), index=True)
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class Article(Versioned, Base):
    __tablename__ = "article"
    __table_args__ = (CheckConstraint("status in ('draft','published','withdrawn')", name="status"),
                      {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.category.code"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str | None] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text, nullable=False, server_default="")   # Markdown
    source: Mapped[str | None] = mapped_column(String(100))      # 发布机关 / 来源
    doc_no: Mapped[str | None] = mapped_column(String(80))       # 文号
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="draft")
    pinned: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("admin.user.id", ondelete="SET NULL"))
    author_name: Mapped[str | None] = mapped_column(String(40))
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    view_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # Visibility: empty list = everyone. Role codes of admin.role, region codes of geo.region.
    visible_roles: Mapped[list[str]] = mapped_column(ARRAY(String(30)), nullable=False, server_default="{}")
    visible_regions: Mapped[list[str]] = mapped_column(ARRAY(String(12)), nullable=False, server_default="{}")
    # Not mapped: the column `search_vec tsvector` (CJK bigrams + ASCII words, see textsearch.py) is
    # written by service.reindex() in SQL, so the operation log does not copy the index into every entry.


class Attachment(Base):
    __tablename__ = "attachment"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.article.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)   # original (Chinese) name
    relpath: Mapped[str] = mapped_column(String(300), nullable=False)    # below var/uploads
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    mime: Mapped[str] = mapped_column(String(120), nullable=False)
    uploaded_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
