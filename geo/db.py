"""Database engine, sessions and the declarative base shared by all schemas."""
from __future__ import annotations

import functools

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from geo.settings import get_settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


_engines: dict[str, Engine] = {}


def resolve_url(url: str | None = None) -> str:
    if url:
        return url
    from geo.pgcluster import database_url

    return database_url(get_settings())


def get_engine(url: str | None = None) -> Engine:
    url = resolve_url(url)
    eng = _engines.get(url)
    if eng is None:
        eng = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, future=True)
        _engines[url] = eng
    return eng


@functools.lru_cache(maxsize=8)
def _sessionmaker(url: str) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False, future=True)


def session_factory(url: str | None = None) -> sessionmaker:
    return _sessionmaker(resolve_url(url))
