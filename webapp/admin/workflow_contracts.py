"""What a new version of a process must keep so the code that runs it still
works. For `city_case` the case engine (webapp/cases/flow.py) knows each user
task by its BPMN id (ACTIONS: the decisions a person may take there) and each
lane by its name (LANE_ROLES: who works there). Running cases store their
open tasks by those ids and finish on their own version, but history, work
lists, time limits and statistics are keyed by them across versions: a new
version that renames a task id or a lane would strand them, so it is refused.

Checked at deploy time only (stored versions are trusted)."""
from __future__ import annotations

from geo.errors import GeoError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}
CODE = "bpmn_case_incompatible"


def _engine():
    # Imported late: the case engine imports the workflow store at module level.
    from webapp.cases import flow
    return flow


def check(root, process_key: str) -> None:
    """Raise GeoError(CODE) when `process_key` has a contract the diagram breaks."""
    flow = _engine()
    if process_key != flow.PROCESS_KEY:
        return
    proc = root.find(f"bpmn:process[@id='{process_key}']", NS)
    tasks = {el.get("id"): el for el in proc.iter(f"{{{BPMN_NS}}}userTask")}
    lanes = {el.get("name") or "": el for el in proc.iter(f"{{{BPMN_NS}}}lane")}
    prefix = f"流程“{process_key}”是案件处置引擎使用的标准流程，"

    missing = [t for t in flow.ACTIONS if t not in tasks]
    if missing:
        others = {el.get("id"): el.tag.split("}")[1] for el in proc.iter() if isinstance(el.tag, str)}
        changed = [f"{t}（已改为 {others[t]}）" for t in missing if t in others]
        gone = [t for t in missing if t not in others]
        what = "、".join(gone + changed)
        raise GeoError(CODE, prefix + f"新版本必须保留用户任务 {what}：运行中的案件、待办和时限按这些任务标识"
                       "记录，删除或改名会使它们无法继续办理。可以修改任务名称，不能修改任务标识（id）。",
                       missing=missing, element=next((t for t in missing if t in others), None))
    unknown = [t for t in tasks if t not in flow.ACTIONS]
    if unknown:
        raise GeoError(CODE, prefix + f"用户任务 {'、'.join(unknown)} 不是案件引擎认识的环节（可用的任务标识："
                       f"{'、'.join(flow.ACTIONS)}）：案件到达该任务后无人可以办理。新增环节须先在案件引擎中"
                       "定义其办理动作。", unknown=unknown, element=unknown[0])
    lost = [name for name in flow.LANE_ROLES if name not in lanes]
    if lost:
        raise GeoError(CODE, prefix + f"新版本必须保留泳道 {'、'.join(lost)}：泳道名称对应办理角色"
                       f"（{'、'.join(f'{k}→{v}' for k, v in flow.LANE_ROLES.items())}），改名或删除后"
                       "这些角色的待办将无法分派。", missing_lanes=lost)
    for name, lane in lanes.items():
        if name not in flow.LANE_ROLES:
            raise GeoError(CODE, prefix + f"泳道“{name}”没有对应的办理角色，泳道名称须为 "
                           f"{'、'.join(flow.LANE_ROLES)} 之一。", element=lane.get("id"))
    in_lane = {ref.text.strip(): lane.get("name") for lane in lanes.values()
               for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text}
    for tid in tasks:
        if tid not in in_lane:
            raise GeoError(CODE, prefix + f"用户任务 {tid} 不在任何泳道中：请把它放进对应角色的泳道，"
                           "否则案件到达该任务时不知道派给谁。", element=tid)
