"""Password hashing and rules (werkzeug's scrypt)."""
from __future__ import annotations

import re

from werkzeug.security import check_password_hash, generate_password_hash

from geo.errors import GeoError

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(hashed: str, password: str) -> bool:
    return check_password_hash(hashed, password)


def check_rules(password: str) -> None:
    """Default rule: at least 8 characters with letters and digits."""
    if len(password) < MIN_LENGTH or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise GeoError("password_too_weak", f"密码至少 {MIN_LENGTH} 位，且须同时包含字母和数字")
