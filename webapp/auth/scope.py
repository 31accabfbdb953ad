"""Data scope for business tables (R88): which rows a caller may see.

The caller's widest role scope applies (guard.Principal.data_scope):
`all`; `dept` — rows of their department or any department below it;
`region` — rows in their street/community (region codes are hierarchical:
a community's 12-digit code starts with its street's 9 digits); `own` —
rows they created. Spatial layers use ogc.scope (geometry inside the region).
`condition()` returns a SQLAlchemy boolean for a select's WHERE."""
from __future__ import annotations

from sqlalchemy import false, literal_column, select, true
from sqlalchemy.sql import ColumnElement

from webapp.auth.models import Department


def dept_subtree(code: str):
    """A subquery of the department code and every code below it."""
    tree = select(Department.code).where(Department.code == code).cte("dept_tree", recursive=True)
    tree = tree.union(select(Department.code).join(tree, Department.parent_code == tree.c.code))
    return select(tree.c.code)


def condition(who, *, dept_col=None, region_col=None, owner_col=None) -> ColumnElement:
    scope = getattr(who, "data_scope", "own") if who is not None else "own"
    if who is None:
        return false()
    if scope == "all":
        return true()
    if scope == "dept":
        if dept_col is None or not who.dept_code:
            return _own(who, owner_col)
        return dept_col.in_(dept_subtree(who.dept_code))
    if scope == "region":
        if region_col is None or not who.region_code:
            return _own(who, owner_col)
        return region_col.like(who.region_code + "%")
    return _own(who, owner_col)


def _own(who, owner_col) -> ColumnElement:
    if owner_col is None:
        return false()
    return owner_col == literal_column(str(int(who.id)))


def allows(who, *, dept_code=None, region_code=None, owner_id=None, db=None) -> bool:
    """The same rule for one record already loaded (detail pages, writes)."""
    scope = getattr(who, "data_scope", "own") if who is not None else "own"
    if who is None:
        return False
    if scope == "all":
        return True
    if scope == "dept" and who.dept_code and dept_code is not None and db is not None:
        return dept_code in set(db.scalars(dept_subtree(who.dept_code)))
    if scope == "region" and who.region_code and region_code is not None:
        return region_code.startswith(who.region_code)
    return owner_id is not None and owner_id == who.id
