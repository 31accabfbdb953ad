"""The spatial model (schema `geo`): regions, grids, components, roads,
addresses, pipe networks, bridges, risk points and the dictionaries.

All geometries are CGCS2000 (SRID 4490, x=lon, y=lat) with a GiST index.
Codes follow GB/T 30428 and are generated/validated in geo.codes only.
"""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, Numeric,
                        SmallInteger, String, Text, UniqueConstraint, func)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base

SRID = 4490
SCHEMA = "geo"
NETWORKS = ("water", "rain", "sewage", "gas", "heating")


def geom(kind: str):
    # spatial_index=False: the migration creates named GiST indexes itself.
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=False), nullable=False)


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                    onupdate=func.now(), nullable=False)


class Versioned(Timestamps):
    # Optimistic locking for business tables.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")


class DictType(Timestamps, Base):
    __tablename__ = "dict_type"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)


class DictItem(Timestamps, Base):
    """One entry of a typed dictionary (component class, event class, …)."""
    __tablename__ = "dict_item"
    __table_args__ = (UniqueConstraint("type_code", "code"), {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.dict_type.code"), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(String(40))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    extra: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")


class Region(Versioned, Base):
    """Administrative region: county → street (街道/乡镇) → community (社区/村)."""
    __tablename__ = "region"
    __table_args__ = (CheckConstraint("level in ('county','street','community')", name="level"), {"schema": SCHEMA})
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    level: Mapped[str] = mapped_column(String(12), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.region.code"))
    # True while the code is a demo placeholder, not the statistics bureau's.
    demo_code: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    geom = geom("MULTIPOLYGON")


class UnitGrid(Versioned, Base):
    """单元网格 (GB/T 30428.1), 15-digit code."""
    __tablename__ = "unit_grid"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    community_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.region.code"), nullable=False, index=True)
    street_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.region.code"), nullable=False, index=True)
    area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    land_use: Mapped[str | None] = mapped_column(String(20))
    mgmt_level: Mapped[str | None] = mapped_column(String(10))
    valid_from: Mapped[dt.date | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[dt.date | None] = mapped_column(DateTime(timezone=True))
    geom = geom("MULTIPOLYGON")


class RespGrid(Versioned, Base):
    """责任网格: tied to a department and the people on duty."""
    __tablename__ = "resp_grid"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    community_code: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.region.code"), nullable=False, index=True)
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"), index=True)
    people: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    geom = geom("MULTIPOLYGON")


class Component(Versioned, Base):
    """部件 (GB/T 30428.2), 16-digit identifier."""
    __tablename__ = "component"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    class_code: Mapped[str] = mapped_column(String(4), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="完好")
    owner_dept: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    maintainer_dept: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), nullable=False, server_default="实测")
    geom = geom("POINT")


class Road(Versioned, Base):
    __tablename__ = "road"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    grade: Mapped[str] = mapped_column(String(10), nullable=False)
    width_m: Mapped[float | None] = mapped_column(Float)
    geom = geom("MULTILINESTRING")


class River(Versioned, Base):
    __tablename__ = "river"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    geom = geom("MULTILINESTRING")


class Address(Versioned, Base):
    """门(楼)牌 doorplates used to geocode text addresses."""
    __tablename__ = "address"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    road_code: Mapped[str | None] = mapped_column(String(20), index=True)
    road_name: Mapped[str] = mapped_column(String(80), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    full_address: Mapped[str] = mapped_column(String(200), nullable=False)
    community_code: Mapped[str | None] = mapped_column(String(12))
    geom = geom("POINT")


class Poi(Versioned, Base):
    """兴趣点 / landmarks."""
    __tablename__ = "poi"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    geom = geom("POINT")


class PipeNode(Versioned, Base):
    """Valves, manholes, hydrants, regulators, sources, outfalls…"""
    __tablename__ = "pipe_node"
    __table_args__ = (CheckConstraint(f"network in {NETWORKS!r}", name="network"), {"schema": SCHEMA})
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    network: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    depth_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="正常")
    geom = geom("POINT")


class Pipe(Versioned, Base):
    """A pipe segment between two nodes; from→to is the flow direction for drainage."""
    __tablename__ = "pipe"
    __table_args__ = (CheckConstraint(f"network in {NETWORKS!r}", name="network"), {"schema": SCHEMA})
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    network: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    diameter_mm: Mapped[int] = mapped_column(Integer, nullable=False)
    material: Mapped[str] = mapped_column(String(20), nullable=False)
    pressure_class: Mapped[str | None] = mapped_column(String(20))
    depth_m: Mapped[float | None] = mapped_column(Float)
    install_year: Mapped[int | None] = mapped_column(SmallInteger)
    from_node: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.pipe_node.code"), nullable=False, index=True)
    to_node: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.pipe_node.code"), nullable=False, index=True)
    owner_dept: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    road_code: Mapped[str | None] = mapped_column(String(20))
    geom = geom("LINESTRING")


class Bridge(Versioned, Base):
    __tablename__ = "bridge"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    structure: Mapped[str | None] = mapped_column(String(20))
    length_m: Mapped[float | None] = mapped_column(Float)
    width_m: Mapped[float | None] = mapped_column(Float)
    spans: Mapped[int | None] = mapped_column(SmallInteger)
    build_year: Mapped[int | None] = mapped_column(SmallInteger)
    road_code: Mapped[str | None] = mapped_column(String(20))
    river: Mapped[str | None] = mapped_column(String(80))
    maintainer_dept: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    geom = geom("LINESTRING")


class RiskPoint(Versioned, Base):
    __tablename__ = "risk_point"
    __table_args__ = (CheckConstraint("level between 1 and 4", name="level"), {"schema": SCHEMA})
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    network: Mapped[str | None] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    dept_code: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    geom = geom("POINT")
    # R110 attributes and the current LEC assessment (migration 0011; rules in webapp.lifeline.risk).
    region_code: Mapped[str | None] = mapped_column(String(12))
    location: Mapped[str | None] = mapped_column(Text)
    resp_person: Mapped[str | None] = mapped_column(String(40))
    resp_phone: Mapped[str | None] = mapped_column(String(20))
    risk_object: Mapped[str | None] = mapped_column(String(120))
    risk_source: Mapped[str | None] = mapped_column(String(200))
    hazards: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    accident_types: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    photos: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    lec_l = mapped_column(Numeric(5, 1))
    lec_e = mapped_column(Numeric(5, 1))
    lec_c = mapped_column(Numeric(5, 1))
    lec_d = mapped_column(Numeric(10, 2))
    assessed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="active")
    source: Mapped[str] = mapped_column(String(10), nullable=False, server_default="import")
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_by_name: Mapped[str | None] = mapped_column(String(40))
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    reviewed_by_name: Mapped[str | None] = mapped_column(String(40))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
