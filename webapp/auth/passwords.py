"""Password hashing (werkzeug's scrypt) and the password rules, which come
from the settings (R95: minimum length, character classes, maximum age)."""
from __future__ import annotations

import re

from werkzeug.security import check_password_hash, generate_password_hash

from geo.errors import GeoError

CLASSES = [(r"[a-z]", "小写字母"), (r"[A-Z]", "大写字母"), (r"\d", "数字"), (r"[^A-Za-z0-9]", "符号")]


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(hashed: str, password: str) -> bool:
    return check_password_hash(hashed, password)


def rules() -> tuple[int, int]:
    """(minimum length, number of character classes required) from the settings."""
    from flask import has_app_context
    from webapp import sysconfig
    if not has_app_context():
        d = sysconfig.DEFAULTS
        return d["password.min_length"].default, d["password.require_classes"].default
    return int(sysconfig.get("password.min_length")), int(sysconfig.get("password.require_classes"))


def describe_rules() -> str:
    length, classes = rules()
    return f"密码至少 {length} 位，且须包含大写字母、小写字母、数字、符号中的至少 {classes} 类"


def check_rules(password: str) -> None:
    length, classes = rules()
    present = sum(1 for pattern, _ in CLASSES if re.search(pattern, password))
    if len(password) < length or present < classes or len(password) > 128:
        raise GeoError("password_too_weak", describe_rules() + ("，且不超过128位" if len(password) > 128 else ""))
