"""Session fixtures: a throw-away PostGIS cluster (the same manager as the
embedded default), migrated and loaded with the scale-1 Xiping demo data,
the Flask app, a test client and a live server on loopback."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from geo.settings import Settings, get_settings

PASSWORDS = {"admin": "Admin-test-2026", "demo": "Xiping2026"}
os.environ["CITYOPS_ADMIN_PASSWORD"] = PASSWORDS["admin"]
os.environ["CITYOPS_DEMO_PASSWORD"] = PASSWORDS["demo"]


def basic(user: str, pw: str) -> dict:
    """HTTP Basic header, as QGIS and GDAL send it."""
    import base64
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="cityops-test-"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def db_url(workdir):
    """TEST_DATABASE_URL if given, else a private cluster for this run."""
    from geo.migrate import upgrade
    url = os.environ.get("TEST_DATABASE_URL")
    cluster = None
    if not url:
        from geo.pgcluster import EmbeddedCluster
        cluster = EmbeddedCluster(workdir / "pg", free_port())
        cluster.start()
        url = cluster.url()
    upgrade(url)
    yield url
    if cluster is not None:
        from geo.db import _engines
        for eng in _engines.values():
            eng.dispose()
        cluster.destroy()


@pytest.fixture(scope="session")
def demo_db(db_url, workdir):
    """The scale-1 demo data (loaded once per run)."""
    from webapp.cli import load_demo
    os.environ["CITYOPS_VAR"] = str(workdir / "var")
    load_demo(db_url, 1.0, replace=True, log=lambda *_: None)
    return db_url


@pytest.fixture(scope="session")
def passwords():
    return dict(PASSWORDS)


@pytest.fixture(scope="session")
def server_port():
    return free_port()


@pytest.fixture(scope="session")
def settings(demo_db, workdir, server_port) -> Settings:
    base = get_settings()
    return replace(base, database_url=demo_db, var_dir=workdir / "var", port=server_port,
                   base_url=f"http://127.0.0.1:{server_port}", secret_key="test-secret")


@pytest.fixture(scope="session")
def app(settings):
    from webapp.app import create_app
    application = create_app(settings, settings.database_url)
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def client(app):
    return app.test_client()


def login(client, username: str, password: str):
    """Log a test client in through the real form (CSRF token included)."""
    import re
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


class JsonApi:
    """A test client that sends JSON (and forms) with the CSRF token of its session."""

    def __init__(self, client):
        import re
        self.c = client
        page = client.get("/password" if client.get("/").status_code == 302 else "/").get_data(as_text=True)
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        self.headers = {"X-CSRFToken": m.group(1)} if m else {}

    def get(self, url, **kw):
        return self.c.get(url, headers={"Accept": "application/json"}, **kw)

    def post(self, url, json=None, **kw):
        return self.c.post(url, json=json, headers=self.headers, **kw)

    def put(self, url, json=None, **kw):
        return self.c.put(url, json=json, headers=self.headers, **kw)

    def patch(self, url, json=None, **kw):
        return self.c.patch(url, json=json, headers=self.headers, **kw)

    def delete(self, url, **kw):
        return self.c.delete(url, headers=self.headers, **kw)

    def upload(self, url, files: dict, **fields):
        import io
        data = {k: (io.BytesIO(v[1]), v[0]) for k, v in files.items()}
        data.update(fields)
        return self.c.post(url, data=data, headers=self.headers, content_type="multipart/form-data")


def json_api(app, username: str, password: str) -> JsonApi:
    c = app.test_client()
    r = login(c, username, password)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return JsonApi(c)


def assert_error(r, status: int, code: str) -> dict:
    """A refusal: the status, the stable code and a Chinese message."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:400])
    e = r.get_json()["error"]
    assert e["code"] == code, e
    assert any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]), e
    return e


def new_user(app, admin_api: JsonApi, roles: list[str], **fields) -> tuple[dict, JsonApi]:
    """Create a user through the API and log in as them, past the forced first password change."""
    import uuid
    body = {"username": "t_" + uuid.uuid4().hex[:10], "display_name": "测试用户", "roles": roles,
            "password": "First-2026x", **fields}
    r = admin_api.post("/api/admin/users", body)
    assert r.status_code == 201, r.get_json()
    c = app.test_client()
    assert login(c, body["username"], "First-2026x").status_code == 302
    api = JsonApi(c)
    r = api.post("/api/me/password", {"old_password": "First-2026x", "new_password": "Second-2026x"})
    assert r.status_code == 200, r.get_json()
    user = admin_api.get(f"/api/admin/users/{admin_api_user_id(admin_api, body['username'])}").get_json()
    return user, api


def admin_api_user_id(admin_api: JsonApi, username: str) -> int:
    items = admin_api.get("/api/admin/users", query_string={"q": username}).get_json()["items"]
    return next(u["id"] for u in items if u["username"] == username)


@pytest.fixture()
def admin_api(admin_client):
    return JsonApi(admin_client)


@pytest.fixture()
def admin_client(app):
    c = app.test_client()
    resp = login(c, "admin", PASSWORDS["admin"])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return c


@pytest.fixture()
def user_client(app):
    c = app.test_client()
    resp = login(c, "acceptor", PASSWORDS["demo"])
    assert resp.status_code == 302
    return c


class LiveServer:
    def __init__(self, app, port: int):
        from werkzeug.serving import make_server
        self.url = f"http://127.0.0.1:{port}"
        self._srv = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._srv.shutdown()


@pytest.fixture(scope="session")
def live_server(app, server_port):
    srv = LiveServer(app, server_port).start()
    yield srv
    srv.stop()
