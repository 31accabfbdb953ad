"""The operation log: one shared mechanism records every ORM write.

A SQLAlchemy `before_flush` hook turns each insert, update and delete into an
`admin.operation_log` row (who, what, which record, before/after) in the same
transaction, so a write and its log entry commit or fail together."""
from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from webapp.auth.models import LoginLog, OperationLog

_SKIP = (OperationLog, LoginLog)
_SECRET_COLUMNS = {"password_hash", "secret_hash", "secret"}


def _actor():
    try:
        from flask import g, has_request_context, request
        if has_request_context():
            user = g.get("principal")
            if user is None:
                from flask_login import current_user
                user = current_user if current_user and current_user.is_authenticated else None
            return (getattr(user, "id", None), getattr(user, "username", None), request.remote_addr)
    except Exception:
        pass
    return None, None, None


def _plain(v):
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, dict)):
        return v
    return str(v)  # geometries and other objects: their text form


def _snapshot(obj, attr: str = "current") -> dict:
    state = inspect(obj)
    out = {}
    for col in state.mapper.column_attrs:
        key = col.key
        if key in _SECRET_COLUMNS:
            continue
        hist = state.attrs[key].history
        if attr == "before":
            value = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)
        else:
            value = getattr(obj, key, None)
        out[key] = _plain(value)
    return out


def _pk(obj) -> str:
    ident = inspect(obj).identity or tuple(getattr(obj, c.key) for c in inspect(obj).mapper.primary_key)
    return ",".join(str(i) for i in ident if i is not None)


@event.listens_for(Session, "before_flush")
def _record(session: Session, flush_context, instances) -> None:
    uid, uname, ip = _actor()
    entries = []
    for obj in session.new:
        if not isinstance(obj, _SKIP):
            entries.append(("create", obj, None, _snapshot(obj)))
    for obj in session.dirty:
        if isinstance(obj, _SKIP) or not session.is_modified(obj, include_collections=False):
            continue
        entries.append(("update", obj, _snapshot(obj, "before"), _snapshot(obj)))
    for obj in session.deleted:
        if not isinstance(obj, _SKIP):
            entries.append(("delete", obj, _snapshot(obj, "before"), None))
    for action, obj, before, after in entries:
        if action == "update":
            changed = {k for k in after if before.get(k) != after.get(k)} - {"updated_at"}
            if not changed:
                continue
        session.add(OperationLog(user_id=uid, username=uname, action=action, target_table=obj.__table__.fullname,
                                 target_id=_pk(obj) if action != "create" else None,
                                 before=before, after=after, ip=ip))


def record(session: Session, action: str, target_table: str, target_id: str | None = None,
           before: dict | None = None, after: dict | None = None, detail: str | None = None) -> None:
    """For writes done in bulk SQL (imports, loads) that bypass the ORM."""
    uid, uname, ip = _actor()
    session.add(OperationLog(user_id=uid, username=uname, action=action, target_table=target_table,
                             target_id=target_id, before=before, after=after, ip=ip, detail=detail))
