"""The offline basemap: GET /basemap/{z}/{x}/{y}.png (public PNG tiles)."""
from __future__ import annotations

import io
import math

import pytest
from PIL import Image
from sqlalchemy import text

from webapp.basemap.routes import LAND, OUTSIDE


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def town(app):
    """A point in the busiest part of the road network (the town)."""
    with app.extensions["cityops.sessions"]() as db:
        x, y = db.execute(text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) AS c FROM geo.road) s")).fetchone()
    return x, y


def test_town_tile_is_a_drawn_png(client, town):
    x, y = tile_of(*town, 15)
    r = client.get(f"/basemap/15/{x}/{y}.png")    # no login: the basemap is public
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/png"
    assert "max-age" in r.headers["Cache-Control"] and "public" in r.headers["Cache-Control"]
    img = Image.open(io.BytesIO(r.data)).convert("RGB")
    assert img.size == (256, 256)
    colours = img.getcolors(maxcolors=256 * 256)
    drawn = sum(n for n, c in colours if c not in (LAND, OUTSIDE))
    assert drawn > 256 * 256 * 0.02, "expected roads, boundaries or rivers over the town"


def test_tile_is_cacheable(client, town):
    x, y = tile_of(*town, 14)
    first = client.get(f"/basemap/14/{x}/{y}.png")
    assert first.status_code == 200 and first.headers.get("ETag")
    again = client.get(f"/basemap/14/{x}/{y}.png", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_tile_outside_the_county_is_plain(client):
    r = client.get("/basemap/12/100/100.png")
    assert r.status_code == 200
    img = Image.open(io.BytesIO(r.data)).convert("RGB")
    assert img.getcolors() == [(256 * 256, OUTSIDE)]


@pytest.mark.parametrize("path", [
    "/basemap/23/0/0.png",       # zoom too deep
    "/basemap/3/8/0.png",        # x out of range for z=3
    "/basemap/3/0/8.png",        # y out of range
    "/basemap/-1/0/0.png",       # negative
    "/basemap/a/0/0.png",        # not a number
    "/basemap/15/1.5/3.png",
])
def test_bad_tile_coordinates_are_400_json(client, path):
    r = client.get(path)
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"]["code"] == "tile_invalid" and body["error"]["message"]
