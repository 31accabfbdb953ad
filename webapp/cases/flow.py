"""The BPMN runtime for cases, on SpiffWorkflow.

The process definition comes from admin.process_definition (R92): a case
starts on the active version of `city_case` and keeps that version to the
end. The serialized workflow is stored on the case without its spec (the spec
is the same for every case of a version, ~12 KB), and the spec is put back
from a per-version cache when the case is loaded.

Lanes are labels in BPMN; LANE_ROLES maps them to our role codes. Gateways
choose their path from the `decision` the user submitted with the task."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from geo.errors import GeoError
from webapp.admin import workflow_store

PROCESS_KEY = "city_case"
LANE_ROLES = {"受理员": "acceptor", "监督员": "supervisor", "值班长": "shift_chief", "派遣员": "dispatcher",
              "专业部门": "dept_handler"}
# What a person may decide at each task (the gateway conditions test `decision`).
ACTIONS: dict[str, dict[str, str]] = {
    "accept": {"file": "受理并提交立案", "verify": "派发核实", "cancel": "不予受理（作废）"},
    "verify": {"confirm": "核实属实", "cancel": "核实不属实（作废）"},
    "file": {"file": "立案", "cancel": "作废"},
    "dispatch": {"dispatch": "派遣"},
    "handle": {"done": "处置完毕，反馈", "return": "申请回退", "extend": "申请延期", "suspend": "申请挂账"},
    "approve_return": {"approve": "同意回退（改派）", "reject": "不同意回退"},
    "approve_extension": {"approve": "同意延期", "reject": "不同意延期"},
    "approve_suspension": {"approve": "同意挂账", "reject": "不同意挂账"},
    "suspended": {"resume": "恢复办理"},
    "check": {"pass": "核查通过", "fail": "核查不通过（返工）"},
    "close": {"close": "结案"},
}
# The time-limit stage of each task (approvals are the shift chief's filing work).
LIMIT_STAGE = {"approve_return": "file", "approve_extension": "file", "approve_suspension": "file"}
ROLE_PERMISSION = {"acceptor": "case:accept", "supervisor": "case:check", "shift_chief": "case:file",
                   "dispatcher": "case:dispatch", "dept_handler": "case:handle"}

_serializer = BpmnWorkflowSerializer()
_lock = threading.Lock()
_specs: dict[tuple[str, int], tuple] = {}


@dataclass(frozen=True)
class Ready:
    spiff_id: str
    stage: str        # BPMN task id
    name: str         # BPMN task name (Chinese)
    role: str


class Runtime:
    """One process version: its parsed spec and serialized spec parts."""

    def __init__(self, defn):
        self.key = defn.process_key
        self.version = defn.version
        self.spec = workflow_store.parsed_spec(defn)
        self.subprocess_specs = workflow_store.subprocess_specs(defn)
        full = _serializer.to_dict(BpmnWorkflow(self.spec, self.subprocess_specs))
        self.spec_dict = full["spec"]
        self.subspec_dict = full["subprocess_specs"]

    def start(self) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs)
        wf.do_engine_steps()
        return wf

    def load(self, state: dict) -> BpmnWorkflow:
        return _serializer.from_dict({**state, "spec": self.spec_dict, "subprocess_specs": self.subspec_dict})

    @staticmethod
    def dump(wf: BpmnWorkflow) -> dict:
        d = _serializer.to_dict(wf)
        d.pop("spec", None)
        d.pop("subprocess_specs", None)
        return d


def runtime(db, version: int | None = None) -> Runtime:
    """The runtime of `city_case`: a given version (running cases) or the active one (new cases)."""
    if version is None:
        defn = workflow_store.active_definition(db, PROCESS_KEY)
        if defn is None:
            raise GeoError("process_not_deployed", "尚未部署“数字城管案卷处置”流程，请在“流程定义”中部署", status=503)
    else:
        defn = workflow_store.definition(db, PROCESS_KEY, version)
        if defn is None:
            raise GeoError("process_version_missing", f"案卷所用流程版本 {version} 不存在", status=500)
    key = (defn.process_key, defn.version)
    rt = _specs.get(key)
    if rt is None:
        with _lock:
            rt = _specs.get(key) or Runtime(defn)
            _specs[key] = rt
    return rt


def ready_tasks(wf: BpmnWorkflow) -> list[Ready]:
    out = []
    for t in wf.get_tasks(state=TaskState.READY, manual=True):
        spec = t.task_spec
        role = LANE_ROLES.get(spec.lane or "")
        if role is None:
            raise GeoError("process_lane_unknown", f"流程任务“{spec.bpmn_name}”的泳道“{spec.lane}”未对应任何角色", status=500)
        out.append(Ready(str(t.id), spec.name, spec.bpmn_name or spec.name, role))
    return out


def complete(wf: BpmnWorkflow, spiff_id: str, decision: str, data: dict | None = None) -> None:
    """Complete one READY user task with the decision and run the engine to the next wait."""
    import uuid
    task = wf.get_task_from_id(uuid.UUID(spiff_id))
    if task is None or task.state != TaskState.READY:
        raise GeoError("task_not_ready", "该任务已不在待办状态", status=409)
    task.data["decision"] = decision
    if data:
        task.data.update(data)
    task.run()
    wf.do_engine_steps()


def finished_path(wf: BpmnWorkflow) -> str | None:
    """'end_closed' / 'end_cancelled' once the workflow ended, else None."""
    if not wf.is_completed():
        return None
    ends = [t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.name.startswith("end_")]
    return ends[-1] if ends else "end_closed"
