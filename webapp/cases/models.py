"""Cases (案卷), their append-only history, open work items and media (schema `cases`).

- `Case` holds the current state and the serialized SpiffWorkflow instance.
- `CaseEvent` is the append-only log: one row per thing that happened, with a
  gap-free sequence number per case; the database refuses UPDATE and DELETE on
  it, and every statistic can be recomputed from it.
- `CaseTask` is a work item shown in someone's work list (one per READY BPMN
  user task), with its deadline; closing it and opening the next happen in
  the same transaction as the event."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "cases"
KINDS = {"component": "部件", "event": "事件"}
# Where a case is in its life, for lists and statistics (the workflow decides the moves).
STATUSES = {
    "open": "办理中", "closed": "已结案", "cancelled": "已作废", "suspended": "挂账中",
}


class Case(Versioned, Base):
    __tablename__ = "case"
    __table_args__ = (
        CheckConstraint("kind in ('component','event')", name="kind"),
        CheckConstraint("status in ('open','closed','cancelled','suspended')", name="status"),
        Index("ix_case_geom", "geom", postgresql_using="gist"),
        Index("ix_case_search", "search", postgresql_using="gin"),
        Index("ix_case_status_stage", "status", "stage"),
        Index("ix_case_reported_at", "reported_at"),
        {"schema": SCHEMA},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    class_code: Mapped[str] = mapped_column(String(4), nullable=False)
    class_name: Mapped[str | None] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str | None] = mapped_column(String(200))
    geom = mapped_column(Geometry("POINT", srid=4490, spatial_index=False), nullable=False)
    input_crs: Mapped[str] = mapped_column(String(20), nullable=False)
    street_code: Mapped[str | None] = mapped_column(String(12), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    resp_grid_code: Mapped[str | None] = mapped_column(String(20))
    component_code: Mapped[str | None] = mapped_column(String(16))
    component_distance_m: Mapped[float | None] = mapped_column()
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("admin.user.id"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(40))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                     server_default=func.now())
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="open")
    stage: Mapped[str | None] = mapped_column(String(20))  # the open main-path stage, e.g. handle
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.case.id"))
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    difficult: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    urged: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    returns: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    reworks: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    process_key: Mapped[str] = mapped_column(String(80), nullable=False)
    process_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wf_state: Mapped[dict] = mapped_column(JSONB, nullable=False)
    # The handling clock: set at dispatch, moved by approved extensions and suspensions.
    handle_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    search = mapped_column(TSVECTOR)


class CaseEvent(Base):
    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"), Index("ix_case_event_at", "at"),
                      Index("ix_case_event_action", "action", "at"), {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.case.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    stage: Mapped[str | None] = mapped_column(String(20))        # the stage the action finished
    to_stage: Mapped[str | None] = mapped_column(String(20))     # the stage it opened (if any)
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    dept_code: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONB)
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    on_time: Mapped[bool | None] = mapped_column(Boolean)


class CaseTask(Versioned, Base):
    __tablename__ = "case_task"
    __table_args__ = (CheckConstraint("status in ('open','done','cancelled')", name="status"),
                      Index("ix_case_task_open", "status", "stage", "role"),
                      Index("ix_case_task_case", "case_id"), {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.case.id"), nullable=False)
    spiff_id: Mapped[str] = mapped_column(String(40), nullable=False)   # SpiffWorkflow task UUID
    stage: Mapped[str] = mapped_column(String(30), nullable=False)      # BPMN task id, e.g. handle, approve_return
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)       # lane → role code
    dept_code: Mapped[str | None] = mapped_column(String(20))            # department tasks
    assignee_id: Mapped[int | None] = mapped_column(Integer)             # a named person (e.g. grid supervisor)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    warn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    natural_time: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    done_by: Mapped[int | None] = mapped_column(Integer)
    paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CaseMedia(Base):
    __tablename__ = "case_media"
    __table_args__ = (Index("ix_case_media_case", "case_id"), {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.case.id"), nullable=False)
    event_seq: Mapped[int | None] = mapped_column(Integer)   # which step added it (report, feedback, check)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # photo | audio | video
    relpath: Mapped[str] = mapped_column(String(200), nullable=False)
    thumb_relpath: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    mime: Mapped[str] = mapped_column(String(80), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    original_name: Mapped[str] = mapped_column(String(200), nullable=False)
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CaseNoCounter(Base):
    """Per-day counter for case numbers, row-locked so numbers are unique and gap-free."""
    __tablename__ = "case_no_counter"
    __table_args__ = {"schema": SCHEMA}
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)
