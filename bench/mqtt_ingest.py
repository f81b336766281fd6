"""MQTT end-to-end benchmark (issue 3 item 7): publisher -> Mosquitto -> worker -> database.

    .venv/bin/python bench/mqtt_ingest.py [--messages 20000] [--vehicles 100] [--batch-size 500]
                                          [--db sqlite|postgresql] [--host 127.0.0.1 --port 1883]

Two runs in the same process, with the same messages (simulated fleet telemetry, ~10 records per
message, JSON arrays on ``<base>/{VIN}/telemetry``), published with QoS 1 by the same publisher (a
separate process, so it does not share the GIL with the consumer):

- raw: a plain paho subscriber (QoS 1, automatic acknowledgement, does nothing with the message):
  what the broker and the client library can move;
- pipeline: the carprivacy worker (``MqttIngestWorker``): batches, ``IngestService.ingest``
  (validate, attribute, encrypt, store, commit) and only then the acknowledgements.

A third run puts the worker on the in-memory store (``carprivacy.testing.ingest``), to show what
the transport itself (batching, parsing, acknowledging after the store returns) costs.

Each run is timed from the first publish to the last message received (raw) or acknowledged after
commit (pipeline). Prints messages/s, records/s and the ratio pipeline/raw.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
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
        info.wait_for_publish(120)
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

    def wait(self) -> None:
        self.process.wait(120)


def make_messages(vins: list[str], count: int, catalogue: object, base: str, path: Path) -> int:
    sim = FleetSimulator(
        vins,
        catalogue,  # type: ignore[arg-type]
        start=datetime.now(UTC) - timedelta(days=2),
        seed=42,
        interval_s=5,
    )
    records = 0
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for vin, recs in sim.messages(minutes=10**6):
            wire = [{k: v for k, v in r.items() if k != "vin"} for r in recs]
            out.write(json.dumps([f"{base}/{vin}/telemetry", json.dumps(wire)]) + "\n")
            records += len(wire)
            written += 1
            if written == count:
                break
    return records


def raw_run(host: str, port: int, base: str, path: Path, count: int) -> float:
    got = [0]
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        got[0] += 1
        if got[0] == count:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{base}-raw", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = 65_535  # the worker's window: Mosquitto drops beyond window + queue
    sub.connect(host, port, properties=props)
    sub.subscribe(f"{base}/+/telemetry", qos=1)
    sub.loop_start()
    publisher = Publisher(host, port, path)
    began = publisher.go()
    last = -1
    while not done.wait(10):
        if got[0] == last:
            raise SystemExit(f"raw subscriber stalled at {got[0]} of {count} messages")
        last = got[0]
    elapsed = time.perf_counter() - began
    publisher.wait()
    sub.disconnect()
    sub.loop_stop()
    return elapsed


def pipeline_run(
    host: str, port: int, base: str, path: Path, count: int, sink: TelemetrySink, batch: int
) -> tuple[float, int]:
    config = MqttWorkerConfig(
        host=host,
        port=port,
        topic=f"{base}/+/telemetry",
        group=None,
        client_id=f"{base}-worker",
        batch_size=batch,
        batch_ms=100,
        session_expiry_s=60,
    )
    worker = MqttIngestWorker(config, sink)
    worker.start()
    if not worker.wait_subscribed(10):
        raise SystemExit("the worker did not subscribe")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    publisher = Publisher(host, port, path)
    began = publisher.go()
    last, stalled_since = -1, time.monotonic()
    while worker.stats.acked < count and time.monotonic() - stalled_since < 30:
        if worker.stats.acked != last:
            last, stalled_since = worker.stats.acked, time.monotonic()
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    publisher.wait()
    worker.request_stop()
    thread.join(30)
    if worker.stats.acked < count:
        raise SystemExit(f"the worker acknowledged {worker.stats.acked} of {count}")
    return elapsed, worker.stats.accepted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--publish-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publish_only:
        publish(args.host, args.port, args.publish_only)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
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
            records = make_messages(vins, args.messages, container.catalogue, base, path)
            n = args.messages
            print(f"MQTT end-to-end, {n} messages ({records} records, {records / n:.1f}/message), "
                  f"{args.vehicles} vehicles, {args.db}, batch {args.batch_size}")  # fmt: skip
            raw = raw_run(args.host, args.port, base, path, n)
            print(
                f"raw publish->subscribe : {n / raw:9,.0f} msgs/s {records / raw:9,.0f} records/s"
            )
            bare, _ = pipeline_run(
                args.host, args.port, base, path, n, InMemoryIngestService(), args.batch_size
            )
            print(f"worker, in-memory store: {n / bare:9,.0f} msgs/s "
                  f"{records / bare:9,.0f} records/s  (transport + batching + ack)")  # fmt: skip
            full, accepted = pipeline_run(
                args.host, args.port, base, path, n, container.ingest, args.batch_size
            )
            print(f"pipeline (worker + db) : {n / full:9,.0f} msgs/s "
                  f"{records / full:9,.0f} records/s  ({accepted} records stored)")  # fmt: skip
            print(f"ratio pipeline/raw     : {raw / full:9.1%}")
            container.close()
        finally:
            if schema is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
