"""Process definitions (R92): BPMN 2.0 files validated by SpiffWorkflow's
parser and stored with a version per process key.

The case-workflow module uses this small API:

    deploy(db, xml, category, who)        -> ProcessDefinition (flushed, not committed)
    active_definition(db, process_key)    -> the version new cases start on (or None)
    definition(db, process_key, version)  -> one version (running cases keep theirs)
    parsed_spec(defn)                     -> SpiffWorkflow BpmnProcessSpec (cached)
    subprocess_specs(defn)                -> specs of called processes / subprocesses

Status rule, kept in one place (`_restatus`): of a key's versions that are
not suspended, the newest is `active` and the others are `superseded`. So a
new deployment takes over new cases, suspending the active version falls back
to the newest one still in service, and reactivating a version never makes an
older one win over a newer one. BPMN script tasks run Python: treat these
files as code (only `admin:workflow:edit` may deploy them)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading

from lxml import etree
from sqlalchemy import (CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint, func, select,
                        text)
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.errors import GeoError
from geo.models import DictItem, Timestamps
from webapp import oplog
from webapp.admin import workflow_contracts

SCHEMA = "admin"
CATEGORY_DICT = "workflow_category"
STATUSES = {"active": "生效", "superseded": "已被新版本取代", "suspended": "已挂起"}
MAX_BPMN_BYTES = 2 * 1024 * 1024
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")  # BPMN ids are XML NCNames; we keep them URL-safe


class ProcessDefinition(Timestamps, Base):
    """One deployed version of one BPMN process. Rows are immutable except
    `status`; a change of the diagram is a new version."""
    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        CheckConstraint("status in ('active','superseded','suspended')", name="status"),
        CheckConstraint("version >= 1", name="version_positive"),
        # At most one version per key serves new cases.
        Index("ux_process_definition_active", "process_key", unique=True,
              postgresql_where=text("status = 'active'")),
        {"schema": SCHEMA},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    bpmn_xml: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    remark: Mapped[str | None] = mapped_column(String(500))
    deployed_by: Mapped[str | None] = mapped_column(String(40))
    deployed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                     nullable=False)


# ---------------------------------------------------------------- parsing

_validator = None
_validator_lock = threading.Lock()
_spec_cache: dict[tuple[str, str], tuple] = {}  # (sha256, process_key) -> (spec, subprocess specs)
_SPEC_CACHE_MAX = 256
# No DTDs, no entities, no network: a BPMN file must not read local files (XXE) or blow up memory.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                              remove_comments=False)


def _bpmn_validator():
    """SpiffWorkflow's XSD validator (building it parses the BPMN schema: do it once)."""
    global _validator
    with _validator_lock:
        if _validator is None:
            from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
            _validator = BpmnValidator()
        return _validator


def _new_parser():
    # The one place that picks the parser class: the case module may swap in
    # SpiffBpmnParser (spiffworkflow: extensions) here.
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    return BpmnParser(validator=_bpmn_validator())


def _as_bytes(xml: str | bytes) -> bytes:
    if isinstance(xml, str):
        return xml.encode("utf-8")
    if isinstance(xml, (bytes, bytearray)):
        return bytes(xml)
    raise GeoError("bpmn_not_xml", "流程文件须为 XML 文本")


def _reason(exc) -> str:
    """The parser's message with the element and line it names."""
    msg = str(exc).strip().rstrip(".") or exc.__class__.__name__
    msg = msg.replace(f"{{{BPMN_NS}}}", "bpmn:")  # schema errors spell out the namespace
    where = []
    tag, node_id = getattr(exc, "tag", ""), getattr(exc, "id", "")
    if tag or node_id:
        where.append(f"元素 {tag} {node_id}".strip())
    if getattr(exc, "line_number", ""):
        where.append(f"第 {exc.line_number} 行")
    return msg + (f"（{'，'.join(where)}）" if where else "")


def _parse_xml(raw: bytes):
    if len(raw) > MAX_BPMN_BYTES:
        raise GeoError("bpmn_too_large", f"流程文件不能超过 {MAX_BPMN_BYTES // 1048576} MB", status=413)
    if not raw.strip():
        raise GeoError("bpmn_empty", "流程文件是空的")
    if b"<!DOCTYPE" in raw[:4096].upper() or b"<!ENTITY" in raw.upper():
        raise GeoError("bpmn_not_xml", "流程文件不能包含 DOCTYPE 或实体声明")
    try:
        root = etree.fromstring(raw, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise GeoError("bpmn_not_xml", f"文件不是有效的 XML：{exc}") from None
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise GeoError("bpmn_not_bpmn", "不是 BPMN 2.0 流程文件：根元素应为 BPMN 2.0 命名空间中的 definitions",
                       root=etree.QName(root).localname if isinstance(root.tag, str) else None)
    return root


def _check_flows(root) -> None:
    """Sequence flows must join two elements of their own process. SpiffWorkflow
    reports a dangling reference with a misleading message, so say it plainly."""
    for proc in root.iterfind("bpmn:process", NS):
        ids = {el.get("id") for el in proc.iter() if isinstance(el.tag, str) and el.get("id")}
        for flow in proc.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            for attr, label in (("sourceRef", "起点"), ("targetRef", "终点")):
                ref = flow.get(attr)
                if ref not in ids:
                    raise GeoError("bpmn_invalid", f"流程图校验未通过：顺序流 {flow.get('id')} 的{label}“{ref}”"
                                   f"在流程 {proc.get('id')} 中不存在", element=flow.get("id"),
                                   line=flow.sourceline)
        for ev in proc.iter(f"{{{BPMN_NS}}}boundaryEvent"):
            if ev.get("attachedToRef") not in ids:
                raise GeoError("bpmn_invalid", f"流程图校验未通过：边界事件 {ev.get('id')} 附着的任务"
                               f"“{ev.get('attachedToRef')}”不存在", element=ev.get("id"), line=ev.sourceline)


def _check_python(root, process_key: str) -> None:
    """Script tasks and flow conditions are Python run by SpiffWorkflow's script
    engine. The parser keeps them as text, so a syntax error would surface only
    when a case reaches it: compile (never run) them now."""
    proc = root.find(f"bpmn:process[@id='{process_key}']", NS)
    timers = {f"{{{BPMN_NS}}}{t}" for t in ("timeDuration", "timeDate", "timeCycle")}
    for el in proc.iter(f"{{{BPMN_NS}}}script", f"{{{BPMN_NS}}}conditionExpression", *timers):
        code = el.text or ""
        if not code.strip():
            continue
        owner = el.getparent()
        if el.tag in timers:
            owner = owner.getparent()  # timerEventDefinition → the event
        is_script = el.tag.endswith("}script")
        try:
            compile(code, owner.get("id") or "script", "exec" if is_script else "eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            if is_script:
                what = f"脚本任务 {owner.get('id')} 的脚本"
            elif el.tag in timers:
                what = f"定时事件 {owner.get('id')} 的时间表达式（须为 Python 表达式，如 \"'PT1H'\"）"
            else:
                what = f"顺序流 {owner.get('id')} 的条件表达式"
            detail = getattr(exc, "msg", None) or str(exc)
            raise GeoError("bpmn_invalid", f"流程图校验未通过：{what}有 Python 语法错误（{detail}）",
                           element=owner.get("id"), line=el.sourceline) from None


def validate(xml: str | bytes, process_key: str | None = None):
    """Parse and validate a BPMN file; return (process_key, name, spec, subprocess
    specs, xml text). Raises GeoError with the reason in Chinese."""
    from SpiffWorkflow.exceptions import SpiffWorkflowException
    raw = _as_bytes(xml)
    root = _parse_xml(raw)
    processes = root.findall("bpmn:process", NS)
    if not processes:
        raise GeoError("bpmn_no_process", "文件中没有流程（bpmn:process）")
    executable = [p for p in processes if (p.get("isExecutable") or "").lower() == "true"]
    if not executable:
        raise GeoError("bpmn_not_executable", "文件中没有可执行的流程：请在流程属性中勾选“可执行”（isExecutable=\"true\"）")
    keys = [p.get("id") for p in executable]
    if process_key in (None, ""):
        if len(keys) > 1:
            raise GeoError("bpmn_process_ambiguous", f"文件中有 {len(keys)} 个可执行流程（{'、'.join(keys)}），"
                           "请指定要部署的流程标识", processes=keys)
        process_key = keys[0]
    elif process_key not in keys:
        raise GeoError("bpmn_process_unknown", f"文件中没有可执行流程“{process_key}”，可选：{'、'.join(keys)}",
                       processes=keys)
    if not KEY_RE.match(process_key or ""):
        raise GeoError("bpmn_key_invalid", f"流程标识“{process_key}”须以字母或下划线开头，"
                       "只含字母、数字及 _ . -，最长 100 位")
    _check_flows(root)
    parser = _new_parser()
    try:
        parser.add_bpmn_xml(root, filename=f"{process_key}.bpmn")
        spec = parser.get_spec(process_key)
        subs = parser.get_subprocess_specs(process_key)
    except SpiffWorkflowException as exc:
        # `element` lets the diagram editor highlight the node the parser names.
        raise GeoError("bpmn_invalid", f"流程图校验未通过：{_reason(exc)}",
                       element=getattr(exc, "id", None) or None) from None
    except Exception as exc:  # noqa: BLE001
        # The parser's own internals failing on odd input: still the file's fault, so a 400.
        raise GeoError("bpmn_invalid", f"流程图校验未通过：{exc.__class__.__name__}: {exc}") from None
    _check_python(root, process_key)
    proc = executable[keys.index(process_key)]
    name = (proc.get("name") or "").strip() or process_key
    try:
        text_xml = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise GeoError("bpmn_encoding", "流程文件须为 UTF-8 编码（建模工具默认即是）") from None
    return process_key, name[:200], spec, subs, text_xml


def parsed_spec(defn: ProcessDefinition):
    """The SpiffWorkflow process spec of a stored definition, parsed once per
    (sha256, process key) in this process."""
    return _parsed(defn)[0]


def subprocess_specs(defn: ProcessDefinition) -> dict:
    """Specs of the subprocesses and called processes the definition uses (for BpmnWorkflow)."""
    return _parsed(defn)[1]


def _parsed(defn: ProcessDefinition):
    key = (defn.sha256, defn.process_key)
    hit = _spec_cache.get(key)
    if hit is None:
        _, _, spec, subs, _ = validate(defn.bpmn_xml, defn.process_key)
        if len(_spec_cache) >= _SPEC_CACHE_MAX:
            _spec_cache.pop(next(iter(_spec_cache)))
        hit = _spec_cache[key] = (spec, subs)
    return hit


def task_summary(defn: ProcessDefinition) -> list[dict]:
    """User-facing steps of a definition (user/manual tasks and events) with their lane."""
    spec = parsed_spec(defn)
    out = []
    for ts in spec.task_specs.values():
        kind = ts.__class__.__name__
        if getattr(ts, "bpmn_id", None) and kind in ("UserTask", "ManualTask", "StartEvent", "EndEvent",
                                                     "ExclusiveGateway", "ParallelGateway", "InclusiveGateway",
                                                     "ScriptTask", "ServiceTask", "CallActivity", "SubWorkflowTask",
                                                     "NoneTask", "IntermediateCatchEvent", "BoundaryEvent"):
            out.append({"id": ts.bpmn_id, "name": ts.bpmn_name or "", "type": kind, "lane": ts.lane,
                        "position": getattr(ts, "position", None)})
    out.sort(key=lambda t: ((t["position"] or {}).get("x", 0), (t["position"] or {}).get("y", 0)))
    for t in out:
        t.pop("position")
    return out


# ---------------------------------------------------------------- storage

def categories(db, enabled_only: bool = True) -> dict[str, str]:
    q = select(DictItem.code, DictItem.name).where(DictItem.type_code == CATEGORY_DICT)
    if enabled_only:
        q = q.where(DictItem.enabled.is_(True))
    return dict(db.execute(q.order_by(DictItem.sort, DictItem.code)).all())


def _lock_key(db, process_key: str) -> None:
    # Serialise writes per key (version numbering, status flips) across workers.
    db.execute(text("SELECT pg_advisory_xact_lock(hashtext('admin.process_definition:' || :k))"),
               {"k": process_key})


def _set_status(db, row_id: int, before: str, after: str, action: str = "update") -> None:
    # Core UPDATE plus one compact log entry: an ORM update would copy the whole XML into the log twice.
    db.execute(text("UPDATE admin.process_definition SET status = :s, updated_at = now() WHERE id = :id"),
               {"s": after, "id": row_id})
    oplog.record(db, action, ProcessDefinition.__table__.fullname, str(row_id),
                 before={"status": before}, after={"status": after})


def _restatus(db, process_key: str) -> None:
    """Apply the status rule to one key (see the module doc)."""
    rows = db.execute(select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.status)
                      .where(ProcessDefinition.process_key == process_key)
                      .order_by(ProcessDefinition.version.desc())).all()
    in_service = [r for r in rows if r.status != "suspended"]
    want = {r.id: ("active" if r.id == in_service[0].id else "superseded") for r in in_service}
    # Demote first, then promote: the partial unique index allows one active row at a time.
    changes = sorted(((r.id, r.status, want[r.id]) for r in in_service if want[r.id] != r.status),
                     key=lambda c: c[2] == "active")
    for row_id, before, after in changes:
        _set_status(db, row_id, before, after)


def deploy(db, xml: str | bytes, category: str, who: str | None, process_key: str | None = None,
           remark: str | None = None) -> ProcessDefinition:
    """Validate and store a new version; it becomes active. Flushes; the caller commits."""
    if not isinstance(category, str) or category not in categories(db):
        raise GeoError("category_unknown", f"流程分类“{category}”不存在，请从数据字典“流程分类”中选择",
                       field="category")
    if remark is not None:
        if not isinstance(remark, str):
            raise GeoError("field_invalid", "备注须为文本", field="remark")
        remark = remark.strip()[:500] or None
    key, name, spec, subs, text_xml = validate(xml, process_key)
    workflow_contracts.check(_parse_xml(text_xml.encode("utf-8")), key)
    sha = hashlib.sha256(text_xml.encode("utf-8")).hexdigest()
    _lock_key(db, key)
    newest = db.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == key)
                       .order_by(ProcessDefinition.version.desc()).limit(1))
    if newest is not None and newest.sha256 == sha:
        raise GeoError("bpmn_unchanged", f"与当前版本相同：流程“{key}”的第 {newest.version} 版内容完全一致，无需重新部署",
                       status=409, version=newest.version)
    current = active_definition(db, key)
    if current is not None:
        _set_status(db, current.id, current.status, "superseded")
    # The new version is the newest and not suspended, so the rule makes it active.
    defn = ProcessDefinition(process_key=key, name=name, category=category,
                             version=(newest.version + 1) if newest else 1, bpmn_xml=text_xml, sha256=sha,
                             status="active", remark=remark, deployed_by=who)
    db.add(defn)
    db.flush()
    db.expire_all()
    _spec_cache[(sha, key)] = (spec, subs)
    return defn


def set_suspended(db, process_key: str, version: int, suspended: bool) -> ProcessDefinition:
    """Suspend a version (no new cases start on it) or put it back in service."""
    _lock_key(db, process_key)
    defn = definition(db, process_key, version)
    if defn is None:
        raise GeoError("workflow_not_found", f"流程“{process_key}”没有第 {version} 版", status=404)
    if suspended and defn.status == "suspended":
        raise GeoError("workflow_state_invalid", f"第 {version} 版已处于挂起状态", status=409)
    if not suspended and defn.status != "suspended":
        raise GeoError("workflow_state_invalid", f"第 {version} 版未挂起，无需恢复", status=409)
    _set_status(db, defn.id, defn.status, "suspended" if suspended else "superseded",
                action="suspend" if suspended else "resume")
    _restatus(db, process_key)
    db.expire_all()
    return definition(db, process_key, version)


def active_definition(db, process_key: str) -> ProcessDefinition | None:
    """The version new cases of this process start on (None: none in service)."""
    return db.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key,
                                                     ProcessDefinition.status == "active"))


def definition(db, process_key: str, version: int) -> ProcessDefinition | None:
    """One stored version, whatever its status (running cases finish on theirs)."""
    return db.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key,
                                                     ProcessDefinition.version == version))
