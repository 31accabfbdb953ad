"""Mobile app versions (R93): package upload through the upload gate (real
APKs built here with zipfile; fake, broken, wrong-type and too-large ones
refused without storing anything), version codes that must increase,
publish/withdraw, and the public update-check and download API."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from tests.conftest import login
from webapp import sysconfig

APP, PLATFORM = "chengguantong", "android"


def apk(extra: bytes = b"", manifest: bool = True, pad: int = 0) -> bytes:
    """A minimal Android package: a zip with AndroidManifest.xml and classes.dex."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if manifest:
            zf.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00" + os.urandom(64))  # binary XML header
        zf.writestr("classes.dex", b"dex\n035\x00" + os.urandom(256) + extra)
        if pad:
            zf.writestr(zipfile.ZipInfo("assets/blob.bin"), os.urandom(pad), compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


def token(client) -> str:
    page = client.get("/admin/mobile").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def admin(admin_client):
    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    return admin_client


def err(r):
    return r.get_json()["error"]


def engine(app):
    return app.extensions["cityops.engine"]


def top_code(app, app_code=APP, platform=PLATFORM) -> int:
    with engine(app).connect() as c:
        return c.execute(text("SELECT coalesce(max(version_code), 0) FROM admin.app_version "
                              "WHERE app_code = :a AND platform = :p"), {"a": app_code, "p": platform}).scalar()


def count(app) -> int:
    with engine(app).connect() as c:
        return c.execute(text("SELECT count(*) FROM admin.app_version")).scalar()


def upload(admin, data: bytes, code: int, name: str = "cgt.apk", **fields):
    form = {"app_code": APP, "platform": PLATFORM, "version_name": f"1.{code // 10 % 100}.{code % 10}",
            "version_code": str(code),
            "release_notes": "1. 修复已知问题", "force_update": "false", **fields,
            "file": (io.BytesIO(data), name)}
    return admin.post("/api/admin/mobile/versions", data=form, content_type="multipart/form-data")


def check(client, code, app_code=APP, platform=PLATFORM):
    r = client.get(f"/api/mobile/update?app={app_code}&platform={platform}&version_code={code}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def stored_path(app, data: bytes, ext: str = "apk"):
    sha = hashlib.sha256(data).hexdigest()
    return app.extensions["cityops.settings"].var_dir / "uploads" / "app" / sha[:2] / f"{sha}.{ext}"


def test_upload_publish_and_update_check(admin, app):
    base = top_code(app) + 10
    anon = app.test_client()  # the apps call without logging in
    pkg1 = apk(b"v1")
    r = upload(admin, pkg1, base + 1, release_notes="1. 新增案件核查拍照水印\n2. 修复离线上报偶发失败")
    assert r.status_code == 201, r.get_json()
    v1 = r.get_json()
    assert v1["status"] == "draft" and v1["package_size"] == len(pkg1)
    assert v1["package_sha256"] == hashlib.sha256(pkg1).hexdigest() and v1["app_name"] == "城管通（监督员）"
    assert stored_path(app, pkg1).is_file()

    # A draft is invisible to the apps.
    assert check(anon, base)["update_available"] is False
    r = admin.post(f"/api/admin/mobile/versions/{v1['id']}/publish")
    assert r.status_code == 200 and r.get_json()["status"] == "published" and r.get_json()["published_at"]
    ans = check(anon, base)
    assert ans["update_available"] is True and ans["force_update"] is False
    latest = ans["latest"]
    assert latest["version_code"] == base + 1 and latest["version_name"] == v1["version_name"]
    assert latest["release_notes"].startswith("1. 新增案件核查拍照水印") and latest["size"] == len(pkg1)
    assert latest["sha256"] == hashlib.sha256(pkg1).hexdigest()
    assert latest["download_url"].endswith(f"/api/mobile/download/{v1['id']}")
    # Other apps and platforms are separate series.
    assert (check(anon, base, app_code="public")["latest"] or {}).get("id") != v1["id"]
    assert (check(anon, 0, platform="harmony")["latest"] or {}).get("id") != v1["id"]

    # Download by the app (no login): the exact bytes.
    r = anon.get(urlsplit(latest["download_url"]).path)
    assert r.status_code == 200 and r.data == pkg1
    assert r.headers["Content-Type"] == "application/vnd.android.package-archive"
    assert "attachment" in r.headers["Content-Disposition"]

    # A forced version in between makes the update forced for older callers.
    v2 = upload(admin, apk(b"v2"), base + 2, force_update="true").get_json()
    v3 = upload(admin, apk(b"v3"), base + 3).get_json()
    for v in (v2, v3):
        assert admin.post(f"/api/admin/mobile/versions/{v['id']}/publish").status_code == 200
    ans = check(anon, base + 1)
    assert ans["latest"]["version_code"] == base + 3 and ans["force_update"] is True
    assert [c["version_code"] for c in ans["changes"]] == [base + 3, base + 2]
    ans = check(anon, base + 2)
    assert ans["update_available"] is True and ans["force_update"] is False
    assert check(anon, base + 3)["update_available"] is False
    assert check(anon, base + 99)["update_available"] is False

    # Below the minimum supported code: forced even though no newer version is marked forced.
    r = admin.patch(f"/api/admin/mobile/versions/{v3['id']}",
                    json={"min_supported_code": base + 3, "version": v3["version"] + 1})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["min_supported_code"] == base + 3
    ans = check(anon, base + 2)
    assert ans["force_update"] is True and ans["latest"]["min_supported_code"] == base + 3

    # Withdrawn: no longer offered, no longer downloadable.
    assert admin.post(f"/api/admin/mobile/versions/{v3['id']}/withdraw").get_json()["status"] == "withdrawn"
    assert check(anon, base + 2)["update_available"] is False
    assert check(anon, base + 1)["latest"]["version_code"] == base + 2
    assert anon.get(f"/api/mobile/download/{v3['id']}").status_code == 404
    # The admin can still fetch any package (to test a draft before publishing).
    assert admin.get(f"/api/admin/mobile/versions/{v3['id']}/package").status_code == 200

    # The operation log has the upload and the status changes.
    with engine(app).connect() as c:
        actions = c.execute(text("SELECT action, after->>'status' FROM admin.operation_log "
                                 "WHERE target_table = 'admin.app_version' AND "
                                 "(target_id = :id OR (action = 'create' AND after->>'package_sha256' = :sha)) "
                                 "ORDER BY id"), {"id": str(v3["id"]), "sha": v3["package_sha256"]}).all()
    assert [a for a, _ in actions] == ["create", "update", "update", "update"]
    assert [s for _, s in actions][-1] == "withdrawn"


def test_update_check_bad_parameters(app):
    anon = app.test_client()
    cases = [("platform=android&version_code=1", "app_missing"),
             ("app=wechat&platform=android&version_code=1", "app_unknown"),
             ("app=handler&version_code=1", "platform_missing"),
             ("app=handler&platform=symbian&version_code=1", "platform_unknown"),
             ("app=handler&platform=ios", "version_code_invalid"),
             ("app=handler&platform=ios&version_code=abc", "version_code_invalid"),
             ("app=handler&platform=ios&version_code=-3", "version_code_invalid"),
             ("app=handler&platform=ios&version_code=1.5", "version_code_invalid"),
             ("app=handler&platform=ios&version_code=99999999999", "version_code_invalid")]
    for qs, code in cases:
        r = anon.get(f"/api/mobile/update?{qs}")
        assert r.status_code == 400, qs
        assert err(r)["code"] == code and err(r)["message"], qs
    # Extra parameters from later app releases are ignored.
    r = anon.get("/api/mobile/update?app=handler&platform=ios&version_code=1&device=mi11")
    assert r.status_code == 200 and r.get_json()["app"] == "handler"
    assert anon.get("/api/mobile/download/999999").status_code == 404


def test_refused_packages_store_nothing(admin, app):
    base = top_code(app) + 10
    before = count(app)
    fake = "这不是安装包，只是改了扩展名的文本文件\n".encode() * 20
    r = upload(admin, fake, base)
    assert r.status_code == 415 and err(r)["code"] == "upload_type_mismatch"

    good = apk(b"broken")
    broken = good[: len(good) * 2 // 3]  # cut off: central directory missing
    r = upload(admin, broken, base)
    assert r.status_code == 400 and err(r)["code"] == "package_invalid"
    assert not stored_path(app, broken).exists()

    damaged = bytearray(apk(pad=4096))
    damaged[600:640] = b"\x00" * 40  # inside the stored blob: the CRC check catches it
    r = upload(admin, bytes(damaged), base)
    assert r.status_code == 400 and err(r)["code"] == "package_invalid"
    assert not stored_path(app, bytes(damaged)).exists()

    no_manifest = apk(manifest=False)
    r = upload(admin, no_manifest, base)
    assert r.status_code == 400 and err(r)["code"] == "package_invalid" and "AndroidManifest.xml" in err(r)["message"]
    assert not stored_path(app, no_manifest).exists()

    for name, status, code in (("cgt.exe", 415, "upload_type_forbidden"), ("cgt.ipa", 415, "upload_type_forbidden"),
                               ("cgt", 415, "upload_type_forbidden")):
        r = upload(admin, apk(), base, name=name)
        assert (r.status_code, err(r)["code"]) == (status, code), name

    for fields, code in (({"version_name": "最新版"}, "version_name_invalid"),
                         ({"version_name": "1"}, "version_name_invalid"),
                         ({"version_code": "0"}, "version_code_invalid"),
                         ({"version_code": "x"}, "version_code_invalid"),
                         ({"app_code": "wechat"}, "app_unknown"),
                         ({"platform": "symbian"}, "platform_unknown"),
                         ({"min_supported_code": str(base + 5)}, "min_supported_code_invalid"),
                         ({"force_update": "maybe"}, "field_invalid"),
                         ({"evil": "1"}, "field_unknown")):
        r = upload(admin, apk(), base, **fields)
        assert r.status_code == 400 and err(r)["code"] == code, (fields, r.get_json())
    r = admin.post("/api/admin/mobile/versions", json={"app_code": APP})
    assert r.status_code == 400 and err(r)["code"] == "body_invalid"
    assert count(app) == before

    # Too large: the limit comes from the settings and applies without a restart.
    with engine(app).begin() as c:
        previous = c.execute(text("SELECT value FROM admin.setting WHERE key = 'upload.app_max_mb'")).scalar()
        c.execute(text("INSERT INTO admin.setting (key, value) VALUES ('upload.app_max_mb', CAST(:v AS jsonb)) "
                       "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"), {"v": json.dumps(1)})
    sysconfig.invalidate()
    try:
        big = apk(pad=1_300_000)
        r = upload(admin, big, base)
        assert r.status_code == 413 and err(r)["code"] == "upload_too_large"
        assert not stored_path(app, big).exists()
        assert "1 MB" in admin.get("/admin/mobile").get_data(as_text=True)
    finally:
        with engine(app).begin() as c:
            if previous is None:
                c.execute(text("DELETE FROM admin.setting WHERE key = 'upload.app_max_mb'"))
            else:
                c.execute(text("UPDATE admin.setting SET value = CAST(:v AS jsonb) WHERE key = 'upload.app_max_mb'"),
                          {"v": json.dumps(previous)})
        sysconfig.invalidate()
    assert count(app) == before

    # Version codes only grow per app and platform.
    ok = upload(admin, apk(b"ok"), base)
    assert ok.status_code == 201
    for code in (base, base - 1):
        r = upload(admin, apk(b"again"), code)
        assert r.status_code == 409 and err(r)["code"] == "version_code_not_increasing", code
    # Another app has its own series: a code below this series' top is fine there.
    other = top_code(app, "handler", PLATFORM) + 1
    assert other < base
    r = upload(admin, apk(b"other"), other, app_code="handler")
    assert r.status_code == 201, r.get_json()
    assert count(app) == before + 2


def test_states_edit_and_delete(admin, app):
    base = top_code(app) + 10
    pkg = apk(b"states")
    v = upload(admin, pkg, base + 1).get_json()
    vid = v["id"]
    assert admin.post(f"/api/admin/mobile/versions/{vid}/withdraw").status_code == 409
    r = admin.patch(f"/api/admin/mobile/versions/{vid}", json={"release_notes": "改", "version": v["version"] + 5})
    assert r.status_code == 409 and err(r)["code"] == "version_conflict"
    r = admin.patch(f"/api/admin/mobile/versions/{vid}", json={"version_name": "9.9.9", "version": v["version"]})
    assert r.status_code == 400 and err(r)["code"] == "field_unknown"
    r = admin.patch(f"/api/admin/mobile/versions/{vid}", json={"min_supported_code": base + 2, "version": v["version"]})
    assert r.status_code == 400 and err(r)["code"] == "min_supported_code_invalid"
    r = admin.patch(f"/api/admin/mobile/versions/{vid}", json={"release_notes": " 新说明 ", "force_update": True,
                                                               "version": v["version"]})
    assert r.status_code == 200 and r.get_json()["release_notes"] == "新说明" and r.get_json()["force_update"]
    # Deleting a draft removes its package too.
    assert stored_path(app, pkg).is_file()
    assert admin.delete(f"/api/admin/mobile/versions/{vid}").status_code == 204
    assert admin.get(f"/api/admin/mobile/versions/{vid}").status_code == 404
    assert not stored_path(app, pkg).exists()

    v = upload(admin, apk(b"pub"), base + 2).get_json()
    assert admin.post(f"/api/admin/mobile/versions/{v['id']}/publish").status_code == 200
    r = admin.post(f"/api/admin/mobile/versions/{v['id']}/publish")
    assert r.status_code == 409 and err(r)["code"] == "app_version_state_invalid"
    r = admin.delete(f"/api/admin/mobile/versions/{v['id']}")
    assert r.status_code == 409 and "撤回" in err(r)["message"]
    assert admin.post(f"/api/admin/mobile/versions/{v['id']}/withdraw").status_code == 200
    assert admin.post(f"/api/admin/mobile/versions/{v['id']}/publish").status_code == 200  # re-release
    listing = admin.get(f"/api/admin/mobile/versions?app_code={APP}&platform={PLATFORM}&status=published").get_json()
    assert v["id"] in {i["id"] for i in listing["items"]}
    assert {i["status"] for i in listing["items"]} == {"published"}
    for bad in ("status=gone", "platform=symbian", "page=0", "foo=1"):
        r = admin.get(f"/api/admin/mobile/versions?{bad}")
        assert r.status_code == 400, bad
    assert admin.post("/api/admin/mobile/versions/999999/publish").status_code == 404


def test_permissions(app, user_client, passwords):
    assert user_client.get("/api/admin/mobile/versions").status_code == 403
    assert user_client.get("/admin/mobile").status_code == 403
    leader = app.test_client()
    assert login(leader, "leader", passwords["demo"]).status_code == 302
    page = leader.get("/admin/mobile")
    assert page.status_code == 200 and "上传新版本" not in page.get_data(as_text=True)
    assert leader.get("/api/admin/mobile/versions").status_code == 200
    leader.environ_base["HTTP_X_CSRFTOKEN"] = token(leader)
    r = leader.post("/api/admin/mobile/versions", data={"file": (io.BytesIO(apk()), "a.apk")},
                    content_type="multipart/form-data")
    assert r.status_code == 403
    anon = app.test_client()
    assert anon.get("/api/admin/mobile/versions").status_code == 401
