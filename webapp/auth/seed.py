"""Roles and demo users created by the demo load."""
from __future__ import annotations

import os
import secrets

from sqlalchemy.orm import Session

from webapp.auth.models import Role, User
from webapp.auth.passwords import hash_password

# (code, name, data scope): the built-in roles; their permissions are editable in 角色权限.
ROLES = [
    ("admin", "系统管理员", "all"),
    ("leader", "中心领导", "all"),
    ("acceptor", "受理员", "all"),
    ("shift_chief", "值班长", "all"),
    ("dispatcher", "派遣员", "all"),
    ("dept_handler", "专业部门", "dept"),
    ("supervisor", "监督员", "region"),
    ("monitor", "监测值守员", "all"),
]
# username, display name, role, department code (demo codes from grid_data), region code
DEMO_USERS = [
    ("leader", "王主任", "leader", "D012", None),
    ("acceptor", "李受理", "acceptor", "D012", None),
    ("shift_chief", "张值班", "shift_chief", "D012", None),
    ("dispatcher", "赵派遣", "dispatcher", "D012", None),
    ("handler", "刘处置", "dept_handler", "D010", None),
    ("supervisor", "陈监督", "supervisor", "D012", "411721001"),
    ("monitor", "周值守", "monitor", "D007", None),
]


def seed_users(db: Session, departments: set[str], log=print) -> dict[str, str]:
    """Create roles, the admin and one demo user per role. Returns passwords."""
    from webapp.auth.permissions import ROLE_PERMISSIONS
    for sort, (code, name, scope) in enumerate(ROLES, start=1):
        db.merge(Role(code=code, name=name, data_scope=scope, permissions=ROLE_PERMISSIONS.get(code, []),
                      builtin=True, sort=sort * 10))
    db.flush()
    roles = {r.code: r for r in db.query(Role).all()}
    admin_pw = os.environ.get("CITYOPS_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    demo_pw = os.environ.get("CITYOPS_DEMO_PASSWORD") or "Xiping2026"
    admin = User(username="admin", display_name="系统管理员", password_hash=hash_password(admin_pw),
                 roles=[roles["admin"]])
    db.add(admin)
    demo_hash = hash_password(demo_pw)
    for username, display, role, dept, region in DEMO_USERS:
        db.add(User(username=username, display_name=display, password_hash=demo_hash,
                    dept_code=dept if dept in departments else None, region_code=region, roles=[roles[role]]))
    db.commit()
    log(f"users: admin / {admin_pw} ; demo users ({', '.join(u[0] for u in DEMO_USERS)}) / {demo_pw}")
    return {"admin": admin_pw, "demo": demo_pw}
