"""Tables of the risk model (schema `lifeline`, migration 0011):

  * `risk_category`   — the category tree (network roots → categories), R106;
  * `risk_hazard`     — hazard types (隐患) under a category; R118 groups by them;
  * `risk_level`      — the four levels: name, colour, lower D bound (R108);
  * `risk_resp`       — the responsibility list: category/hazard × 责任网格 → department, person (R107);
  * `risk_submission` — a collected risk point waiting for the auditor (R109);
  * `risk_assessment` — every LEC assessment (the latest is copied to geo.risk_point);
  * `risk_event`      — append-only history of submissions, decisions, edits and assessments.

The register itself is geo.risk_point (geo.models.RiskPoint), the published layer."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Numeric, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Timestamps, Versioned

SCHEMA = "lifeline"


class RiskCategory(Versioned, Base):
    __tablename__ = "risk_category"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.risk_category.code"))
    network: Mapped[str | None] = mapped_column(String(10))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class RiskHazard(Versioned, Base):
    __tablename__ = "risk_hazard"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.risk_category.code"), nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class RiskLevel(Versioned, Base):
    __tablename__ = "risk_level"
    __table_args__ = {"schema": SCHEMA}
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), nullable=False)
    colour_name: Mapped[str] = mapped_column(String(4), nullable=False)
    colour: Mapped[str] = mapped_column(String(7), nullable=False)
    min_d = mapped_column(Numeric(10, 2))
    min_inclusive: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")


class RiskResp(Versioned, Base):
    __tablename__ = "risk_resp"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.risk_category.code"), nullable=False)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.risk_hazard.id", ondelete="CASCADE"))
    resp_grid_code: Mapped[str] = mapped_column(ForeignKey("geo.resp_grid.code"), nullable=False)
    dept_code: Mapped[str] = mapped_column(ForeignKey("admin.department.code"), nullable=False)
    person: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    remark: Mapped[str | None] = mapped_column(String(200))


class RiskSubmission(Versioned, Base):
    __tablename__ = "risk_submission"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="pending")
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    risk_code: Mapped[str | None] = mapped_column(ForeignKey("geo.risk_point.code", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(JSONB, nullable=False)
    geom = mapped_column(Geometry("POINT", srid=4490, spatial_index=False), nullable=False)
    submitted_by: Mapped[int | None] = mapped_column(Integer)
    submitted_by_name: Mapped[str | None] = mapped_column(String(40))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                      nullable=False)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_by_name: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(500))


class RiskAssessment(Timestamps, Base):
    __tablename__ = "risk_assessment"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    risk_code: Mapped[str] = mapped_column(ForeignKey("geo.risk_point.code", ondelete="CASCADE"), nullable=False)
    l = mapped_column(Numeric(5, 1), nullable=False)  # noqa: E741  (the method's own letter)
    e = mapped_column(Numeric(5, 1), nullable=False)
    c = mapped_column(Numeric(5, 1), nullable=False)
    d = mapped_column(Numeric(10, 2), nullable=False)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    assessed_by: Mapped[int | None] = mapped_column(Integer)
    assessed_by_name: Mapped[str | None] = mapped_column(String(40))
    assessed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                     nullable=False)


class RiskEvent(Timestamps, Base):
    __tablename__ = "risk_event"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    risk_code: Mapped[str | None] = mapped_column(String(20))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.risk_submission.id",
                                                                 ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(12), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
