"""The permission catalogue and the decorators that enforce it.

Every route declares exactly one of: `@public` (no login), or
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
}

# Default permissions per role, given at demo load (editable later in the UI).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "admin": ["*"],
    "leader": ["map:view", "geo:query", "admin:user:view", "admin:dept:view", "admin:log:view", "admin:dict:view"],
    "acceptor": ["map:view", "geo:query"],
    "shift_chief": ["map:view", "geo:query", "admin:dept:view"],
    "dispatcher": ["map:view", "geo:query", "admin:dept:view"],
    "dept_handler": ["map:view", "geo:query"],
    "supervisor": ["map:view", "geo:query"],
    "monitor": ["map:view", "geo:query"],
}

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


def public(view):
    view._public = True
    return view
