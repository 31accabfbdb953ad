"""Data scope for internal layers: what part of a layer the caller may see.

The caller (set by the access guard in flask.g.principal) carries the widest
data scope of their roles: `all`; `dept` (rows whose department columns name
their department or one below it); `region` (rows inside their street or
community); `own` (treated like region until records carry an owner).
Public layers are never filtered. Returns an SQL condition and its params."""
from __future__ import annotations

from psycopg import sql

_DEPT_TREE = ("(WITH RECURSIVE t(code) AS (SELECT %s::varchar UNION "
              "SELECT d.code FROM admin.department d JOIN t ON d.parent_code = t.code) SELECT code FROM t)")
NOTHING = sql.SQL("false")


def _principal():
    from flask import g, has_request_context
    return g.get("principal") if has_request_context() else None


def scope_condition(access: str, geom: str, dept_fields: list[str]) -> tuple[sql.Composable | None, list]:
    if access == "public":
        return None, []
    who = _principal()
    if who is None:
        return None, []  # outside a request (CLI, tests of the provider) or guard not run
    scope = getattr(who, "data_scope", "all")
    if scope == "all":
        return None, []
    if scope == "dept":
        if not dept_fields:
            return None, []  # reference layers without department columns
        if not who.dept_code:
            return NOTHING, []
        ors = [sql.SQL("{} IN " + _DEPT_TREE).format(sql.Identifier(f)) for f in dept_fields]
        return sql.SQL("({})").format(sql.SQL(" OR ").join(ors)), [who.dept_code] * len(dept_fields)
    # region and own
    if not who.region_code:
        return NOTHING, []
    return (sql.SQL("ST_Intersects({}, (SELECT geom FROM geo.region WHERE code = %s))").format(sql.Identifier(geom)),
            [who.region_code])
