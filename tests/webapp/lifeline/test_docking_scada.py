"""SCADA over OPC UA and pushed readings (R120–R124), against a real asyncua
server started in-process and the real observation store: stored once when
polled twice, thresholds → alarm_event, server down → error state; signed
HTTP push, refused signatures store nothing, CSV with mixed rows."""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import orjson
import pytest

from tests.conftest import assert_error, free_port, json_api
from tests.webapp.lifeline.conftest import sql


class OpcServer:
    """An asyncua server in its own thread and event loop, with pressure, flow and temperature variables."""

    def __init__(self, port: int):
        self.port, self.url = port, f"opc.tcp://127.0.0.1:{port}/test/scada"
        self.loop = asyncio.new_event_loop()
        self.vars = {}

    async def _start(self):
        from asyncua import Server
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(self.url)
        idx = await self.server.register_namespace("urn:xiping:test-scada")
        obj = await self.server.nodes.objects.add_object(idx, "Station")
        for name, v in (("pressure", 0.35), ("flow", 120.0), ("temperature", 18.0)):
            self.vars[name] = await obj.add_variable(f"ns={idx};s=WS.{name}", name, v)
        self.ns = idx
        await self.server.start()

    def start(self):
        ready = threading.Event()

        self.error = None

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._start())
            except Exception as exc:  # noqa: BLE001  reported to the test below
                self.error = exc
                ready.set()
                return
            ready.set()
            self.loop.run_forever()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(90) and self.error is None, self.error
        return self

    def set(self, name: str, value: float, t: dt.datetime | None = None):
        from asyncua import ua
        t = t or dt.datetime.now(dt.timezone.utc)
        dv = ua.DataValue(ua.Variant(value, ua.VariantType.Double), SourceTimestamp=t, ServerTimestamp=t)
        asyncio.run_coroutine_threadsafe(self.vars[name].write_value(dv), self.loop).result(10)

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def opc():
    server = OpcServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(app, passwords):
    return json_api(app, "admin", passwords["admin"])


@pytest.fixture(scope="module")
def station(iot_dsn):
    """A demo water pressure station: (thing code, pressure ds id, flow ds id)."""
    code = sql(iot_dsn, "SELECT code FROM lifeline.iot_thing WHERE kind = 'pressure_station' ORDER BY code LIMIT 1")[0][0]
    ids = dict(sql(iot_dsn, "SELECT d.code, d.id FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t "
                            "ON t.id = d.thing_id WHERE t.code = %s", (code,)))
    return code, ids["pressure"], ids["flow"]


def obs(dsn, ds_id):
    return sql(dsn, "SELECT count(*) FROM lifeline.iot_observation WHERE datastream_id = %s", (ds_id,))[0][0]


def test_opcua_poll_once_alarm_and_server_down(admin, opc, station, iot_dsn):
    thing, p_id, f_id = station
    r = admin.post("/api/lifeline/docking/sources", json={
        "code": "T-WS-SCADA", "name": "供水 SCADA", "network": "water", "kind": "opcua", "dept_code": "D013",
        "settings": {"endpoint": opc.url, "security_mode": "None", "timeout_s": 3, "nodes": [
            {"node_id": f"ns={opc.ns};s=WS.pressure", "datastream": f"{thing}/pressure"},
            {"node_id": f"ns={opc.ns};s=WS.flow", "datastream": f"{thing}/flow"}]}})
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    t = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=30)
    opc.set("pressure", 0.31, t)
    opc.set("flow", 150.0, t)
    before = obs(iot_dsn, p_id), obs(iot_dsn, f_id)
    r = admin.post(f"/api/lifeline/docking/sources/{sid}/run").get_json()
    assert r["ok"] and r["accepted"] == 2 and r["duplicate"] == 0, r
    # polled again, nothing changed on the server: the same (datastream, time) is stored once
    r = admin.post(f"/api/lifeline/docking/sources/{sid}/run").get_json()
    assert r["accepted"] == 0 and r["duplicate"] == 2, r
    assert (obs(iot_dsn, p_id), obs(iot_dsn, f_id)) == (before[0] + 1, before[1] + 1)
    assert sql(iot_dsn, "SELECT result FROM lifeline.iot_observation WHERE datastream_id = %s AND phenomenon_time = %s",
               (p_id, t))[0][0] == pytest.approx(0.31)
    # a low-pressure breach through OPC UA opens an alarm event (threshold low level 2 = 0.14 MPa)
    events = sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm_event WHERE datastream_id = %s", (p_id,))[0][0]
    opc.set("pressure", 0.09, t + dt.timedelta(seconds=10))
    r = admin.post(f"/api/lifeline/docking/sources/{sid}/run").get_json()
    assert r["accepted"] == 1 and r["alarm_events"] == 1, r
    ev = sql(iot_dsn, "SELECT level, rule, value FROM lifeline.alarm_event WHERE datastream_id = %s "
                      "ORDER BY id DESC LIMIT 1", (p_id,))[0]
    assert ev[0] == 2 and ev[1] == "threshold:low:2" and ev[2] == pytest.approx(0.09)
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm_event WHERE datastream_id = %s", (p_id,))[0][0] == events + 1
    s = admin.get(f"/api/lifeline/docking/sources/{sid}").get_json()
    assert s["status"] == "ok" and s["rows_in"] == 6 and s["lag_s"] is not None and s["lag_s"] >= 20
    # the CLI poller uses the same function (cityops iot opcua --source N)
    from etl.docking.opcua import run
    run(iot_dsn, sid)
    assert len(admin.get(f"/api/lifeline/docking/sources/{sid}/runs").get_json()["items"]) == 4
    # server down: the error is recorded, nothing stored, no crash
    dead = free_port()
    r = admin.patch(f"/api/lifeline/docking/sources/{sid}", json={
        "version": s["version"], "settings": {**s["settings"], "endpoint": f"opc.tcp://127.0.0.1:{dead}/none"}})
    assert r.status_code == 200, r.get_json()
    n = obs(iot_dsn, p_id)
    t0 = time.monotonic()
    r = admin.post(f"/api/lifeline/docking/sources/{sid}/run")
    assert r.status_code == 200 and r.get_json()["ok"] is False and "连接 OPC UA 服务器失败" in r.get_json()["error"]
    assert time.monotonic() - t0 < 20
    s = admin.get(f"/api/lifeline/docking/sources/{sid}").get_json()
    assert s["status"] == "error" and "连接 OPC UA 服务器失败" in s["last_error"]
    assert obs(iot_dsn, p_id) == n
    # stale version → 409, bad endpoint → 400
    assert_error(admin.patch(f"/api/lifeline/docking/sources/{sid}", json={"version": 1, "enabled": False}),
                 409, "version_conflict")
    assert_error(admin.patch(f"/api/lifeline/docking/sources/{sid}", json={
        "version": s["version"], "settings": {"endpoint": "http://x"}}), 400, "docking_endpoint_invalid")


def _push_source(admin, code="T-WS-PUSH"):
    r = admin.post("/api/lifeline/docking/sources", json={"code": code, "name": "供水物联推送", "network": "water",
                                                          "kind": "http_push", "dept_code": "D013",
                                                          "settings": {"nodes": []}})
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    key = admin.post(f"/api/lifeline/docking/sources/{sid}/api-key", json={}).get_json()["api_key"]
    return sid, key


def _signed(key: str, path: str, body: bytes, ts: int | None = None, tamper: bool = False) -> dict:
    from webapp.auth.service import sign
    ts = str(ts if ts is not None else int(time.time()))
    sig = sign(key.split(".", 1)[1], "POST", path, ts, body)
    return {"X-API-Key": key, "X-Timestamp": ts, "X-Signature": (sig[:-1] + ("0" if sig[-1] != "0" else "1")) if tamper else sig}


def test_signed_push_and_refusals(app, admin, station, iot_dsn):
    thing, p_id, f_id = station
    sid, key = _push_source(admin)
    path = f"/api/lifeline/docking/{sid}/push"
    t = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).replace(microsecond=0)
    body = orjson.dumps([{"datastream": f"{thing}/pressure", "t": t.isoformat(), "v": 0.33},
                         {"datastream": f"{thing}/flow", "t": t.isoformat(), "v": 210.5}])
    c = app.test_client()
    n = obs(iot_dsn, p_id), obs(iot_dsn, f_id)
    runs = sql(iot_dsn, "SELECT count(*) FROM lifeline.dock_run WHERE source_id = %s", (sid,))[0][0]
    # bad signature, expired timestamp, no signature: 401 and nothing stored
    assert_error(c.post(path, data=body, content_type="application/json", headers=_signed(key, path, body, tamper=True)),
                 401, "signature_invalid")
    assert_error(c.post(path, data=body, content_type="application/json",
                        headers=_signed(key, path, body, ts=int(time.time()) - 3600)), 401, "signature_expired")
    assert_error(c.post(path, data=body, content_type="application/json",
                        headers={"X-API-Key": key, "X-Timestamp": str(int(time.time()))}), 401, "signature_invalid")
    # body changed after signing
    assert_error(c.post(path, data=body.replace(b"0.33", b"0.99"), content_type="application/json",
                        headers=_signed(key, path, body)), 401, "signature_invalid")
    # a session user cannot push
    assert_error(admin.post(path, json=[]), 401, "signature_required")
    assert (obs(iot_dsn, p_id), obs(iot_dsn, f_id)) == n
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.dock_run WHERE source_id = %s", (sid,))[0][0] == runs
    # a key bound to another source is refused
    sid2, key2 = _push_source(admin, "T-WS-PUSH2")
    assert_error(c.post(path, data=body, content_type="application/json", headers=_signed(key2, path, body)),
                 403, "docking_key_mismatch")
    # the good one
    r = c.post(path, data=body, content_type="application/json", headers=_signed(key, path, body))
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["accepted"], r.get_json()["rejected"]) == (2, 0)
    assert (obs(iot_dsn, p_id), obs(iot_dsn, f_id)) == (n[0] + 1, n[1] + 1)
    s = admin.get(f"/api/lifeline/docking/sources/{sid}").get_json()
    assert s["status"] == "ok" and s["rows_in"] == 2


def test_csv_push_and_upload_with_mixed_rows(app, admin, station, iot_dsn):
    thing, p_id, f_id = station
    sid, key = _push_source(admin, "T-WS-CSV")
    t = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=7)).replace(microsecond=0)
    lines = ["datastream,t,v",
             f"{thing}/pressure,{t.isoformat()},0.32",             # good
             f"{thing}/flow,{t.isoformat()},abc",                  # not numeric
             f"NOPE-1/pressure,{t.isoformat()},0.3",               # unknown stream
             f"{thing}/pressure,{(t - dt.timedelta(seconds=60)).isoformat()},9.9",   # out of range (0–1.6 MPa)
             f"{thing}/flow,yesterday,10",                          # bad time
             f"{thing}/flow,{t.isoformat()},99.5"]                 # good
    body = ("\n".join(lines) + "\n").encode()
    path = f"/api/lifeline/docking/{sid}/push"
    n = obs(iot_dsn, p_id), obs(iot_dsn, f_id)
    r = app.test_client().post(path, data=body, content_type="text/csv", headers=_signed(key, path, body))
    assert r.status_code == 200, r.get_json()
    d = r.get_json()
    assert (d["rows"], d["accepted"], d["rejected"]) == (6, 2, 4)
    assert {(x["row"], x["code"]) for x in d["report"]} == {(2, "not_numeric"), (3, "unknown_stream"),
                                                           (4, "out_of_range"), (5, "bad_time")}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in x["message"]) for x in d["report"])
    assert (obs(iot_dsn, p_id), obs(iot_dsn, f_id)) == (n[0] + 1, n[1] + 1)
    # the same file uploaded on the page: duplicates, nothing new
    r = admin.upload(f"/api/lifeline/docking/sources/{sid}/csv", {"file": ("readings.csv", body)})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["accepted"], r.get_json()["duplicate"], r.get_json()["rejected"]) == (0, 2, 4)
    s = admin.get(f"/api/lifeline/docking/sources/{sid}").get_json()
    assert s["rows_in"] == 4 and s["rows_rejected"] == 8
    # malformed CSV header: 400, nothing recorded
    runs = sql(iot_dsn, "SELECT count(*) FROM lifeline.dock_run WHERE source_id = %s", (sid,))[0][0]
    assert_error(admin.upload(f"/api/lifeline/docking/sources/{sid}/csv", {"file": ("r.csv", b"a,b\n1,2\n")}),
                 400, "docking_push_malformed")
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.dock_run WHERE source_id = %s", (sid,))[0][0] == runs
