"""Organisation, users, roles, API keys and the operation log (schema `admin`).

The system-administration issue extends these; the foundation needs login,
roles, API keys for outside systems and one shared operation log.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Table, Column, Text, func
from sqlalchemy.dialects.postgresql import JSONB, ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geo.db import Base
from geo.models import Timestamps, Versioned

SCHEMA = "admin"

user_role = Table(
    "user_role", Base.metadata,
    Column("user_id", ForeignKey(f"{SCHEMA}.user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_code", ForeignKey(f"{SCHEMA}.role.code", ondelete="CASCADE"), primary_key=True),
    schema=SCHEMA,
)


class Department(Versioned, Base):
    __tablename__ = "department"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.department.code"))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    region_code: Mapped[str | None] = mapped_column(String(12))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class Role(Timestamps, Base):
    __tablename__ = "role"
    __table_args__ = {"schema": SCHEMA}
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    # all | dept (own department and below) | region (own street/community) | own (own records)
    data_scope: Mapped[str] = mapped_column(String(10), nullable=False, server_default="all")
    permissions: Mapped[list] = mapped_column(ARRAY(String(80)), nullable=False, server_default="{}")
    remark: Mapped[str | None] = mapped_column(String(200))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    builtin: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")


class User(Versioned, Base):
    __tablename__ = "user"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(40), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    dept_code: Mapped[str | None] = mapped_column(ForeignKey(f"{SCHEMA}.department.code"))
    region_code: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when an administrator gives a temporary password: the user must change it at next login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    roles: Mapped[list[Role]] = relationship(secondary=user_role, lazy="selectin")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.enabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_codes(self) -> set[str]:
        return {r.code for r in self.roles}


class ApiKey(Timestamps, Base):
    """Keys for outside systems: `key_id.secret`. The secret is checked against
    its scrypt hash; it is also kept in `secret` because HMAC request signatures
    need it on the server (encrypting that column at rest is still to do)."""
    __tablename__ = "api_key"
    __table_args__ = {"schema": SCHEMA}
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    secret: Mapped[str] = mapped_column(String(80), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.user.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginLog(Base):
    __tablename__ = "login_log"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    username: Mapped[str] = mapped_column(String(40), nullable=False)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str | None] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class OperationLog(Base):
    """Every write in the platform: who, what, which record, before/after."""
    __tablename__ = "operation_log"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False,
                                            index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    target_table: Mapped[str | None] = mapped_column(String(80))
    target_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
