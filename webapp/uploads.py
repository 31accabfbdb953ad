"""One gate for every uploaded file: size limit and allowed types from the
settings (R95), the real type sniffed from the content (a file that lies
about its type is refused), then stored content-addressed under
var/uploads/<category>/. Errors are GeoErrors with stable codes:
upload_missing, upload_empty, upload_too_large, upload_type_forbidden,
upload_type_mismatch."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import current_app

from geo.errors import GeoError
from webapp import sysconfig

CHUNK = 1 << 20
ZIP_FAMILY = {"zip", "docx", "xlsx", "pptx", "apk", "ipa", "wgt", "hap"}
OLE_FAMILY = {"doc", "xls", "ppt"}
TEXT_FAMILY = {"txt", "csv", "json", "geojson"}
JPEG = {"jpg", "jpeg"}
# What filetype may call a file with this extension (besides the extension itself).
ALIASES = {"jpeg": {"jpg"}, "jpg": {"jpg"}, "m4a": {"m4a", "mp4"}, "mov": {"mov", "mp4"}, "mp4": {"mp4", "m4v"},
           "wav": {"wav"}, "amr": {"amr"}}


@dataclass(frozen=True)
class StoredFile:
    path: Path          # absolute path on disk
    relpath: str        # path below var/uploads, kept in the database
    sha256: str
    size: int
    ext: str
    mime: str
    original_name: str


def uploads_root() -> Path:
    return current_app.extensions["cityops.settings"].var_dir / "uploads"


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def sniff_matches(ext: str, head: bytes) -> bool:
    """True when the first bytes of the content fit the claimed extension."""
    if ext in ZIP_FAMILY:
        return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")
    if ext in OLE_FAMILY:
        return head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    if ext == "gpkg":
        return head[:16] == b"SQLite format 3\x00"
    if ext in TEXT_FAMILY:
        if b"\x00" in head:
            return False
        for enc in ("utf-8-sig", "gb18030"):
            try:
                head.decode(enc)
                return True
            except UnicodeDecodeError as e:
                if e.start > len(head) - 4:  # a character cut at the end of the sample
                    return True
        return False
    kind = filetype.guess(head)
    if kind is None:
        return False
    return kind.extension in ALIASES.get(ext, {ext})


def guess_mime(ext: str, head: bytes) -> str:
    kind = filetype.guess(head)
    if kind is not None and ext not in ZIP_FAMILY:
        return kind.mime
    return {"csv": "text/csv", "txt": "text/plain", "json": "application/json", "geojson": "application/geo+json",
            "gpkg": "application/geopackage+sqlite3", "zip": "application/zip",
            "apk": "application/vnd.android.package-archive"}.get(ext, "application/octet-stream")


def accept(file, category: str, allowed: list[str] | None = None, max_bytes: int | None = None) -> StoredFile:
    """Check and store an uploaded werkzeug FileStorage. `allowed` narrows the
    category's types (for example only images); `max_bytes` overrides the limit."""
    if file is None or not getattr(file, "filename", ""):
        raise GeoError("upload_missing", "请选择要上传的文件")
    limit, exts = sysconfig.upload_limit(category)
    if max_bytes is not None:
        limit = max_bytes
    if allowed is not None:
        exts = [e for e in exts if e in set(allowed)]
    name = os.path.basename(file.filename.replace("\\", "/"))
    ext = _ext(name)
    if ext not in exts:
        raise GeoError("upload_type_forbidden", f"不允许上传“.{ext or '无扩展名'}”类型的文件，允许: {'、'.join(exts)}",
                       status=415, allowed=exts)
    root = uploads_root() / category
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = file.stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise GeoError("upload_too_large", f"文件超过大小上限 {limit / 1048576:.0f} MB", status=413,
                                   limit_bytes=limit)
                if len(head) < 8192:
                    head += chunk[:8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise GeoError("upload_empty", "上传的文件是空的")
        if not sniff_matches(ext, head):
            raise GeoError("upload_type_mismatch", f"文件内容与扩展名“.{ext}”不符，可能是伪造或损坏的文件", status=415)
        sha = digest.hexdigest()
        rel = f"{category}/{sha[:2]}/{sha}.{ext}"
        dest = uploads_root() / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        tmp = None
        return StoredFile(dest, rel, sha, size, ext, guess_mime(ext, head), name)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def resolve(relpath: str) -> Path:
    """Absolute path of a stored file; refuses paths that escape the uploads root."""
    root = uploads_root().resolve()
    path = (root / relpath).resolve()
    if root not in path.parents or not path.is_file():
        raise GeoError("upload_not_found", "文件不存在", status=404)
    return path
