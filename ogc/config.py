"""Build pygeoapi's configuration and OpenAPI document from layers/*.yml.

pygeoapi reads PYGEOAPI_CONFIG and PYGEOAPI_OPENAPI when its Flask module is
imported, so `prepare()` writes both files and sets the variables first.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from ogc.layers import Layer, load_layers

HERE = Path(__file__).resolve().parent
CRS_URIS = [
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4490",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
    "http://www.opengis.net/def/crs/EPSG/0/4547",
]
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4490"
# Xiping county (CRS84), used as each collection's spatial extent.
COUNTY_BBOX = [113.70, 33.15, 114.30, 33.60]
MOUNT = "/ogc"


def libpq_dsn(sqlalchemy_url: str) -> str:
    """postgresql+psycopg://u:p@h:port/db → postgresql://u:p@h:port/db for psycopg."""
    return "postgresql://" + sqlalchemy_url.split("://", 1)[1]


def collection(layer: Layer, dsn: str) -> dict:
    data = {"dsn": dsn, "table": layer.table, "geom": "geom", "fields": list(layer.fields),
            "access": layer.access, "dept_fields": list(layer.dept_fields)}
    providers = [{
        "type": "feature",
        "name": "ogc.provider.CityFeatureProvider",
        "data": data,
        "id_field": layer.id_field,
        "title_field": layer.title_field,
        "storage_crs": STORAGE_CRS,
        "crs": CRS_URIS,
    }]
    if layer.tiles:
        providers.append({
            "type": "tile",
            "name": "ogc.provider.CityTileProvider",
            "data": data,
            "id_field": layer.id_field,
            "options": {"zoom": {"min": layer.tile_minzoom, "max": layer.tile_maxzoom}, "schemes": ["WebMercatorQuad"]},
            "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"},
        })
    return {
        "type": "collection",
        "title": {"zh": layer.title_zh, "en": layer.title_en},
        "description": {"zh": layer.description_zh, "en": layer.description_en},
        "keywords": list(layer.keywords) or [layer.title_zh],
        "links": [],
        "extents": {"spatial": {"bbox": COUNTY_BBOX, "crs": CRS_URIS[0]}},
        "providers": providers,
    }


def build_config(layers: list[Layer], dsn: str, base_url: str) -> dict:
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 5000},
            "url": base_url.rstrip("/") + MOUNT,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["zh-CN", "en-US"],
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10000, "on_exceed": "throttle"},
            "templates": {"path": str(HERE / "templates"), "static": str(HERE / "static")},
            "map": {"url": base_url.rstrip("/") + "/basemap/{z}/{x}/{y}.png",
                    "attribution": "西平县城市运行管理服务平台"},
            "admin": False,
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": {"zh": "西平县城市运行管理服务平台 OGC API", "en": "Xiping City Operation Platform OGC API"},
                "description": {"zh": "西平县空间数据（行政区划、单元网格、部件、管网、桥梁、风险点）的 OGC API 服务",
                                "en": "OGC API for Xiping's spatial layers"},
                "keywords": ["城运平台", "数字城管", "城市生命线", "OGC API"],
                "keywords_type": "theme",
                "terms_of_service": "",
                "url": base_url,
            },
            "license": {"name": "内部数据，按权限使用", "url": base_url},
            "provider": {"name": "西平县城市管理局", "url": base_url},
            "contact": {"name": "西平县数字化城市管理监督指挥中心", "position": "运维", "address": "西平县",
                        "city": "西平县", "stateorprovince": "河南省", "postalcode": "463900", "country": "中国",
                        "email": "ops@example.invalid", "url": base_url, "role": "pointOfContact"},
        },
        "resources": {layer.id: collection(layer, dsn) for layer in layers},
    }


def uploaded_layers_dir(settings) -> Path:
    """Where layers published through the admin upload page keep their yml:
    under var/ (state, not code), so the repository's layers/ stays as shipped
    and tests, which use a throw-away var/, never write into it."""
    return settings.var_dir / "layers"


def layer_dirs(settings) -> list[Path]:
    return [settings.layers_dir, uploaded_layers_dir(settings)]


def public_config(cfg: dict, layers: list[Layer]) -> dict:
    """The same configuration with internal collections left out: what an
    anonymous caller may see in /ogc, /ogc/collections and /ogc/openapi."""
    public = {l.id for l in layers if l.public}
    out = dict(cfg)
    out["server"] = dict(cfg["server"])
    out["resources"] = {k: v for k, v in cfg["resources"].items() if k in public}
    return out


def prepare(settings, sqlalchemy_url: str) -> tuple[Path, Path, list[Layer]]:
    """Write the config and OpenAPI files for this database and base URL."""
    from pygeoapi.openapi import get_oas

    layers = load_layers(layer_dirs(settings))
    cfg = build_config(layers, libpq_dsn(sqlalchemy_url), settings.base_url)
    out = settings.var_dir / "ogc"
    out.mkdir(parents=True, exist_ok=True)
    cfg_path, oas_path = out / "pygeoapi-config.yml", out / "pygeoapi-openapi.yml"
    # The DSN holds the cluster password: keep the files private.
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.chmod(cfg_path, 0o600)
    oas = get_oas(cfg)
    oas_path.write_text(yaml.safe_dump(oas, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.environ["PYGEOAPI_CONFIG"] = str(cfg_path)
    os.environ["PYGEOAPI_OPENAPI"] = str(oas_path)
    return cfg_path, oas_path, layers
