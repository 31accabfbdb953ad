"""Every route is guarded: it declares a permission or is explicitly public,
and each demo role gets exactly what its permissions say (allowed: not
401/403; forbidden: 403)."""
from __future__ import annotations

import pytest

from tests.conftest import login
from webapp.auth.permissions import BLUEPRINT_GUARDS, PERMISSIONS, ROLE_PERMISSIONS
from webapp.auth.seed import DEMO_USERS


def _declared(app):
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        blueprint = rule.endpoint.split(".")[0] if "." in rule.endpoint else None
        if getattr(view, "_public", False):
            how = "public"
        elif getattr(view, "_authenticated", False):
            how = "authenticated"
        elif getattr(view, "_permission", None):
            how = view._permission
        elif rule.endpoint == "static" or (blueprint and BLUEPRINT_GUARDS.get(blueprint)) or \
                (blueprint and rule.endpoint.endswith(".static")):
            how = "blueprint"
        else:
            how = None
        out.append((rule, how))
    return out


def test_no_route_is_left_unguarded(app):
    unguarded = [str(r) for r, how in _declared(app) if how is None]
    assert not unguarded, f"routes without @require_permission or @public: {unguarded}"


def test_permission_codes_exist(app):
    for _, how in _declared(app):
        assert how in ("public", "authenticated", "blueprint") or how in PERMISSIONS


def _sample_get_routes(app):
    """GET routes with a permission and no URL variables (those are tested with their own data)."""
    for rule, how in _declared(app):
        if how in PERMISSIONS and "GET" in rule.methods and not rule.arguments:
            yield rule.rule, how


ROLE_OF = {u[0]: u[2] for u in DEMO_USERS}


@pytest.mark.parametrize("username", ["admin"] + [u[0] for u in DEMO_USERS])
def test_role_matrix(app, passwords, username):
    client = app.test_client()
    pw = passwords["admin"] if username == "admin" else passwords["demo"]
    assert login(client, username, pw).status_code == 302
    perms = set(ROLE_PERMISSIONS["admin" if username == "admin" else ROLE_OF[username]])
    routes = list(_sample_get_routes(app))
    assert routes
    for path, code in routes:
        r = client.get(path, headers={"Accept": "application/json"})
        allowed = "*" in perms or code in perms
        if allowed:
            assert r.status_code not in (401, 403), (username, path, r.status_code)
        else:
            assert r.status_code == 403, (username, path, r.status_code)
            if path.startswith("/api/"):
                assert "权限" in r.get_json()["error"]["message"]


def test_anonymous_gets_401_or_login_redirect(app):
    client = app.test_client()
    own = [(r.rule, how) for r, how in _declared(app) if how == "authenticated" and "GET" in r.methods
           and not r.arguments]
    assert own
    for path, _ in list(_sample_get_routes(app)) + own:
        r = client.get(path)
        if path.startswith("/api/"):
            assert r.status_code == 401, path
        else:
            assert r.status_code == 302 and "/login" in r.headers["Location"], path
