"""The permission catalogue and the decorators that enforce it.

Every route declares exactly one of: `@public` (no login),
`@authenticated` (any logged-in caller, for their own things) or
`@require_permission(code)`. Roles carry permission codes (`*` = all). The
route-matrix test fails for any route that declares neither, so no new page
or API can be left unguarded. Blueprint-wide guards (pygeoapi under /ogc,
static files) are declared in `BLUEPRINT_GUARDS`."""
from __future__ import annotations

import functools

from flask import abort, redirect, request, url_for

# code -> Chinese name (shown in the role editor). Menus and buttons use the same codes.
PERMISSIONS: dict[str, str] = {
    "map:view": "查看综合地图",
    "geo:query": "地理编码与空间查询",
    "admin:user:view": "查看用户",
    "admin:user:edit": "新增/修改/停用用户",
    "admin:dept:view": "查看部门",
    "admin:dept:edit": "新增/修改/删除部门",
    "admin:log:view": "查看登录日志与操作日志",
    "admin:dict:view": "查看数据字典",
    "admin:dict:edit": "维护数据字典",
    "admin:role:view": "查看角色与权限",
    "admin:role:edit": "维护角色、权限与数据范围",
    "admin:menu:view": "查看菜单",
    "admin:menu:edit": "维护菜单",
    "admin:region:view": "查看行政区划",
    "admin:region:edit": "维护行政区划边界",
    "admin:workflow:view": "查看流程定义",
    "admin:workflow:edit": "部署流程定义",
    "admin:mobile:view": "查看移动端版本与菜单",
    "admin:mobile:edit": "发布移动端版本、维护移动端菜单",
    "admin:setting:view": "查看系统设置",
    "admin:setting:edit": "修改系统设置",
    "admin:layer:view": "查看空间基础数据与地图源",
    "admin:layer:edit": "上传空间数据、配置地图源",
    "admin:apikey:view": "查看外部系统 API 密钥",
    "admin:apikey:edit": "签发、停用外部系统 API 密钥",
    "guidance:view": "查看业务指导",
    "guidance:edit": "发布与维护业务指导文章",
    "case:report": "上报问题",
    "case:view": "查看案卷",
    "case:accept": "受理、核实与核查派发（受理员）",
    "case:file": "立案、结案、作废与审批（值班长）",
    "case:dispatch": "派遣与改派（派遣员）",
    "case:handle": "处置与反馈（专业部门）",
    "case:check": "核实与核查（监督员）",
    "case:supervise": "督办与疑难案件认定（中心领导）",
    "case:config": "维护时限、工作日历、立案与派遣规则",
    "case:bigscreen": "查看指挥大屏",
    "lifeline:view": "查看城市生命线监测（风险、设备、告警）",
    "lifeline:risk:edit": "采集与维护风险点、开展风险评估",
    "lifeline:risk:review": "审核风险点入库",
    "lifeline:iot:edit": "维护监测设备、数据流与告警规则",
    "lifeline:alarm:handle": "确认与处置告警",
    "lifeline:hazard:handle": "隐患处置与整改",
    "lifeline:config": "维护风险类别、等级、责任清单与数据对接",
}

# Default permissions per role, given at demo load (editable later in the UI).
_EVERYONE = ["map:view", "geo:query", "guidance:view", "case:view", "case:report"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "admin": ["*"],
    "leader": _EVERYONE + ["admin:user:view", "admin:dept:view", "admin:log:view", "admin:dict:view",
                           "admin:role:view", "admin:menu:view", "admin:region:view", "admin:workflow:view",
                           "admin:mobile:view", "admin:setting:view", "admin:layer:view", "admin:apikey:view", "guidance:edit",
                           "case:supervise", "case:bigscreen"],
    "acceptor": _EVERYONE + ["case:accept"],
    "shift_chief": _EVERYONE + ["admin:dept:view", "admin:region:view", "case:file", "case:supervise",
                                "case:config", "case:bigscreen"],
    "dispatcher": _EVERYONE + ["admin:dept:view", "admin:region:view", "case:dispatch"],
    "dept_handler": _EVERYONE + ["case:handle"],
    "supervisor": _EVERYONE + ["case:check"],
    "monitor": _EVERYONE + ["case:bigscreen", "lifeline:view", "lifeline:risk:edit", "lifeline:alarm:handle",
                            "lifeline:hazard:handle"],
}
for _role in ("leader", "shift_chief", "dispatcher"):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + ["lifeline:view"]
ROLE_PERMISSIONS["leader"] += ["lifeline:risk:review"]
ROLE_PERMISSIONS["supervisor"] += ["lifeline:view", "lifeline:risk:edit"]
ROLE_PERMISSIONS["dept_handler"] += ["lifeline:view", "lifeline:hazard:handle"]

# Blueprints guarded as a whole, with the reason (checked by the route-matrix test).
BLUEPRINT_GUARDS = {
    "pygeoapi": "per-layer access in ogc.mount (public layers open, internal need credentials)",
    "static": "static files",
    "assets": "front-end packages from npm (allow-listed)",
    "home": None,  # its static endpoint only; its views declare permissions
}


def has_permission(who, code: str) -> bool:
    perms = who.permissions
    return "*" in perms or code in perms


def require_permission(code: str):
    if code not in PERMISSIONS:
        raise ValueError(f"unknown permission {code!r}: add it to PERMISSIONS")

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from webapp.auth.guard import principal
            who = principal()
            if who is None:
                from webapp.errors import wants_json
                if not wants_json():
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                abort(401)
            if not has_permission(who, code):
                abort(403, description=f"没有“{PERMISSIONS[code]}”权限，请联系管理员")
            return view(*args, **kwargs)
        wrapper._permission = code
        return wrapper
    return deco


def authenticated(view):
    """Any logged-in caller (their own menu, their own password): no permission code."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from webapp.auth.guard import principal
        if principal() is None:
            from webapp.errors import wants_json
            if not wants_json():
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            abort(401)
        return view(*args, **kwargs)
    wrapper._authenticated = True
    return wrapper


def public(view):
    view._public = True
    return view
