"""pygeoapi providers for our PostGIS layers: GeoJSON and MVT built in SQL.

Why our own: pygeoapi's stock PostgreSQL provider loads rows through the ORM,
serialises and reprojects in Python and counts every match on every page;
here one SQL statement returns the finished page, table metadata is cached
per process and no count is run unless `resulttype=hits` asks for it.
"""
from __future__ import annotations

import functools
import orjson
import logging
import re

from psycopg import sql
from pygeoapi.provider.base import (BaseProvider, ProviderInvalidQueryError, ProviderItemNotFoundError,
                                    ProviderQueryError)
from pygeoapi.provider.mvt_postgresql import MVTPostgreSQLProvider
from pygeoapi.provider.base_mvt import BaseMVTProvider
from pygeoapi.provider.tile import ProviderTileNotFoundError
from pygeoapi.models.provider.base import TileMatrixSetEnum

from ogc.cql import CqlTranslator
from ogc.dbpool import pool
from ogc.scope import scope_condition

LOG = logging.getLogger(__name__)
STORAGE_SRID = 4490
STORAGE_URI = "http://www.opengis.net/def/crs/EPSG/0/4490"
_PG_JSON_TYPES = {"integer": "integer", "bigint": "integer", "smallint": "integer", "double precision": "number",
                  "real": "number", "numeric": "number", "boolean": "boolean", "jsonb": "object", "json": "object"}
_EPSG_RE = re.compile(r"(?:EPSG/0/|EPSG::?|epsg:)(\d+)$")


@functools.lru_cache(maxsize=64)
def output_crs(uri: str | None) -> tuple[int, bool, int]:
    """(srid, flip axes, decimal digits) for an output CRS URI.

    CRS84 is lon/lat; EPSG geographic CRSs (4490, 4326) are lat/lon, and so is
    any EPSG CRS whose first axis points north (checked with pyproj)."""
    if not uri or uri.endswith("CRS84"):
        return STORAGE_SRID, False, 7
    m = _EPSG_RE.search(uri)
    if not m:
        raise ProviderInvalidQueryError(user_msg=f"不支持的坐标系: {uri}")
    srid = int(m.group(1))
    import pyproj

    crs = pyproj.CRS.from_epsg(srid)
    flip = crs.axis_info[0].direction.lower() == "north"
    digits = 7 if crs.is_geographic else 3
    # CGCS2000 and WGS84 are treated as identical (no PROJ grid between them).
    return (STORAGE_SRID if srid in (4490, 4326) else srid), flip, digits


class TableMeta:
    def __init__(self, columns: dict[str, str], pg_types: dict[str, str]):
        self.columns = columns      # published column -> JSON schema type
        self.pg_types = pg_types


@functools.lru_cache(maxsize=128)
def table_meta(dsn: str, table: str, fields: tuple[str, ...]) -> TableMeta:
    schema, name = table.split(".")
    with pool(dsn).connection() as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema=%s AND table_name=%s", (schema, name)).fetchall()
    if not rows:
        raise ProviderQueryError(user_msg=f"数据表 {table} 不存在，请先执行数据库迁移")
    pg_types = dict(rows)
    missing = [f for f in fields if f not in pg_types]
    if missing:
        raise ProviderQueryError(user_msg=f"图层字段不存在: {missing}")
    cols = {f: _PG_JSON_TYPES.get(pg_types[f], "string") for f in fields}
    return TableMeta(cols, pg_types)


class _Layer:
    """Shared SQL building for features and tiles."""

    def _setup(self, provider_def: dict) -> None:
        data = provider_def["data"]
        self.dsn = data["dsn"]
        self.table = data["table"]
        self.geom = data.get("geom", "geom")
        self.id_field = provider_def.get("id_field", "code")
        self.published = tuple(data["fields"])
        self.access = data.get("access", "internal")
        self.dept_fields = list(data.get("dept_fields", []))
        self.meta = table_meta(self.dsn, self.table, self.published)
        self._fields = {k: {"type": v} for k, v in self.meta.columns.items()}

    @property
    def table_sql(self) -> sql.Composable:
        schema, name = self.table.split(".")
        return sql.Identifier(schema, name)

    def _props_sql(self, names) -> sql.Composable:
        parts = []
        for n in names:
            parts.append(sql.Literal(n))
            parts.append(sql.Identifier(n))
        return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(parts))


class CityFeatureProvider(_Layer, BaseProvider):
    def __init__(self, provider_def):
        BaseProvider.__init__(self, provider_def)
        self._setup(provider_def)

    def get_fields(self):
        return self._fields

    # -- queries -----------------------------------------------------------
    def _where(self, bbox, properties, filterq, q) -> tuple[list[sql.Composable], list]:
        conds, params = [], []
        scope, scope_params = scope_condition(self.access, self.geom, self.dept_fields)
        if scope is not None:
            conds.append(scope)
            params += scope_params
        if bbox:
            if len(bbox) == 6:
                bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
            # pygeoapi hands the bbox over in storage-CRS axis order: EPSG:4490 is lat/lon.
            minlat, minlon, maxlat, maxlon = (float(v) for v in bbox)
            conds.append(sql.SQL("ST_Intersects({}, ST_MakeEnvelope(%s, %s, %s, %s, 4490))").format(
                sql.Identifier(self.geom)))
            params += [minlon, minlat, maxlon, maxlat]
        for name, value in properties or []:
            if name not in self.meta.columns:
                raise ProviderInvalidQueryError(user_msg=f"未知的属性: {name}")
            conds.append(sql.SQL("{}::text = %s").format(sql.Identifier(name)))
            params.append(str(value))
        if q:
            text_cols = [c for c, t in self.meta.columns.items() if t == "string"]
            ors = [sql.SQL("{}::text ILIKE %s").format(sql.Identifier(c)) for c in text_cols]
            if ors:
                conds.append(sql.SQL("({})").format(sql.SQL(" OR ").join(ors)))
                like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                params += [like] * len(ors)
        if filterq is not None:
            tr = CqlTranslator(self.meta.columns, self.geom)
            conds.append(tr.translate(filterq))
            params += tr.params
        return conds, params

    def _geom_sql(self, crs_transform_spec) -> sql.Composable:
        # No spec means the client asked for the storage CRS itself (EPSG:4490, lat/lon axis order).
        uri = crs_transform_spec.target_crs_uri if crs_transform_spec else STORAGE_URI
        srid, flip, digits = output_crs(uri)
        g = sql.Identifier(self.geom)
        if srid != STORAGE_SRID:
            g = sql.SQL("ST_Transform({}, {})").format(g, sql.Literal(srid))
        if flip:
            g = sql.SQL("ST_FlipCoordinates({})").format(g)
        # options 0: no legacy "crs" member; the Content-Crs header says which CRS it is.
        return sql.SQL("ST_AsGeoJSON({}, {}, 0)::json").format(g, sql.Literal(digits))

    def _feature_sql(self, names, skip_geometry, crs_transform_spec) -> sql.Composable:
        geometry = sql.SQL("NULL") if skip_geometry else self._geom_sql(crs_transform_spec)
        return sql.SQL("json_build_object('type', 'Feature', 'id', {}, 'geometry', {}, 'properties', {})").format(
            sql.Identifier(self.id_field), geometry, self._props_sql(names))

    def query(self, offset=0, limit=10, resulttype="results", bbox=[], datetime_=None, properties=[], sortby=[],
              select_properties=[], skip_geometry=False, q=None, filterq=None, crs_transform_spec=None, **kwargs):
        conds, params = self._where(bbox, properties, filterq, q)
        where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")
        if resulttype == "hits":
            stmt = sql.SQL("SELECT count(*) FROM {}{}").format(self.table_sql, where)
            with pool(self.dsn).connection() as conn:
                n = conn.execute(stmt, params).fetchone()[0]
            return {"type": "FeatureCollection", "features": [], "numberMatched": n, "numberReturned": 0}
        names = [n for n in self.published if not select_properties or n in select_properties]
        order = []
        for s in sortby or []:
            if s["property"] not in self.meta.columns:
                raise ProviderInvalidQueryError(user_msg=f"无法按未知字段排序: {s['property']}")
            order.append(sql.SQL("{} {}").format(sql.Identifier(s["property"]),
                                                 sql.SQL("DESC" if s.get("order") == "-" else "ASC")))
        # A stable order makes offset paging repeatable.
        order.append(sql.Identifier(self.id_field))
        stmt = sql.SQL(
            "SELECT coalesce(json_agg(f), '[]')::text FROM (SELECT {} AS f FROM {}{} ORDER BY {} LIMIT %s OFFSET %s) s"
        ).format(self._feature_sql(names, skip_geometry, crs_transform_spec), self.table_sql, where,
                 sql.SQL(", ").join(order))
        try:
            with pool(self.dsn).connection() as conn:
                text = conn.execute(stmt, params + [int(limit), int(offset)]).fetchone()[0]
        except Exception as exc:  # psycopg errors on bad filter values become 400s
            if exc.__class__.__module__.startswith("psycopg"):
                raise ProviderInvalidQueryError(user_msg=f"查询条件无效: {str(exc).splitlines()[0]}") from None
            raise
        features = orjson.loads(text)
        return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}

    def get(self, identifier, crs_transform_spec=None, **kwargs):
        scope, scope_params = scope_condition(self.access, self.geom, self.dept_fields)
        stmt = sql.SQL("SELECT ({})::text FROM {} WHERE {}::text = %s{}").format(
            self._feature_sql(self.published, False, crs_transform_spec), self.table_sql,
            sql.Identifier(self.id_field), sql.SQL(" AND ") + scope if scope is not None else sql.SQL(""))
        with pool(self.dsn).connection() as conn:
            row = conn.execute(stmt, [str(identifier)] + scope_params).fetchone()
        if row is None:
            raise ProviderItemNotFoundError(user_msg=f"要素 {identifier} 不存在")
        return orjson.loads(row[0])

    def __repr__(self):
        return f"<CityFeatureProvider> {self.table}"


class CityTileProvider(_Layer, MVTPostgreSQLProvider):
    """Vector tiles (MVT) with ST_AsMVT in one statement."""

    def __init__(self, provider_def):
        BaseMVTProvider.__init__(self, provider_def)
        self._setup(provider_def)
        self.storage_crs = provider_def.get("storage_crs", "http://www.opengis.net/def/crs/EPSG/0/4490")

    def get_fields(self):
        return self._fields

    def get_layer(self):
        return self.table.split(".")[1]

    def tile_sql(self, scope: sql.Composable | None = None) -> sql.Composable:
        names = sql.SQL(", ").join(sql.Identifier(n) for n in self.published if self.meta.pg_types[n] != "jsonb")
        g = sql.Identifier(self.geom)
        return sql.SQL(
            "WITH b AS (SELECT ST_TileEnvelope(%s, %s, %s) AS env), "
            "mvt AS (SELECT ST_AsMVTGeom(ST_Transform({g}, 3857), b.env) AS mvtgeom, {names} "
            "FROM {t}, b WHERE {g} && ST_Transform(b.env, 4490){scope}) "
            "SELECT ST_AsMVT(mvt.*, %s, 4096, 'mvtgeom') FROM mvt"
        ).format(g=g, names=names, t=self.table_sql,
                 scope=sql.SQL(" AND ") + scope if scope is not None else sql.SQL(""))

    def get_tiles(self, layer="default", tileset=None, z=None, y=None, x=None, format_=None):
        try:
            z, y, x = int(z), int(y), int(x)
        except (TypeError, ValueError):
            raise ProviderInvalidQueryError(user_msg="瓦片行列号应为整数") from None
        if tileset != TileMatrixSetEnum.WEBMERCATORQUAD.value.tileMatrixSet:
            raise ProviderTileNotFoundError
        if not (0 <= z <= 24 and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            raise ProviderTileNotFoundError
        scope, scope_params = scope_condition(self.access, self.geom, self.dept_fields)
        with pool(self.dsn).connection() as conn:
            data = conn.execute(self.tile_sql(scope), [z, x, y, *scope_params, self.get_layer()]).fetchone()[0]
        return bytes(data) if data else b""

    def get_tiling_schemes(self):
        return [TileMatrixSetEnum.WEBMERCATORQUAD.value]

    def __repr__(self):
        return f"<CityTileProvider> {self.table}"
