"""Spatial base data (R8): layer upload (Shapefile zip, GeoPackage, GeoJSON, CSV) validated, loaded into PostGIS and published as an OGC collection; map sources."""
from __future__ import annotations
