"""``carprivacy ingest mqtt``: the MQTT ingestion worker (SPEC I1, I3).

Run one per machine or several per machine with distinct ``--client-id``s; workers with the same
``--group`` share the topic through an MQTT 5 shared subscription. SIGTERM/SIGINT stop it
gracefully: the batch in hand is committed and acknowledged, everything else stays with the broker.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Protocol

import typer

from carprivacy.domain.telemetry import Source

ingest_app = typer.Typer(
    help="Take telemetry in (MQTT worker) and look at what was refused (quarantine).",
    no_args_is_help=True,
)


class _Summary(Protocol):
    def summary(self) -> str: ...


BROKER_QUEUE_WARNING = (
    "warning: while this worker is stopped, Mosquitto keeps at most max_queued_messages "
    "(stock default 1000) messages for it and silently DROPS the rest, though it acknowledged "
    "them to the cars: run the broker with deploy/mosquitto/production.conf (or raise "
    "max_queued_messages and max_queued_bytes, persistence true); see docs/mqtt.md"
)


@ingest_app.command("mqtt")
def ingest_mqtt(
    topic: str | None = typer.Option(
        None, help="Topic filter; its first '+' level is the VIN. [default: vehicles/+/telemetry]"
    ),
    group: str | None = typer.Option(
        None, help="Shared-subscription group ($share/<group>/...). [default: carprivacy-ingest]"
    ),
    no_group: bool = typer.Option(False, "--no-group", help="Plain (unshared) subscription."),
    client_id: str | None = typer.Option(
        None, help="Stable id of this worker: its persistent session. [default: from host name]"
    ),
    batch_size: int | None = typer.Option(None, min=1, max=10_000, help="Messages per batch."),
    batch_ms: int | None = typer.Option(None, min=1, help="Longest wait to fill a batch (ms)."),
    host: str | None = typer.Option(None, help="Broker host. [default: CARPRIVACY_MQTT_HOST]"),
    port: int | None = typer.Option(None, help="Broker port. [default: CARPRIVACY_MQTT_PORT]"),
    username: str | None = typer.Option(None, help="Broker user name."),
    password_file: Path | None = typer.Option(
        None, help="File holding the broker password (or CARPRIVACY_MQTT_PASSWORD)."
    ),
    tls_ca: Path | None = typer.Option(None, help="CA certificate (PEM): turns TLS on."),
    tls_cert: Path | None = typer.Option(None, help="Client certificate (PEM)."),
    tls_key: Path | None = typer.Option(None, help="Client certificate key (PEM)."),
    session_expiry: int | None = typer.Option(
        None, min=1, help="Seconds the broker keeps this worker's queue while it is away."
    ),
    keepalive: int | None = typer.Option(
        None, min=2, max=65_535, help="Keep-alive (s); a silent worker is dropped after 1.5x."
    ),
    inflight: int = typer.Option(
        65_535, min=1, max=65_535, help="Unacknowledged messages the broker may push (window)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Only warnings and errors."),
) -> None:
    """Subscribe with QoS 1 and store telemetry; a message is acknowledged only once committed."""
    from carprivacy.bootstrap import MqttOptions, bootstrap
    from carprivacy.config import load_settings

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = load_settings()
    password = None
    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    options = MqttOptions(
        topic=topic,
        group=group,
        no_group=no_group,
        client_id=client_id,
        batch_size=batch_size,
        batch_ms=batch_ms,
        host=host,
        port=port,
        username=username,
        password=password,
        tls_ca=tls_ca,
        tls_cert=tls_cert,
        tls_key=tls_key,
        session_expiry=session_expiry,
        keepalive=keepalive,
        inflight=inflight,
    )
    container = bootstrap(settings)
    last_report = [time.monotonic()]

    def report(stats: _Summary) -> None:
        if not quiet and time.monotonic() - last_report[0] >= 10:
            last_report[0] = time.monotonic()
            typer.echo(stats.summary(), err=True)

    try:
        worker = container.mqtt_worker(options, on_batch=report)
    except ValueError as exc:
        container.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    config = worker.config

    def stop(signum: int, frame: FrameType | None) -> None:
        worker.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    typer.echo(BROKER_QUEUE_WARNING, err=True)  # even with --quiet: messages can be lost

    def subscribed(subscription: str) -> None:
        typer.echo(
            f"subscribed to {subscription} on {config.host}:{config.port} "
            f"as {config.client_id} (QoS 1, batches of {config.batch_size})",
            err=True,
        )

    worker.on_subscribed = subscribed  # at every (re)subscription, however late it comes
    worker.start()
    if not worker.wait_subscribed(10):
        if worker.refused is not None:
            worker.close()
            container.close()
            typer.echo(f"error: the broker refused the worker: {worker.refused}", err=True)
            raise typer.Exit(2)
        typer.echo(f"waiting for the broker at {config.host}:{config.port} ...", err=True)
    try:
        stats = worker.run()
    finally:
        container.close()
    typer.echo(f"stopped: {stats.summary()}", err=True)


@ingest_app.command("quarantine")
def quarantine(
    purpose: str = typer.Option(
        ...,
        help="The purpose of this read (a purpose id of the policy), as every read names one; "
        "e.g. after_sales_service (vehicle-linked: the vehicle id, never the customer).",
    ),
    limit: int = typer.Option(20, min=1, max=10_000, help="How many of the newest rows to list."),
    source: Source | None = typer.Option(None, help="Only rows from this transport."),
    rule: str | None = typer.Option(None, help="Only rows with a reason of this rule, e.g. range."),
    since: datetime | None = typer.Option(
        None, help="Only rows received at or after this time (ISO 8601; UTC if no offset)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per row, no table."),
) -> None:
    """List the newest refused records and messages with their reasons (no payloads: those stay
    sealed under the data subject's key), and how many rows quarantine holds per source.

    The rows pass the gate as every read does: read by the operator (an internal system of the
    national controller) for PURPOSE, decided per row, released in the purpose's form (the
    vehicle id is pseudonymised or left out where the form says so) and recorded in the audit
    log; rows past their 4 weeks are not listed."""
    import json

    from rich.console import Console
    from rich.table import Table

    from carprivacy.bootstrap import bootstrap
    from carprivacy.config import load_settings
    from carprivacy.domain.errors import AccessDeniedError, InvalidInputError
    from carprivacy.services.access.gate import Reading
    from carprivacy.services.access.purposes import check_purpose
    from carprivacy.services.identity.operators import operator
    from carprivacy.services.ingestion.quarantine import QUARANTINE_VIEW, quarantine_record

    services = bootstrap(load_settings())
    try:
        counts = services.telemetry.quarantine_counts()
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        recent = services.telemetry.quarantine_recent(limit, source=source, rule=rule, since=since)
        reading = Reading(operator(services.policy), purpose, "carprivacy ingest quarantine")
        try:
            check_purpose(services.decisions.policy, reading.caller, purpose, "--purpose")
        except InvalidInputError as bad:
            for p in bad.problems:
                typer.echo(f"error: {p.path}: [{p.rule}] {p.message}", err=True)
            raise typer.Exit(2) from None
        try:
            rows = list(
                services.gate.stream(
                    reading, QUARANTINE_VIEW, (quarantine_record(i, q) for i, q in recent)
                )
            )
        except AccessDeniedError as refused:
            typer.echo(f"error: {refused}", err=True)
            for reason in refused.reasons:
                typer.echo(f"  {reason}", err=True)
            raise typer.Exit(1) from None
    finally:
        services.close()

    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, separators=(",", ":"), default=_iso))
        return
    console = Console()
    per_source = ", ".join(f"{source}: {n:,}" for source, n in counts.items()) or "empty"
    console.print(f"quarantine holds {sum(counts.values()):,} row(s) ({per_source})")
    if len(rows) < len(recent):  # refused or past retention: the audit log says which rule
        console.print(f"{len(recent) - len(rows):,} row(s) not released for purpose {purpose}")
    if not rows:
        return
    table = Table(title=f"newest {len(rows)}")
    for column in ("id", "received (UTC)", "source", "vehicle", "record", "field: rule", "payload"):
        table.add_column(column, overflow="fold")
    for row in rows:
        vehicle = row.get("vehicle_id")
        reasons: list[dict[str, str]] = row["reasons"]  # type: ignore[assignment]
        index = row["record_index"]
        table.add_row(
            str(row["id"]),
            _iso(row["received_at"])[:19].replace("T", " "),
            str(row["source"]),
            f"{str(vehicle)[:8]}…" if vehicle else "-",  # --json: the whole id
            "message" if index is None else str(index),
            "\n".join(f"{p['field']}: {p['rule']}" for p in reasons),
            str(row["payload"]),
        )
    console.print(table)


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
