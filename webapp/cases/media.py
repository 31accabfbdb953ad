"""Photos, audio and video of a case: checked by the shared upload gate (type
sniffed from the content, size from the settings) and, for photos, a JPEG
thumbnail so lists and the mobile app load fast."""
from __future__ import annotations

import io

from PIL import Image, ImageOps

from geo.errors import GeoError
from webapp import sysconfig, uploads
from webapp.cases.models import CaseMedia

THUMB = (320, 320)


def kind_of(ext: str) -> str:
    if ext in sysconfig.get("upload.image_types"):
        return "photo"
    if ext in ("mp3", "m4a", "amr", "wav"):
        return "audio"
    return "video"


def accept(file) -> uploads.StoredFile:
    exts = [*sysconfig.get("upload.image_types"), *sysconfig.get("upload.media_types")]
    stored = uploads.accept(file, "attachment", allowed=exts)
    if kind_of(stored.ext) == "photo":
        try:
            with Image.open(stored.path) as im:
                im.verify()
        except Exception:
            raise GeoError("image_invalid", f"图片“{stored.original_name}”已损坏或无法识别", status=415) from None
    return stored


def _thumbnail(stored: uploads.StoredFile) -> str | None:
    with Image.open(stored.path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail(THUMB)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
    from werkzeug.datastructures import FileStorage
    thumb = uploads.accept(FileStorage(io.BytesIO(buf.getvalue()), "thumb.jpg"), "image", max_bytes=1 << 22)
    return thumb.relpath


def attach(db, case, stored: list[uploads.StoredFile], event_seq: int, who) -> list[CaseMedia]:
    rows = []
    for s in stored:
        kind = kind_of(s.ext)
        rows.append(CaseMedia(case_id=case.id, event_seq=event_seq, kind=kind, relpath=s.relpath,
                              thumb_relpath=_thumbnail(s) if kind == "photo" else None, sha256=s.sha256,
                              mime=s.mime, size=s.size, original_name=s.original_name,
                              uploaded_by=getattr(who, "id", None)))
    db.add_all(rows)
    db.flush()
    return rows
