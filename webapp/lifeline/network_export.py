"""Excel workbook of a network analysis result (burst, trace, leak impact)."""
from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Font


def _sheet(wb, title: str, head: list[str], rows) -> None:
    ws = wb.create_sheet(title)
    ws.append(head)
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append(list(r))


def _regions(wb, regions):
    _sheet(wb, "影响社区", ["社区编码", "社区", "街道"],
           ((r["code"], r["name"], r.get("street_name")) for r in regions))


def workbook(result: dict) -> Workbook:
    wb = Workbook()
    summary = wb.active
    summary.title = "概要"
    tool = result["tool"]
    lines: list[tuple] = [("管网类别", result["network_name"])]
    if tool == "burst":
        p = result["pipe"]
        lines += [("分析工具", "爆管分析"), ("爆管管线", p["code"]), ("管径(mm)", p["diameter_mm"]), ("材质", p["material"]),
                  ("需关闭阀门数", len(result["valves"])), ("隔离管段数", result["isolated"]["count"]),
                  ("隔离管段长度(m)", result["isolated"]["length_m"]), ("停供管段数", result["cut_off"]["count"]),
                  ("停供管段长度(m)", result["cut_off"]["length_m"]), ("影响门牌数", result["addresses"]["count"]),
                  ("门牌统计规则", result["addresses"]["rule"])]
        _sheet(wb, "需关闭阀门", ["编码", "类型", "经度", "纬度"],
               ((v["code"], v["kind"], v["lon"], v["lat"]) for v in result["valves"] + result["sources_shut"]))
        _sheet(wb, "管段", ["管线编码", "状态"], [(c, "隔离") for c in result["isolated"]["pipes"]] +
               [(c, "停供") for c in result["cut_off"]["pipes"]])
        _regions(wb, result["regions"])
        _sheet(wb, "影响门牌", ["门牌地址", "社区"], ((a["full_address"], a["community"]) for a in result["addresses"]["list"]))
    elif tool == "trace":
        lines += [("分析工具", "上下游追踪"), ("起始管线", result["pipe"]["code"])]
        for d, name in (("down", "下游"), ("up", "上游")):
            if d in result:
                lines += [(f"{name}管段数", result[d]["count"]), (f"{name}长度(m)", result[d]["length_m"])]
                _sheet(wb, f"{name}管段", ["管线编码"], ((c,) for c in result[d]["pipes"]))
        lines += [("排放口", "、".join(o["code"] for o in result.get("outfalls", [])))]
        _regions(wb, result.get("catchment", []))
    else:
        lines += [("分析工具", "燃气泄漏影响"), ("泄漏等级", result["level_name"]), ("影响半径(m)", result["radius_m"]),
                  ("影响面积(m²)", result["area_m2"]), ("风险点数", len(result["risk_points"])),
                  ("人员密集场所数", len(result["people_dense"])), ("门牌数", result["address_count"])]
        _sheet(wb, "风险点", ["编码", "名称", "类别", "等级", "距离(m)"],
               ((r["code"], r["name"], r["category"], r["level"], r["distance_m"]) for r in result["risk_points"]))
        _sheet(wb, "人员密集场所", ["编码", "名称", "类别", "地址", "距离(m)"],
               ((r["code"], r["name"], r["category"], r["address"], r["distance_m"]) for r in result["people_dense"]))
        _sheet(wb, "燃气阀门", ["编码", "距离(m)", "经度", "纬度"],
               ((v["code"], v["distance_m"], v["lon"], v["lat"]) for v in result["valves"] or result["nearest_valves"]))
        _regions(wb, result["regions"])
    for k, v in lines:
        summary.append([k, v])
    for c in summary["A"]:
        c.font = Font(bold=True)
    return wb
