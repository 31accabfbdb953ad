"""Tables of the spatial base-data page (R8): uploaded layers and map sources."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "admin"
DATA_SCHEMA = "userdata"  # where uploaded layers' tables are created


class SpatialLayer(Versioned, Base):
    """One layer uploaded through the page and published as an OGC collection
    (its table is userdata.<table_name>, its yml is var/layers/<id>.yml)."""
    __tablename__ = "spatial_layer"
    __table_args__ = (CheckConstraint("access in ('public','internal')", name="access"),
                      CheckConstraint("format in ('shapefile','gpkg','geojson','csv')", name="format"),
                      {"schema": SCHEMA})
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    source_file: Mapped[str] = mapped_column(String(255), nullable=False)
    source_path: Mapped[str | None] = mapped_column(String(255))
    source_layer: Mapped[str | None] = mapped_column(String(120))
    format: Mapped[str] = mapped_column(String(20), nullable=False)
    crs: Mapped[str] = mapped_column(String(40), nullable=False)
    crs_detected: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    geometry_type: Mapped[str] = mapped_column(String(20), nullable=False)
    feature_count: Mapped[int] = mapped_column(Integer, nullable=False)
    repaired_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    access: Mapped[str] = mapped_column(String(10), nullable=False)
    fields: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    style: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    bbox: Mapped[list | None] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(String(40))


class MapSource(Versioned, Base):
    """A basemap offered in the home map's switcher."""
    __tablename__ = "map_source"
    __table_args__ = (CheckConstraint("kind in ('offline','tianditu','xyz','wms')", name="kind"),
                      CheckConstraint("tdt_layer is null or tdt_layer in ('vec','img','ter')", name="tdt_layer"),
                      CheckConstraint("min_zoom between 0 and 22 and max_zoom between min_zoom and 22", name="zoom"),
                      CheckConstraint("not is_default or enabled", name="default_enabled"),
                      Index("ux_map_source_default", "is_default", unique=True, postgresql_where=text("is_default")),
                      {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    url: Mapped[str | None] = mapped_column(String(500))
    wms_layers: Mapped[str | None] = mapped_column(String(200))
    wms_format: Mapped[str | None] = mapped_column(String(40))
    tdt_layer: Mapped[str | None] = mapped_column(String(3))
    tdt_annotation: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    tdt_key: Mapped[str | None] = mapped_column(String(32))
    attribution: Mapped[str | None] = mapped_column(String(200))
    min_zoom: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    max_zoom: Mapped[int] = mapped_column(Integer, nullable=False, server_default="18")
    crs_note: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
