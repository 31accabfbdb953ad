"""The embedded PostgreSQL + PostGIS cluster under var/pg.

With no DATABASE_URL the platform runs on a project-private cluster bound to
loopback. PostgreSQL refuses to run as root, so as root we run its binaries
as the unprivileged `postgres` system user that Debian's packages create.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from pathlib import Path

PG_VERSION = "15"
SUPERUSER = "cityops"
DATABASE = "cityops"

# Settings tuned for one county on one 2-core machine; JIT only slows the
# short spatial queries that dominate here.
CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 200
shared_buffers = '1GB'
effective_cache_size = '8GB'
work_mem = '32MB'
maintenance_work_mem = '512MB'
jit = off
random_page_cost = 1.1
max_wal_size = '4GB'
timezone = 'Asia/Shanghai'
log_timezone = 'Asia/Shanghai'
logging_collector = off
"""


class ClusterError(RuntimeError):
    pass


def find_bindir() -> Path:
    for cand in (Path(f"/usr/lib/postgresql/{PG_VERSION}/bin"),):
        if (cand / "initdb").exists():
            return cand
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError("PostgreSQL 15 server binaries not found; run `make run` (installs postgresql-15-postgis-3)")


class EmbeddedCluster:
    def __init__(self, base: Path, port: int):
        self.base = Path(base)
        self.datadir = self.base / "data"
        self.socket_dir = self.base / "run"
        self.logfile = self.base / "postgres.log"
        self.secret_file = self.base / "password"
        self.port = port
        self.bindir = find_bindir()
        self._as_postgres = os.geteuid() == 0

    # -- helpers -----------------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def _own(self, path: Path) -> None:
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    @property
    def password(self) -> str:
        return self.secret_file.read_text().strip()

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    # -- lifecycle ---------------------------------------------------------
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised():
            return
        self.base.mkdir(parents=True, exist_ok=True)
        # postgres must be able to traverse to its data directory.
        for parent in [self.base, *self.base.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if self._as_postgres and not mode & 0o001:
                os.chmod(parent, mode | 0o011)
        for d in (self.datadir, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)
            self._own(d)
        if not self.secret_file.exists():
            self.secret_file.write_text(secrets.token_urlsafe(24))
            os.chmod(self.secret_file, 0o600)
        pwfile = self.base / "run" / "initpw"
        pwfile.write_text(self.password)
        self._own(pwfile)
        try:
            res = self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--pwfile", str(pwfile),
                            "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8",
                            "--locale=C.UTF-8", check=False)
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise ClusterError(f"initdb failed: {res.stderr or res.stdout}")
        conf = self.datadir / "postgresql.auto.conf"
        with conf.open("a") as fh:
            fh.write(CONF.format(port=self.port, socket_dir=self.socket_dir))

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    def start(self) -> None:
        self.init()
        if self.running():
            return
        self.logfile.touch(exist_ok=True)
        self._own(self.logfile)
        res = self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60",
                        "-o", f"-p {self.port}", "start", check=False)
        if res.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise ClusterError(f"PostgreSQL did not start: {res.stderr or res.stdout}\n{tail}")
        self._ensure_database()

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _ensure_database(self) -> None:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} password={self.password} dbname=postgres"
        for _ in range(50):
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (DATABASE,)).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise ClusterError("PostgreSQL started but refuses connections")


def cluster_for(settings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.var_dir / "pg", settings.pg_port)


def database_url(settings, start: bool = True) -> str:
    """The SQLAlchemy URL: DATABASE_URL if given, else the embedded cluster."""
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    cluster = cluster_for(settings)
    if start:
        cluster.start()
    return cluster.url()
