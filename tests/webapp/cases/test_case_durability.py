"""Durability of intake: a report acknowledged (201) to the reporter is never
lost, even if the app is killed right after the answer.

The real server (`cityops serve`: gunicorn, 2 workers) runs in its own
process group against the test database; the test kills the whole group
with SIGKILL — no shutdown, no flush, no chance to finish anything — then
restarts it and looks for the cases, in the database and through the API."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from tests.conftest import PASSWORDS, free_port

ROOT = Path(__file__).resolve().parents[3]


class Server:
    """`cityops serve` (webapp.cli of this checkout) in a new session: SIGKILL
    then reaches the master and both workers at once."""

    def __init__(self, db_url: str, var_dir: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=db_url, CITYOPS_VAR=str(var_dir), PORT=str(self.port),
                        CITYOPS_BASE_URL=self.url)
        self.env.pop("SECRET_KEY", None)  # the key file in var/ survives the restart, like in production
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        out = open(self.log, "ab")
        cmd = [sys.executable, "-m", "webapp.cli", "serve", "--port", str(self.port), "--workers", "2"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        end = time.time() + 90
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"server did not come up: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (gunicorn master and both workers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        # The workers are gone too: nothing answers on the port any more.
        end = time.time() + 10
        while time.time() < end:
            try:
                requests.get(self.url + "/healthz", timeout=0.5)
            except requests.RequestException:
                return
            time.sleep(0.1)
        raise AssertionError("a worker survived SIGKILL of the process group")


@pytest.fixture()
def server(demo_db, workdir):
    srv = Server(demo_db, workdir / "var", workdir / f"serve-{uuid.uuid4().hex[:6]}.log")
    try:
        yield srv
    finally:
        srv.kill()


def session_for(base: str, username: str) -> requests.Session:
    """Log in through the real form; keep the CSRF token for JSON calls."""
    s = requests.Session()
    page = s.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    pw = PASSWORDS["admin"] if username == "admin" else PASSWORDS["demo"]
    r = s.post(base + "/login", data={"username": username, "password": pw, "csrf_token": token},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text[:300]
    home = s.get(base + "/", timeout=10).text
    s.headers["X-CSRFToken"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', home).group(1)
    s.headers["Accept"] = "application/json"
    return s


@pytest.fixture(scope="module")
def spots(app):
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM geo.region c, LATERAL (SELECT ST_PointOnSurface(c.geom) p) q "
            "WHERE c.level = 'community' ORDER BY c.code LIMIT 8")).all()


REPORTERS = [("supervisor", "supervisor"), ("acceptor", "hotline"), ("admin", "public"), ("acceptor", "media")]


def report_body(source: str, spot, marker: str, i: int) -> dict:
    # Event 0104 (道路不洁) so the lifecycle tests' duplicate checks are not disturbed.
    return {"source": source, "kind": "event", "class_code": "0104", "description": f"持久性测试{marker}第{i}件",
            "location": {"lon": spot[0], "lat": spot[1]}}


def case_state(db, case_id: int) -> dict | None:
    row = db.execute(text('SELECT case_no, status FROM cases."case" WHERE id = :c'), {"c": case_id}).first()
    if row is None:
        return None
    events = db.execute(text("SELECT seq, action FROM cases.case_event WHERE case_id = :c ORDER BY seq"),
                        {"c": case_id}).all()
    tasks = db.execute(text("SELECT stage, status FROM cases.case_task WHERE case_id = :c ORDER BY id"),
                       {"c": case_id}).all()
    return {"case_no": row[0], "status": row[1], "events": [tuple(e) for e in events],
            "tasks": [tuple(t) for t in tasks]}


def assert_whole(state: dict, case_id: int) -> None:
    """A case is never half-made: its report is seq 1, history gap-free, and
    it either waits in a work item or has finished."""
    assert state["events"][0] == (1, "report"), (case_id, state)
    assert [s for s, _ in state["events"]] == list(range(1, len(state["events"]) + 1)), (case_id, state)
    open_tasks = [t for t in state["tasks"] if t[1] == "open"]
    if state["status"] in ("open", "suspended"):
        assert len(open_tasks) == 1, (case_id, state)
    else:
        assert not open_tasks, (case_id, state)


def test_acknowledged_report_survives_sigkill(server, app, spots):
    server.start()
    sup = session_for(server.url, "supervisor")
    marker = uuid.uuid4().hex[:8]
    r = sup.post(server.url + "/api/cases", json=report_body("supervisor", spots[0], marker, 0), timeout=30)
    assert r.status_code == 201, r.text[:300]
    server.kill()  # right after reading the answer
    acked = r.json()
    with app.extensions["cityops.sessions"]() as db:
        state = case_state(db, acked["id"])
    assert state is not None, "an acknowledged report was lost"
    assert state["case_no"] == acked["case_no"]
    assert_whole(state, acked["id"])
    assert [t[0] for t in state["tasks"] if t[1] == "open"] == [acked["stage"]]
    # After a restart the case is served as before, with its report and open task.
    server.start()
    admin = session_for(server.url, "admin")
    detail = admin.get(f"{server.url}/api/cases/{acked['id']}", timeout=30)
    assert detail.status_code == 200, detail.text[:300]
    d = detail.json()
    assert d["case_no"] == acked["case_no"] and d["events"][0]["action"] == "report"
    assert [t["stage"] for t in d["tasks"] if t["status"] == "open"] == [acked["stage"]]
    found = admin.get(server.url + "/api/cases", params={"q": acked["case_no"]}, timeout=30).json()
    assert [i["id"] for i in found["items"]] == [acked["id"]]


def test_kill_in_the_middle_of_a_burst_loses_no_acknowledged_report(server, app, spots):
    server.start()
    marker = uuid.uuid4().hex[:8]
    clients = [(session_for(server.url, user), source) for user, source in REPORTERS for _ in range(2)]
    acked: list[dict] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    go = threading.Barrier(len(clients) + 1)

    def reporter(k: int, s: requests.Session, source: str):
        go.wait()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = s.post(server.url + "/api/cases", json=report_body(source, spots[(k + i) % len(spots)], marker,
                                                                       k * 10000 + i), timeout=30)
            except requests.RequestException:
                return  # the server died under us: this report was never acknowledged
            if r.status_code == 201:
                with lock:
                    acked.append(r.json())
            else:
                with lock:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                return

    threads = [threading.Thread(target=reporter, args=(k, s, src)) for k, (s, src) in enumerate(clients)]
    for t in threads:
        t.start()
    go.wait()
    end = time.time() + 60
    while time.time() < end:
        with lock:
            if len(acked) >= 30:
                break
        time.sleep(0.01)
    server.kill()  # requests are in flight on both workers right now
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(acked) >= 30, f"only {len(acked)} reports acknowledged before the kill"

    # Whatever a dead worker had not committed, PostgreSQL rolls back: it is never visible.
    with app.extensions["cityops.sessions"]() as db:
        lost = [a["case_no"] for a in acked if case_state(db, a["id"]) is None]
        assert not lost, f"acknowledged reports lost after SIGKILL: {lost}"
        for a in acked:
            state = case_state(db, a["id"])
            assert state["case_no"] == a["case_no"]
            assert_whole(state, a["id"])
        # Every case the burst left behind (acknowledged or not) is whole.
        ids = db.execute(text('SELECT id FROM cases."case" WHERE description LIKE :m'),
                         {"m": f"持久性测试{marker}%"}).scalars().all()
        assert set(ids) >= {a["id"] for a in acked}
        for cid in ids:
            assert_whole(case_state(db, cid), cid)
        # Case numbers stay unique and the counter did not hand out a number twice.
        nos = db.execute(text('SELECT case_no FROM cases."case" WHERE id = ANY(:i)'), {"i": ids}).scalars().all()
        assert len(set(nos)) == len(nos)

    # Restarted, the server takes reports again (the day counter is not stuck on a dead lock).
    server.start()
    s = session_for(server.url, "supervisor")
    r = s.post(server.url + "/api/cases", json=report_body("supervisor", spots[0], marker, 99999), timeout=30)
    assert r.status_code == 201, r.text[:300]
    assert r.json()["case_no"] not in {a["case_no"] for a in acked}
