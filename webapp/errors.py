"""One place that maps exceptions to answers: JSON `{"error": {code, message}}`
for APIs, a Chinese HTML page for browsers; never a bare 500 for bad input."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from geo.errors import GeoError

LOG = logging.getLogger(__name__)

HTTP_CODES = {400: ("bad_request", "请求无效"), 401: ("unauthorized", "请先登录或提供有效的 API 密钥"),
              403: ("forbidden", "没有访问权限"), 404: ("not_found", "请求的资源不存在"),
              405: ("method_not_allowed", "不支持的请求方法"), 409: ("conflict", "数据已被他人修改，请刷新后重试"),
              413: ("payload_too_large", "上传内容超过大小限制"), 415: ("unsupported_media_type", "不支持的内容类型"),
              422: ("unprocessable", "数据校验未通过"), 429: ("too_many_requests", "请求过于频繁"),
              500: ("internal_error", "服务器内部错误，已记录，请联系管理员")}


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/ogc")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, code: str, message: str, details: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    if wants_json():
        return jsonify(body), status
    return render_template("error.html", status=status, code=code, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(GeoError)
    def _geo(err: GeoError):
        return error_response(err.status, err.code, err.message, err.details or None)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        code, message = HTTP_CODES.get(err.code, ("http_error", err.name))
        desc = getattr(err, "description", None)
        if isinstance(desc, str) and not desc.startswith(("The ", "You ", "A ", "Bad ")):
            message = desc  # our own Chinese description
        resp = error_response(err.code, code, message)
        if err.code == 401 and request.path.startswith(("/ogc", "/api/")):
            resp[0].headers["WWW-Authenticate"] = 'Basic realm="cityops"'
        return resp

    from sqlalchemy.exc import DBAPIError

    @app.errorhandler(DBAPIError)
    def _db(err: DBAPIError):
        # Two writers that met in the database (deadlock, serialisation, lock
        # timeout): the transaction was rolled back, nothing changed; retry.
        if getattr(err.orig, "sqlstate", None) in ("40P01", "40001", "55P03"):
            return error_response(409, "concurrent_update", "数据正被他人同时修改，请稍后重试")
        return _any(err)

    @app.errorhandler(Exception)
    def _any(err: Exception):
        LOG.exception("unhandled error on %s", request.path)
        code, message = HTTP_CODES[500]
        return error_response(500, code, message)
