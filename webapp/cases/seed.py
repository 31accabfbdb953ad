"""Demo content for the case lifecycle: the standard process deployed (R92)
and a set of demo cases walked through the real engine to every stage."""
from __future__ import annotations

from pathlib import Path

from webapp.admin import workflow_store
from webapp.cases import flow

STANDARD = Path(__file__).with_name("bpmn") / "city_case.bpmn"


def deploy_standard(db, log=print) -> None:
    if workflow_store.active_definition(db, flow.PROCESS_KEY) is None:
        defn = workflow_store.deploy(db, STANDARD.read_bytes(), "case", "system",
                                     remark="数字城管标准流程（GB/T 30428、CJJ/T 106）")
        log(f"process {defn.process_key} v{defn.version} deployed")


def seed_demo(db, log=print) -> None:
    deploy_standard(db, log)
