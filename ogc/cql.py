"""Translate pygeofilter ASTs (CQL2 text/JSON) into parameterised PostGIS SQL.

Only columns the layer publishes may appear; values are always bound as
parameters, never pasted into SQL.
"""
from __future__ import annotations

from psycopg import sql
from pygeofilter import ast, values

from pygeoapi.provider.base import ProviderInvalidQueryError

_CMP = {ast.ComparisonOp.EQ: "=", ast.ComparisonOp.NE: "<>", ast.ComparisonOp.LT: "<",
        ast.ComparisonOp.LE: "<=", ast.ComparisonOp.GT: ">", ast.ComparisonOp.GE: ">="}
_SPATIAL = {"INTERSECTS": "ST_Intersects", "DISJOINT": "ST_Disjoint", "CONTAINS": "ST_Contains",
            "WITHIN": "ST_Within", "TOUCHES": "ST_Touches", "CROSSES": "ST_Crosses",
            "OVERLAPS": "ST_Overlaps", "EQUALS": "ST_Equals"}


class CqlTranslator:
    def __init__(self, columns: dict[str, str], geom_column: str, srid: int = 4490):
        self.columns = columns  # name -> json type
        self.geom = geom_column
        self.srid = srid
        self.params: list = []

    def translate(self, node) -> sql.Composable:
        return self._node(node)

    # -- nodes -------------------------------------------------------------
    def _node(self, n) -> sql.Composable:
        if isinstance(n, ast.And):
            return sql.SQL("({} AND {})").format(self._node(n.lhs), self._node(n.rhs))
        if isinstance(n, ast.Or):
            return sql.SQL("({} OR {})").format(self._node(n.lhs), self._node(n.rhs))
        if isinstance(n, ast.Not):
            return sql.SQL("(NOT {})").format(self._node(n.sub_node))
        if isinstance(n, ast.Comparison):
            return sql.SQL("({} {} {})").format(self._expr(n.lhs), sql.SQL(_CMP[n.op]), self._expr(n.rhs))
        if isinstance(n, ast.Between):
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                self._expr(n.lhs), sql.SQL("NOT " if n.not_ else ""), self._expr(n.low), self._expr(n.high))
        if isinstance(n, ast.Like):
            pattern = n.pattern.replace(n.wildcard, "%").replace(n.singlechar, "_") if n.wildcard else n.pattern
            op = "ILIKE" if getattr(n, "nocase", False) else "LIKE"
            return sql.SQL("({}::text {}{} {})").format(
                self._expr(n.lhs), sql.SQL("NOT " if n.not_ else ""), sql.SQL(op), self._param(pattern))
        if isinstance(n, ast.In):
            items = sql.SQL(", ").join(self._expr(v) for v in n.sub_nodes)
            return sql.SQL("({} {}IN ({}))").format(self._expr(n.lhs), sql.SQL("NOT " if n.not_ else ""), items)
        if isinstance(n, ast.IsNull):
            return sql.SQL("({} IS {}NULL)").format(self._expr(n.lhs), sql.SQL("NOT " if n.not_ else ""))
        if isinstance(n, ast.SpatialComparisonPredicate):
            fn = _SPATIAL.get(n.op.name)
            if fn is None:
                raise ProviderInvalidQueryError(user_msg=f"不支持的空间谓词: {n.op.name}")
            return sql.SQL("{}({}, {})").format(sql.SQL(fn), self._expr(n.lhs), self._expr(n.rhs))
        if isinstance(n, ast.BBox):
            env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
                self._param(float(n.minx)), self._param(float(n.miny)), self._param(float(n.maxx)),
                self._param(float(n.maxy)), sql.Literal(self.srid))
            return sql.SQL("ST_Intersects({}, {})").format(self._expr(n.lhs), env)
        raise ProviderInvalidQueryError(user_msg=f"不支持的过滤条件: {type(n).__name__}")

    def _expr(self, e) -> sql.Composable:
        if isinstance(e, ast.Attribute):
            name = e.name
            if name in (self.geom, "geometry", "geom"):
                return sql.Identifier(self.geom)
            if name not in self.columns:
                raise ProviderInvalidQueryError(user_msg=f"过滤条件中的字段 {name!r} 不存在")
            return sql.Identifier(name)
        if isinstance(e, values.Geometry):
            import json
            return sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
                self._param(json.dumps(e.geometry)), sql.Literal(self.srid))
        if isinstance(e, values.Envelope):
            return sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
                self._param(e.x1), self._param(e.y1), self._param(e.x2), self._param(e.y2), sql.Literal(self.srid))
        if isinstance(e, (str, int, float, bool)) or e is None:
            return self._param(e)
        if isinstance(e, (ast.Arithmetic,)):
            ops = {ast.ArithmeticOp.ADD: "+", ast.ArithmeticOp.SUB: "-", ast.ArithmeticOp.MUL: "*",
                   ast.ArithmeticOp.DIV: "/"}
            return sql.SQL("({} {} {})").format(self._expr(e.lhs), sql.SQL(ops[e.op]), self._expr(e.rhs))
        raise ProviderInvalidQueryError(user_msg=f"不支持的表达式: {type(e).__name__}")

    def _param(self, v) -> sql.Composable:
        self.params.append(v)
        return sql.Placeholder()
