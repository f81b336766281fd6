"""Soak: ``carprivacy serve --workers 2`` and ``carprivacy ingest mqtt`` under a steady load for
minutes, with the resident memory of every process sampled (SPEC I1, I3; docs/reliability.md).

    .venv/bin/python bench/soak.py [--minutes 10] [--db sqlite|postgresql] [--http-rate 10]
                                   [--mqtt-rate 20] [--read-rate 8] [--sample 5]

(``make soak``; ``SOAK_MINUTES=30 make soak`` for longer.) In one fresh database (PostgreSQL:
``CARPRIVACY_BENCH_POSTGRES_URL``, default postgresql://postgres@127.0.0.1:5432/test, in a schema
of its own dropped afterwards) and with a Mosquitto of its own from deploy/mosquitto/ci.conf:

- HTTP ingest: ``--http-rate`` batches a second of ``--batch`` records (speed, position,
  mileage), each with its vehicle's bearer token, spread over ``--vehicles`` vehicles;
- MQTT ingest: ``--mqtt-rate`` QoS 1 messages a second of 3 records;
- reads, ``--read-rate`` a second, in turn: a customer read and a vehicle's telemetry page by a
  privacy officer (purpose legal_claims), ``/v1/me`` and ``/v1/me/telemetry`` by a customer;
  tokens are renewed before they expire.

Every ``--sample`` seconds the RSS (``/proc/<pid>/status`` VmRSS) of the server's master
process, each of its worker processes, the ingest worker, the broker and this driver is
recorded. Printed at the end: per process the RSS at start (after the first minute's warm-up),
at the end, the maximum and the growth (end - warm start, and per 10 minutes by a least-squares
line through the samples after warm-up); per operation the count, errors and latency p50, p95,
p99; and whether every acknowledged record was stored (none lost, none twice).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text

from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.migrate import upgrade
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.testing.mosquitto import MosquittoProcess, free_port

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
CLI = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]
PASSWORD = "soak test passphrase, not secret"
WARM_UP_S = 60.0


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out.extend(int(c) for c in (task / "children").read_text().split())
    return out


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies[op].append(seconds)
            if error is not None:
                self.errors[op].append(error)


def paced(rate: float, stop: threading.Event, step: Any) -> None:
    """Call ``step(i)`` ``rate`` times a second until ``stop`` (no catching up after a stall)."""
    interval = 1.0 / rate
    due = time.monotonic()
    i = 0
    while not stop.is_set():
        step(i)
        i += 1
        due = max(due + interval, time.monotonic() - interval)
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)


class Tokens:
    """A person's bearer token, renewed when half its lifetime has passed."""

    def __init__(self, url: str, login: str) -> None:
        self.url, self.login = url, login
        self.token, self.renew_at = "", 0.0

    def header(self) -> dict[str, str]:
        if time.monotonic() >= self.renew_at:
            r = httpx.post(
                f"{self.url}/v1/auth/login",
                json={"login": self.login, "password": PASSWORD},
                timeout=60,
            )
            r.raise_for_status()
            body = r.json()
            self.token = body["access_token"]
            self.renew_at = time.monotonic() + int(body["expires_in"]) / 2
        return {"Authorization": f"Bearer {self.token}"}


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM telemetry")).scalar_one())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def slope_per_10min(points: list[tuple[float, int]]) -> float:
    if len(points) < 3:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 600 if var else 0


def run(url: str, args: argparse.Namespace) -> bool:
    engine = make_engine(url)
    upgrade(engine)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        env = {
            **os.environ,
            "CARPRIVACY_DATA_DIR": str(data_dir),
            "CARPRIVACY_DATABASE_URL": url,
            "CARPRIVACY_ARGON2_TIME_COST": "1",
            "CARPRIVACY_ARGON2_MEMORY_KIB": "8192",
            "PYTHONUNBUFFERED": "1",
        }
        settings = load_settings(
            data_dir=data_dir, database_url=url, argon2_time_cost=1, argon2_memory_kib=8192
        )
        container = bootstrap(settings, engine=engine)
        since = datetime.now(UTC) - timedelta(days=30)
        vins, tokens, vehicle_ids, customer_ids = [], [], [], []
        for n in range(args.vehicles):
            vin = f"WMWSZAK{n:010d}"
            customer = container.master.register_customer(
                ContactDetails(
                    "Visser",
                    "Anouk",
                    "Coolsingel",
                    str(n + 1),
                    "3012 AB",
                    "Rotterdam",
                    "NL",
                    email=f"anouk.visser{n}@example.nl",
                )
            )
            vehicle = container.master.register_vehicle(vin, "MINI Cooper SE", "green")
            container.master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=customer.id)
            tokens.append(container.vehicle_credentials.issue(vehicle.id, vin).token)
            vins.append(vin)
            vehicle_ids.append(vehicle.id)
            customer_ids.append(customer.id)
        container.callers.create(
            name="soak-officer",
            kind="person",
            role="privacy_officer",
            organisation="mini_nl_staff",
            password=PASSWORD,
            caller_id="soak-officer",
        )
        container.callers.create(
            name="soak-customer",
            kind="person",
            role="customer",
            organisation="mini_nl",
            subject_id=customer_ids[0],
            password=PASSWORD,
            caller_id="soak-customer",
        )
        container.close()

        broker = MosquittoProcess(data_dir / "broker")
        broker.start()
        base = f"soak{uuid.uuid4().hex[:8]}"
        port = free_port()
        logs = data_dir / "logs"
        logs.mkdir()
        server_log, worker_log = (logs / "server.log").open("wb"), (logs / "worker.log").open("wb")
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [
                *CLI,
                "ingest",
                "mqtt",
                "--topic",
                f"{base}/+/telemetry",
                "--client-id",
                f"{base}-w",
                "--host",
                "127.0.0.1",
                "--port",
                str(broker.port),
                "--session-expiry",
                "3600",
                "--batch-ms",
                "100",
            ],
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        url_base = f"http://127.0.0.1:{port}"
        stats = Stats()
        stop = threading.Event()
        samples: dict[str, list[tuple[float, int]]] = defaultdict(list)
        sent = {"http records": 0, "mqtt records": 0}
        publisher = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{base}-pub", protocol=mqtt.MQTTv5
        )
        ok = True
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{url_base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("serve did not start; see its log")
                time.sleep(0.2)
            t0 = time.monotonic()
            start_ts = datetime.now(UTC) - timedelta(days=1)
            rng = random.Random(11)
            http_client = httpx.Client(base_url=url_base, timeout=60)
            read_client = httpx.Client(base_url=url_base, timeout=60)
            officer, me = Tokens(url_base, "soak-officer"), Tokens(url_base, "soak-customer")

            def ts(i: int, k: int) -> str:
                return (start_ts + timedelta(milliseconds=10 * (i * 64 + k))).isoformat()

            def http_step(i: int) -> None:
                v = i % len(vins)
                records = []
                for k in range(args.batch // 2):
                    t = ts(i, k)
                    records.append(
                        {"signal": "Vehicle.Speed", "value": rng.uniform(0, 130), "ts": t}
                    )
                    records.append(
                        {
                            "signal": "Vehicle.CurrentLocation.Latitude",
                            "value": 51.9 + rng.random() / 10,
                            "ts": t,
                        }
                    )
                began = time.perf_counter()
                try:
                    r = http_client.post(
                        "/v1/telemetry",
                        json=records,
                        headers={"Authorization": f"Bearer {tokens[v]}"},
                    )
                    error = None if r.status_code == 200 else f"{r.status_code} {r.text[:100]}"
                    if error is None:
                        sent["http records"] += r.json()["accepted"]
                except httpx.HTTPError as exc:
                    error = repr(exc)
                stats.add("POST /v1/telemetry", time.perf_counter() - began, error)

            publisher.max_inflight_messages_set(100)
            publisher.connect("127.0.0.1", broker.port)
            publisher.loop_start()
            infos: list[mqtt.MQTTMessageInfo] = []

            def mqtt_step(i: int) -> None:
                v = i % len(vins)
                t = (start_ts + timedelta(hours=12, milliseconds=10 * i)).isoformat()
                records = [
                    {"signal": "Vehicle.Speed", "value": float(i % 130), "ts": t},
                    {"signal": "Vehicle.TraveledDistance", "value": 10_000 + i, "ts": t},
                    {"signal": "Vehicle.Exterior.AirTemperature", "value": 12.5, "ts": t},
                ]
                began = time.perf_counter()
                info = publisher.publish(f"{base}/{vins[v]}/telemetry", json.dumps(records), qos=1)
                infos.append(info)
                try:
                    info.wait_for_publish(30)
                    error = None if info.is_published() else "no PUBACK in 30 s"
                except (RuntimeError, ValueError) as exc:
                    error = repr(exc)
                if error is None:
                    sent["mqtt records"] += len(records)
                stats.add("MQTT publish (PUBACK)", time.perf_counter() - began, error)

            def read_step(i: int) -> None:
                v = rng.randrange(len(vins))
                kind = i % 4
                try:
                    if kind == 0:
                        op, path, headers, params = (
                            "GET /v1/customers/{id}",
                            f"/v1/customers/{customer_ids[v]}",
                            {**officer.header(), "X-Purpose": "legal_claims"},
                            {},
                        )
                    elif kind == 1:
                        op, path = (
                            "GET /v1/vehicles/{id}/telemetry",
                            f"/v1/vehicles/{vehicle_ids[v]}/telemetry",
                        )
                        headers = {**officer.header(), "X-Purpose": "legal_claims"}
                        params = {"limit": 100}
                    elif kind == 2:
                        op, path, headers, params = "GET /v1/me", "/v1/me", me.header(), {}
                    else:
                        op, path, headers = "GET /v1/me/telemetry", "/v1/me/telemetry", me.header()
                        params = {"limit": 100}
                except httpx.HTTPError as exc:
                    stats.add("login", 0.0, repr(exc))
                    return
                began = time.perf_counter()
                try:
                    r = read_client.get(path, headers=headers, params=params)
                    error = None if r.status_code == 200 else f"{r.status_code} {r.text[:100]}"
                except httpx.HTTPError as exc:
                    error = repr(exc)
                stats.add(op, time.perf_counter() - began, error)

            def sample() -> None:
                while not stop.is_set():
                    at = time.monotonic() - t0
                    pids = {
                        "serve (master)": server.pid,
                        "ingest mqtt": worker.pid,
                        "mosquitto": broker.process.pid if broker.process else 0,
                        "soak driver": os.getpid(),
                    }
                    n = 0
                    for child in sorted(children(server.pid)):
                        if b"resource_tracker" in command_line(child):
                            pids["serve (tracker)"] = child
                        else:
                            n += 1
                            pids[f"serve worker {n}"] = child
                    for name, pid in pids.items():
                        kib = rss_kib(pid)
                        if kib is not None:
                            samples[name].append((at, kib))
                    stop.wait(args.sample)

            threads = [
                threading.Thread(target=paced, args=(args.http_rate, stop, http_step)),
                threading.Thread(target=paced, args=(args.mqtt_rate, stop, mqtt_step)),
                threading.Thread(target=paced, args=(args.read_rate, stop, read_step)),
                threading.Thread(target=sample),
            ]
            for t in threads:
                t.start()
            duration = args.minutes * 60
            next_report = 60.0
            while time.monotonic() - t0 < duration:
                time.sleep(1)
                if time.monotonic() - t0 >= next_report:
                    done = sum(len(v) for v in stats.latencies.values())
                    errors = sum(len(v) for v in stats.errors.values())
                    print(
                        f"  {next_report / 60:.0f} min: {done} operations, {errors} errors, "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    next_report += 60
                if server.poll() is not None or worker.poll() is not None:
                    print("a process exited during the soak", flush=True)
                    ok = False
                    break
            stop.set()
            for t in threads:
                t.join(60)
            elapsed = time.monotonic() - t0
            expected = sent["http records"] + sent["mqtt records"]
            drain = time.monotonic() + 120
            while count(engine) < expected and time.monotonic() < drain:
                time.sleep(0.5)
            stored = count(engine)
            http_client.close()
            read_client.close()
        finally:
            stop.set()
            publisher.disconnect()
            publisher.loop_stop()
            for proc in (server, worker):
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            broker.stop()
            server_log.close()
            worker_log.close()
            engine.dispose()

    print(
        f"\nsoak: {elapsed / 60:.1f} min, serve --workers {args.workers}, {args.db}, "
        f"{args.vehicles} vehicles; load average at the end "
        f"{os.getloadavg()[0]:.1f} (2 cores, shared)"
    )
    print(
        f"{'process':<18} {'start MiB':>9} {'end MiB':>8} {'max MiB':>8} "
        f"{'growth MiB':>10} {'MiB/10 min':>10}"
    )
    for name, points in sorted(samples.items()):
        warm = [p for p in points if p[0] >= min(WARM_UP_S, elapsed / 5)] or points
        first, last = warm[0][1] / 1024, warm[-1][1] / 1024
        top = max(p[1] for p in points) / 1024
        per10 = slope_per_10min([(t, kib / 1024) for t, kib in warm])  # type: ignore[misc]
        print(
            f"{name:<18} {first:>9.1f} {last:>8.1f} {top:>8.1f} {last - first:>+10.1f} "
            f"{per10:>+10.1f}"
        )
    print(
        f"\n{'operation':<34} {'count':>7} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    )
    total_errors = 0
    for op, lat in sorted(stats.latencies.items()):
        errors = stats.errors.get(op, [])
        total_errors += len(errors)
        p50, p95, p99 = (percentile(lat, q) * 1000 for q in (0.5, 0.95, 0.99))
        print(f"{op:<34} {len(lat):>7} {len(errors):>6} {p50:>7.1f} {p95:>7.1f} {p99:>7.1f}")
        if errors:
            print(f"    first error: {errors[0]}")
    print(
        f"\nrecords acknowledged: HTTP {sent['http records']}, MQTT {sent['mqtt records']}; "
        f"stored {stored} (expected {expected}: "
        f"{'none lost, none twice' if stored == expected else 'MISMATCH'})"
    )
    return ok and total_errors == 0 and stored == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10"))
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--http-rate", type=float, default=10, help="HTTP batches per second")
    parser.add_argument("--batch", type=int, default=20, help="records per HTTP batch")
    parser.add_argument("--mqtt-rate", type=float, default=20, help="MQTT messages per second")
    parser.add_argument("--read-rate", type=float, default=8, help="reads per second")
    parser.add_argument("--sample", type=float, default=5, help="seconds between RSS samples")
    args = parser.parse_args(argv)
    print(
        f"soak: {args.minutes} min; HTTP {args.http_rate}/s x {args.batch} records, "
        f"MQTT {args.mqtt_rate}/s x 3 records, reads {args.read_rate}/s; {args.db}",
        flush=True,
    )
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if run(f"sqlite:///{tmp}/soak.db", args) else 1
    url = os.environ.get("CARPRIVACY_BENCH_POSTGRES_URL", DEFAULT_PG)
    schema = f"soak_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        return 0 if run(f"{url}{sep}options=-csearch_path%3D{schema}", args) else 1
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
