"""Smart dispatch rules (R29–R30), the part the case core calls.

Two tables in schema `cases`:
  * `register_rule` — auto-registration rules (立案规则): ordered, the first
    enabled rule that matches a new case decides which manual steps are
    skipped (Signalen-style routing: rules are data, first match wins);
  * `resp_entry` — the responsibility list (权责清单): class × area →
    department, post, person.

The service functions take a Session or Connection and only read; every
answer carries a Chinese explanation so the dispatcher sees *why*."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import (ARRAY, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Time, text)
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.models import Versioned

SCHEMA = "cases"
TZ = ZoneInfo("Asia/Shanghai")

ACTIONS: dict[str, str] = {
    "auto_accept": "自动受理（免人工受理）",
    "auto_file": "自动立案（免值班长审批）",
    "auto_dispatch": "允许按权责清单自动派遣",
}
KINDS: dict[str, str] = {"component": "部件", "event": "事件"}
# Area levels of a responsibility entry, most specific last (rank = index).
AREA_LEVELS: dict[str, str] = {"county": "全县", "street": "街道（乡镇）", "community": "社区（村）",
                               "resp_grid": "责任网格", "grid": "单元网格"}
AREA_RANK = {k: i for i, k in enumerate(AREA_LEVELS)}
CLASS_LEVELS = {0: "任意类别", 1: "大类", 2: "小类"}


# ---------------------------------------------------------------- models

class RegisterRule(Versioned, Base):
    """立案规则: which manual steps a matching new case skips."""
    __tablename__ = "register_rule"
    __table_args__ = {"schema": SCHEMA}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    sources: Mapped[list] = mapped_column(ARRAY(String(20)), nullable=False, server_default="{}")  # {} = any
    kind: Mapped[str | None] = mapped_column(String(10))                # None = any
    class_prefix: Mapped[str | None] = mapped_column(String(4))         # 2 or 4 digits, None = any
    region_prefix: Mapped[str | None] = mapped_column(String(15))       # street/community/grid prefix
    time_from: Mapped[dt.time | None] = mapped_column(Time)             # local time (Asia/Shanghai)
    time_to: Mapped[dt.time | None] = mapped_column(Time)
    actions: Mapped[list] = mapped_column(ARRAY(String(20)), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    sort: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    remark: Mapped[str | None] = mapped_column(String(200))


class RespEntry(Versioned, Base):
    """权责清单条目: class × area → department / post / person."""
    __tablename__ = "resp_entry"
    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to",
                                      name="ck_resp_entry_dates"), {"schema": SCHEMA})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(10))                # None = 部件和事件
    class_code: Mapped[str | None] = mapped_column(String(4))           # 4 or 2 digits, None = any
    area_level: Mapped[str] = mapped_column(String(10), nullable=False, server_default="county")
    area_code: Mapped[str | None] = mapped_column(String(20))           # None = county-wide
    dept_code: Mapped[str] = mapped_column(ForeignKey("admin.department.code"), nullable=False)
    post: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("admin.user.id", ondelete="SET NULL"))
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    remark: Mapped[str | None] = mapped_column(String(200))


# ---------------------------------------------------------------- values

@dataclass
class Place:
    """Where a case is, as geo.geocode.locate_point found it."""
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    resp_grid_code: str | None = None
    resp_grid_dept: str | None = None

    @classmethod
    def from_location(cls, loc) -> "Place":
        """From a geo.geocode.Location (or anything with the same attributes)."""
        return cls(loc.street_code, loc.community_code, loc.grid_code, loc.resp_grid_code, loc.resp_dept_code)

    def region_codes(self) -> list[str]:
        return [c for c in (self.grid_code, self.community_code, self.street_code) if c]


@dataclass
class AutoDecision:
    actions: set[str]
    rule_id: int | None
    explanation: str
    rule_name: str | None = None

    def to_dict(self) -> dict:
        return {"actions": sorted(self.actions), "action_names": [ACTIONS[a] for a in sorted(self.actions)],
                "rule_id": self.rule_id, "rule_name": self.rule_name, "explanation": self.explanation}


@dataclass
class Candidate:
    dept_code: str
    dept_name: str
    post: str | None
    user_id: int | None
    entry_id: int | None            # None: the responsibility grid's department (fallback)
    specificity: int                # higher = more specific; -1 for the fallback
    reason: str = ""
    user_name: str | None = None
    priority: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DispatchDecision:
    candidates: list[Candidate] = field(default_factory=list)
    dept_code: str | None = None    # set when exactly one department remains: dispatch automatically
    explanation: str = ""

    @property
    def automatic(self) -> bool:
        return self.dept_code is not None

    def to_dict(self) -> dict:
        return {"candidates": [c.to_dict() for c in self.candidates], "dept_code": self.dept_code,
                "automatic": self.automatic, "explanation": self.explanation}


# ---------------------------------------------------------------- helpers

def area_level(code: str | None) -> str:
    """Level of an area code: county (None or 6 digits), street (9), community (12), grid (15), resp_grid (…ZR…)."""
    if not code or len(code) == 6:
        return "county"
    if "ZR" in code:
        return "resp_grid"
    return {9: "street", 12: "community", 15: "grid"}.get(len(code), "unknown")


def specificity(class_code: str | None, level: str, kind: str | None) -> int:
    """Class first (小类 > 大类 > any), then area (grid > resp grid > community > street > county), then kind."""
    class_rank = 0 if not class_code else (2 if len(class_code) == 4 else 1)
    return class_rank * 100 + AREA_RANK[level] * 10 + (1 if kind else 0)


def in_window(t: dt.time, start: dt.time | None, end: dt.time | None) -> bool:
    """[start, end) of the day; a window with start > end runs over midnight (e.g. 22:00–06:00)."""
    if start is None or end is None:
        return True
    if start <= end:
        return start <= t < end
    return t >= start or t < end


def _local_now(at: dt.datetime | None) -> dt.datetime:
    at = at or dt.datetime.now(TZ)
    return at.astimezone(TZ) if at.tzinfo else at.replace(tzinfo=TZ)


# ---------------------------------------------------------------- auto-registration

_RULES_SQL = text("""
SELECT id, name, sources, kind, class_prefix, region_prefix, time_from, time_to, actions
  FROM cases.register_rule WHERE enabled ORDER BY sort, id""")


def rule_matches(rule, source: str, kind: str, class_code: str, place: Place, now: dt.time) -> bool:
    if rule.sources and source not in rule.sources:
        return False
    if rule.kind and rule.kind != kind:
        return False
    if rule.class_prefix and not (class_code or "").startswith(rule.class_prefix):
        return False
    if rule.region_prefix and not any(c.startswith(rule.region_prefix) for c in place.region_codes()):
        return False
    return in_window(now, rule.time_from, rule.time_to)


def describe_rule(rule) -> str:
    """The rule's conditions in Chinese (for explanations and the list page)."""
    from webapp.cases.stages import SOURCES
    parts = ["来源：" + ("、".join(SOURCES.get(s, s) for s in rule.sources) if rule.sources else "任意")]
    parts.append("类型：" + (KINDS.get(rule.kind, rule.kind) if rule.kind else "任意"))
    parts.append("类别：" + (f"{rule.class_prefix}{'（大类）' if len(rule.class_prefix) == 2 else ''}"
                             if rule.class_prefix else "任意"))
    parts.append("区域：" + (f"{rule.region_prefix}*" if rule.region_prefix else "全县"))
    if rule.time_from is not None and rule.time_to is not None:
        parts.append(f"时段：{rule.time_from:%H:%M}–{rule.time_to:%H:%M}")
    return "；".join(parts)


def auto_actions(db, source: str, kind: str, class_code: str, place: Place,
                 at: dt.datetime | None = None) -> AutoDecision:
    """Which manual steps a new case skips: the first enabled rule (by sort) that matches decides."""
    now = _local_now(at).time()
    rules = db.execute(_RULES_SQL).all()
    for r in rules:
        if rule_matches(r, source, kind, class_code, place, now):
            names = "、".join(ACTIONS[a].split("（")[0] for a in r.actions if a in ACTIONS)
            return AutoDecision(set(r.actions), r.id, f"匹配立案规则 #{r.id}“{r.name}”（{describe_rule(r)}）：{names}",
                                r.name)
    return AutoDecision(set(), None, f"没有匹配的立案规则（共 {len(rules)} 条启用），按标准流程人工受理、立案、派遣")


# ---------------------------------------------------------------- responsibility list

_ENTRIES_SQL = text("""
SELECT e.id, e.kind, e.class_code, e.area_level, e.area_code, e.dept_code, d.name AS dept_name, e.post,
       CASE WHEN u.enabled THEN e.user_id END AS user_id, CASE WHEN u.enabled THEN u.display_name END AS user_name,
       e.priority
  FROM cases.resp_entry e
  JOIN admin.department d ON d.code = e.dept_code
  LEFT JOIN admin."user" u ON u.id = e.user_id
 WHERE e.enabled
   AND (e.kind IS NULL OR e.kind = :kind)
   AND (e.class_code IS NULL OR e.class_code = :c4 OR e.class_code = :c2)
   AND (e.area_code IS NULL OR e.area_code = ANY(CAST(:areas AS text[])))
   AND (e.valid_from IS NULL OR e.valid_from <= :day)
   AND (e.valid_to IS NULL OR e.valid_to >= :day)""")


def _entry_reason(e) -> str:
    cls = f"{'小类' if len(e.class_code) == 4 else '大类'} {e.class_code}" if e.class_code else "任意类别"
    area = f"{AREA_LEVELS.get(e.area_level, e.area_level)} {e.area_code}" if e.area_code else "全县"
    kind = KINDS.get(e.kind, "部件和事件") if e.kind else "部件和事件"
    return f"权责清单 #{e.id}：{kind}·{cls}·{area}"


def dispatch_candidates(db, kind: str, class_code: str, place: Place,
                        on: dt.date | None = None) -> list[Candidate]:
    """The responsible department(s): the most specific valid entries win (then the highest priority);
    with no entry at all, the responsibility grid's department."""
    day = on or _local_now(None).date()
    code = class_code or ""
    areas = [c for c in (place.street_code, place.community_code, place.grid_code, place.resp_grid_code) if c]
    rows = db.execute(_ENTRIES_SQL, {"kind": kind, "c4": code, "c2": code[:2] or None, "areas": areas,
                                     "day": day}).all()
    if rows:
        scored = [(specificity(r.class_code, r.area_level, r.kind), r) for r in rows]
        top = max(s for s, _ in scored)
        tier = [r for s, r in scored if s == top]
        best = max(r.priority for r in tier)
        others = len(rows) - len(tier)
        out = []
        for r in sorted(tier, key=lambda r: (r.dept_code, r.id)):
            if r.priority != best:
                continue
            reason = _entry_reason(r) + "，为最具体的匹配"
            if others:
                reason += f"（另有 {others} 条较宽泛的条目被覆盖）"
            if len(tier) > 1 and any(x.priority != best for x in tier):
                reason += f"，优先级 {best} 最高"
            out.append(Candidate(r.dept_code, r.dept_name, r.post, r.user_id, r.id, top, reason, r.user_name,
                                 r.priority))
        return out
    if place.resp_grid_dept:
        name = db.execute(text("SELECT name FROM admin.department WHERE code = :c"),
                          {"c": place.resp_grid_dept}).scalar()
        if name:
            return [Candidate(place.resp_grid_dept, name, None, None, None, -1,
                              f"权责清单无匹配条目，按责任网格 {place.resp_grid_code} 的责任部门兜底")]
    return []


def dispatch_decision(db, kind: str, class_code: str, place: Place, on: dt.date | None = None) -> DispatchDecision:
    """Candidates plus the verdict: one department → automatic dispatch, otherwise the dispatcher chooses."""
    cands = dispatch_candidates(db, kind, class_code, place, on)
    depts = {c.dept_code for c in cands}
    if len(depts) == 1:
        c = cands[0]
        how = "责任网格兜底" if c.entry_id is None else "权责清单唯一匹配"
        return DispatchDecision(cands, c.dept_code, f"{how}：自动派遣至{c.dept_name}")
    if not cands:
        return DispatchDecision(cands, None, "权责清单无匹配条目，且该位置没有责任网格部门：请派遣员人工选择处置部门")
    names = "、".join(dict.fromkeys(c.dept_name for c in cands))
    return DispatchDecision(cands, None, f"有 {len(depts)} 个部门同样匹配（{names}）：请派遣员选择")
