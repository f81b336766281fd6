"""HTTP ingest benchmark: ``carprivacy serve --workers N`` over loopback against the in-process
pipeline (SPEC I1; docs/scaling.md).

    .venv/bin/python bench/http_ingest.py [--workers 2] [--db postgresql|sqlite]
                                          [--requests 300] [--batch 100] [--vehicles 64]
                                          [--concurrency 1,8,32]

In one run, into one fresh database (PostgreSQL: ``CARPRIVACY_BENCH_POSTGRES_URL``, default
postgresql://postgres@127.0.0.1:5432/test, in a schema of its own dropped afterwards):

- baseline: ``IngestService.ingest`` called directly in this process on the same batches (parsed
  dicts, ``source="http"``), one call per batch, one after the other: what one process does
  without HTTP;
- served: a real ``carprivacy serve --workers N`` subprocess on a free loopback port; an
  asyncio client (httpx, one connection per concurrent sender) POSTs the same kind of batches to
  ``/v1/telemetry``, each with its vehicle's bearer token, at each concurrency level.

Bodies are encoded before the clock starts, so the client's work per request is sending and
reading. Every batch holds new timestamps (no duplicates); every answer must be 200 with every
record accepted, and the stored count is checked after each level. Prints records/s, latency
p50/p95/p99 per level, the ratio served/baseline, the load average before and after, and the
targets (concurrency 32: >= 70% of the baseline, p99 < 250 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.migrate import upgrade
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.master import ContactDetails, UsageKind

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SIGNALS: list[tuple[str, Any]] = [
    ("Vehicle.Speed", lambda r, i: round(r.uniform(0, 130), 1)),
    ("Vehicle.CurrentLocation.Latitude", lambda r, i: 52.0 + r.random() / 10),
    ("Vehicle.CurrentLocation.Longitude", lambda r, i: 4.3 + r.random() / 10),
    ("Vehicle.TraveledDistance", lambda r, i: 10_000_000 + i * 13),
    ("Vehicle.LowVoltageBattery.CurrentVoltage", lambda r, i: round(r.uniform(11.8, 14.4), 2)),
    ("Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", lambda r, i: r.random() < 0.1),
    ("Vehicle.Exterior.AirTemperature", lambda r, i: round(r.uniform(-5, 30), 1)),
    ("Vehicle.Powertrain.CombustionEngine.EngineOil.Level", lambda r, i: "NORMAL"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


class Batches:
    """Batches of one vehicle's records with timestamps never used before in this run."""

    def __init__(self, vins: list[str], batch: int, start: datetime) -> None:
        self.vins, self.batch, self.start = vins, batch, start
        self.rng = random.Random(7)
        self.second = 0

    def make(self, count: int) -> list[tuple[int, list[dict[str, Any]]]]:
        out = []
        per_second = len(SIGNALS)
        for n in range(count):
            v = n % len(self.vins)
            records: list[dict[str, Any]] = []
            while len(records) < self.batch:
                ts = (self.start + timedelta(seconds=self.second)).isoformat()
                for name, value in SIGNALS[: min(per_second, self.batch - len(records))]:
                    records.append(
                        {"signal": name, "value": value(self.rng, self.second), "ts": ts}
                    )
                self.second += 1
            out.append((v, records))
        return out


def setup_fleet(container: Services, vehicles: int, since: datetime) -> tuple[list[str], list[str]]:
    vins, tokens = [], []
    for n in range(vehicles):
        vin = f"WMWHTTP{n:010d}"
        customer = container.master.register_customer(
            ContactDetails("Jansen", "Piet", "Kerkstraat", str(n + 1), "2281 AA", "Rijswijk", "NL")
        )
        vehicle = container.master.register_vehicle(vin, "MINI Cooper SE", "green")
        container.master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=customer.id)
        tokens.append(container.vehicle_credentials.issue(vehicle.id, vin).token)
        vins.append(vin)
    return vins, tokens


def baseline(
    container: Services, vins: list[str], batches: list[tuple[int, list[dict[str, Any]]]]
) -> float:
    """Records/s of the ingestion service called directly, one batch after the other."""
    total = sum(len(b) for _, b in batches)
    started = time.perf_counter()
    for v, records in batches:
        result = container.ingest.ingest(
            records, source="http", vehicle_vin=vins[v], received_at=datetime.now(UTC)
        )
        if result.rejected:
            raise SystemExit(f"bench data was refused: {result.statuses[0].errors}")
    return total / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(
    base_url: str,
    tokens: list[str],
    bodies: list[tuple[int, bytes]],
    concurrency: int,
    records_per_body: int,
) -> tuple[float, list[float]]:
    """POST every body with ``concurrency`` senders; (records/s, latencies in seconds)."""
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    latencies: list[float] = []
    failures: list[str] = []

    async def sender() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
            while True:
                try:
                    v, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                response = await client.post(
                    "/v1/telemetry",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {tokens[v]}",
                        "Content-Type": "application/json",
                    },
                )
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200 or response.json()["accepted"] != records_per_body:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, first: {failures[0]}")
    return len(bodies) * records_per_body / elapsed, latencies


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("serve did not answer /health in time")


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM telemetry")).scalar_one())


def run(url: str, args: argparse.Namespace) -> bool:
    engine = make_engine(url)
    upgrade(engine)
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "CARPRIVACY_DATA_DIR": data_dir,
            "CARPRIVACY_DATABASE_URL": url,
            "CARPRIVACY_MASTER_KEY": base64.b64encode(new_master_key()).decode(),
        }
        settings = load_settings(
            data_dir=Path(data_dir), database_url=url, master_key=env["CARPRIVACY_MASTER_KEY"]
        )
        container = bootstrap(settings, engine=engine)
        now = datetime.now(UTC)
        vins, tokens = setup_fleet(container, args.vehicles, now - timedelta(days=3))
        source = Batches(vins, args.batch, now - timedelta(days=2))

        baseline(container, vins, source.make(args.vehicles))  # warm-up: data keys, caches
        load_before = load()
        base_rps = baseline(container, vins, source.make(args.requests))
        print(
            f"baseline (in-process IngestService.ingest, batches of {args.batch}): "
            f"{base_rps:,.0f} rec/s",
            flush=True,
        )

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "carprivacy.entrypoints.cli.main",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        met = True
        try:
            wait_healthy(base_url, server, time.monotonic() + 60)
            # warm-up of every worker process (connections, data keys)
            warm = [(v, json.dumps(b).encode()) for v, b in source.make(args.vehicles * 2)]
            asyncio.run(drive(base_url, tokens, warm, 8, args.batch))
            for level in levels:
                stored_before = count(engine)
                bodies = [(v, json.dumps(b).encode()) for v, b in source.make(args.requests)]
                rps, lat = asyncio.run(drive(base_url, tokens, bodies, level, args.batch))
                stored = count(engine) - stored_before
                assert stored == args.requests * args.batch, (stored, args.requests * args.batch)
                p50, p95, p99 = (percentile(lat, q) * 1000 for q in (0.5, 0.95, 0.99))
                ratio = rps / base_rps
                print(
                    f"served --workers {args.workers}  concurrency {level:>3}: "
                    f"{rps:>8,.0f} rec/s  ({ratio:.0%} of baseline)  "
                    f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms",
                    flush=True,
                )
                if level == 32:
                    met = ratio >= 0.7 and p99 < 250
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            container.close()
            engine.dispose()
    print(f"load average before {load_before}, after {load()} (2 cores, shared)")
    print(
        "targets at concurrency 32: >= 70% of the baseline, p99 < 250 ms -> "
        + ("met" if met else "MISSED")
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--requests", type=int, default=300, help="batches per level")
    parser.add_argument("--batch", type=int, default=100, help="records per batch")
    parser.add_argument("--vehicles", type=int, default=64)
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args(argv)
    print(
        f"HTTP ingest benchmark: {args.requests} batches of {args.batch} records per level, "
        f"{args.vehicles} vehicles, serve --workers {args.workers}, {args.db}",
        flush=True,
    )
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if run(f"sqlite:///{tmp}/bench.db", args) else 1
    url = os.environ.get("CARPRIVACY_BENCH_POSTGRES_URL", DEFAULT_PG)
    schema = f"bench_http_{uuid.uuid4().hex[:8]}"
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
