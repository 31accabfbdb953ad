"""用户管理 (R86): create, edit, disable/enable, reset password, departments,
roles and regions; search and paging; Excel export and import.

Every write goes through the ORM session, so the operation log records it.
Bad input answers 4xx with a stable code and a Chinese message and changes
nothing; an import is all-or-nothing."""
from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import string
import zipfile

from flask import g, jsonify, render_template, request, send_file
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from geo.errors import GeoError
from geo.models import Region
from webapp import oplog
from webapp.admin import api, pages
from webapp.auth.models import Department, Role, User, user_role
from webapp.auth.passwords import CLASSES, check_rules, hash_password, rules
from webapp.auth import scope
from webapp.auth.guard import principal
from webapp.auth.permissions import require_permission
from webapp.db import get_db

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{3,20}$")
MAX_UPLOAD = 2 * 1024 * 1024
MAX_UNZIPPED = 40 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_PAGE_SIZE = 200

LIST_PARAMS = {"q", "dept_code", "role", "enabled", "page", "size"}
EXPORT_PARAMS = LIST_PARAMS - {"page", "size"}
CREATE_FIELDS = {"username", "display_name", "password", "dept_code", "roles", "region_code", "phone", "enabled"}
EDIT_FIELDS = {"display_name", "dept_code", "roles", "region_code", "phone", "version"}
# Excel columns (export and import share them).
COLUMNS = ["用户名", "姓名", "部门编码", "部门", "角色", "区域编码", "电话", "状态"]
REQUIRED_COLUMNS = {"用户名", "姓名"}
STATUS_TEXT = {True: "启用", False: "停用"}


# ---------------------------------------------------------------- helpers

def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _actor_id() -> int | None:
    who = g.get("principal")
    if who is not None:
        return who.id
    from flask_login import current_user
    return current_user.id if current_user and current_user.is_authenticated else None


def _user_dict(u: User, depts: dict[str, str] | None = None) -> dict:
    depts = depts if depts is not None else {}
    locked = bool(u.locked_until and u.locked_until > _now())
    return {
        "id": u.id, "username": u.username, "display_name": u.display_name,
        "dept_code": u.dept_code, "dept_name": depts.get(u.dept_code) if u.dept_code else None,
        "roles": sorted(r.code for r in u.roles), "role_names": [r.name for r in sorted(u.roles, key=lambda r: r.code)],
        "region_code": u.region_code, "phone": u.phone, "enabled": u.enabled, "locked": locked,
        "locked_until": u.locked_until.isoformat() if locked else None,
        "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
        "version": u.version,
    }


def _dept_names(db) -> dict[str, str]:
    return dict(db.execute(select(Department.code, Department.name)).all())


def _get_user(db, user_id: int, lock: bool = False) -> User:
    user = db.get(User, user_id, with_for_update=lock) if lock else db.get(User, user_id)
    if user is not None and not scope.allows(principal(), dept_code=user.dept_code, region_code=user.region_code,
                                             owner_id=user.id, db=db):
        user = None  # outside the caller's data scope: as if it did not exist
    if user is None:
        raise GeoError("user_not_found", f"用户 {user_id} 不存在", status=404)
    return user


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise GeoError("body_invalid", "请求体须为 JSON 对象")
    return data


def _reject_unknown(keys, allowed: set[str], what: str = "字段") -> None:
    unknown = sorted(set(keys) - allowed)
    if unknown:
        code = "parameter_unknown" if what == "参数" else "field_unknown"
        raise GeoError(code, f"不支持的{what}：{', '.join(unknown)}", unknown=unknown)


def temporary_password() -> str:
    """Random, with all four character classes and at least the configured length (passes check_rules)."""
    length = max(12, rules()[0])
    alphabet = string.ascii_letters + string.digits + "#%+-=@"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(re.search(p, pw) for p, _ in CLASSES):
            return pw


class _Refs:
    """Role, department and region codes, read once per request."""

    def __init__(self, db):
        self.roles = {r.code: r for r in db.scalars(select(Role))}
        self.role_by_name = {r.name: r for r in self.roles.values()}
        self.depts = _dept_names(db)
        self.regions = set(db.scalars(select(Region.code)))


def _text(value, field: str, label: str, max_len: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise GeoError("field_invalid", f"{label}须为文本", field=field)
    value = value.strip()
    if len(value) > max_len:
        raise GeoError("field_invalid", f"{label}不能超过 {max_len} 个字符", field=field)
    return value or None


def _clean(db, refs: _Refs, data: dict, *, creating: bool, user: User | None = None) -> dict:
    """Validate one user's fields; returns the cleaned values or raises GeoError."""
    out: dict = {}
    if creating:
        username = data.get("username")
        if not isinstance(username, str) or not username.strip():
            raise GeoError("field_required", "请填写用户名", field="username")
        username = username.strip()
        if not USERNAME_RE.match(username):
            raise GeoError("username_invalid", "用户名须为 3–40 位字母、数字或 _ . -", field="username")
        out["username"] = username
    if creating or "display_name" in data:
        name = _text(data.get("display_name"), "display_name", "姓名", 40)
        if not name:
            raise GeoError("field_required", "请填写姓名", field="display_name")
        out["display_name"] = name
    if "dept_code" in data:
        code = _text(data.get("dept_code"), "dept_code", "部门编码", 20)
        if code and code not in refs.depts:
            raise GeoError("dept_unknown", f"部门编码“{code}”不存在", field="dept_code")
        out["dept_code"] = code
    if "region_code" in data:
        code = _text(data.get("region_code"), "region_code", "区域编码", 12)
        if code and code not in refs.regions:
            raise GeoError("region_unknown", f"区域编码“{code}”不存在", field="region_code")
        out["region_code"] = code
    if "phone" in data:
        phone = _text(data.get("phone"), "phone", "电话", 20)
        if phone and not PHONE_RE.match(phone):
            raise GeoError("phone_invalid", "电话只能包含数字、+、- 和空格（3–20 位）", field="phone")
        out["phone"] = phone
    if "roles" in data:
        roles = data.get("roles")
        if roles is None:
            roles = []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise GeoError("field_invalid", "角色须为角色编码列表", field="roles")
        unknown = [r for r in roles if r not in refs.roles]
        if unknown:
            raise GeoError("role_unknown", f"角色“{'、'.join(unknown)}”不存在", field="roles")
        out["roles"] = sorted(set(roles))
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise GeoError("field_invalid", "状态须为 true 或 false", field="enabled")
        out["enabled"] = data["enabled"]
    if creating and data.get("password") not in (None, ""):
        if not isinstance(data["password"], str):
            raise GeoError("field_invalid", "密码须为文本", field="password")
        check_rules(data["password"])
        out["password"] = data["password"]
    return out


def _username_taken(db, username: str, exclude_id: int | None = None) -> bool:
    q = select(User.id).where(func.lower(User.username) == username.lower())
    if exclude_id is not None:
        q = q.where(User.id != exclude_id)
    return db.scalar(q) is not None


def _apply(db, user: User, clean: dict, refs: _Refs) -> None:
    for key in ("display_name", "dept_code", "region_code", "phone", "enabled"):
        if key in clean:
            setattr(user, key, clean[key])
    if "roles" in clean:
        before = sorted(r.code for r in user.roles)
        if before != clean["roles"]:
            user.roles = [refs.roles[c] for c in clean["roles"]]
            if user.id is not None:  # a new user's roles are in its create entry's detail
                oplog.record(db, "update_roles", user_role.fullname, str(user.id),
                             before={"roles": before}, after={"roles": clean["roles"]})


def _filtered(params) -> "select":
    # Data scope (R88): a department-scoped administrator manages their own department's users only.
    q = select(User).where(scope.condition(principal(), dept_col=User.dept_code, region_col=User.region_code,
                                           owner_col=User.id))
    text_q = (params.get("q") or "").strip()
    if text_q:
        escaped = text_q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = "%" + escaped + "%"
        q = q.where(or_(User.username.ilike(like), User.display_name.ilike(like), User.phone.ilike(like)))
    if params.get("dept_code"):
        q = q.where(User.dept_code == params["dept_code"])
    if params.get("role"):
        q = q.where(User.id.in_(select(user_role.c.user_id).where(user_role.c.role_code == params["role"])))
    enabled = params.get("enabled")
    if enabled not in (None, ""):
        if enabled.lower() in ("true", "1"):
            q = q.where(User.enabled.is_(True))
        elif enabled.lower() in ("false", "0"):
            q = q.where(User.enabled.is_(False))
        else:
            raise GeoError("parameter_invalid", "enabled 须为 true 或 false", parameter="enabled")
    return q


def _int_param(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GeoError("parameter_invalid", f"{name} 须为整数", parameter=name) from None
    if not lo <= value <= hi:
        raise GeoError("parameter_invalid", f"{name} 须在 {lo}–{hi} 之间", parameter=name)
    return value


def _commit(db) -> None:
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise GeoError("username_taken", "用户名已被占用", status=409) from None


# ---------------------------------------------------------------- page

@pages.get("/users")
@require_permission("admin:user:view")
def users_page():
    db = get_db()
    from webapp.auth.permissions import has_permission
    from webapp.auth.guard import principal
    depts = db.execute(select(Department.code, Department.name, Department.parent_code)
                       .order_by(Department.sort, Department.code)).all()
    roles = db.execute(select(Role.code, Role.name).order_by(Role.code)).all()
    regions = db.execute(select(Region.code, Region.name, Region.level, Region.parent_code)
                         .where(Region.level.in_(("street", "community"))).order_by(Region.code)).all()
    return render_template("admin/users.html", depts=depts, roles=roles, regions=regions,
                           can_edit=has_permission(principal(), "admin:user:edit"))


# ---------------------------------------------------------------- JSON API

@api.get("/users")
@require_permission("admin:user:view")
def list_users():
    _reject_unknown(request.args.keys(), LIST_PARAMS, "参数")
    page = _int_param("page", 1, 1, 100000)
    size = _int_param("size", 20, 1, MAX_PAGE_SIZE)
    db = get_db()
    q = _filtered(request.args)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    users = db.scalars(q.order_by(User.id).offset((page - 1) * size).limit(size)).all()
    depts = _dept_names(db)
    return jsonify({"total": total, "page": page, "size": size,
                    "items": [_user_dict(u, depts) for u in users]})


@api.get("/users/<int:user_id>")
@require_permission("admin:user:view")
def get_user(user_id: int):
    db = get_db()
    return jsonify(_user_dict(_get_user(db, user_id), _dept_names(db)))


@api.post("/users")
@require_permission("admin:user:edit")
def create_user():
    data = _json_body()
    _reject_unknown(data.keys(), CREATE_FIELDS)
    db = get_db()
    refs = _Refs(db)
    clean = _clean(db, refs, data, creating=True)
    if _username_taken(db, clean["username"]):
        raise GeoError("username_taken", f"用户名“{clean['username']}”已被占用", status=409, field="username")
    temp = None
    password = clean.pop("password", None)
    if password is None:
        password = temp = temporary_password()
    user = User(username=clean["username"], password_hash=hash_password(password), version=1,
                enabled=clean.get("enabled", True), failed_logins=0, must_change_password=True)
    _apply(db, user, clean, refs)
    db.add(user)
    _commit(db)
    body = _user_dict(user, refs.depts)
    if temp:
        body["temporary_password"] = temp
    return jsonify(body), 201


@api.patch("/users/<int:user_id>")
@require_permission("admin:user:edit")
def edit_user(user_id: int):
    data = _json_body()
    if "username" in data or "password" in data:
        raise GeoError("field_readonly", "用户名不可修改；密码请使用“重置密码”")
    _reject_unknown(data.keys(), EDIT_FIELDS)
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise GeoError("version_required", "请求须包含整数 version（用于防止覆盖他人的修改）", field="version")
    db = get_db()
    refs = _Refs(db)
    user = _get_user(db, user_id, lock=True)
    if user.version != version:
        raise GeoError("version_conflict", "该用户已被他人修改，请刷新后重试", status=409,
                       current_version=user.version)
    clean = _clean(db, refs, data, creating=False, user=user)
    if "roles" in clean and user.id == _actor_id() and "admin" in user.role_codes and "admin" not in clean["roles"]:
        raise GeoError("self_admin_removal", "不能取消自己的系统管理员角色")
    _apply(db, user, clean, refs)
    user.version += 1
    _commit(db)
    return jsonify(_user_dict(user, refs.depts))


def _set_enabled(user_id: int, enabled: bool):
    db = get_db()
    user = _get_user(db, user_id, lock=True)
    if not enabled and user.id == _actor_id():
        raise GeoError("self_disable", "不能停用当前登录的账号")
    if user.enabled != enabled:
        user.enabled = enabled
        if enabled:
            user.failed_logins = 0
            user.locked_until = None
        user.version += 1
        db.commit()
    return jsonify(_user_dict(user, _dept_names(db)))


@api.post("/users/<int:user_id>/disable")
@require_permission("admin:user:edit")
def disable_user(user_id: int):
    return _set_enabled(user_id, False)


@api.post("/users/<int:user_id>/enable")
@require_permission("admin:user:edit")
def enable_user(user_id: int):
    return _set_enabled(user_id, True)


@api.post("/users/<int:user_id>/reset-password")
@require_permission("admin:user:edit")
def reset_password(user_id: int):
    data = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise GeoError("body_invalid", "请求体须为 JSON 对象")
    _reject_unknown(data.keys(), {"password"})
    db = get_db()
    user = _get_user(db, user_id, lock=True)
    password = data.get("password")
    temp = None
    if password in (None, ""):
        password = temp = temporary_password()
    elif not isinstance(password, str):
        raise GeoError("field_invalid", "密码须为文本", field="password")
    else:
        check_rules(password)
    user.password_hash = hash_password(password)
    user.must_change_password = True  # the administrator knows it: the user must choose their own
    user.failed_logins = 0
    user.locked_until = None
    user.version += 1
    db.commit()
    body = {"id": user.id, "username": user.username, "version": user.version, "unlocked": True}
    if temp:
        body["temporary_password"] = temp
    return jsonify(body)


# ---------------------------------------------------------------- Excel

@api.get("/users/export.xlsx")
@require_permission("admin:user:view")
def export_users():
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    _reject_unknown(request.args.keys(), EXPORT_PARAMS, "参数")
    db = get_db()
    depts = _dept_names(db)
    users = db.scalars(_filtered(request.args).order_by(User.id)).all()
    wb = Workbook()
    ws = wb.active
    ws.title = "用户"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for u in users:
        ws.append([u.username, u.display_name, u.dept_code or "", depts.get(u.dept_code, "") if u.dept_code else "",
                   ",".join(sorted(r.code for r in u.roles)), u.region_code or "", u.phone or "",
                   STATUS_TEXT[bool(u.enabled)]])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"  # text: keeps leading zeros of codes and phone numbers
    for col, width in zip("ABCDEFGH", (18, 12, 12, 24, 24, 14, 16, 8)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    name = f"users-{dt.datetime.now():%Y%m%d-%H%M}.xlsx"
    return send_file(buf, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_workbook(raw: bytes):
    """Open an upload as xlsx, or raise upload_invalid (fake, broken or zip bomb)."""
    invalid = GeoError("upload_invalid", "上传的文件不是有效的 Excel（.xlsx）文件")
    if not raw.startswith(b"PK\x03\x04"):
        raise invalid
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names and "[Content_Types].xml" not in names:
                raise invalid
            if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED:
                raise GeoError("upload_invalid", "Excel 文件解压后过大，请拆分后再导入")
    except zipfile.BadZipFile:
        raise invalid from None
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = []
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if i > MAX_IMPORT_ROWS + 1:
                raise GeoError("upload_too_many_rows", f"一次最多导入 {MAX_IMPORT_ROWS} 行")
            rows.append([_cell_text(v) for v in row])
        wb.close()
    except GeoError:
        raise
    except Exception:
        raise invalid from None
    return rows


def _split_roles(text: str, refs: _Refs) -> list[str]:
    out = []
    for part in re.split(r"[,，、;；\s]+", text):
        if not part:
            continue
        role = refs.roles.get(part) or refs.role_by_name.get(part)
        out.append(role.code if role else part)
    return out


@api.post("/users/import")
@require_permission("admin:user:edit")
def import_users():
    if request.content_length and request.content_length > MAX_UPLOAD + 64 * 1024:
        raise GeoError("upload_too_large", "上传文件不能超过 2 MB", status=413)
    _reject_unknown(request.form.keys(), set(), "字段")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise GeoError("upload_missing", "请选择要导入的 Excel 文件（表单字段 file）")
    if set(request.files.keys()) - {"file"}:
        raise GeoError("field_unknown", "只能上传一个文件（表单字段 file）")
    raw = upload.stream.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise GeoError("upload_too_large", "上传文件不能超过 2 MB", status=413)
    rows = _read_workbook(raw)
    if not rows or not any(rows[0]):
        raise GeoError("import_header_invalid", f"第 1 行须为表头：{'、'.join(COLUMNS)}")
    header = rows[0]
    while header and header[-1] == "":
        header = header[:-1]
    unknown = [h for h in header if h not in COLUMNS]
    missing = sorted(REQUIRED_COLUMNS - set(header), key=COLUMNS.index)
    dup = sorted({h for h in header if h and header.count(h) > 1})
    if unknown or missing or dup or "" in header:
        parts = []
        if unknown:
            parts.append(f"不认识的列：{'、'.join(h or '（空）' for h in unknown)}")
        if "" in header:
            parts.append("表头中有空列")
        if missing:
            parts.append(f"缺少列：{'、'.join(missing)}")
        if dup:
            parts.append(f"重复的列：{'、'.join(dup)}")
        raise GeoError("import_header_invalid", f"表头不正确（{'；'.join(parts)}），应为：{'、'.join(COLUMNS)}")
    col = {h: i for i, h in enumerate(header)}

    db = get_db()
    refs = _Refs(db)
    existing = {u.username.lower(): u for u in db.scalars(select(User))}
    actor = _actor_id()
    errors: list[dict] = []
    plan: list[tuple[int, User | None, dict]] = []
    seen: dict[str, int] = {}
    for rownum, row in enumerate(rows[1:], start=2):
        row = row + [""] * (len(header) - len(row))
        if not any(row):
            continue
        extra = [v for v in row[len(header):] if v]
        if extra:
            errors.append({"row": rownum, "code": "field_unknown", "message": f"第 {rownum} 行：表头以外的列有内容"})
            continue
        get = lambda name: row[col[name]] if name in col else None  # noqa: E731
        data = {"username": get("用户名"), "display_name": get("姓名")}
        if "部门编码" in col:
            data["dept_code"] = get("部门编码")
        if "区域编码" in col:
            data["region_code"] = get("区域编码")
        if "电话" in col:
            data["phone"] = get("电话")
        if "角色" in col:
            data["roles"] = _split_roles(get("角色"), refs)
        if "状态" in col:
            status = get("状态")
            if status in ("", "启用"):
                data["enabled"] = True
            elif status in ("停用", "禁用"):
                data["enabled"] = False
            else:
                errors.append({"row": rownum, "code": "field_invalid",
                               "message": f"第 {rownum} 行：状态须为“启用”或“停用”"})
                continue
        try:
            clean = _clean(db, refs, data, creating=True)
        except GeoError as err:
            errors.append({"row": rownum, "code": err.code, "message": f"第 {rownum} 行：{err.message}"})
            continue
        key = clean["username"].lower()
        if key in seen:
            errors.append({"row": rownum, "code": "username_duplicate",
                           "message": f"第 {rownum} 行：用户名“{clean['username']}”与第 {seen[key]} 行重复"})
            continue
        seen[key] = rownum
        user = existing.get(key)
        if user is not None and user.id == actor:
            if clean.get("enabled") is False:
                errors.append({"row": rownum, "code": "self_disable", "message": f"第 {rownum} 行：不能停用当前登录的账号"})
                continue
            if "roles" in clean and "admin" in user.role_codes and "admin" not in clean["roles"]:
                errors.append({"row": rownum, "code": "self_admin_removal",
                               "message": f"第 {rownum} 行：不能取消自己的系统管理员角色"})
                continue
        plan.append((rownum, user, clean))
    if errors:
        shown = errors[:200]
        raise GeoError("import_invalid", f"导入未执行：发现 {len(errors)} 处错误，请修改后重新导入。"
                       + "；".join(e["message"] for e in shown[:5]), errors=shown)
    if not plan:
        raise GeoError("import_empty", "文件中没有可导入的数据行")

    created, updated, passwords = 0, 0, []
    for _, user, clean in plan:
        if user is None:
            temp = temporary_password()
            user = User(username=clean["username"], password_hash=hash_password(temp), version=1,
                        enabled=clean.get("enabled", True), failed_logins=0)
            _apply(db, user, clean, refs)
            db.add(user)
            passwords.append({"username": user.username, "temporary_password": temp})
            created += 1
        else:
            before = (user.display_name, user.dept_code, user.region_code, user.phone, user.enabled,
                      sorted(user.role_codes))
            _apply(db, user, clean, refs)
            after = (user.display_name, user.dept_code, user.region_code, user.phone, user.enabled,
                     sorted(user.role_codes))
            if before != after:
                user.version += 1
                updated += 1
    oplog.record(db, "import", User.__table__.fullname, None,
                 detail=f"Excel 导入 {upload.filename[:80]}：新增 {created}，更新 {updated}")
    _commit(db)
    return jsonify({"created": created, "updated": updated, "unchanged": len(plan) - created - updated,
                    "passwords": passwords})

