"""Read the published-layer catalogue from layers/*.yml (data, not code)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ACCESS = ("public", "internal", "restricted")
GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


class LayerConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Layer:
    id: str
    table: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    geometry: str
    id_field: str
    title_field: str | None
    fields: tuple[str, ...]
    access: str = "internal"
    keywords: tuple[str, ...] = ()
    maps: tuple[str, ...] = ()
    tiles: bool = False
    tile_minzoom: int = 10
    tile_maxzoom: int = 20
    style: dict = field(default_factory=dict)
    legend: str = ""
    order: int = 100
    # Department columns used by the `dept` data scope.
    dept_fields: tuple[str, ...] = ()
    # Display names of fields (uploaded layers keep their original, often Chinese, column names here).
    field_titles: dict = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return self.access == "public"


def _ident(value: str, what: str, source: Path) -> str:
    if not isinstance(value, str) or not _IDENT.match(value):
        raise LayerConfigError(f"{source.name}: {what} {value!r} is not a plain SQL identifier")
    return value


def parse_layer(doc: dict, source: Path) -> Layer:
    try:
        lid = doc["id"]
        title = doc["title"]
        desc = doc.get("description", {})
        geometry = doc["geometry"]
    except KeyError as exc:
        raise LayerConfigError(f"{source.name}: missing key {exc}") from None
    if not isinstance(lid, str) or not _ID.match(lid):
        raise LayerConfigError(f"{source.name}: id {lid!r} must be lower-case letters, digits, - or _")
    if geometry not in GEOMETRY_TYPES:
        raise LayerConfigError(f"{source.name}: geometry must be one of {GEOMETRY_TYPES}")
    access = doc.get("access", "internal")
    if access not in ACCESS:
        raise LayerConfigError(f"{source.name}: access must be one of {ACCESS}")
    fields = tuple(_ident(f, "field", source) for f in doc.get("fields", []))
    id_field = _ident(doc.get("id_field", "code"), "id_field", source)
    title_field = doc.get("title_field")
    if title_field:
        _ident(title_field, "title_field", source)
    tiles = doc.get("tiles") or {}
    return Layer(
        id=lid, table=_ident(doc["table"], "table", source),
        title_zh=title["zh"], title_en=title.get("en", title["zh"]),
        description_zh=desc.get("zh", title["zh"]), description_en=desc.get("en", title.get("en", "")),
        geometry=geometry, id_field=id_field, title_field=title_field, fields=fields, access=access,
        keywords=tuple(doc.get("keywords", [])), maps=tuple(doc.get("maps", [])),
        tiles=bool(tiles), tile_minzoom=int(tiles.get("minzoom", 10)) if tiles else 10,
        tile_maxzoom=int(tiles.get("maxzoom", 20)) if tiles else 20,
        style=dict(doc.get("style", {})), legend=doc.get("legend", title["zh"]), order=int(doc.get("order", 100)),
        dept_fields=tuple(_ident(f, "dept_field", source) for f in doc.get("dept_fields", [])),
        field_titles={str(k): str(v) for k, v in (doc.get("field_titles") or {}).items()},
    )


def layer_files(directories) -> list[Path]:
    """The *.yml files of one directory or several (missing ones are skipped)."""
    if isinstance(directories, (str, Path)):
        directories = [directories]
    return [p for d in directories for p in sorted(Path(d).glob("*.yml"))]


def load_layers(directories) -> list[Layer]:
    """Layers from one directory or several: the built-in catalogue and the
    directory of layers published through the admin upload page."""
    layers = []
    for path in layer_files(directories):
        with path.open(encoding="utf-8") as fh:
            layers.append(parse_layer(yaml.safe_load(fh), path))
    ids = [l.id for l in layers]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise LayerConfigError(f"duplicate layer ids: {sorted(dupes)}")
    return sorted(layers, key=lambda l: (l.order, l.id))
