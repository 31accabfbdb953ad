"""The project's MQTT broker: Debian's mosquitto under var/mqtt.

Same pattern as geo/pgcluster.py: files under one directory (config, pid,
log, persistence), a fixed port (default 51883, CITYOPS_MQTT_PORT), bound
to loopback, idempotent start/stop. As root, mosquitto runs as the
unprivileged `mosquitto` system user that Debian's package creates.

Persistence is on: queued QoS 1 messages of persistent sessions are written
to mosquitto.db on shutdown and every `autosave_interval` seconds, so they
survive a broker restart. Queues are unbounded (max_queued_messages 0): a
stopped ingester must not make the broker drop messages it has acknowledged.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DEFAULT_PORT = 51883

CONF = """# written by etl/iot/broker.py: edit there
pid_file {pid}
persistence true
persistence_location {data}/
persistence_file mosquitto.db
autosave_interval {autosave}
log_dest file {log}
log_type error
log_type warning
log_type notice
connection_messages true
log_timestamp_format %Y-%m-%dT%H:%M:%S
# 0 = unlimited: nothing acknowledged to a publisher is dropped while the ingester is away
max_queued_messages 0
max_queued_bytes 0
# the ingester acknowledges after a database commit, so it needs many messages in flight
max_inflight_messages 0
set_tcp_nodelay true
persistent_client_expiration 14d
per_listener_settings false
listener {port} {bind}
allow_anonymous true
"""


class BrokerError(RuntimeError):
    pass


def port_from_env() -> int:
    return int(os.environ.get("CITYOPS_MQTT_PORT", DEFAULT_PORT))


class Broker:
    def __init__(self, base: Path, port: int = DEFAULT_PORT, bind: str = "127.0.0.1", autosave: int = 5):
        self.base = Path(base)
        self.port = port
        self.bind = bind
        self.autosave = autosave
        self.conf = self.base / "mosquitto.conf"
        self.pidfile = self.base / "run" / "mosquitto.pid"
        self.datadir = self.base / "data"
        self.logfile = self.base / "mosquitto.log"
        self._as_user = os.geteuid() == 0

    def _binary(self) -> str:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise BrokerError("mosquitto not found; run `make run` (installs Debian's mosquitto)")
        return exe

    def _own(self, path: Path) -> None:
        if self._as_user:
            pw = pwd.getpwnam("mosquitto")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def init(self) -> None:
        for d in (self.base, self.base / "run", self.datadir):
            d.mkdir(parents=True, exist_ok=True)
            self._own(d)
        if self._as_user:
            # mosquitto must be able to traverse to its directory
            for parent in self.base.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o011)
        self.logfile.touch(exist_ok=True)
        self._own(self.logfile)
        self.conf.write_text(CONF.format(pid=self.pidfile, data=self.datadir, log=self.logfile, port=self.port,
                                         bind=self.bind, autosave=self.autosave))

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        # a stale pid file may point at a recycled pid
        try:
            if "mosquitto" not in Path(f"/proc/{pid}/comm").read_text():
                return None
        except OSError:
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None

    def accepting(self) -> bool:
        try:
            with socket.create_connection((self.bind, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, timeout: float = 20) -> None:
        if self.running():
            return
        self.init()
        cmd = [self._binary(), "-c", str(self.conf), "-d"]
        if self._as_user:
            cmd = ["runuser", "-u", "mosquitto", "--", *cmd]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise BrokerError(f"mosquitto did not start: {res.stderr or res.stdout}\n{self.log_tail()}")
        end = time.time() + timeout
        while time.time() < end:
            if self.running() and self.accepting():
                return
            time.sleep(0.05)
        raise BrokerError(f"mosquitto did not accept connections on port {self.port}\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM: mosquitto writes its persistence file, then exits."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        end = time.time() + timeout
        while time.time() < end:
            if self.pid() is None:
                self.pidfile.unlink(missing_ok=True)
                return
            time.sleep(0.05)
        raise BrokerError(f"mosquitto (pid {pid}) did not stop within {timeout} s")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def broker_for(settings) -> Broker:
    return Broker(settings.var_dir / "mqtt", port_from_env())
