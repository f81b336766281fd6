"""MQTT end-to-end benchmark and losses (SPEC I1, I3): publisher -> Mosquitto -> worker -> database.

    .venv/bin/python bench/mqtt_ingest.py [--messages 20000] [--vehicles 100] [--batch-size 500]
                                          [--db sqlite|postgresql] [--cpu-hogs 0]
                                          [--broker project | --broker external --host H --port P]

Two runs in the same process, with the same messages (simulated fleet telemetry, ~10 records per
message, JSON arrays on ``<base>/{VIN}/telemetry``), published with QoS 1 by the same publisher (a
separate process, so it does not share the GIL with the consumer), which records every PUBACK:

- raw: a plain paho subscriber (QoS 1, automatic acknowledgement, does nothing with the message):
  what the broker and the client library can move;
- pipeline: the carprivacy worker (``MqttIngestWorker``): batches, ``IngestService.ingest``
  (validate, attribute, encrypt, store, commit) and only then the acknowledgements.

A third run puts the worker on the in-memory store (``carprivacy.testing.ingest``), to show what
the transport itself (batching, parsing, acknowledging after the store returns) costs.

Each run is timed from the first publish to the last message received (raw) or acknowledged after
commit (pipeline). Prints messages/s, records/s, the ratio pipeline/raw and, per run, the LOSSES:
messages the broker acknowledged to the publisher that the subscriber never received (raw), records
of acknowledged messages that were not stored (pipeline). Target: 0. A run that stops receiving
for 60 s ends and counts what is missing as lost; the benchmark always completes.

``--broker project`` (default) starts a Mosquitto of its own from deploy/mosquitto/ci.conf (the
shipped queue limits and persistence) and reports how often it logged "Outgoing messages are being
dropped"; ``--broker external`` uses the broker at --host/--port as configured (the machine's
stock one on 1883 by default). ``--cpu-hogs N`` runs N busy-looping processes during the runs:
the CPU starvation under which the stock broker lost acknowledged messages.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import SecretStr
from sqlalchemy import text

from carprivacy.adapters.crypto.master_key import new_master_key
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.mqtt.worker import MqttIngestWorker, MqttWorkerConfig, TelemetrySink
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings
from carprivacy.entrypoints.cli.commands.simulate import register_demo_fleet
from carprivacy.services.demo.simulation import FleetSimulator, demo_vins
from carprivacy.testing.ingest import InMemoryIngestService
from carprivacy.testing.mosquitto import MosquittoProcess

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def publish(host: str, port: int, path: Path) -> None:
    """The publisher process: every (topic, payload) line of ``path``, QoS 1, as fast as acked."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    with path.open(encoding="utf-8") as lines:
        messages = [json.loads(line) for line in lines]
    print("ready", flush=True)
    sys.stdin.readline()  # "go": the timer starts after our start-up
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(120)  # if not: reported below, not counted as delivered
    unacked = [i for i, info in enumerate(infos) if not info.is_published()]
    print(json.dumps({"unacknowledged": unacked}), flush=True)
    client.disconnect()
    client.loop_stop()


class Publisher:
    """The publisher process, started and loaded before the clock starts; ``go`` sets it off."""

    def __init__(self, host: str, port: int, path: Path) -> None:
        cmd = [sys.executable, __file__, "--publish-only", str(path)]
        self.process = subprocess.Popen(
            [*cmd, "--host", host, "--port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the publisher did not start")

    def go(self) -> float:
        assert self.process.stdin is not None
        began = time.perf_counter()
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return began

    def wait(self) -> list[int]:
        """The indices of the messages the broker did NOT acknowledge (PUBACK)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.process.wait(120)
        return list(json.loads(line)["unacknowledged"]) if line else list(range(10**9))


def end_session(host: str, port: int, client_id: str) -> None:
    """Remove a finished run's persistent session, so it does not collect the next run's burst."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(host, port, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


class CpuHogs:
    """``n`` busy-looping processes: CPU starvation for everything else on the machine."""

    def __init__(self, n: int) -> None:
        self.processes = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)
        ]

    def close(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)


STALL_S = 60.0


def make_messages(
    vins: list[str], count: int, catalogue: object, base: str, path: Path
) -> list[int]:
    """Write ``count`` messages to ``path``; the number of records of each."""
    sim = FleetSimulator(
        vins,
        catalogue,  # type: ignore[arg-type]
        start=datetime.now(UTC) - timedelta(days=2),
        seed=42,
        interval_s=5,
    )
    sizes: list[int] = []
    with path.open("w", encoding="utf-8") as out:
        for vin, recs in sim.messages(minutes=10**6):
            wire = [{k: v for k, v in r.items() if k != "vin"} for r in recs]
            out.write(json.dumps([f"{base}/{vin}/telemetry", json.dumps(wire)]) + "\n")
            sizes.append(len(wire))
            if len(sizes) == count:
                break
    return sizes


@dataclass
class Run:
    elapsed: float
    acknowledged: int  # messages (raw) or records (pipeline) the broker acknowledged
    delivered: int  # of those: received (raw) or stored (pipeline)

    @property
    def lost(self) -> int:
        return self.acknowledged - self.delivered


def raw_run(host: str, port: int, base: str, path: Path, count: int) -> Run:
    got: set[tuple[str, bytes]] = set()  # two vehicles may send the same payload at one tick
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        got.add((message.topic, bytes(message.payload)))
        if len(got) == count:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{base}-raw", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = 65_535  # the worker's window
    sub.connect(host, port, properties=props)
    sub.subscribe(f"{base}/+/telemetry", qos=1)
    sub.loop_start()
    time.sleep(0.3)  # the SUBACK
    publisher = Publisher(host, port, path)
    began = publisher.go()
    last, since = -1, time.monotonic()
    while not done.wait(0.05) and time.monotonic() - since < STALL_S:
        if len(got) != last:
            last, since = len(got), time.monotonic()
    elapsed = time.perf_counter() - began
    unacked = publisher.wait()
    sub.disconnect()
    sub.loop_stop()
    return Run(elapsed, count - len(unacked), len(got))


def pipeline_run(
    host: str,
    port: int,
    base: str,
    path: Path,
    sizes: list[int],
    sink: TelemetrySink,
    batch: int,
    stored: Callable[[MqttIngestWorker], int],
    name: str,
) -> Run:
    """One worker run; ``stored`` says how many records the sink holds after it."""
    count = len(sizes)
    config = MqttWorkerConfig(
        host=host,
        port=port,
        topic=f"{base}/+/telemetry",
        group=None,
        client_id=f"{base}-worker-{name}",
        batch_size=batch,
        batch_ms=100,
        session_expiry_s=600,
    )
    worker = MqttIngestWorker(config, sink)
    worker.start()
    if not worker.wait_subscribed(30):
        raise SystemExit("the worker did not subscribe")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    publisher = Publisher(host, port, path)
    began = publisher.go()
    last, stalled_since = -1, time.monotonic()
    while worker.stats.messages < count and time.monotonic() - stalled_since < STALL_S:
        if worker.stats.messages != last:
            last, stalled_since = worker.stats.messages, time.monotonic()
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    unacked = publisher.wait()
    worker.request_stop()
    thread.join(60)
    end_session(host, port, config.client_id)
    acknowledged = sum(sizes) - sum(sizes[i] for i in unacked)
    return Run(elapsed, acknowledged, stored(worker))


def losses(run: Run, unit: str) -> str:
    return f"lost {run.lost:,} of {run.acknowledged:,} acknowledged {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--broker", choices=["project", "external"], default="project")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--cpu-hogs", type=int, default=0, help="busy-looping processes")
    parser.add_argument("--publish-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publish_only:
        publish(args.host, args.port, args.publish_only)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        broker: MosquittoProcess | None = None
        host, port = args.host, args.port
        if args.broker == "project":
            broker = MosquittoProcess(Path(tmp) / "broker")
            broker.start()
            host, port = broker.address
        schema = None
        if args.db == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        else:
            base_url = os.environ.get("CARPRIVACY_BENCH_POSTGRES_URL", DEFAULT_PG)
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(base_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{make_engine(base_url).url.render_as_string(hide_password=False)}"
            url += f"?options=-csearch_path%3D{schema}"
        hogs: CpuHogs | None = None
        total = 0
        try:
            engine = make_engine(url)
            load_all_tables().create_all(engine)
            settings = load_settings(
                data_dir=Path(tmp),
                database_url=url,
                master_key=SecretStr(base64.b64encode(new_master_key()).decode()),
            )
            container = bootstrap(settings, engine=engine)
            vins = register_demo_fleet(container, demo_vins(args.vehicles, seed=7))
            base = f"bench{uuid.uuid4().hex[:8]}"
            path = Path(tmp) / "messages.ndjson"
            sizes = make_messages(vins, args.messages, container.catalogue, base, path)
            n, records = args.messages, sum(sizes)
            where = "project config" if broker else "external"
            print(f"MQTT end-to-end, {n} messages ({records} records, {records / n:.1f}/message), "
                  f"{args.vehicles} vehicles, {args.db}, batch {args.batch_size}, "
                  f"broker {host}:{port} ({where}), {args.cpu_hogs} CPU hogs")  # fmt: skip
            hogs = CpuHogs(args.cpu_hogs)
            raw = raw_run(host, port, base, path, n)
            print(f"raw publish->subscribe : {n / raw.elapsed:9,.0f} msgs/s "
                  f"{records / raw.elapsed:9,.0f} records/s  "
                  f"{losses(raw, 'messages')}")  # fmt: skip
            memory = InMemoryIngestService()
            bare = pipeline_run(
                host, port, base, path, sizes, memory, args.batch_size,
                lambda w: len(memory.stored), "memory",
            )  # fmt: skip
            print(f"worker, in-memory store: {n / bare.elapsed:9,.0f} msgs/s "
                  f"{records / bare.elapsed:9,.0f} records/s  "
                  f"{losses(bare, 'records')}  (transport + batching + ack)")  # fmt: skip

            def rows(worker: MqttIngestWorker) -> int:
                with engine.connect() as conn:
                    return int(conn.execute(text("SELECT count(*) FROM telemetry")).scalar_one())

            full = pipeline_run(
                host, port, base, path, sizes, container.ingest, args.batch_size, rows, "db"
            )
            print(f"pipeline (worker + db) : {n / full.elapsed:9,.0f} msgs/s "
                  f"{records / full.elapsed:9,.0f} records/s  "
                  f"{losses(full, 'records')}")  # fmt: skip
            print(f"ratio pipeline/raw     : {raw.elapsed / full.elapsed:9.1%}")
            total = raw.lost + bare.lost + full.lost
            dropped = "n/a (external broker)" if broker is None else str(broker.dropped())
            print(f"losses (target 0)      : {total:9,}  broker 'messages dropped' log lines: "
                  f"{dropped}")  # fmt: skip
            container.close()
        finally:
            if hogs is not None:
                hogs.close()
            if schema is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
            if broker is not None:
                broker.stop()
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
