"""Request-scoped SQLAlchemy session (`get_db()`), closed at teardown."""
from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def get_db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["cityops.sessions"]()
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()
