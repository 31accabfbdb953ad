"""系统设置 (R95): values validated, stored, applied without restart in every
worker (a second app instance stands for a second gunicorn worker), the logo
and login background uploads, upload limits used by the upload gate."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from sqlalchemy import text

from tests.conftest import assert_error, json_api
from webapp import sysconfig

API = "/api/admin/settings"


def png(size=(64, 32), colour=(20, 90, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture()
def restore(admin_api):
    yield
    admin_api.put(API, {k: None for k in sysconfig.DEFAULTS if sysconfig.DEFAULTS[k].kind != "file"})
    for kind in ("logo", "login_background"):
        admin_api.delete(f"{API}/files/{kind}")


def stored(app) -> dict:
    with app.extensions["cityops.sessions"]() as db:
        return dict(db.execute(text("SELECT key, value FROM admin.setting")).all())


def test_defaults_listed(admin_api):
    items = {i["key"]: i for i in admin_api.get(API).get_json()["items"]}
    assert items["site.title_zh"]["value"] == "西平县城市运行管理服务平台"
    assert items["upload.max_mb"]["value"] == 20 and items["upload.max_mb"]["group"] == "上传"
    assert not items["password.min_length"]["customised"]


def test_title_change_applies_without_restart(app, settings, admin_api, restore):
    from webapp.app import create_app
    other = create_app(settings, settings.database_url)  # another worker with its own cache
    assert "西平县城市运行管理服务平台" in other.test_client().get("/login").get_data(as_text=True)
    r = admin_api.put(API, {"site.title_zh": "西平县一网统管平台", "site.owner": "西平县人民政府"})
    assert r.status_code == 200, r.get_json()
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "西平县一网统管平台" in page and "西平县人民政府" in page
    time.sleep(sysconfig.CACHE_SECONDS + 0.2)
    assert "西平县一网统管平台" in other.test_client().get("/login").get_data(as_text=True)
    # null restores the default
    admin_api.put(API, {"site.title_zh": None})
    assert "西平县城市运行管理服务平台" in app.test_client().get("/login").get_data(as_text=True)


def test_bad_values_change_nothing(app, admin_api, restore):
    before = stored(app)
    assert_error(admin_api.put(API, {"site.colour": "red"}), 400, "field_unknown")
    assert_error(admin_api.put(API, {"upload.max_mb": 0}), 400, "setting_invalid")
    assert_error(admin_api.put(API, {"upload.max_mb": "20"}), 400, "setting_invalid")
    assert_error(admin_api.put(API, {"password.min_length": 100}), 400, "setting_invalid")
    assert_error(admin_api.put(API, {"upload.image_types": ["jpg", "../x"]}), 400, "setting_invalid")
    assert_error(admin_api.put(API, {"site.title_zh": ""}), 400, "setting_invalid")
    assert_error(admin_api.put(API, {"site.logo": "x.png"}), 400, "setting_file_only")
    # one bad value among good ones: nothing is stored
    assert_error(admin_api.put(API, {"site.version": "V9", "upload.max_mb": -1}), 400, "setting_invalid")
    assert_error(admin_api.put(API, {}), 400, "body_empty")
    assert stored(app) == before


def test_only_setting_editors_write(app, passwords):
    leader = json_api(app, "leader", passwords["demo"])
    assert leader.get(API).status_code == 200
    assert leader.put(API, {"site.version": "V2"}).status_code == 403
    acceptor = json_api(app, "acceptor", passwords["demo"])
    assert acceptor.get(API).status_code == 403


def test_logo_and_background(app, admin_api, restore):
    client = app.test_client()
    assert client.get("/branding/logo").status_code == 404
    r = admin_api.upload(f"{API}/files/logo", {"file": ("标志.png", png())})
    assert r.status_code == 200, r.get_json()
    url = r.get_json()["url"]
    got = client.get(url)
    assert got.status_code == 200 and got.mimetype == "image/png" and got.data == png()
    assert "/branding/logo?v=" in client.get("/login").get_data(as_text=True)
    r = admin_api.upload(f"{API}/files/login_background", {"file": ("bg.png", png((800, 600)))})
    assert r.status_code == 200
    assert "/branding/login_background?v=" in client.get("/login").get_data(as_text=True)
    assert admin_api.delete(f"{API}/files/logo").status_code == 200
    assert client.get("/branding/logo").status_code == 404


def test_bad_images_refused(app, admin_api, restore):
    before = stored(app)
    assert_error(admin_api.upload(f"{API}/files/logo", {"file": ("logo.png", b"this is text, not a PNG")}), 415,
                 "upload_type_mismatch")
    broken = png()[:40]  # a real PNG header, the rest cut off
    assert_error(admin_api.upload(f"{API}/files/logo", {"file": ("logo.png", broken)}), 415, "image_invalid")
    assert_error(admin_api.upload(f"{API}/files/logo", {"file": ("logo.svg", b"<svg/>")}), 415,
                 "upload_type_forbidden")
    big = png((3000, 3000), (1, 2, 3)) + b"\0" * (3 << 20)
    assert_error(admin_api.upload(f"{API}/files/logo", {"file": ("logo.png", big)}), 413, "upload_too_large")
    assert_error(admin_api.upload(f"{API}/files/logo", {}), 400, "upload_missing")
    assert_error(admin_api.upload(f"{API}/files/banner", {"file": ("b.png", png())}), 404, "setting_file_unknown")
    assert stored(app) == before


def test_upload_limit_setting_drives_the_gate(app, admin_api, restore):
    from werkzeug.datastructures import FileStorage
    from geo.errors import GeoError
    from webapp import uploads
    data = b"%PDF-1.4\n" + b"x" * (1536 * 1024)
    with app.test_request_context():
        assert uploads.accept(FileStorage(io.BytesIO(data), "规定.pdf"), "document").size == len(data)
    admin_api.put(API, {"upload.max_mb": 1, "upload.document_types": ["pdf"]})
    with app.test_request_context():
        with pytest.raises(GeoError) as e:
            uploads.accept(FileStorage(io.BytesIO(data), "规定.pdf"), "document")
        assert e.value.code == "upload_too_large"
        with pytest.raises(GeoError) as e:
            uploads.accept(FileStorage(io.BytesIO(b"PK\x03\x04" + b"0" * 100), "a.docx"), "document")
        assert e.value.code == "upload_type_forbidden"
