"""The upload gate (webapp.uploads): content sniffing against the claimed
type, size limits, content-addressed storage, no path escapes."""
from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from geo.errors import GeoError
from webapp import uploads


def fs(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), name)


def img(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, fmt)
    return buf.getvalue()


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


OK = [("a.png", img("PNG"), "image"), ("照片.JPG", img("JPEG"), "image"), ("a.gif", img("GIF"), "image"),
      ("规定.pdf", b"%PDF-1.7\n...", "document"), ("表.docx", docx(), "document"),
      ("旧.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "document"),
      ("说明.txt", "城市管理条例".encode("gb18030"), "document"),
      ("点位.csv", "经度,纬度\n114.02,33.38\n".encode("utf-8"), "spatial"),
      ("图层.gpkg", b"SQLite format 3\x00" + b"\0" * 100, "spatial")]
BAD = [("a.png", img("JPEG"), "image", "upload_type_mismatch"),
       ("a.jpg", b"just text", "image", "upload_type_mismatch"),
       ("a.docx", b"not a zip at all", "document", "upload_type_mismatch"),
       ("a.exe", b"MZ\x90\x00", "attachment", "upload_type_forbidden"),
       ("noext", b"abc", "attachment", "upload_type_forbidden"),
       ("a.txt", b"\x00\x01\x02binary", "document", "upload_type_mismatch"),
       ("a.pdf", b"", "document", "upload_empty")]


@pytest.mark.parametrize("name,data,category", OK)
def test_accepted_and_stored_by_content(app, name, data, category):
    with app.test_request_context():
        f = uploads.accept(fs(data, name), category)
        assert f.path.read_bytes() == data and f.size == len(data) and f.original_name == name
        assert f.relpath.startswith(category + "/") and f.sha256 in f.relpath
        assert uploads.resolve(f.relpath) == f.path.resolve()


@pytest.mark.parametrize("name,data,category,code", BAD)
def test_refused(app, name, data, category, code):
    with app.test_request_context():
        root = uploads.uploads_root() / category
        before = sorted(root.rglob("*")) if root.exists() else []
        with pytest.raises(GeoError) as e:
            uploads.accept(fs(data, name), category)
        assert e.value.code == code and e.value.status in (400, 413, 415)
        after = sorted(root.rglob("*")) if root.exists() else []
        assert after == before  # no partial file left behind


def test_names_cannot_escape(app):
    with app.test_request_context():
        f = uploads.accept(fs(img("PNG"), "../../../etc/evil.png"), "image")
        assert f.original_name == "evil.png" and uploads.uploads_root() in f.path.parents
        with pytest.raises(GeoError) as e:
            uploads.resolve("../../secret_key")
        assert e.value.status == 404


def test_size_limit(app):
    with app.test_request_context():
        with pytest.raises(GeoError) as e:
            uploads.accept(fs(b"%PDF" + b"0" * 5000, "a.pdf"), "document", max_bytes=1000)
        assert e.value.code == "upload_too_large" and e.value.status == 413
