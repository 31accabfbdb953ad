"""Tables of inspection (巡检, R111–R114), schema `lifeline` (migration 0014):

  * `inspection_plan`   — a plan: point / line / area geometry, category, department, people, frequency, validity;
  * `inspector`         — users who inspect (R112), with their own phone and active flag;
  * `inspection_record` — one round (start/end, plan, route LineString, metres in EPSG:4547, 工地监护 count);
  * `inspection_point`  — the GPS track points of a record (time-ordered, unique per time).

Problems reported during a record are hazards (lifeline.hazard.record_id)."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "lifeline"


class InspectionPlan(Versioned, Base):
    __tablename__ = "inspection_plan"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(6), nullable=False)  # point | line | area
    category_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.risk_category.code"))
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    people: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")  # user ids
    frequency: Mapped[str] = mapped_column(String(8), nullable=False)  # daily | weekly | monthly
    times: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    valid_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    targets: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    geom = mapped_column(Geometry("GEOMETRY", srid=4490, spatial_index=False), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class Inspector(Versioned, Base):
    __tablename__ = "inspector"
    __table_args__ = {"schema": SCHEMA}
    user_id: Mapped[int] = mapped_column(ForeignKey("admin.user.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class InspectionRecord(Versioned, Base):
    __tablename__ = "inspection_record"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.inspector.user_id"), nullable=False)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.inspection_plan.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_point_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    route = mapped_column(Geometry("LINESTRING", srid=4490, spatial_index=False))
    length_m: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    site_watch: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    note: Mapped[str | None] = mapped_column(String(500))


class InspectionPoint(Base):
    __tablename__ = "inspection_point"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.inspection_record.id", ondelete="CASCADE"),
                                           nullable=False)
    t: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accuracy: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("POINT", srid=4490, spatial_index=False), nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
