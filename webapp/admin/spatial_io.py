"""Read an uploaded spatial file (Shapefile zip, GeoPackage, GeoJSON, CSV)
into a GeoDataFrame in its own CRS, and describe it for the upload page.

Reading is pyogrio's (GDAL) except CSV, which pandas reads so that Chinese
column names and GBK files work and the coordinate columns can be guessed.
Every problem is a GeoError with a stable code and a Chinese message."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import CGCS2000, GCJ02, GK_CM114, WEB_MERCATOR, WGS84, crs_label, normalize_crs
from geo.errors import GeoError

FORMATS = {"zip": "shapefile", "gpkg": "gpkg", "geojson": "geojson", "json": "geojson", "csv": "csv"}
FORMAT_NAMES = {"shapefile": "Shapefile（zip 压缩包）", "gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV（坐标列）"}
# The CRSs an operator may choose when the file names none (geo/crs.py knows them all).
CRS_CHOICES = [CGCS2000, WGS84, GK_CM114, WEB_MERCATOR, GCJ02]
MAX_UNZIPPED = 2 << 30  # a zip that expands beyond 2 GB is refused (zip bomb)
MAX_FEATURES = 200_000

LON_NAMES = ["经度", "lon", "lng", "long", "longitude", "x", "东经", "x坐标", "横坐标"]
LAT_NAMES = ["纬度", "lat", "latitude", "y", "北纬", "y坐标", "纵坐标"]
WKT_NAMES = ["wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息"]
TYPE_NAMES = {"integer": "整数", "number": "小数", "boolean": "布尔", "datetime": "日期时间", "date": "日期",
              "string": "文本"}


@dataclass
class Source:
    """What was read: the features (geometry in the file's own CRS) and facts about the file."""
    fmt: str
    frame: gpd.GeoDataFrame
    crs: str | None                  # normalized CRS named by the file, or None
    layer: str | None = None
    layers: list[dict] = field(default_factory=list)
    encoding: str | None = None
    csv_columns: dict | None = None
    notes: list[str] = field(default_factory=list)


def _unreadable(exc: Exception, what: str) -> GeoError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return GeoError("spatial_unreadable", f"无法读取{what}：{first[:200]}", status=422)


# -- Shapefile in a zip --------------------------------------------------------
def _shapefile_in_zip(path: Path) -> tuple[str, dict[str, str]]:
    """(inner .shp path, {ext: inner path}) of the one complete Shapefile, or a GeoError."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if sum(i.file_size for i in infos) > MAX_UNZIPPED:
                raise GeoError("spatial_zip_too_large", "压缩包解压后超过 2 GB，请拆分后上传", status=413)
            bad = zf.testzip()
            if bad is not None:
                raise GeoError("spatial_zip_broken", f"压缩包已损坏（文件“{bad}”校验失败），请重新打包后上传")
            names = [i.filename for i in infos if not i.is_dir()]
    except zipfile.BadZipFile:
        raise GeoError("spatial_zip_broken", "压缩包已损坏或不是有效的 zip 文件，请重新打包后上传") from None
    names = [n for n in names if not n.startswith("__MACOSX/") and not Path(n).name.startswith("._")]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if not shps:
        raise GeoError("spatial_zip_no_shapefile", "压缩包中没有 Shapefile（.shp 文件）；请将 .shp、.shx、.dbf"
                       "（及 .prj、.cpg）一起压缩后上传")
    if len(shps) > 1:
        raise GeoError("spatial_zip_many_shapefiles",
                       f"压缩包中有 {len(shps)} 个 Shapefile（{'、'.join(shps[:5])}），每次只能上传一个图层",
                       files=shps)
    stem = shps[0][:-4].lower()
    parts = {n[len(stem) + 1:].lower(): n for n in names if n.lower().startswith(stem + ".")}
    labels = {"shx": ".shx（索引）", "dbf": ".dbf（属性表）"}
    missing = [labels[e] for e in ("shx", "dbf") if e not in parts]
    if missing:
        raise GeoError("spatial_shapefile_incomplete",
                       f"Shapefile“{Path(shps[0]).name}”不完整，缺少 {'、'.join(missing)} 文件；"
                       "请将同名的 .shp、.shx、.dbf 一起压缩后上传", missing=[m[:4] for m in missing])
    return shps[0], parts


def _dbf_encoding(path: Path, parts: dict[str, str]) -> tuple[str | None, str | None]:
    """(encoding to pass to GDAL, note). A .cpg or a language-driver byte in
    the DBF header tells GDAL itself; without either GDAL assumes ISO-8859-1,
    which garbles the GBK text that Chinese desktop GIS writes, so we test
    the attribute bytes: valid UTF-8 is UTF-8, else GB18030 (a GBK superset)."""
    if "cpg" in parts:
        return None, None
    with zipfile.ZipFile(path) as zf:
        raw = zf.read(parts["dbf"])
    if len(raw) < 32:
        return None, None
    if raw[29] != 0:
        return None, None
    header_len = int.from_bytes(raw[8:10], "little")
    body = raw[header_len:]
    try:
        body.decode("utf-8")
        return "UTF-8", None
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gb18030")
        return "GB18030", "属性表没有 .cpg 编码文件，已按 GBK/GB18030 中文编码读取"
    except UnicodeDecodeError:
        return None, "属性表编码无法识别，中文可能显示为乱码；请在压缩包中附上 .cpg 文件"


def _read_ogr(target: str, what: str, **kw) -> gpd.GeoDataFrame:
    try:
        info = pyogrio.read_info(target, **{k: v for k, v in kw.items() if k in ("layer", "encoding")})
        if info["features"] > MAX_FEATURES:
            raise GeoError("spatial_too_many_features",
                           f"{what}有 {info['features']} 个要素，超过单次上传上限 {MAX_FEATURES}，请拆分后上传",
                           status=413)
        return pyogrio.read_dataframe(target, **kw)
    except GeoError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise several error types for unreadable data
        raise _unreadable(exc, what) from None


# -- CRS -------------------------------------------------------------------------
def detected_crs(frame: gpd.GeoDataFrame) -> str | None:
    """The supported CRS named by the file, None if it names none; an
    unsupported one (Beijing 1954, Xi'an 1980 …) is refused with its name."""
    if frame.crs is None:
        return None
    epsg = frame.crs.to_epsg(min_confidence=60)
    try:
        return normalize_crs(epsg) if epsg is not None else normalize_crs(frame.crs.to_string())
    except GeoError:
        raise GeoError("crs_unsupported",
                       f"文件的坐标系为“{frame.crs.name}”，系统不支持；请先在桌面 GIS 中转换为 "
                       "CGCS2000（EPSG:4490）、WGS84（EPSG:4326）、EPSG:4547 或 EPSG:3857 后再上传",
                       status=422, crs=frame.crs.name) from None


# -- CSV -------------------------------------------------------------------------
def _find(columns: list[str], names: list[str]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _read_csv(path: Path) -> Source:
    frame = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False)
            break
        except UnicodeDecodeError:
            continue
        except Exception as exc:  # pandas' parser errors
            raise _unreadable(exc, "CSV 文件") from None
    if frame is None:
        raise GeoError("spatial_unreadable", "CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码", status=422)
    if len(frame) > MAX_FEATURES:
        raise GeoError("spatial_too_many_features", f"CSV 有 {len(frame)} 行，超过单次上传上限 {MAX_FEATURES}",
                       status=413)
    cols = list(frame.columns)
    lon, lat, wkt = _find(cols, LON_NAMES), _find(cols, LAT_NAMES), _find(cols, WKT_NAMES)
    if lon and lat:
        x = pd.to_numeric(frame[lon].str.strip(), errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(frame[lat].str.strip(), errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        geoms = np.array([None] * len(frame), dtype=object)
        geoms[ok] = shapely.points(x[ok], y[ok])
        used = {"lon": lon, "lat": lat}
        attrs = frame
    elif wkt:
        texts = frame[wkt].str.strip()
        geoms = np.array([None] * len(frame), dtype=object)
        for i, t in enumerate(texts):
            if t:
                try:
                    geoms[i] = shapely.from_wkt(t)
                except shapely.errors.ShapelyError:
                    geoms[i] = None
        used = {"wkt": wkt}
        attrs = frame.drop(columns=[wkt])
    else:
        raise GeoError("spatial_csv_no_coordinates",
                       "CSV 中没有找到坐标列：需要“经度/纬度”（或 lon/lat、lng/lat、x/y）两列，或一列 WKT 几何"
                       f"（列名 wkt/geometry）。现有列：{'、'.join(cols[:20])}", status=422, columns=cols)
    attrs = attrs.apply(lambda s: s.replace("", None))
    return Source("csv", gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms)), None, csv_columns=used)


# -- entry point -------------------------------------------------------------------
def read_source(path: Path, ext: str, layer: str | None = None) -> Source:
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise GeoError("upload_type_forbidden", f"不支持的空间数据格式“.{ext}”", status=415)
    if fmt == "csv":
        src = _read_csv(path)
    elif fmt == "shapefile":
        inner, parts = _shapefile_in_zip(path)
        encoding, note = _dbf_encoding(path, parts)
        kw = {"encoding": encoding} if encoding else {}
        frame = _read_ogr(f"/vsizip/{path}/{inner}", "Shapefile", **kw)
        src = Source(fmt, frame, None, layer=Path(inner).stem, encoding=encoding)
        if note:
            src.notes.append(note)
        if "prj" not in parts:
            src.notes.append("压缩包中没有 .prj 坐标系文件，请选择数据的坐标系")
    elif fmt == "gpkg":
        try:
            listed = pyogrio.list_layers(str(path))
        except Exception as exc:
            raise _unreadable(exc, "GeoPackage 文件") from None
        layers = [{"name": str(n), "geometry_type": str(t)} for n, t in listed if t is not None]
        if not layers:
            raise GeoError("spatial_gpkg_no_layers", "GeoPackage 中没有空间图层", status=422)
        names = [l["name"] for l in layers]
        if layer is not None and layer not in names:
            raise GeoError("spatial_layer_unknown", f"GeoPackage 中没有图层“{layer}”，可选：{'、'.join(names)}",
                           status=422, layers=names)
        chosen = layer or names[0]
        frame = _read_ogr(str(path), f"图层“{chosen}”", layer=chosen)
        src = Source(fmt, frame, None, layer=chosen, layers=layers)
    else:
        frame = _read_ogr(str(path), "GeoJSON 文件")
        src = Source(fmt, frame, None)
    if len(src.frame) == 0:
        raise GeoError("spatial_empty", "文件中没有任何要素", status=422)
    src.crs = detected_crs(src.frame)
    return src


def field_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


_ASCII = re.compile(r"[^a-z0-9_]+")
RESERVED = {"gid", "geom", "created_at", "updated_at", "version"}


def column_names(names: list[str]) -> list[str]:
    """Plain SQL identifiers for the attribute columns. ASCII names keep their
    letters; Chinese ones become f1, f2, … (the original name is kept as the
    field's title in the layer file)."""
    out, seen = [], set(RESERVED)
    for i, name in enumerate(names, start=1):
        base = _ASCII.sub("_", str(name).strip().lower()).strip("_")[:50]
        if not base or not base[0].isalpha():
            base = f"f{i}" if not base else f"f_{base}"
        cand, n = base, 2
        while cand in seen:
            cand, n = f"{base}_{n}", n + 1
        seen.add(cand)
        out.append(cand)
    return out


def describe_fields(frame: gpd.GeoDataFrame) -> list[dict]:
    attrs = [c for c in frame.columns if c != frame.geometry.name]
    cols = column_names(attrs)
    return [{"name": col, "title": str(orig), "type": field_type(frame[orig]),
             "type_name": TYPE_NAMES[field_type(frame[orig])]} for orig, col in zip(attrs, cols)]


def _bbox(frame: gpd.GeoDataFrame) -> list[float] | None:
    geoms = frame.geometry.dropna()
    geoms = geoms[~geoms.is_empty]
    if geoms.empty:
        return None
    b = shapely.total_bounds(geoms.values)
    return [round(float(v), 7) for v in b] if np.isfinite(b).all() else None


def describe(src: Source, file_name: str) -> dict:
    """The report shown after step 1 (upload)."""
    geoms = src.frame.geometry
    types = geoms.dropna().geom_type.value_counts().to_dict()
    sample = src.frame.drop(columns=[src.frame.geometry.name]).head(5)
    return {
        "file_name": file_name, "format": src.fmt, "format_name": FORMAT_NAMES[src.fmt],
        "layer": src.layer, "layers": src.layers, "encoding": src.encoding, "csv_columns": src.csv_columns,
        "feature_count": int(len(src.frame)), "geometry_types": {k: int(v) for k, v in types.items()},
        "fields": describe_fields(src.frame),
        "crs": src.crs, "crs_label": crs_label(src.crs) if src.crs else "未识别坐标系",
        "crs_detected": src.crs is not None,
        "crs_choices": [{"value": c, "label": crs_label(c)} for c in CRS_CHOICES],
        "bbox": _bbox(src.frame), "notes": src.notes,
        "sample": [{str(k): (None if pd.isna(v) else str(v)) for k, v in row.items()}
                   for row in sample.to_dict(orient="records")],
        "suggested_id": suggest_id(file_name if src.fmt != "gpkg" else (src.layer or file_name)),
    }


def suggest_id(name: str) -> str:
    stem = Path(name).stem.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
    if not slug or not slug[0].isalpha():
        slug = "layer-" + slug if slug else "layer"
    return slug[:40].strip("-")
