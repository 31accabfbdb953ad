"""ORM view of the IoT registry (schema `lifeline`, migration 0012).

Observations, ingest counters and alarm events are written in bulk SQL by the
ingester and read with SQL; only the registry tables are mapped."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import DateTime, Float, ForeignKey, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "lifeline"


class Thing(Versioned, Base):
    __tablename__ = "iot_thing"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    network: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    pipe_code: Mapped[str | None] = mapped_column(String(20))
    node_code: Mapped[str | None] = mapped_column(String(20))
    bridge_code: Mapped[str | None] = mapped_column(String(20))
    risk_point_code: Mapped[str | None] = mapped_column(String(20))
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    hls_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="offline")
    last_seen: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4490, spatial_index=False), nullable=False)


class Sensor(Versioned, Base):
    __tablename__ = "iot_sensor"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    model: Mapped[str] = mapped_column(String(80), nullable=False)
    vendor: Mapped[str | None] = mapped_column(String(80))
    serial: Mapped[str | None] = mapped_column(String(80))


class ObservedProperty(Base):
    __tablename__ = "iot_observed_property"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    definition: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FeatureOfInterest(Base):
    __tablename__ = "iot_feature_of_interest"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    ref_code: Mapped[str | None] = mapped_column(String(20))
    geom = mapped_column(Geometry("GEOMETRY", srid=4490, spatial_index=False), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Datastream(Versioned, Base):
    __tablename__ = "iot_datastream"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.iot_thing.id", ondelete="CASCADE"), nullable=False)
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.iot_sensor.id"))
    property_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.iot_observed_property.id"), nullable=False)
    foi_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.iot_feature_of_interest.id"))
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    valid_min: Mapped[float] = mapped_column(Float, nullable=False)
    valid_max: Mapped[float] = mapped_column(Float, nullable=False)
    thresholds: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    sampling_s: Mapped[int] = mapped_column(Integer, nullable=False, server_default="60")
    last_value: Mapped[float | None] = mapped_column(Float)
    last_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    alarm_level: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="offline")
