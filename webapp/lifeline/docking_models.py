"""ORM of the docking tables (schema `lifeline`, migration 0016): sources and their runs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "lifeline"


class DockSource(Versioned, Base):
    __tablename__ = "dock_source"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    network: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    settings: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    gis_mapping: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("admin.api_key.key_id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    last_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_data_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    rows_in: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class DockRun(Base):
    __tablename__ = "dock_run"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.dock_source.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    rows_in: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    inserted: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    username: Mapped[str | None] = mapped_column(String(40))
