"""Mobile management (R93): app versions (upload, release notes, forced
update) and the update-check API the apps call.

Admin side (/admin/mobile, /api/admin/mobile/…): upload a package through the
one upload gate (`webapp.uploads.accept(file, "app")`), check that it is a
real package of its platform, keep it as a draft, publish or withdraw it.
App side (blueprint `mobile_api`, /api/mobile/…, no login): the update check
and the download of published packages. The mobile menu tree lives in
webapp/admin/menus.py."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

from flask import Blueprint, jsonify, render_template, request, send_file, url_for
from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Integer, String, Text, UniqueConstraint, func, \
    select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from geo.db import Base
from geo.errors import GeoError
from geo.models import Versioned
from webapp import sysconfig, uploads
from webapp.admin import api, pages
from webapp.auth.permissions import public, require_permission
from webapp.db import get_db

SCHEMA = "admin"
APPS = {"chengguantong": "城管通（监督员）", "handler": "处置通（专业部门）", "public": "市民通"}
PLATFORMS = {"android": "Android", "ios": "iOS", "harmony": "鸿蒙 HarmonyOS"}
STATUSES = {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}
# Package types per platform, and the entry a genuine package of that type contains.
PACKAGE_TYPES = {"android": ["apk", "wgt"], "ios": ["ipa", "wgt"], "harmony": ["hap"]}
MIME = {"apk": "application/vnd.android.package-archive", "ipa": "application/octet-stream",
        "hap": "application/octet-stream", "wgt": "application/widget"}
VERSION_NAME_RE = re.compile(r"^\d{1,5}(\.\d{1,5}){1,3}([-+][0-9A-Za-z.]{1,20})?$")
MAX_CODE = 2_100_000_000  # Android versionCode limit
CREATE_FIELDS = {"app_code", "platform", "version_name", "version_code", "release_notes", "force_update",
                 "min_supported_code"}
EDIT_FIELDS = {"release_notes", "force_update", "min_supported_code", "version"}
LIST_PARAMS = {"app_code", "platform", "status", "page", "size"}
MAX_NOTES = 4000

mobile_api = Blueprint("mobile_api", __name__, url_prefix="/api/mobile")


class AppVersion(Versioned, Base):
    """One uploaded package of one app on one platform. `version_code` only
    grows per app and platform (also over withdrawn versions: a phone may
    have installed one)."""
    __tablename__ = "app_version"
    __table_args__ = (
        UniqueConstraint("app_code", "platform", "version_code"),
        CheckConstraint("app_code in ('chengguantong','handler','public')", name="app_code"),
        CheckConstraint("platform in ('android','ios','harmony')", name="platform"),
        CheckConstraint("status in ('draft','published','withdrawn')", name="status"),
        CheckConstraint("version_code >= 1 AND min_supported_code >= 0 AND min_supported_code <= version_code",
                        name="codes"),
        {"schema": SCHEMA},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_code: Mapped[str] = mapped_column(String(20), nullable=False)
    platform: Mapped[str] = mapped_column(String(10), nullable=False)
    version_name: Mapped[str] = mapped_column(String(40), nullable=False)
    version_code: Mapped[int] = mapped_column(Integer, nullable=False)
    package_relpath: Mapped[str] = mapped_column(String(200), nullable=False)
    package_name: Mapped[str] = mapped_column(String(200), nullable=False)
    package_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    package_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    release_notes: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    force_update: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    min_supported_code: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="draft")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(40))


# ---------------------------------------------------------------- helpers

def _who() -> str | None:
    from webapp.auth.guard import principal
    return getattr(principal(), "username", None)


def _json(v: AppVersion) -> dict:
    return {"id": v.id, "app_code": v.app_code, "app_name": APPS.get(v.app_code, v.app_code),
            "platform": v.platform, "platform_name": PLATFORMS.get(v.platform, v.platform),
            "version_name": v.version_name, "version_code": v.version_code, "package_name": v.package_name,
            "package_size": v.package_size, "package_sha256": v.package_sha256, "release_notes": v.release_notes,
            "force_update": v.force_update, "min_supported_code": v.min_supported_code, "status": v.status,
            "status_name": STATUSES.get(v.status, v.status),
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "created_by": v.created_by, "created_at": v.created_at.isoformat() if v.created_at else None,
            "version": v.version}


def _choice(value, options: dict, field: str, label: str) -> str:
    if value not in options:
        raise GeoError(f"{field}_unknown" if field != "app_code" else "app_unknown",
                       f"{label}须为 {'、'.join(f'{k}（{v}）' for k, v in options.items())} 之一", field=field)
    return value


def _int(value, field: str, label: str, lo: int, hi: int = MAX_CODE) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,10}\s*", value):
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise GeoError(f"{field}_invalid", f"{label}须为 {lo}–{hi} 之间的整数", field=field)
    return value


def _bool(value, field: str, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "on", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "off", "no", ""):
        return False
    raise GeoError("field_invalid", f"{label}须为 true 或 false", field=field)


def _notes(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GeoError("field_invalid", "更新说明须为文本", field="release_notes")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > MAX_NOTES:
        raise GeoError("field_invalid", f"更新说明不能超过 {MAX_NOTES} 个字符", field="release_notes")
    return value


def _check_package(path, ext: str) -> None:
    """The package must be an intact zip with the entry its type requires
    (a renamed text file is already refused by the upload gate's sniffing)."""
    invalid = GeoError("package_invalid", f"安装包不是有效的 .{ext} 文件（压缩包损坏或内容不完整）", status=400)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if zf.testzip() is not None:  # CRC of every entry: catches truncated or altered uploads
                raise invalid
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise invalid from None
    need = {"apk": ("AndroidManifest.xml", lambda n: n == "AndroidManifest.xml"),
            "ipa": ("Payload/*.app/", lambda n: re.match(r"^Payload/[^/]+\.app/", n) is not None),
            "hap": ("module.json", lambda n: n in ("module.json", "config.json")),
            "wgt": ("manifest.json", lambda n: n == "manifest.json")}[ext]
    if not any(need[1](n) for n in names):
        raise GeoError("package_invalid", f"安装包不是有效的 .{ext} 文件：缺少 {need[0]}", status=400)


def _discard(stored, db) -> None:
    """Remove a stored upload that no version references (content-addressed: it may be shared)."""
    used = db.scalar(select(func.count()).select_from(AppVersion)
                     .where(AppVersion.package_relpath == stored.relpath))
    if not used:
        stored.path.unlink(missing_ok=True)


def _get(db, version_id: int, lock: bool = False) -> AppVersion:
    v = db.get(AppVersion, version_id, with_for_update=lock) if lock else db.get(AppVersion, version_id)
    if v is None:
        raise GeoError("app_version_not_found", f"版本 {version_id} 不存在", status=404)
    return v


def _lock_series(db, app_code: str, platform: str) -> None:
    # Serialises uploads of one app+platform so version codes are compared one at a time.
    db.execute(text("SELECT pg_advisory_xact_lock(hashtext('admin.app_version:' || :k))"),
               {"k": f"{app_code}/{platform}"})


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


# ---------------------------------------------------------------- page

@pages.get("/mobile")
@require_permission("admin:mobile:view")
def mobile_page():
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    limit, _ = sysconfig.upload_limit("app")
    return render_template("admin/mobile.html", apps=APPS, platforms=PLATFORMS, statuses=STATUSES,
                           package_types=PACKAGE_TYPES, limit_mb=limit >> 20,
                           can_edit=has_permission(principal(), "admin:mobile:edit"))


# ---------------------------------------------------------------- admin JSON API

@api.get("/mobile/versions")
@require_permission("admin:mobile:view")
def list_versions():
    unknown = sorted(set(request.args) - LIST_PARAMS)
    if unknown:
        raise GeoError("parameter_unknown", f"不支持的参数：{', '.join(unknown)}", unknown=unknown)
    page = _int_param("page", 1, 1, 100000)
    size = _int_param("size", 50, 1, 200)
    q = select(AppVersion)
    for name, options, label in (("app_code", APPS, "应用"), ("platform", PLATFORMS, "平台"), ("status", STATUSES, "状态")):
        value = request.args.get(name)
        if value:
            if value not in options:
                raise GeoError("parameter_invalid", f"{label}参数 {name} 不正确", parameter=name)
            q = q.where(getattr(AppVersion, name) == value)
    db = get_db()
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(AppVersion.app_code, AppVersion.platform, AppVersion.version_code.desc())
                      .offset((page - 1) * size).limit(size)).all()
    return jsonify({"total": total, "page": page, "size": size, "items": [_json(v) for v in rows]})


@api.get("/mobile/versions/<int:version_id>")
@require_permission("admin:mobile:view")
def get_version(version_id: int):
    return jsonify(_json(_get(get_db(), version_id)))


@api.post("/mobile/versions")
@require_permission("admin:mobile:edit")
def create_version():
    """Multipart: file + the fields of CREATE_FIELDS. The new version is a draft."""
    limit, _ = sysconfig.upload_limit("app")
    request.max_content_length = limit + (1 << 20)  # the gate below gives the precise answer
    if request.mimetype != "multipart/form-data":
        raise GeoError("body_invalid", "请以 multipart/form-data 上传安装包（字段 file）及版本信息")
    unknown = sorted(set(request.form) - CREATE_FIELDS)
    if unknown or set(request.files) - {"file"}:
        raise GeoError("field_unknown", f"不支持的字段：{', '.join(unknown) or '多余的文件'}")
    f = request.form
    app_code = _choice(f.get("app_code"), APPS, "app_code", "应用")
    platform = _choice(f.get("platform"), PLATFORMS, "platform", "平台")
    version_name = (f.get("version_name") or "").strip()
    if not VERSION_NAME_RE.match(version_name):
        raise GeoError("version_name_invalid", "版本号须形如 1.4.2（2–4 段数字，可带 -beta 等后缀）",
                       field="version_name")
    version_code = _int(f.get("version_code"), "version_code", "版本代码（versionCode）", 1)
    min_code = _int(f.get("min_supported_code") or "0", "min_supported_code", "最低支持版本代码", 0)
    if min_code > version_code:
        raise GeoError("min_supported_code_invalid", "最低支持版本代码不能大于本版本的版本代码",
                       field="min_supported_code")
    force = _bool(f.get("force_update", "false"), "force_update", "强制更新")
    notes = _notes(f.get("release_notes"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise GeoError("upload_missing", "请选择要上传的安装包（字段 file）")
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = PACKAGE_TYPES[platform]
    if ext not in allowed:
        raise GeoError("upload_type_forbidden", f"{PLATFORMS[platform]} 平台只能上传 {'、'.join('.' + e for e in allowed)}"
                       " 安装包", status=415, allowed=allowed)
    db = get_db()
    _lock_series(db, app_code, platform)
    top = db.scalar(select(func.max(AppVersion.version_code))
                    .where(AppVersion.app_code == app_code, AppVersion.platform == platform))
    if top is not None and version_code <= top:
        raise GeoError("version_code_not_increasing", f"版本代码须大于该应用在此平台已有的最大版本代码 {top}",
                       status=409, field="version_code", current_max=top)
    stored = uploads.accept(upload, "app", allowed=allowed)
    try:
        _check_package(stored.path, stored.ext)
        v = AppVersion(app_code=app_code, platform=platform, version_name=version_name, version_code=version_code,
                       package_relpath=stored.relpath, package_name=stored.original_name[:200],
                       package_size=stored.size, package_sha256=stored.sha256, release_notes=notes,
                       force_update=force, min_supported_code=min_code, status="draft", created_by=_who(),
                       version=1)
        db.add(v)
        db.commit()
    except IntegrityError:
        db.rollback()
        _discard(stored, db)
        raise GeoError("version_code_not_increasing", "该版本代码已存在，请刷新后重试", status=409,
                       field="version_code") from None
    except Exception:
        db.rollback()
        _discard(stored, db)
        raise
    return jsonify(_json(v)), 201


@api.patch("/mobile/versions/<int:version_id>")
@require_permission("admin:mobile:edit")
def edit_version(version_id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体须为 JSON 对象")
    unknown = sorted(set(body) - EDIT_FIELDS)
    if unknown:
        raise GeoError("field_unknown", f"不支持的字段：{', '.join(unknown)}（版本号与安装包不可修改，请上传新版本）")
    if not isinstance(body.get("version"), int) or isinstance(body.get("version"), bool):
        raise GeoError("version_required", "请求须包含整数 version（用于防止覆盖他人的修改）", field="version")
    db = get_db()
    v = _get(db, version_id, lock=True)
    if v.version != body["version"]:
        raise GeoError("version_conflict", "该版本已被他人修改，请刷新后重试", status=409, current_version=v.version)
    if "release_notes" in body:
        v.release_notes = _notes(body["release_notes"])
    if "force_update" in body:
        if not isinstance(body["force_update"], bool):
            raise GeoError("field_invalid", "强制更新须为 true 或 false", field="force_update")
        v.force_update = body["force_update"]
    if "min_supported_code" in body:
        code = _int(body["min_supported_code"], "min_supported_code", "最低支持版本代码", 0)
        if code > v.version_code:
            raise GeoError("min_supported_code_invalid", "最低支持版本代码不能大于本版本的版本代码",
                           field="min_supported_code")
        v.min_supported_code = code
    if db.is_modified(v):
        v.version += 1
    db.commit()
    return jsonify(_json(v))


def _transition(version_id: int, allowed_from: set[str], to: str, verb: str):
    db = get_db()
    v = _get(db, version_id, lock=True)
    if v.status not in allowed_from:
        raise GeoError("app_version_state_invalid", f"{STATUSES[v.status]}状态的版本不能{verb}", status=409,
                       status_now=v.status)
    v.status = to
    if to == "published":
        v.published_at = dt.datetime.now(dt.timezone.utc)
    v.version += 1
    db.commit()
    return jsonify(_json(v))


@api.post("/mobile/versions/<int:version_id>/publish")
@require_permission("admin:mobile:edit")
def publish_version(version_id: int):
    return _transition(version_id, {"draft", "withdrawn"}, "published", "发布")


@api.post("/mobile/versions/<int:version_id>/withdraw")
@require_permission("admin:mobile:edit")
def withdraw_version(version_id: int):
    return _transition(version_id, {"published"}, "withdrawn", "撤回")


@api.delete("/mobile/versions/<int:version_id>")
@require_permission("admin:mobile:edit")
def delete_version(version_id: int):
    """Only drafts: a published version may be on phones, so it is withdrawn instead."""
    db = get_db()
    v = _get(db, version_id, lock=True)
    if v.status != "draft":
        raise GeoError("app_version_state_invalid", "只能删除草稿；已发布的版本请使用“撤回”", status=409)
    relpath = v.package_relpath
    db.delete(v)
    db.commit()
    if not db.scalar(select(func.count()).select_from(AppVersion).where(AppVersion.package_relpath == relpath)):
        try:
            uploads.resolve(relpath).unlink(missing_ok=True)
        except GeoError:
            pass  # already gone
    return "", 204


@api.get("/mobile/versions/<int:version_id>/package")
@require_permission("admin:mobile:view")
def admin_download(version_id: int):
    """Any status (to test a draft before publishing it)."""
    return _send_package(_get(get_db(), version_id))


def _send_package(v: AppVersion):
    path = uploads.resolve(v.package_relpath)
    ext = v.package_relpath.rsplit(".", 1)[-1]
    return send_file(path, mimetype=MIME.get(ext, "application/octet-stream"), as_attachment=True,
                     download_name=f"{v.app_code}-{v.platform}-{v.version_name}.{ext}", etag=v.package_sha256,
                     conditional=True, max_age=3600)


# ---------------------------------------------------------------- app-facing API (no login)

@mobile_api.get("/update")
@public
def update_check():
    """Is there a newer published version for this app, platform and version code?
    Unknown extra parameters are ignored: installed apps of later releases may send more."""
    args = request.args
    if not args.get("app"):
        raise GeoError("app_missing", "缺少参数 app（chengguantong、handler 或 public）", parameter="app")
    if args["app"] not in APPS:
        raise GeoError("app_unknown", f"应用“{args['app'][:40]}”不存在，应为 {'、'.join(APPS)} 之一", parameter="app")
    if not args.get("platform"):
        raise GeoError("platform_missing", "缺少参数 platform（android、ios 或 harmony）", parameter="platform")
    if args["platform"] not in PLATFORMS:
        raise GeoError("platform_unknown", f"平台“{args['platform'][:40]}”不存在，应为 {'、'.join(PLATFORMS)} 之一",
                       parameter="platform")
    raw = args.get("version_code", "")
    if not re.fullmatch(r"\d{1,10}", raw) or int(raw) > MAX_CODE:
        raise GeoError("version_code_invalid", "参数 version_code 须为非负整数（应用的 versionCode）",
                       parameter="version_code")
    app_code, platform, current = args["app"], args["platform"], int(raw)
    newer = get_db().scalars(select(AppVersion).where(
        AppVersion.app_code == app_code, AppVersion.platform == platform, AppVersion.status == "published",
        AppVersion.version_code > current).order_by(AppVersion.version_code.desc())).all()
    body = {"app": app_code, "platform": platform, "current_code": current, "update_available": bool(newer),
            "force_update": False, "latest": None, "changes": []}
    if newer:
        latest = newer[0]
        body["force_update"] = any(v.force_update for v in newer) or current < latest.min_supported_code
        body["latest"] = {
            "id": latest.id, "version_name": latest.version_name, "version_code": latest.version_code,
            "release_notes": latest.release_notes, "size": latest.package_size, "sha256": latest.package_sha256,
            "min_supported_code": latest.min_supported_code,
            "published_at": latest.published_at.isoformat() if latest.published_at else None,
            "download_url": url_for("mobile_api.download", version_id=latest.id, _external=True),
        }
        body["changes"] = [{"version_name": v.version_name, "version_code": v.version_code,
                            "release_notes": v.release_notes, "force_update": v.force_update} for v in newer]
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@mobile_api.get("/download/<int:version_id>")
@public
def download(version_id: int):
    v = get_db().get(AppVersion, version_id)
    if v is None or v.status != "published":
        raise GeoError("app_version_not_found", "该版本不存在或未发布", status=404)
    return _send_package(v)
