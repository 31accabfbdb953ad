"""Tables of emergency management (R117, schema `lifeline`, migration 0015):
teams by department with a base, their people, experts by industry,
regulations and emergency plans by category (with a stored file), and
materials/equipment with a storage place."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "lifeline"


def _point(nullable: bool = False):
    return mapped_column(Geometry("POINT", srid=4490, spatial_index=False), nullable=nullable)


class EmergencyTeam(Versioned, Base):
    __tablename__ = "emergency_team"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dept_code: Mapped[str] = mapped_column(ForeignKey("admin.department.code"), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    leader: Mapped[str] = mapped_column(String(40), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    members_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    specialty: Mapped[str] = mapped_column(String(20), nullable=False)
    base_name: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    geom = _point()


class EmergencyPerson(Versioned, Base):
    __tablename__ = "emergency_person"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.emergency_team.id"))
    dept_code: Mapped[str] = mapped_column(ForeignKey("admin.department.code"), nullable=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    role: Mapped[str] = mapped_column(String(40), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    skills: Mapped[str | None] = mapped_column(String(200))


class EmergencyExpert(Versioned, Base):
    __tablename__ = "emergency_expert"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    industry: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(40), nullable=False)
    org: Mapped[str] = mapped_column(String(120), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    speciality: Mapped[str | None] = mapped_column(String(200))
    geom = _point(nullable=True)          # where the expert's organisation is


class EmergencyDocument(Versioned, Base):
    __tablename__ = "emergency_document"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)       # regulation | plan
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    doc_no: Mapped[str | None] = mapped_column(String(80))
    issuer: Mapped[str | None] = mapped_column(String(120))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    summary: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_size: Mapped[int | None] = mapped_column(Integer)
    file_mime: Mapped[str | None] = mapped_column(String(100))


class EmergencyMaterial(Versioned, Base):
    __tablename__ = "emergency_material"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    type: Mapped[str] = mapped_column(String(12), nullable=False)       # material | equipment
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    quantity = mapped_column(Numeric(12, 2), nullable=False)
    unit: Mapped[str] = mapped_column(String(10), nullable=False)
    storage_name: Mapped[str] = mapped_column(String(120), nullable=False)
    dept_code: Mapped[str] = mapped_column(ForeignKey("admin.department.code"), nullable=False)
    keeper: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    expiry: Mapped[dt.date | None] = mapped_column(Date)
    geom = _point()
