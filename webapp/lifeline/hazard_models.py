"""Tables of hazard handling (R115) and the hazard ledger (R116), schema
`lifeline` (migration 0014):

  * `hazard`       — one hazard (隐患): where, what, level, responsible
    department, the rectification plan (整改方案), 挂牌督办 and the running
    BPMN workflow (serialized state + process version);
  * `hazard_event` — the append-only history of every step (a trigger refuses
    UPDATE), with photos.

Ledger state: `status` ∈ pending (待派遣) / rectifying (整改中) / checking (待核查)
/ rectified (完成整改) / cancelled (作废); 挂牌督办 is the separate boolean
`supervised`, which coexists with any open status. 待整改 = status IN
('pending', 'rectifying', 'checking')."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Timestamps, Versioned

SCHEMA = "lifeline"
OPEN_STATUSES = ("pending", "rectifying", "checking")


class Hazard(Versioned, Base):
    __tablename__ = "hazard"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    source: Mapped[str] = mapped_column(String(12), nullable=False)
    risk_code: Mapped[str | None] = mapped_column(ForeignKey("geo.risk_point.code", ondelete="SET NULL"))
    category_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.risk_category.code"))
    hazard_type_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.risk_hazard.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(12))
    resp_grid_code: Mapped[str | None] = mapped_column(String(40))
    geom = mapped_column(Geometry("POINT", srid=4490, spatial_index=False), nullable=False)
    photos: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="pending")
    found_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    reported_by: Mapped[int | None] = mapped_column(Integer)
    reported_by_name: Mapped[str | None] = mapped_column(String(40))
    # Rectification plan (整改方案)
    plan_measures: Mapped[str | None] = mapped_column(Text)
    plan_funds = mapped_column(Numeric(12, 2))
    plan_person: Mapped[str | None] = mapped_column(String(40))
    plan_phone: Mapped[str | None] = mapped_column(String(20))
    plan_deadline: Mapped[dt.date | None] = mapped_column(Date)
    # 挂牌督办
    supervised: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    supervise_level: Mapped[str | None] = mapped_column(String(10))
    supervise_by: Mapped[str | None] = mapped_column(String(40))
    supervise_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    supervise_deadline: Mapped[dt.date | None] = mapped_column(Date)
    supervise_note: Mapped[str | None] = mapped_column(String(500))
    supervise_lifted_by: Mapped[str | None] = mapped_column(String(40))
    supervise_lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Links
    alarm_id: Mapped[int | None] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    record_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.inspection_record.id", ondelete="SET NULL"))
    # Workflow: the BPMN version it runs on and its serialized state (without the spec)
    process_key: Mapped[str] = mapped_column(String(100), nullable=False, server_default="hazard")
    process_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wf_state: Mapped[dict] = mapped_column(JSONB, nullable=False)
    stage: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class HazardEvent(Timestamps, Base):
    __tablename__ = "hazard_event"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.hazard.id", ondelete="CASCADE"), nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    task: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(String(1000))
    photos: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
