"""Menus (R89): an unlimited tree for the web and the mobile app; each user's
navigation is built from it and their roles.

A node is a directory, a page or a button. Pages name a Flask endpoint (web;
a path starting with "/" is allowed for mounted services such as /ogc/) or
an app route key (mobile). A node is shown to a user when it is visible, its
permission (if any) is one of the user's, and — for directories — at least
one child is shown. Buttons are not navigation: they group the edit
permissions under their page in the role editor."""
from __future__ import annotations

import re

from flask import current_app, jsonify, render_template
from sqlalchemy import select

from geo.errors import GeoError
from webapp.admin import api, pages
from webapp.admin.models import Menu
from webapp.auth.permissions import PERMISSIONS, authenticated, has_permission, require_permission
from webapp.db import get_db
from webapp.validation import bool_field, check_version, int_field, json_body, text_field

KINDS = {"dir": "目录", "page": "页面", "button": "按钮"}
PLATFORMS = {"web": "网页端", "mobile": "移动端"}
FIELDS = {"parent_id", "platform", "kind", "name", "endpoint", "permission", "icon", "sort", "visible"}
_ROUTE_KEY = re.compile(r"^[a-z][a-z0-9_/-]{0,79}$")
_ICON = re.compile(r"^[a-z0-9-]{1,40}$")

# The shipped tree: (kind, name, endpoint, permission, children). Buttons carry the edit permissions.
WEB_SEED = [
    ("page", "综合地图", "home.index", "map:view", []),
    ("page", "业务指导", "guidance.index_page", "guidance:view", [
        ("button", "发布与维护文章", None, "guidance:edit", []),
    ]),
    ("dir", "指挥协调", None, None, [
        ("page", "问题上报", "cases.report_page", "case:report", []),
        ("page", "受理台", "cases.accept_desk", "case:accept", []),
        ("page", "值班长审批", "cases.file_desk", "case:file", []),
        ("page", "派遣台", "cases.dispatch_desk", "case:dispatch", []),
        ("page", "处置台", "cases.dept_desk", "case:handle", []),
        ("page", "核实核查", "cases.check_desk", "case:check", []),
        ("page", "到期与超期", "cases.due_page", "case:view", []),
        ("page", "案卷查询", "cases.search_page", "case:view", [("button", "督办", None, "case:supervise", [])]),
        ("page", "疑难案件", "cases.difficult_page", "case:view", []),
        ("page", "疑难案件分析", "cases.difficult_analysis_page", "case:view", []),
        ("page", "确权答复", "cases.ownership_page", "case:handle", []),
        ("page", "指挥大屏", "cases.bigscreen_page", "case:bigscreen", []),
    ]),
    ("dir", "案件配置", None, None, [
        ("page", "工作日历", "cases.calendar_page", "case:config", []),
        ("page", "办理时限", "cases.time_limits_page", "case:config", []),
        ("page", "立案与派遣规则", "cases.rules_page", "case:config", []),
        ("page", "派遣规则测试", "cases.dispatch_test_page", "case:config", []),
        ("page", "疑难案件条件", "cases.difficult_rules_page", "case:config", []),
    ]),
    ("dir", "城市生命线", None, None, [
        ("page", "风险一张图", "lifeline.risk_map_page", "lifeline:view", []),
        ("page", "风险清单", "lifeline.risk_list_page", "lifeline:view", []),
        ("page", "风险点台账", "lifeline.risk_register_page", "lifeline:view", []),
        ("page", "风险点采集", "lifeline.risk_collect_page", "lifeline:risk:edit", []),
        ("page", "风险点审核", "lifeline.risk_review_page", "lifeline:risk:review", []),
        ("page", "物联监测", "lifeline.iot_page", "lifeline:view", []),
        ("page", "告警管理", "lifeline.alarms_page", "lifeline:view", []),
        ("page", "隐患台账", "lifeline.hazards_page", "lifeline:view", []),
        ("page", "巡检计划", "lifeline.inspection_plans_page", "lifeline:view", []),
        ("page", "巡检记录", "lifeline.inspection_records_page", "lifeline:view", []),
        ("page", "巡检人员", "lifeline.inspectors_page", "lifeline:view", []),
        ("page", "巡检统计", "lifeline.inspection_stats_page", "lifeline:view", []),
        ("page", "开始巡检", "lifeline.inspection_run_page", "lifeline:hazard:handle", []),
        ("page", "管网分析", "lifeline.network_page", "lifeline:view", []),
        ("page", "应急管理", "lifeline.emergency_page", "lifeline:view", []),
        ("page", "数据对接", "lifeline.docking_page", "lifeline:config", []),
        ("page", "风险配置", "lifeline.risk_config_page", "lifeline:config", []),
        ("page", "告警规则", "lifeline.alarm_rules_page", "lifeline:iot:edit", []),
    ]),
    ("page", "OGC API 服务", "/ogc/", None, []),
    ("dir", "应用维护", None, None, [
        ("page", "用户管理", "admin.users_page", "admin:user:view", [("button", "新增/修改/停用", None, "admin:user:edit", [])]),
        ("page", "部门管理", "admin.departments_page", "admin:dept:view", [("button", "新增/修改/删除", None, "admin:dept:edit", [])]),
        ("page", "角色权限", "admin.roles_page", "admin:role:view", [("button", "维护角色", None, "admin:role:edit", [])]),
        ("page", "菜单管理", "admin.menus_page", "admin:menu:view", [("button", "维护菜单", None, "admin:menu:edit", [])]),
        ("page", "行政区划", "admin.regions_page", "admin:region:view", [("button", "编辑边界", None, "admin:region:edit", [])]),
        ("page", "数据字典", "admin.dicts_page", "admin:dict:view", [("button", "维护字典", None, "admin:dict:edit", [])]),
        ("page", "流程定义", "admin.workflows_page", "admin:workflow:view", [("button", "部署流程", None, "admin:workflow:edit", [])]),
        ("page", "移动端管理", "admin.mobile_page", "admin:mobile:view", [("button", "发布版本", None, "admin:mobile:edit", [])]),
        ("page", "空间数据", "admin.spatial_page", "admin:layer:view", [("button", "上传与发布", None, "admin:layer:edit", [])]),
        ("page", "地图源", "admin.map_sources_page", "admin:layer:view", []),
        ("page", "API 密钥", "admin.apikeys_page", "admin:apikey:view", [("button", "签发与停用", None, "admin:apikey:edit", [])]),
        ("page", "日志管理", "admin.logs_page", "admin:log:view", []),
        ("page", "系统设置", "admin.settings_page", "admin:setting:view", [("button", "修改设置", None, "admin:setting:edit", [])]),
    ]),
]
MOBILE_SEED = [
    ("page", "问题上报", "report", "case:report", []),
    ("page", "我的任务", "tasks", "case:view", []),
    ("page", "地图", "map", "map:view", []),
    ("page", "风险点采集", "risk-collect", "lifeline:risk:edit", []),
    ("page", "巡检", "inspection", "lifeline:hazard:handle", []),
    ("page", "业务指导", "guidance", "guidance:view", []),
    ("page", "我的", "me", None, []),
]


def _sync(db, platform: str, nodes, parent: Menu | None) -> int:
    """Add the shipped nodes that are missing; nodes an administrator already
    has (pages by endpoint anywhere, directories by name, buttons by
    permission under their page) are left as they were configured."""
    n = 0
    rows = list(db.scalars(select(Menu).where(Menu.platform == platform)))
    for sort, (kind, name, endpoint, perm, children) in enumerate(nodes, start=1):
        parent_id = parent.id if parent else None
        if kind == "page":
            hit = next((m for m in rows if m.kind == "page" and m.endpoint == endpoint), None)
        elif kind == "dir":
            hit = next((m for m in rows if m.kind == "dir" and m.name == name), None)
        else:
            hit = next((m for m in rows if m.kind == "button" and m.permission == perm and m.parent_id == parent_id),
                       None)
        if hit is None:
            hit = Menu(platform=platform, kind=kind, name=name, endpoint=endpoint, permission=perm, sort=sort * 10,
                       parent_id=parent_id)
            db.add(hit)
            db.flush()
            rows.append(hit)
            n += 1
        n += _sync(db, platform, children, hit)
    return n


def seed_demo(db, log=print) -> None:
    for platform, seed in (("web", WEB_SEED), ("mobile", MOBILE_SEED)):
        added = _sync(db, platform, seed, None)
        if added:
            log(f"menus ({platform}): {added} nodes added")


def _json(m: Menu) -> dict:
    return {"id": m.id, "parent_id": m.parent_id, "platform": m.platform, "kind": m.kind, "name": m.name,
            "endpoint": m.endpoint, "permission": m.permission, "icon": m.icon, "sort": m.sort,
            "visible": m.visible, "version": m.version}


def _tree(rows: list[Menu], keep=lambda m: True) -> list[dict]:
    by_parent: dict[int | None, list[Menu]] = {}
    for m in rows:
        by_parent.setdefault(m.parent_id, []).append(m)

    def build(parent_id):
        out = []
        for m in sorted(by_parent.get(parent_id, []), key=lambda x: (x.sort, x.id)):
            if not keep(m):
                continue
            node = _json(m)
            node["children"] = build(m.id)
            out.append(node)
        return out
    return build(None)


def _rows(db, platform: str) -> list[Menu]:
    return list(db.scalars(select(Menu).where(Menu.platform == platform)))


def _resolvable(endpoint: str | None, platform: str) -> bool:
    if platform != "web" or not endpoint:
        return True
    return endpoint.startswith("/") or endpoint in current_app.view_functions


def visible_tree(who, platform: str = "web", with_buttons: bool = False) -> list[dict]:
    """The menu as `who` may see it: permissions, visibility and (web) pages
    that exist in this installation; empty directories are dropped."""
    if who is None:
        return []
    rows = _rows(get_db(), platform)

    def keep(m: Menu) -> bool:
        if not m.visible or (m.kind == "button" and not with_buttons):
            return False
        if m.permission and not has_permission(who, m.permission):
            return False
        return _resolvable(m.endpoint, platform)

    def prune(nodes):
        out = []
        for n in nodes:
            n["children"] = prune(n["children"])
            if n["kind"] != "dir" or n["children"]:
                out.append(n)
        return out
    return prune(_tree(rows, keep))


def first_page(node: dict) -> dict | None:
    if node["kind"] == "page":
        return node
    for child in node["children"]:
        hit = first_page(child)
        if hit:
            return hit
    return None


def menu_href(node: dict) -> str:
    from flask import url_for
    page = first_page(node)
    if page is None:
        return "#"
    ep = page["endpoint"]
    return ep if ep.startswith("/") else url_for(ep)


def _get(menu_id: int, lock: bool = False) -> Menu:
    db = get_db()
    m = db.get(Menu, menu_id, with_for_update=lock) if lock else db.get(Menu, menu_id)
    if m is None:
        raise GeoError("menu_not_found", f"菜单 {menu_id} 不存在", status=404)
    return m


def _validate(db, body: dict, current: Menu | None) -> dict:
    text_field(body, "name", "菜单名称", 40, required=current is None or "name" in body)
    text_field(body, "endpoint", "页面地址", 120)
    text_field(body, "permission", "权限标识", 80)
    text_field(body, "icon", "图标", 40)
    int_field(body, "sort", "排序号")
    bool_field(body, "visible", "是否显示")
    platform = body.get("platform", current.platform if current else "web")
    kind = body.get("kind", current.kind if current else None)
    if platform not in PLATFORMS:
        raise GeoError("menu_platform_invalid", "平台应为 web（网页端）或 mobile（移动端）")
    if kind not in KINDS:
        raise GeoError("menu_kind_invalid", "类型应为 dir（目录）、page（页面）或 button（按钮）")
    endpoint = body.get("endpoint", current.endpoint if current else None)
    permission = body.get("permission", current.permission if current else None)
    if kind == "page":
        if not endpoint:
            raise GeoError("menu_endpoint_missing", "页面菜单须填写页面地址")
        if platform == "web" and not _resolvable(endpoint, platform):
            raise GeoError("menu_endpoint_unknown", f"页面“{endpoint}”不存在（应为已注册的页面端点或以 / 开头的地址）")
        if platform == "mobile" and not _ROUTE_KEY.match(endpoint):
            raise GeoError("menu_endpoint_invalid", "移动端页面标识应为小写字母开头的路由名")
    elif endpoint:
        raise GeoError("menu_endpoint_forbidden", f"{KINDS[kind]}不能填写页面地址")
    if kind == "button" and not permission:
        raise GeoError("menu_permission_missing", "按钮须指定权限标识")
    if permission and permission not in PERMISSIONS:
        raise GeoError("menu_permission_unknown", f"权限标识“{permission}”不存在")
    if body.get("icon") and not _ICON.match(body["icon"]):
        raise GeoError("icon_invalid", "图标名只能包含小写字母、数字和 -")
    if "parent_id" in body:
        pid = body["parent_id"]
        if pid is not None:
            if not isinstance(pid, int) or isinstance(pid, bool):
                raise GeoError("menu_parent_invalid", "上级菜单应为菜单编号")
            parent = db.get(Menu, pid)
            if parent is None:
                raise GeoError("menu_parent_unknown", f"上级菜单 {pid} 不存在")
            if parent.platform != platform:
                raise GeoError("menu_parent_invalid", "上级菜单属于另一平台")
            if parent.kind == "button":
                raise GeoError("menu_parent_invalid", "按钮下不能再挂菜单")
            if kind != "button" and parent.kind == "page":
                raise GeoError("menu_parent_invalid", "页面下只能挂按钮")
            # A node cannot move under itself or one of its descendants.
            node = parent
            while current is not None and node is not None:
                if node.id == current.id:
                    raise GeoError("menu_cycle", "不能把菜单移到它自己或它的下级之下")
                node = db.get(Menu, node.parent_id) if node.parent_id else None
        elif kind == "button":
            raise GeoError("menu_parent_invalid", "按钮须挂在页面之下")
    return body


@api.get("/menus")
@require_permission("admin:menu:view")
def menu_list():
    from flask import request
    platform = request.args.get("platform", "web")
    if platform not in PLATFORMS:
        raise GeoError("menu_platform_invalid", "平台应为 web（网页端）或 mobile（移动端）")
    return jsonify({"platform": platform, "tree": _tree(_rows(get_db(), platform)),
                    "permissions": PERMISSIONS, "kinds": KINDS})


@api.get("/menus/mine")
@authenticated
def menu_mine():
    """The caller's own navigation (the mobile apps call this after login)."""
    from flask import request
    from webapp.auth.guard import principal
    platform = request.args.get("platform", "web")
    if platform not in PLATFORMS:
        raise GeoError("menu_platform_invalid", "平台应为 web（网页端）或 mobile（移动端）")
    return jsonify({"platform": platform, "tree": visible_tree(principal(), platform, with_buttons=True)})


@api.post("/menus")
@require_permission("admin:menu:edit")
def menu_create():
    db = get_db()
    body = _validate(db, json_body(FIELDS, {"name", "kind"}), None)
    if body.get("kind") == "button" and not body.get("parent_id"):
        raise GeoError("menu_parent_invalid", "按钮须挂在页面之下")
    m = Menu(**{k: v for k, v in body.items()})
    db.add(m)
    db.commit()
    return jsonify(_json(m)), 201


@api.put("/menus/<int:menu_id>")
@require_permission("admin:menu:edit")
def menu_update(menu_id: int):
    db = get_db()
    m = _get(menu_id, lock=True)
    body = json_body(FIELDS | {"version"}, {"version"})
    check_version(m, body, f"菜单“{m.name}”")
    body.pop("version")
    if "platform" in body and body["platform"] != m.platform:
        raise GeoError("menu_platform_invalid", "不能修改菜单所属平台")
    if "kind" in body and body["kind"] != m.kind and db.scalar(select(Menu.id).where(Menu.parent_id == m.id).limit(1)):
        raise GeoError("menu_kind_invalid", "有下级的菜单不能修改类型")
    _validate(db, body, m)
    for k, v in body.items():
        setattr(m, k, v)
    m.version += 1
    db.commit()
    return jsonify(_json(m))


@api.delete("/menus/<int:menu_id>")
@require_permission("admin:menu:edit")
def menu_delete(menu_id: int):
    db = get_db()
    m = _get(menu_id, lock=True)
    children = db.scalar(select(Menu.id).where(Menu.parent_id == m.id).limit(1))
    if children:
        raise GeoError("menu_has_children", f"菜单“{m.name}”下还有子菜单，请先删除或移走", status=409)
    db.delete(m)
    db.commit()
    return jsonify({"deleted": menu_id})


@pages.get("/menus")
@require_permission("admin:menu:view")
def menus_page():
    return render_template("admin/menus.html", permissions=PERMISSIONS, kinds=KINDS, platforms=PLATFORMS)
