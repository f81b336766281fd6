"""``carprivacy simulate``: drive a simulated fleet and send its telemetry.

Targets: ``--to mqtt`` publishes QoS 1 to ``vehicles/{VIN}/telemetry`` (the worker stores it),
``--to http`` posts batches to ``/v1/telemetry`` with a per-vehicle credential issued for the run,
``--to db`` calls the ingestion service directly. ``--vehicles N`` means N vehicles: the registered
ones, and the missing ones registered (each with a demo owner) so that their data is stored and
attributed; ``--no-register`` uses only the registered ones. What it did is said on stdout.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from carprivacy.bootstrap import Services


class Target(StrEnum):
    MQTT = "mqtt"
    HTTP = "http"
    DB = "db"


@dataclass
class Tally:
    messages: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    problems: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def fleet_vins(container: Services, count: int, seed: int, register: bool) -> list[str]:
    """``count`` VINs: the registered vehicles', topped up with generated ones that are
    registered (each with a demo owner) unless ``register`` is False. Says on stdout what it
    simulates."""
    from carprivacy.services.demo.simulation import demo_vins

    master = container.master
    vins: list[str] = []
    offset = 0
    while len(vins) < count:
        page = master.list_vehicles(offset=offset, limit=min(200, count - len(vins)))
        vins.extend(v.vin for v in page.items)
        if len(page.items) == 0 or offset + len(page.items) >= page.total:
            break
        offset += len(page.items)
    missing = count - len(vins)
    if missing <= 0:
        typer.echo(f"simulating {len(vins)} registered vehicles")
        return vins
    known = set(vins)
    extra = [v for v in demo_vins(count, seed=seed) if v not in known][:missing]
    if register:
        register_demo_fleet(container, extra)
        typer.echo(
            f"simulating {count} vehicles: {len(vins)} registered, {missing} newly registered "
            "with demo owners (--no-register: only registered ones)"
        )
        return vins + extra
    if vins:
        typer.echo(
            f"simulating {len(vins)} registered vehicles, not {count}: --no-register leaves "
            f"out the {missing} missing ones"
        )
        return vins
    typer.echo(
        f"simulating {count} unregistered vehicles (--no-register and none in the database): "
        "their records are refused as unknown vehicles"
    )
    return extra


def register_demo_fleet(container: Services, vins: list[str]) -> list[str]:
    from carprivacy.domain.master import ContactDetails, UsageKind

    master = container.master
    since = datetime.now(UTC) - timedelta(days=365)
    for n, vin in enumerate(vins, 1):
        if master.find_vehicle_by_vin(vin) is not None:
            continue
        owner = master.register_customer(
            ContactDetails(
                surname=f"Demo{n}",
                first_name="Rijder",
                street="Simulatieweg",
                house_number=str(n),
                postal_code="2288 AA",
                city="Rijswijk",
                country="NL",
                email=f"demo{n}@example.invalid",
            )
        )
        vehicle = master.register_vehicle(vin, "MINI Cooper SE", "Chili Red")
        master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=owner.id)
    return vins


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        vehicles: int = typer.Option(10, "--vehicles", min=1, max=100_000, help="Fleet size."),
        minutes: float = typer.Option(10.0, "--minutes", min=0.1, help="Simulated driving time."),
        to: Target = typer.Option(Target.MQTT, "--to", help="Where the telemetry goes."),
        url: str = typer.Option("http://127.0.0.1:8000", help="API base URL (--to http)."),
        seed: int = typer.Option(0, help="Random seed: same seed, same telemetry."),
        interval: float = typer.Option(10.0, min=0.5, help="Seconds between reports."),
        register_missing: bool = typer.Option(
            True,
            "--register/--no-register",
            help="Register the vehicles missing from the database, each with a demo owner "
            "(--no-register: simulate only the registered ones).",
        ),
        topic: str | None = typer.Option(
            None,
            "--topic",
            help="MQTT topic with a '+' level for the VIN (--to mqtt; default "
            "CARPRIVACY_MQTT_TOPIC, vehicles/+/telemetry).",
        ),
        host: str | None = typer.Option(None, help="MQTT broker host (--to mqtt)."),
        port: int | None = typer.Option(None, help="MQTT broker port (--to mqtt)."),
        tls_ca: Path | None = typer.Option(None, help="MQTT CA certificate: turns TLS on."),
        batch_records: int = typer.Option(1000, min=1, help="Records per HTTP post / db call."),
        realtime: bool = typer.Option(
            False, "--realtime", help="Drive from now on at wall-clock pace (a live demo)."
        ),
    ) -> None:
        """Simulate N vehicles driving M minutes (ending now) and send their telemetry."""
        from rich.progress import Progress

        from carprivacy.bootstrap import bootstrap
        from carprivacy.services.demo.simulation import FleetSimulator

        container = bootstrap()
        try:
            vins = fleet_vins(container, vehicles, seed, register_missing)
            assert container.catalogue is not None
            now = datetime.now(UTC)
            start = now if realtime else now - timedelta(minutes=minutes)
            sim = FleetSimulator(
                vins, container.catalogue, start=start, seed=seed, interval_s=interval
            )
            send = _sender(to, container, vins, url, host, port, tls_ca, batch_records, topic)
            tally = Tally()
            began = time.monotonic()
            with Progress(transient=False) as progress:
                task = progress.add_task(
                    f"{len(vins)} vehicles -> {to.value}", total=sim.tick_count(minutes)
                )
                for n, tick in enumerate(sim.ticks(minutes), 1):
                    if realtime:  # each tick leaves when its timestamp comes
                        time.sleep(
                            max(0.0, (now - datetime.now(UTC)).total_seconds() + n * interval)
                        )
                    for vin, records in tick:
                        send.add(vin, records, tally)
                    progress.advance(task)
                send.close(tally)
            elapsed = time.monotonic() - began
        finally:
            container.close()
        typer.echo(
            f"sent {tally.messages} messages, {tally.records} records from {len(vins)} vehicles "
            f"in {elapsed:.1f} s ({tally.records / max(elapsed, 1e-9):,.0f} records/s)"
        )
        if to is not Target.MQTT:
            typer.echo(
                f"accepted {tally.accepted}, rejected {tally.rejected}"
                + (f", duplicates {tally.duplicates}" if tally.duplicates else "")
            )
            for rule, n in sorted(tally.problems.items()):
                typer.echo(f"  rejected [{rule}]: {n}")


class _Sender:
    def add(self, vin: str, records: list[dict[str, Any]], tally: Tally) -> None:
        raise NotImplementedError

    def close(self, tally: Tally) -> None:
        raise NotImplementedError


def _sender(
    to: Target,
    container: Services,
    vins: list[str],
    url: str,
    host: str | None,
    port: int | None,
    tls_ca: Path | None,
    batch_records: int,
    topic: str | None = None,
) -> _Sender:
    if to is Target.MQTT:
        s = container.settings
        return _MqttSender(
            host or s.mqtt_host,
            port or s.mqtt_port,
            topic or s.mqtt_topic,
            tls_ca or s.mqtt_tls_ca,
            s.mqtt_username,
            s.mqtt_password.get_secret_value() if s.mqtt_password else None,
        )
    if to is Target.HTTP:
        return _HttpSender(container, vins, url, batch_records)
    return _DbSender(container, batch_records)


class _MqttSender(_Sender):
    def __init__(
        self,
        host: str,
        port: int,
        topic_filter: str,
        tls_ca: Path | None,
        username: str | None,
        password: str | None,
    ) -> None:
        import uuid

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        if "+" not in topic_filter.split("/") or "#" in topic_filter:
            raise typer.BadParameter(
                "needs a '+' level for the VIN, like vehicles/+/telemetry", param_hint="--topic"
            )
        self.template = topic_filter.replace("+", "{vin}", 1)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"carprivacy-sim-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(500)
        self.client.max_queued_messages_set(0)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.connect(host, port)
        self.client.loop_start()
        self.pending: list[Any] = []

    def add(self, vin: str, records: list[dict[str, Any]], tally: Tally) -> None:
        wire = [{k: v for k, v in r.items() if k != "vin"} for r in records]
        info = self.client.publish(self.template.format(vin=vin), json.dumps(wire), qos=1)
        self.pending.append(info)
        tally.messages += 1
        tally.records += len(records)
        if len(self.pending) >= 2000:
            self._drain()

    def _drain(self) -> None:
        for info in self.pending:
            info.wait_for_publish(60)
        self.pending.clear()

    def close(self, tally: Tally) -> None:
        self._drain()
        self.client.disconnect()
        self.client.loop_stop()


class _HttpSender(_Sender):
    def __init__(self, container: Services, vins: list[str], url: str, batch: int) -> None:
        import httpx

        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=60)
        self.batch = batch
        self.buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.tokens: dict[str, str] = {}
        master, creds = container.master, container.vehicle_credentials
        for vin in vins:
            vehicle = master.find_vehicle_by_vin(vin)
            if vehicle is not None:
                self.tokens[vin] = creds.issue(vehicle.id, vin).token

    def add(self, vin: str, records: list[dict[str, Any]], tally: Tally) -> None:
        tally.messages += 1
        tally.records += len(records)
        buffer = self.buffers[vin]
        buffer.extend(records)
        if len(buffer) >= self.batch:
            self._post(vin, tally)

    def _post(self, vin: str, tally: Tally) -> None:
        records = self.buffers.pop(vin, [])
        if not records:
            return
        token = self.tokens.get(vin)
        if token is None:  # an unregistered vehicle has no credential: the API refuses it
            tally.rejected += len(records)
            tally.problems["no_credential"] += len(records)
            return
        response = self.http.post(
            "/v1/telemetry",
            content=json.dumps(records),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if response.status_code >= 400:
            tally.rejected += len(records)
            tally.problems[f"http_{response.status_code}"] += len(records)
            return
        _count(response.json(), len(records), tally)

    def close(self, tally: Tally) -> None:
        for vin in list(self.buffers):
            self._post(vin, tally)
        self.http.close()


def _count(body: Any, sent: int, tally: Tally) -> None:
    if isinstance(body, dict) and isinstance(body.get("accepted"), int):
        tally.accepted += body["accepted"]
        tally.rejected += int(body.get("rejected", 0))
        tally.duplicates += int(body.get("duplicates", 0))
        for status in body.get("records") or body.get("statuses") or []:
            for error in status.get("errors", []) if isinstance(status, dict) else []:
                tally.problems[str(error.get("rule"))] += 1
    else:
        tally.accepted += sent


class _DbSender(_Sender):
    def __init__(self, container: Services, batch: int) -> None:
        self.ingest = container.ingest
        self.batch = batch
        self.buffer: list[dict[str, Any]] = []

    def add(self, vin: str, records: list[dict[str, Any]], tally: Tally) -> None:
        tally.messages += 1
        tally.records += len(records)
        self.buffer.extend(records)
        if len(self.buffer) >= self.batch:
            self._flush(tally)

    def _flush(self, tally: Tally) -> None:
        if not self.buffer:
            return
        result = self.ingest.ingest(
            self.buffer, source="mqtt", vehicle_vin=None, received_at=datetime.now(UTC)
        )
        tally.accepted += result.accepted
        tally.rejected += result.rejected
        tally.duplicates += result.duplicates
        for status in result.statuses:
            for problem in status.errors:
                tally.problems[problem.rule] += 1
        self.buffer = []

    def close(self, tally: Tally) -> None:
        self._flush(tally)
