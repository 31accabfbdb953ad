"""Case stages (案卷环节) of the standard process, in order (domain §5.2).
The BPMN user tasks of the standard process use these codes as their ids;
time limits are kept per class and stage; events and statistics use them."""
from __future__ import annotations

STAGES: dict[str, str] = {
    "accept": "受理",
    "verify": "核实",
    "file": "立案",
    "dispatch": "派遣",
    "handle": "处置",
    "check": "核查",
    "close": "结案",
}
# The role (lane) that works each stage.
STAGE_ROLE: dict[str, str] = {
    "accept": "acceptor", "verify": "supervisor", "file": "shift_chief", "dispatch": "dispatcher",
    "handle": "dept_handler", "check": "supervisor", "close": "shift_chief",
}
# Case sources (案件来源): dictionary `case_source`, seeded with these.
SOURCES: dict[str, str] = {
    "supervisor": "监督员上报", "public": "公众举报", "hotline": "12345/12319 热线", "leader": "领导交办",
    "maintenance": "养护单位自查", "sensor": "物联感知", "video": "视频智能识别", "media": "媒体曝光",
}
