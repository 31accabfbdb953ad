"""The hazard workflow (R115) on the same BPMN engine as cases: process key
`hazard` (webapp/lifeline/bpmn/hazard.bpmn, deployed through the workflow
store), run with webapp.cases.flow.Runtime. Lanes are labels; LANE_ROLES maps
them to our roles. Gateways read the `decision` the user submits."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from SpiffWorkflow.util.task import TaskState

from geo.errors import GeoError
from webapp.admin import workflow_store
from webapp.cases.flow import Runtime, complete  # noqa: F401  (complete is re-exported for the service)

PROCESS_KEY = "hazard"
BPMN_FILE = Path(__file__).parent / "bpmn" / "hazard.bpmn"
LANE_ROLES = {"监测中心": "monitor", "责任单位": "dept_handler", "核查人员": "monitor"}
# What a person may decide at each task (the gateway conditions test `decision`).
ACTIONS: dict[str, dict[str, str]] = {
    "dispatch": {"dispatch": "派遣责任单位", "cancel": "不属实，作废"},
    "handle": {"done": "处置完毕"},
    "feedback": {"done": "提交反馈"},
    "check": {"pass": "核查通过（整改完成）", "fail": "核查不通过（退回处置）"},
}
# Ledger status while a task waits (and at the two ends).
STATUS_AT = {"dispatch": "pending", "handle": "rectifying", "feedback": "rectifying", "check": "checking",
             "end_closed": "rectified", "end_cancelled": "cancelled"}

_lock = threading.Lock()
_runtimes: dict[tuple[str, int], Runtime] = {}


@dataclass(frozen=True)
class Ready:
    spiff_id: str
    stage: str
    name: str
    role: str


def runtime(db, version: int | None = None) -> Runtime:
    if version is None:
        defn = workflow_store.active_definition(db, PROCESS_KEY)
        if defn is None:
            raise GeoError("process_not_deployed", "尚未部署“隐患问题处置”流程（hazard），请在“流程定义”中部署",
                           status=503)
    else:
        defn = workflow_store.definition(db, PROCESS_KEY, version)
        if defn is None:
            raise GeoError("process_version_missing", f"隐患所用流程版本 {version} 不存在", status=500)
    key = (defn.process_key, defn.version)
    rt = _runtimes.get(key)
    if rt is None:
        with _lock:
            rt = _runtimes.get(key) or Runtime(defn)
            _runtimes[key] = rt
    return rt


def ready_tasks(wf) -> list[Ready]:
    out = []
    for t in wf.get_tasks(state=TaskState.READY, manual=True):
        spec = t.task_spec
        role = LANE_ROLES.get(spec.lane or "")
        if role is None or spec.name not in ACTIONS:
            raise GeoError("process_lane_unknown", f"隐患流程任务“{spec.bpmn_name}”（泳道“{spec.lane}”）"
                           "不是隐患处置引擎认识的环节", status=500)
        out.append(Ready(str(t.id), spec.name, spec.bpmn_name or spec.name, role))
    return out


def done_stages(wf) -> list[str]:
    return [t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.name in ACTIONS or t.task_spec.name.startswith("end_")]


def status_of(wf) -> tuple[str, str | None]:
    """(ledger status, current stage) of a workflow."""
    if wf.is_completed():
        ends = [s for s in done_stages(wf) if s.startswith("end_")]
        end = ends[-1] if ends else "end_closed"
        return STATUS_AT[end], None
    ready = ready_tasks(wf)
    if not ready:
        raise GeoError("process_stuck", "隐患流程没有待办任务", status=500)
    return STATUS_AT[ready[0].stage], ready[0].stage


def deploy_default(db, who: str = "system"):
    """Deploy the shipped diagram unless a version of `hazard` exists (demo seed, tests)."""
    if workflow_store.active_definition(db, PROCESS_KEY) is not None:
        return None
    return workflow_store.deploy(db, BPMN_FILE.read_bytes(), "hazard", who,
                                 remark="隐患问题处置：派遣、处置、反馈、核查")
