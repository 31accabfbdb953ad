"""Flask app factory: settings, database, auth, errors, OGC API and blueprints."""
from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, g, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from geo.db import get_engine, resolve_url, session_factory
from geo.settings import Settings, get_settings

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

csrf = CSRFProtect()


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.var_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, database_url: str | None = None) -> Flask:
    settings = settings or get_settings()
    url = resolve_url(database_url or settings.database_url or None)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
        WTF_CSRF_CHECK_DEFAULT=False,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if settings.base_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    hops = int(os.environ.get("CITYOPS_PROXY_HOPS", "0"))
    if hops:
        # Behind a reverse proxy: take client address and scheme from X-Forwarded-*.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["cityops.settings"] = settings
    app.extensions["cityops.url"] = url
    app.extensions["cityops.engine"] = get_engine(url)
    app.extensions["cityops.sessions"] = session_factory(url)

    from webapp import db as webdb
    app.teardown_appcontext(webdb.close_db)

    from webapp import errors
    errors.register(app)

    import webapp.oplog  # noqa: F401  (installs the operation-log hook)

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = "请先登录"

    @login.user_loader
    def _load(user_id: str):
        from webapp.auth.models import User
        user = webdb.get_db().get(User, int(user_id))
        return user if user is not None and user.enabled else None

    csrf.init_app(app)
    from webapp.auth import session_policy
    session_policy.install(app)

    @app.before_request
    def _body_limit():
        # Each upload kind has its own limit in the settings (checked by webapp.uploads);
        # the largest bounds the request body, before anything (CSRF check included) reads it.
        if request.method in UNSAFE:
            from webapp import sysconfig
            mb = max(sysconfig.get(k) for k in ("upload.max_mb", "upload.spatial_max_mb", "upload.app_max_mb"))
            request.max_content_length = (mb + 5) << 20

    @app.before_request
    def _csrf():
        # Forms and session-cookie API calls need a CSRF token; calls that
        # authenticate with an API key or HTTP Basic carry no cookie to forge.
        if request.method in UNSAFE and not (request.headers.get("X-API-Key")
                                             or request.headers.get("Authorization")):
            csrf.protect()

    from webapp.auth.permissions import public

    @app.get("/healthz")
    @public
    def _health():
        from sqlalchemy import text
        webdb.get_db().execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.context_processor
    def _globals():
        from webapp.auth.guard import principal
        from webapp.auth.permissions import has_permission

        def can(code: str) -> bool:
            who = principal()
            return who is not None and has_permission(who, code)
        def nav():
            # The caller's web menu, built once per request from the menu tree and their roles.
            if "nav" not in g:
                from webapp.admin.menus import visible_tree
                g.nav = visible_tree(principal(), "web")
            return g.nav

        def nav_active() -> set[int]:
            """Ids of the menu nodes on the path to the current page."""
            def walk(nodes, trail):
                for n in nodes:
                    if n["endpoint"] == request.endpoint:
                        return trail | {n["id"]}
                    hit = walk(n["children"], trail | {n["id"]})
                    if hit:
                        return hit
                return set()
            return walk(nav(), set())

        def nav_section():
            """The top-level directory holding the current page (the side menu shows its pages)."""
            active = nav_active()
            return next((n for n in nav() if n["kind"] == "dir" and n["id"] in active), None)

        from webapp.admin.menus import menu_href
        from webapp import sysconfig
        return {"app_title": sysconfig.get("site.title_zh"), "admin_endpoints": set(app.view_functions),
                "can": can, "nav": nav, "nav_active": nav_active, "nav_section": nav_section,
                "menu_href": menu_href, "site": sysconfig.snapshot}

    from webapp.assets import bp as assets_bp
    from webapp.auth.routes import bp as auth_bp
    from webapp.home.routes import bp as home_bp
    from webapp.geoapi.routes import bp as geoapi_bp
    from webapp.basemap.routes import bp as basemap_bp
    app.register_blueprint(assets_bp, url_prefix="/assets")
    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(geoapi_bp, url_prefix="/api/geo")
    from webapp import admin
    app.register_blueprint(admin.pages)
    app.register_blueprint(admin.api)
    from webapp.admin.settings import branding
    app.register_blueprint(branding)
    from webapp import guidance
    app.register_blueprint(guidance.pages)
    app.register_blueprint(guidance.api)
    from webapp import cases
    app.register_blueprint(cases.pages)
    app.register_blueprint(cases.api)
    from webapp import lifeline
    app.register_blueprint(lifeline.pages)
    app.register_blueprint(lifeline.api)
    from webapp.admin.mobile import mobile_api
    app.register_blueprint(mobile_api)
    app.register_blueprint(basemap_bp)

    from ogc.mount import mount
    mount(app, settings, url)
    logging.getLogger("pygeoapi").setLevel(logging.ERROR)
    return app
