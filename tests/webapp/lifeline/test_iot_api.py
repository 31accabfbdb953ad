"""IoT API (R119): devices as GeoJSON with filters, counts by type and
status, time series (downsampled for long ranges), ingest counters; bad
input → 4xx with a stable code and a Chinese message; guarded."""
from __future__ import annotations

import datetime as dt

from tests.conftest import JsonApi, assert_error, json_api
from tests.webapp.lifeline.conftest import sql

API = "/api/lifeline/iot"


def monitor(app, passwords):
    return json_api(app, "monitor", passwords["demo"])


def test_things_geojson_and_filters(app, passwords, iot_dsn):
    api = monitor(app, passwords)
    fc = api.get(f"{API}/things").get_json()
    assert fc["type"] == "FeatureCollection"
    total = sql(iot_dsn, "SELECT count(*) FROM lifeline.iot_thing")[0][0]
    assert fc["numberReturned"] == len(fc["features"]) == total > 20
    f = next(f for f in fc["features"] if f["properties"]["kind"] == "gas_detector")
    assert f["geometry"]["type"] == "Point"
    lon, lat = f["geometry"]["coordinates"]
    assert 113.7 < lon < 114.3 and 33.1 < lat < 33.6
    p = f["properties"]
    assert p["network_name"] == "燃气" and p["kind_name"] == "可燃气体监测仪"
    assert {d["code"] for d in p["datastreams"]} == {"ch4", "temp"}
    assert next(d for d in p["datastreams"] if d["code"] == "ch4")["unit"] == "%LEL"
    bridges = api.get(f"{API}/things?network=bridge").get_json()["features"]
    n_bridges = sql(iot_dsn, "SELECT count(*) FROM geo.bridge")[0][0]
    assert len([b for b in bridges if b["properties"]["kind"] == "bridge_monitor"]) == n_bridges > 0
    assert all(b["properties"]["network"] == "bridge" for b in bridges)
    cams = api.get(f"{API}/things?kind=camera").get_json()["features"]
    assert cams and all(c["properties"]["hls_url"].endswith(".m3u8") for c in cams)
    offline = api.get(f"{API}/things?status=offline").get_json()["features"]
    assert all(c["properties"]["status"] == "offline" for c in offline)


def test_things_bad_filters_are_refused(app, passwords):
    api = monitor(app, passwords)
    assert_error(api.get(f"{API}/things?network=electric"), 400, "filter_invalid")
    assert_error(api.get(f"{API}/things?kind=robot"), 400, "filter_invalid")
    assert_error(api.get(f"{API}/things?status=broken"), 400, "filter_invalid")


def test_summary_counts_by_type_and_status(app, passwords, iot_dsn):
    api = monitor(app, passwords)
    s = api.get(f"{API}/summary").get_json()
    db = dict(((k, st), n) for k, st, n in sql(iot_dsn, "SELECT kind, status, count(*) FROM lifeline.iot_thing "
                                                        "GROUP BY 1, 2"))
    assert s["total"] == sum(db.values()) == s["online"] + s["offline"]
    for k in s["by_kind"]:
        assert k["online"] == db.get((k["code"], "online"), 0)
        assert k["offline"] == db.get((k["code"], "offline"), 0)
        assert k["total"] == k["online"] + k["offline"]
    names = {k["code"]: k["name"] for k in s["by_kind"]}
    assert names["camera"] == "视频监控" and names["bridge_monitor"] == "桥梁结构监测"
    assert {n["code"] for n in s["by_network"]} == {"gas", "water", "drainage", "heating", "bridge"}


def test_observations_of_the_demo_day(app, passwords, iot_dsn):
    api = monitor(app, passwords)
    ds_id, n = sql(iot_dsn, """SELECT d.id, count(o.*) FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t
                                 ON t.id = d.thing_id AND t.code LIKE 'GAS-%%' AND d.code = 'ch4'
                                JOIN lifeline.iot_observation o ON o.datastream_id = d.id
                                 AND o.phenomenon_time >= now() - interval '2 days'
                               GROUP BY d.id ORDER BY d.id LIMIT 1""")[0]
    r = api.get(f"{API}/datastreams/{ds_id}/observations?from="
                f"{(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).isoformat().replace('+', '%2B')}")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["count"] == n == len(body["points"]) and n >= 280
    assert not body["downsampled"]
    assert body["datastream"]["unit"] == "%LEL" and body["datastream"]["thresholds"]["high"]["2"] == 25
    assert all(0 <= p[1] <= 100 for p in body["points"])
    times = [p[0] for p in body["points"]]
    assert times == sorted(times)


def test_long_ranges_are_downsampled(app, passwords, iot_dsn):
    from tests.etl.iot_helpers import register_thing
    th = register_thing(iot_dsn, streams=(("ch4", "%LEL", 0, 100, {}),))
    ds = th["ds"]["ch4"]
    sql(iot_dsn, """INSERT INTO lifeline.iot_observation (datastream_id, phenomenon_time, result)
                    SELECT %s, now() - make_interval(secs => g * 60), g %% 10 FROM generate_series(1, 6000) g""",
        (ds,))
    api = monitor(app, passwords)
    body = api.get(f"{API}/datastreams/{ds}/observations?from="
                   f"{(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)).isoformat().replace('+', '%2B')}"
                   ).get_json()
    assert body["count"] == 6000 and body["downsampled"] and body["bucket_s"] > 60
    assert 400 < len(body["points"]) <= 600
    assert all(p[2] <= p[1] <= p[3] for p in body["points"])       # avg between min and max
    assert max(p[3] for p in body["points"]) == 9


def test_observation_queries_refused(app, passwords):
    api = monitor(app, passwords)
    assert_error(api.get(f"{API}/datastreams/999999/observations"), 404, "datastream_not_found")
    ds = api.get(f"{API}/things?kind=gas_detector").get_json()["features"][0]["properties"]["datastreams"][0]["id"]
    assert_error(api.get(f"{API}/datastreams/{ds}/observations?from=yesterday"), 400, "time_invalid")
    assert_error(api.get(f"{API}/datastreams/{ds}/observations?from=2026-02-01T00:00:00&to=2026-01-01T00:00:00"),
                 400, "range_invalid")
    assert_error(api.get(f"{API}/datastreams/{ds}/observations?from=2020-01-01T00:00:00&to=2026-01-01T00:00:00"),
                 400, "range_too_long")


def test_ingest_stats(app, passwords, iot_dsn):
    sql(iot_dsn, """INSERT INTO lifeline.iot_ingest_counter (source, minute, accepted, duplicate, malformed,
                        out_of_range, unknown_device)
                    VALUES ('heating', date_trunc('minute', now()) - interval '3 minutes', 120, 2, 1, 3, 4)
                    ON CONFLICT (source, minute) DO UPDATE SET accepted = 120, duplicate = 2, malformed = 1,
                        out_of_range = 3, unknown_device = 4""")
    api = monitor(app, passwords)
    body = api.get(f"{API}/ingest-stats?minutes=10").get_json()
    heat = next(t for t in body["totals"] if t["source"] == "heating")
    assert heat["name"] == "热力" and heat["accepted"] >= 120 and heat["unknown_device"] >= 4
    assert body["labels"]["out_of_range"] == "超量程"
    assert_error(api.get(f"{API}/ingest-stats?minutes=abc"), 400, "minutes_invalid")
    assert_error(api.get(f"{API}/ingest-stats?minutes=0"), 400, "minutes_invalid")


def test_guarded(app, user_client, client):
    # acceptor has no lifeline:view; anonymous is sent to login or refused
    for url in (f"{API}/things", f"{API}/summary", f"{API}/ingest-stats", "/lifeline/iot"):
        assert JsonApi(user_client).get(url).status_code == 403
        assert client.get(url, headers={"Accept": "application/json"}).status_code in (401, 302)


def test_page_renders_for_monitor(app, passwords):
    api = monitor(app, passwords)
    html = api.c.get("/lifeline/iot").get_data(as_text=True)
    assert "物联监测" in html and "hls.js/dist/hls.min.js" in html and 'id="iot-map"' in html
    assert api.c.get("/assets/vendor/hls.js/dist/hls.min.js").status_code == 200
