"""Administration tables added by the administration issue: the menu tree
(web and mobile) and the settings store."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "admin"


class Menu(Versioned, Base):
    """One node of the menu tree: a directory, a page or a button. A page names
    a Flask endpoint (web) or an app route (mobile); `permission` is the code a
    role needs to see it (none: everyone logged in)."""
    __tablename__ = "menu"
    __table_args__ = (CheckConstraint("kind in ('dir','page','button')", name="kind"),
                      CheckConstraint("platform in ('web','mobile')", name="platform"),
                      {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.menu.id"))
    platform: Mapped[str] = mapped_column(String(10), nullable=False, server_default="web")
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    endpoint: Mapped[str | None] = mapped_column(String(120))
    permission: Mapped[str | None] = mapped_column(String(80))
    icon: Mapped[str | None] = mapped_column(String(40))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    visible: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class Setting(Base):
    __tablename__ = "setting"
    __table_args__ = {"schema": SCHEMA}
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[object] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                    onupdate=func.now(), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(40))
