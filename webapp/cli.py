"""`cityops` command line: database, demo data, server."""
from __future__ import annotations

import os
import sys
import time

import click

from geo.settings import get_settings


def _url(start: bool = True) -> str:
    from geo.pgcluster import database_url
    return database_url(get_settings(), start=start)


@click.group()
def main():
    """西平县城市运行管理服务平台 command line."""


@main.group()
def db():
    """Database: embedded cluster and migrations."""


@db.command("up")
def db_up():
    """Start the embedded PostGIS cluster (or check DATABASE_URL) and migrate."""
    from geo.migrate import upgrade
    url = _url()
    upgrade(url)
    click.echo("database ready")


@db.command("down")
def db_down():
    """Stop the embedded cluster."""
    s = get_settings()
    if s.database_url:
        click.echo("DATABASE_URL is set: nothing to stop")
        return
    from geo.pgcluster import cluster_for
    cluster_for(s).stop()
    click.echo("embedded PostgreSQL stopped")


@db.command("migrate")
@click.argument("revision", default="head")
def db_migrate(revision):
    from geo.migrate import upgrade
    upgrade(_url(), revision)


@db.command("url")
def db_url():
    """Print the database URL (contains the password)."""
    click.echo(_url())


@main.group()
def demo():
    """Xiping demo data."""


def load_demo(url: str, scale: float, replace: bool, seed: int = 411721, log=click.echo) -> bool:
    import psycopg
    from grid_data.generator import generate
    from grid_data.load import clear, is_empty, load_dataset
    from ogc.config import libpq_dsn

    with psycopg.connect(libpq_dsn(url)) as conn:
        if not is_empty(conn):
            if not replace:
                log("demo data already present: nothing loaded (use --replace to reload)")
                return False
            clear(conn)
        t0 = time.perf_counter()
        ds = generate(scale=scale, seed=seed)
        log(f"generated scale {scale} in {time.perf_counter() - t0:.1f} s")
        load_dataset(conn, ds, log=log)
        conn.commit()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    from sqlalchemy.orm import Session
    from geo.db import get_engine
    from webapp.auth.seed import seed_users
    with Session(get_engine(url)) as s:
        pw = seed_users(s, {d["code"] for d in ds.departments}, log=log)
        from webapp.demo_seed import seed_all
        seed_all(s, log=log)
    creds = get_settings().var_dir / "admin-password"
    creds.parent.mkdir(parents=True, exist_ok=True)
    creds.write_text(pw["admin"] + "\n")
    os.chmod(creds, 0o600)
    log(f"admin password saved in {creds}")
    return True


@demo.command("load")
@click.option("--scale", default=1.0, show_default=True, help="component multiplier (20 ≈ one million)")
@click.option("--replace", is_flag=True, help="replace existing data")
@click.option("--seed", default=411721, show_default=True)
def demo_load(scale, replace, seed):
    from geo.migrate import upgrade
    url = _url()
    upgrade(url)
    load_demo(url, scale, replace, seed)


@main.command()
@click.option("--port", type=int, default=None)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--dev", is_flag=True, help="Flask's reloading development server")
def serve(port, workers, dev):
    """Serve the platform (gunicorn)."""
    s = get_settings()
    port = port or s.port
    os.environ.setdefault("PORT", str(port))
    _url()  # start the embedded cluster before forking workers
    if dev:
        from webapp.app import create_app
        create_app().run(host="127.0.0.1", port=port, debug=True)
        return
    from gunicorn.app.wsgiapp import run
    bind = os.environ.get("CITYOPS_BIND", "127.0.0.1")
    sys.argv = ["gunicorn", "-w", str(workers), "-b", f"{bind}:{port}", "--access-logfile", "-",
                "--timeout", "120", "webapp.wsgi:app"]
    run()


def _pidfile():
    return get_settings().var_dir / "run" / "gunicorn.pid"


def _pid() -> int | None:
    try:
        pid = int(_pidfile().read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


@main.command()
@click.option("--port", type=int, default=None)
@click.option("--workers", type=int, default=2, show_default=True)
def start(port, workers):
    """Start the server in the background (pid and logs under var/)."""
    import subprocess
    import urllib.request
    s = get_settings()
    port = port or s.port
    _url()
    if _pid():
        click.echo(f"already running (pid {_pid()}): http://127.0.0.1:{port}")
        return
    run_dir, log_dir = s.var_dir / "run", s.var_dir / "log"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PORT=str(port))
    bind = os.environ.get("CITYOPS_BIND", "127.0.0.1")
    subprocess.run([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{bind}:{port}", "--daemon",
                    "--pid", str(_pidfile()), "--access-logfile", str(log_dir / "access.log"),
                    "--error-logfile", str(log_dir / "error.log"), "--timeout", "120", "webapp.wsgi:app"],
                   check=True, env=env)
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        raise click.ClickException(f"server did not come up; see {log_dir / 'error.log'}")
    _start_services(s)
    click.echo(f"西平县城市运行管理服务平台 running: http://127.0.0.1:{port}  (OGC API: http://127.0.0.1:{port}/ogc)")
    creds = s.var_dir / "admin-password"
    if creds.exists():
        click.echo(f"initial login: admin / {creds.read_text().strip()} (until changed; from {creds})")
        click.echo("demo users: leader, acceptor, shift_chief, dispatcher, handler, supervisor, monitor")
    click.echo("stop with: make stop")


# Background processes beside the web server: (name, pid file name, cityops arguments).
SERVICES = [("IoT ingester", "iot-ingest", ["iot", "ingest"]), ("scheduler", "tick", ["tick"])]


def _service_pid(s, name: str) -> int | None:
    path = s.var_dir / "run" / f"{name}.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _start_services(s) -> None:
    """The MQTT broker, then the ingester and the scheduler as detached processes."""
    import subprocess
    _broker().start()
    for label, name, args in SERVICES:
        if _service_pid(s, name):
            continue
        log = open(s.var_dir / "log" / f"{name}.out", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", *args], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ))
        (s.var_dir / "run" / f"{name}.pid").write_text(str(proc.pid))
        click.echo(f"{label} started (pid {proc.pid}, log {s.var_dir / 'log'})")


def _stop_services(s) -> None:
    import signal
    for label, name, _ in SERVICES:
        pid = _service_pid(s, name)
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not _service_pid(s, name):
                    break
                time.sleep(0.2)
            click.echo(f"{label} stopped")
    if _broker().pid():
        _broker().stop()
        click.echo("MQTT broker stopped")


@main.command()
def tick():
    """Run the periodic sweeps (alarms every minute, difficult cases every ten) in the foreground."""
    import logging
    from webapp.app import create_app
    from webapp.scheduler import run
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _url()
    run(create_app())


@main.command()
def stop():
    """Stop the background server, the IoT services and the embedded database."""
    import signal
    _stop_services(get_settings())
    pid = _pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not _pid():
                break
            time.sleep(0.2)
        click.echo("server stopped")
    s = get_settings()
    if not s.database_url:
        from geo.pgcluster import cluster_for
        cluster_for(s).stop()
        click.echo("embedded PostgreSQL stopped")


@main.command()
def status():
    s = get_settings()
    pid = _pid()
    click.echo(f"server: {'running, pid %d' % pid if pid else 'stopped'}")
    b = _broker()
    click.echo(f"MQTT broker: {'running, port %d' % b.port if b.pid() else 'stopped'}")
    for label, name, _ in SERVICES:
        spid = _service_pid(s, name)
        click.echo(f"{label}: {'running, pid %d' % spid if spid else 'stopped'}")
    if not s.database_url:
        from geo.pgcluster import cluster_for
        click.echo(f"embedded PostgreSQL: {'running' if cluster_for(s).running() else 'stopped'}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args):
    """Run bench/ogc_items.py (needs `demo load --scale 20` first)."""
    import runpy
    from geo.settings import ROOT
    sys.argv = ["ogc_items.py", *args]
    runpy.run_path(str(ROOT / "bench" / "ogc_items.py"), run_name="__main__")


@main.command()
@click.option("--scale", default=1.0, show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.pass_context
def up(ctx, scale, workers):
    """Everything `make run` needs: database, migrations, demo data if empty, server."""
    from geo.migrate import upgrade
    url = _url()
    upgrade(url)
    load_demo(url, scale, replace=False)
    ctx.invoke(serve, workers=workers)


# -- IoT: MQTT broker, ingester, simulator (etl/iot) -------------------------------------------
@main.group()
def mqtt():
    """The project's MQTT broker (mosquitto under var/mqtt, port CITYOPS_MQTT_PORT, default 51883)."""


def _broker():
    from etl.iot.broker import broker_for
    return broker_for(get_settings())


@mqtt.command("up")
def mqtt_up():
    """Start mosquitto (idempotent)."""
    b = _broker()
    b.start()
    click.echo(f"MQTT broker running: mqtt://{b.bind}:{b.port} (pid {b.pid()}, log {b.logfile})")


@mqtt.command("down")
def mqtt_down():
    """Stop mosquitto (it saves its persistence file first)."""
    _broker().stop()
    click.echo("MQTT broker stopped")


@mqtt.command("status")
def mqtt_status():
    b = _broker()
    pid = b.pid()
    click.echo(f"MQTT broker: {'running, pid %d, port %d' % (pid, b.port) if pid else 'stopped'} ({b.base})")


@main.group()
def iot():
    """IoT monitoring: ingester and simulator."""


@iot.command("ingest")
@click.option("--batch", default=5000, show_default=True, help="messages per transaction")
@click.option("--flush-ms", default=200, show_default=True)
@click.option("--client-id", default="cityops-ingest", show_default=True,
              help="fixed id: the broker keeps this session's unacknowledged messages")
@click.option("--share", default=None, help="shared-subscription group for several ingester processes")
@click.option("--log-file", default=None, help="default: var/log/iot-ingest.log")
def iot_ingest(batch, flush_ms, client_id, share, log_file):
    """Run the ingester in the foreground (for supervisors/systemd; stops on SIGTERM)."""
    from etl.iot.ingest import main as ingest_main
    from ogc.config import libpq_dsn
    s = get_settings()
    b = _broker()
    log_file = log_file or str(s.var_dir / "log" / "iot-ingest.log")
    os.makedirs(os.path.dirname(log_file), exist_ok=True)
    click.echo(f"ingesting from mqtt://{b.bind}:{b.port} (log {log_file})")
    ingest_main(["--db", libpq_dsn(_url()), "--host", b.bind, "--port", str(b.port), "--client-id", client_id,
                 "--batch", str(batch), "--flush-ms", str(flush_ms), "--log-file", log_file,
                 *(["--share", share] if share else [])])


@iot.command("simulate")
@click.option("--rate", default=10.0, show_default=True, help="readings per second, all devices together")
@click.option("--duration", default=60.0, show_default=True, help="seconds")
@click.option("--devices", type=int, default=None, help="only the first N devices")
@click.option("--network", multiple=True, help="gas, water, drainage, heating, bridge")
@click.option("--fault", multiple=True, help="THING:breach|drop|stuck|offline[@seconds], e.g. GAS-GS000012:breach@30")
def iot_simulate(rate, duration, devices, network, fault):
    """Publish realistic readings of the registered devices to the broker."""
    from etl.iot.simulate import main as simulate_main
    from ogc.config import libpq_dsn
    b = _broker()
    args = ["--db", libpq_dsn(_url()), "--host", b.bind, "--port", str(b.port), "--rate", str(rate),
            "--duration", str(duration)]
    args += ["--devices", str(devices)] if devices else []
    for n in network:
        args += ["--network", n]
    for f in fault:
        args += ["--fault", f]
    simulate_main(args)


@iot.command("maintain")
def iot_maintain():
    """Create observation partitions ahead and mark silent devices offline (the ingester does this too)."""
    import psycopg
    from etl.iot.ingest import maintain
    from ogc.config import libpq_dsn
    with psycopg.connect(libpq_dsn(_url()), autocommit=True) as conn:
        maintain(conn)
    click.echo("partitions ensured, device status updated")


@iot.command("opcua")
@click.option("--source", "source_id", type=int, required=True, help="docking source id (数据对接源)")
@click.option("--every", type=float, default=None, help="poll every N seconds (default: once)")
def iot_opcua(source_id, every):
    """Poll an OPC UA (SCADA) docking source into the observation store; errors are recorded on the source."""
    import logging
    from etl.docking.opcua import run
    from ogc.config import libpq_dsn
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run(libpq_dsn(_url()), source_id, every)


if __name__ == "__main__":
    main()
