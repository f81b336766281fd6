"""HTTP ingest benchmark: ``carprivacy serve --workers N`` over loopback against the in-process
pipeline (SPEC I1; docs/scaling.md).

    .venv/bin/python bench/http_ingest.py [--workers 2] [--db postgresql|sqlite]
                                          [--records 30000] [--batch 100,25,10] [--vehicles 64]
                                          [--concurrency 1,8,32] [--client raw|httpx]

In one run, into one fresh database (PostgreSQL: ``CARPRIVACY_BENCH_POSTGRES_URL``, default
postgresql://postgres@127.0.0.1:5432/test, in a schema of its own dropped afterwards):

- baseline: ``IngestService.ingest`` called directly in this process on the same batches (parsed
  dicts, ``source="http"``), one call per batch, one after the other: what one process does
  without HTTP;
- served: a real ``carprivacy serve --workers N`` subprocess on a free loopback port; a closed
  loop of asyncio senders (one keep-alive connection each, each sending its next batch when the
  answer to the last one is in) POSTs the same kind of batches to ``/v1/telemetry``, each with
  its vehicle's bearer token, at each concurrency level, about ``--records`` records per level.

The client is a plain HTTP/1.1 client on asyncio streams (``--client raw``, the default): it
writes the request, reads the status line, the headers and ``Content-Length`` bytes, and parses
the JSON answer. It costs a few percent of what httpx costs per request (``--client httpx``), and
the client runs on the same cores as the server, so its own work would otherwise be counted
against the server. Bodies are encoded before the clock starts. Every batch holds new
timestamps (no duplicates); a 200 must have every record accepted; any other answer (a 503 of a
full queue included) is an error, counted and shown, never a success, and fails the targets;
latencies are of the answered uploads. The stored count is checked after each level (the
accepted uploads' records, exactly). Per level it prints records/s, p50/p95/p99, the ratio
served/baseline, and the CPU the server's processes and the client used per 1,000 records
(from /proc: a figure the other load of a shared machine moves less than the wall clock); then
the load average before and after and the targets (concurrency 32: >= 70% of the baseline,
p99 < 250 ms, no errors), for each batch size.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
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
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RawConnection:
    """One keep-alive HTTP/1.1 connection: a request written whole, the answer read by its
    ``Content-Length`` (a ``Connection: close`` answer opens a new connection next time)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
        }
        if "content-length" not in headers:
            raise SystemExit(f"answer without Content-Length: {lines[:8]}")
        answer = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, answer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxConnection:
    """The same over an httpx client limited to one connection."""

    def __init__(self, host: str, port: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.client = httpx.AsyncClient(base_url=f"http://{host}:{port}", limits=limits, timeout=60)

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        response = await self.client.post(
            path,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class Level:
    rps: float  # records/s of the accepted uploads
    latencies: list[float]  # seconds, of the accepted uploads
    accepted: int  # uploads answered 200 with every record accepted
    errors: dict[int, int]  # status -> count of the other answers
    first_error: str | None


async def drive(
    port: int,
    tokens: list[str],
    bodies: list[tuple[int, bytes]],
    concurrency: int,
    records_per_body: int,
    client: str = "raw",
) -> Level:
    """POST every body with ``concurrency`` senders in a closed loop."""
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    latencies: list[float] = []
    errors: dict[int, int] = {}
    first: list[str] = []
    kind = RawConnection if client == "raw" else HttpxConnection

    async def sender() -> None:
        connection = kind("127.0.0.1", port)
        try:
            while True:
                try:
                    v, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                status, answer = await connection.post("/v1/telemetry", body, tokens[v])
                elapsed = time.perf_counter() - t0
                if status == 200 and json.loads(answer)["accepted"] == records_per_body:
                    latencies.append(elapsed)
                    continue
                errors[status] = errors.get(status, 0) + 1
                if not first:
                    first.append(f"{status} {answer[:200]!r}")
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Level(
        len(latencies) * records_per_body / elapsed,
        latencies,
        len(latencies),
        errors,
        first[0] if first else None,
    )


def cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and every live descendant (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / tick
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


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
    sizes = [int(b) for b in args.batch.split(",")]
    met = True
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
        port = free_port()
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
        load_before = load()
        start = now - timedelta(days=2)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", server, time.monotonic() + 60)
            for size in sizes:
                source = Batches(vins, size, start)
                requests = max(args.vehicles, args.records // size)
                baseline(container, vins, source.make(args.vehicles))  # warm-up: keys, caches
                base_rps = baseline(container, vins, source.make(requests))
                print(
                    f"batches of {size}: baseline (in-process IngestService.ingest, one call per "
                    f"batch): {base_rps:,.0f} rec/s   load {load()}",
                    flush=True,
                )
                # warm-up of every server process (connections, data keys)
                warm = [(v, json.dumps(b).encode()) for v, b in source.make(args.vehicles * 2)]
                asyncio.run(drive(port, tokens, warm, 8, size, args.client))
                for level in levels:
                    stored_before = count(engine)
                    bodies = [(v, json.dumps(b).encode()) for v, b in source.make(requests)]
                    cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
                    result = asyncio.run(drive(port, tokens, bodies, level, size, args.client))
                    server_cpu = cpu_seconds(server.pid) - cpu_before
                    client_cpu = time.process_time() - client_before
                    stored = count(engine) - stored_before
                    assert stored == result.accepted * size, (stored, result.accepted * size)
                    p50, p95, p99 = (
                        percentile(result.latencies, q) * 1000 for q in (0.5, 0.95, 0.99)
                    )
                    ratio = result.rps / base_rps
                    per_k = 1000 / max(1, result.accepted * size)
                    errors = sum(result.errors.values())
                    print(
                        f"  concurrency {level:>3}: {result.rps:>8,.0f} rec/s ({ratio:4.0%})  "
                        f"p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f} ms  "
                        f"CPU/1000 rec: server {server_cpu * per_k * 1000:4.0f} ms, "
                        f"client {client_cpu * per_k * 1000:3.0f} ms  "
                        f"errors {errors}{' ' + str(result.errors) if errors else ''}",
                        flush=True,
                    )
                    if result.first_error:
                        print(f"    first error: {result.first_error}", flush=True)
                    if level == 32:
                        ok = ratio >= 0.7 and p99 < 250 and errors == 0
                        print(
                            f"  targets at concurrency 32, batches of {size}: >= 70% of the "
                            f"baseline, p99 < 250 ms, no errors -> {'met' if ok else 'MISSED'}",
                            flush=True,
                        )
                        met = met and ok
                start = source.start + timedelta(seconds=source.second + 1)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            container.close()
            engine.dispose()
    print(f"load average before {load_before}, after {load()} (2 cores, shared)")
    return met


def main(argv: list[str] | None = None) -> int:
    # SIGTERM: stop the server and drop the schema on the way out, as on Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--records", type=int, default=30_000, help="records per level")
    parser.add_argument("--batch", default="100,25,10", help="records per batch (a list)")
    parser.add_argument("--vehicles", type=int, default=64)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    args = parser.parse_args(argv)
    print(
        f"HTTP ingest benchmark: ~{args.records:,} records per level in batches of {args.batch}, "
        f"{args.vehicles} vehicles, serve --workers {args.workers}, {args.db}, "
        f"client {args.client}",
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
