"""ORM of the alarm tables (schema `lifeline`, migration 0013).

The ingester writes alarms in bulk SQL (etl/iot/rules.py); the web side
changes them through these classes so the operation log records each write."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "lifeline"


class AlarmRule(Versioned, Base):
    __tablename__ = "alarm_rule"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    datastream_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.iot_datastream.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="3")
    params: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    derived: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")


class Alarm(Versioned, Base):
    __tablename__ = "alarm"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.alarm_rule.id", ondelete="CASCADE"))
    datastream_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.iot_datastream.id", ondelete="CASCADE"))
    thing_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.iot_thing.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="raised")
    message: Mapped[str] = mapped_column(Text, nullable=False)
    first_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    first_value: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)
    peak_value: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    hazard_id: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AlarmHistory(Base):
    """Append-only (a trigger refuses UPDATE and DELETE)."""
    __tablename__ = "alarm_history"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.alarm.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict | None] = mapped_column(JSONB)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlarmCase(Base):
    """Alarm ↔ 数字城管 case link (the case core is not changed; case pages ask by case id)."""
    __tablename__ = "alarm_case"
    __table_args__ = {"schema": SCHEMA}
    alarm_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.alarm.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
