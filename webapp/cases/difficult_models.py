"""Tables of difficult cases (疑难案件, R18–R22), schema `cases`:

  * `difficult_rule`  — conditions that mark a case automatically (editable);
  * `difficult_mark`  — one row per marking (auto or manual), its status
    认定中 → 已确权 → 已解决 (or 已撤销), the responsible department found;
  * `ownership_round` — a 确权 round: candidate departments, a deadline, the decision;
  * `ownership_answer` — one candidate department's answer (属于 / 不属于 + reason).

The migration 0010 creates them (with the partial unique indexes: one live
mark and one open round per case) and seeds dictionary `difficult_type`."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "cases"
RULE_KINDS = {
    "returns_depts": "被 N 个及以上不同部门回退",
    "reworks": "返工 N 次及以上",
    "overdue_hours": "处置超期超过 N 个工作小时",
    "urged": "督办 N 次及以上",
    "open_days": "办理超过 N 天未结案",
    "classes": "指定案件类别",
}
MARK_STATUSES = {"pending": "认定中", "confirmed": "已确权", "resolved": "已解决", "cancelled": "已撤销"}
MARK_SOURCES = {"auto": "自动标记", "manual": "手动标记"}
ROUND_STATUSES = {"open": "征询中", "decided": "已确权", "cancelled": "已取消"}
ANSWERS = {"yes": "属于本单位", "no": "不属于本单位"}
# R22's two analysis categories (dict_item.extra.category of `difficult_type`).
CATEGORIES = {"dept_unclear": "处置部门不明确", "poor_handling": "处置多次不到位", "other": "其他"}


class DifficultRule(Versioned, Base):
    __tablename__ = "difficult_rule"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    class_codes: Mapped[list] = mapped_column(ARRAY(String(4)), nullable=False, server_default="{}")
    type_code: Mapped[str] = mapped_column(String(40), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    remark: Mapped[str | None] = mapped_column(String(200))


class DifficultMark(Versioned, Base):
    __tablename__ = "difficult_mark"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.case.id"), nullable=False)
    type_code: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey(f"{SCHEMA}.difficult_rule.id", ondelete="SET NULL"))
    marked_by: Mapped[int | None] = mapped_column(Integer)
    marked_by_name: Mapped[str | None] = mapped_column(String(40))
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="pending")
    responsible_dept: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[int | None] = mapped_column(Integer)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OwnershipRound(Versioned, Base):
    __tablename__ = "ownership_round"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mark_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.difficult_mark.id"), nullable=False)
    case_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.case.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="open")
    deadline: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[int | None] = mapped_column(Integer)
    opened_by_name: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    decided_dept: Mapped[str | None] = mapped_column(ForeignKey("admin.department.code"))
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_by_name: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_comment: Mapped[str | None] = mapped_column(Text)


class OwnershipAnswer(Versioned, Base):
    __tablename__ = "ownership_answer"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.ownership_round.id", ondelete="CASCADE"),
                                          nullable=False)
    dept_code: Mapped[str] = mapped_column(ForeignKey("admin.department.code"), nullable=False)
    answer: Mapped[str | None] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(Integer)
    answered_by_name: Mapped[str | None] = mapped_column(String(40))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
