"""Leakage scan (SPEC I3, the notice's "stored encrypted only"; no personal data in logs or files):
after ``carprivacy demo load`` and a realistic workload against real processes, no file the
platform wrote holds the plaintext of a sensitive demo value.

The workload: ``carprivacy serve`` and ``carprivacy ingest mqtt`` as subprocesses, both logging
at DEBUG (root logger, SQLAlchemy and uvicorn with its access log included) into files; telemetry
with full-precision coordinates over HTTP and over MQTT; a privacy officer's password login and
reads of customers and telemetry; a customer's e-mail code login through the file outbox and reads
of /v1/me; failed logins with an e-mail address as login name and a code asked for an unknown
address. The server and the worker are then killed (SIGKILL), so SQLite's -wal and -shm files
stay as a crash leaves them.

Scanned: every file under the data directory (database, -wal, -shm, outbox, witness, key files, the
logs), and on PostgreSQL the whole cluster directory of a server started for the test (heap, TOAST
and WAL files after a CHECKPOINT) and a plain ``pg_dump`` of it; on both stores the platform's own
backup (``carprivacy backup``: SQLite's online backup, PostgreSQL's custom archive and the SQL
``pg_restore`` reads out of it). Values: every customer's surname, first name, full name, street,
street with house number, postal code, e-mail address and phone number, every payment method's
details, every VIN and every stored coordinate, read back through the service layer (decrypted);
encodings in ``plaintext_scan.py``. VINs identify the vehicle in the vehicle master table
(``vehicles.vin``, the ingestion lookup key); they are looked for in every other file, and in every
text column of every other table of the database. Expected: 0 hits.
"""

from __future__ import annotations

import json
import os
import random
import re
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import JSON, LargeBinary, String, Text, select, text
from tests.conftest import IN_CI
from tests.e2e.plaintext_scan import FLOAT32_REPEATS, Needles, Scanner
from tests.e2e.processes import (
    CARPRIVACY,
    POSTGRES_BIN,
    PrivatePostgres,
    Server,
    Worker,
    private_postgres,
    stored_values,
)

from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.email.outbox import FileEmailOutbox
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings

pytestmark = pytest.mark.mqtt

PASSWORD = "leak scan officer passphrase"
COORDINATES = ("Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PrivatePostgres | None]:
    """None: SQLite in the data directory; else a PostgreSQL cluster of the test's own."""
    if request.param == "sqlite":
        yield None
        return
    with private_postgres(IN_CI) as cluster:
        yield cluster


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*CARPRIVACY, *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def positions(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """Full-precision coordinates (every bit of the double significant) in the Netherlands."""
    return [(52.0 + rng.random(), 4.0 + rng.random() * 2) for _ in range(count)]


def parked_records(start: datetime, spots: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """Each position FLOAT32_REPEATS times (a parked car reports it again), with speed 0."""
    out: list[dict[str, Any]] = []
    second = 0
    for lat, lon in spots:
        for _ in range(FLOAT32_REPEATS):
            ts = (start + timedelta(seconds=second)).isoformat()
            out.append({"signal": COORDINATES[0], "value": lat, "ts": ts})
            out.append({"signal": COORDINATES[1], "value": lon, "ts": ts})
            out.append({"signal": "Vehicle.Speed", "value": 0.0, "ts": ts})
            second += 1
    return out


def workload(
    container: Services, server: Server, worker_topic: str, mqtt_address: tuple[str, int]
) -> dict[str, Any]:
    """Ingest over HTTP and MQTT, logins and reads; returns what was sent and done."""
    rng = random.Random(20261203)
    customers = container.master.list_customers(limit=100).items
    owned = [
        (c, v)
        for c in customers
        for v in container.master.vehicles_of(c.id, datetime.now(UTC))
        if c.contact is not None
    ]
    assert len(owned) >= 6
    start = datetime.now(UTC) - timedelta(hours=2)
    sent: dict[str, list[tuple[float, float]]] = {}
    done = Counter[str]()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for _, vehicle in owned[:2]:  # HTTP, with the vehicle's own credential
            spots = positions(rng, 3)
            sent[vehicle.vin] = spots
            token = container.vehicle_credentials.issue(vehicle.id, vehicle.vin).token
            r = client.post(
                "/v1/telemetry",
                json=parked_records(start, spots),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
            done["HTTP telemetry batches"] += 1
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.connect(*mqtt_address)
        publisher.loop_start()
        try:
            for _, vehicle in owned[2:4]:  # MQTT, QoS 1
                spots = positions(rng, 3)
                sent[vehicle.vin] = spots
                records = parked_records(start, spots)
                for i in range(0, len(records), 6):
                    topic = worker_topic.replace("+", vehicle.vin)
                    payload = json.dumps(records[i : i + 6])
                    publisher.publish(topic, payload, qos=1).wait_for_publish(30)
                    done["MQTT messages"] += 1
        finally:
            publisher.disconnect()
            publisher.loop_stop()

        # a privacy officer: password login, customers and telemetry with a purpose
        r = client.post("/v1/auth/login", json={"login": "leak-officer", "password": PASSWORD})
        assert r.status_code == 200, r.text
        officer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        staff = {**officer, "X-Purpose": "legal_claims"}
        assert client.get("/v1/customers", params={"limit": 50}, headers=staff).status_code == 200
        for customer, vehicle in owned[:4]:
            r = client.get(f"/v1/customers/{customer.id}", headers=staff)
            assert r.status_code == 200, r.text
            period = {"from": start.isoformat(), "to": datetime.now(UTC).isoformat()}
            r = client.get(f"/v1/vehicles/{vehicle.id}/telemetry", params=period, headers=staff)
            assert r.status_code == 200, r.text
            r = client.get(
                f"/v1/vehicles/{vehicle.id}/telemetry",
                params={**period, "format": "ndjson"},
                headers=staff,
            )
            assert r.status_code == 200, r.text
            done["staff reads"] += 3

        # a customer: e-mail code through the file outbox, then their own data
        me_customer = owned[4][0]
        assert me_customer.contact is not None and me_customer.contact.email
        r = client.post("/v1/auth/email-code", json={"email": me_customer.contact.email})
        assert r.status_code == 202, r.text
        code_id = r.json()["code_id"]
        outbox = FileEmailOutbox(container.settings.data_dir / "outbox")
        deadline = time.monotonic() + 30
        while not outbox.messages() and time.monotonic() < deadline:
            time.sleep(0.1)
        body = outbox.messages()[-1].get_content()
        code = re.search(r"code is (\d{6})", body)
        assert code is not None
        r = client.post(
            "/v1/auth/email-code/verify", json={"code_id": code_id, "code": code.group(1)}
        )
        assert r.status_code == 200, r.text
        me = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for path in ("", "/held", "/customer", "/vehicles", "/telemetry", "/consents"):
            r = client.get(f"/v1/me{path}", headers=me)
            assert r.status_code == 200, (path, r.text)
            done["customer reads"] += 1
        # attempts that carry personal data without logging anyone in
        for other, _ in owned[5:7]:
            assert other.contact is not None and other.contact.email
            r = client.post(
                "/v1/auth/login", json={"login": other.contact.email, "password": "not it"}
            )
            assert r.status_code == 401
            done["failed logins by e-mail"] += 1
        r = client.post("/v1/auth/email-code", json={"email": "nobody.home4711@example.nl"})
        assert r.status_code == 202
        done["codes for unknown addresses"] += 1
    return {"sent": sent, "done": done, "customer": me_customer.id}


def collect_needles(container: Services, float32_of: set[float]) -> Needles:
    needles = Needles()
    customers = container.master.list_customers(limit=500).items
    for customer in customers:
        contact = customer.contact
        if contact is None:
            continue
        needles.add_text("surname", contact.surname)
        needles.add_text("first name", contact.first_name)
        needles.add_text("full name", f"{contact.first_name} {contact.surname}")
        needles.add_text("street", contact.street)
        needles.add_text("street and number", f"{contact.street} {contact.house_number}")
        needles.add_text("postal code", contact.postal_code)
        needles.add_text("e-mail", contact.email)
        needles.add_text("phone", contact.phone)
        for payment in container.master.payments_of(customer.id):
            needles.add_text("payment details", payment.method.details)
    vins = [v.vin for v in container.master.list_vehicles(limit=500).items]
    for vin in vins:
        needles.add_text("vin", vin)
    for (_, signal, _), values in stored_values(container, vins).items():
        if signal in COORDINATES:
            for value in values:
                assert isinstance(value, float)
                needles.add_coordinate("coordinate", value, as_float32=value in float32_of)
    return needles


def vins_in_other_columns(container: Services, vins: set[str]) -> list[str]:
    """Every text column of every table but ``vehicles.vin`` that holds a VIN."""
    found: list[str] = []
    pattern = re.compile("|".join(sorted(vins)))
    with container.database.engine.connect() as conn:
        for table in load_all_tables().sorted_tables:
            columns = [
                c
                for c in table.columns
                if isinstance(c.type, String | Text | JSON | LargeBinary)
                and (table.name, c.name) != ("vehicles", "vin")
            ]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    if value is not None and pattern.search(shown):
                        found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


def test_no_plaintext_of_sensitive_demo_values_in_any_file(
    database: PrivatePostgres | None, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    data_dir = tmp_path / "var"
    logs = data_dir / "logs"
    logs.mkdir(parents=True)
    url = database.url if database else f"sqlite:///{data_dir / 'carprivacy.db'}"
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(data_dir),
        "CARPRIVACY_DATABASE_URL": url,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "1024",
        "CARPRIVACY_EMAIL_TRANSPORT": "file",
    }
    run_cli(env, "db", "upgrade")
    run_cli(env, "demo", "load")
    settings = load_settings(
        data_dir=data_dir, database_url=url, argon2_time_cost=1, argon2_memory_kib=1024
    )
    container = bootstrap(settings)
    customers = container.master.list_customers(limit=100).items
    container.callers.create(
        name="leak-officer",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl_staff",
        password=PASSWORD,
        caller_id="leak-officer",
    )
    vehicles_of = container.master.vehicles_of
    owners = [c for c in customers if vehicles_of(c.id, datetime.now(UTC))]
    login_customer = owners[4]
    assert login_customer.contact is not None
    container.callers.create(
        name="leak-customer",
        kind="person",
        role="customer",
        organisation="mini_nl",
        email=login_customer.contact.email,
        subject_id=login_customer.id,
        caller_id="leak-customer",
    )
    base = f"leak{random.randrange(16**8):08x}"
    worker_topic = f"{base}/+/telemetry"
    host, port = mqtt_broker
    worker = Worker(
        env,
        [
            "--topic",
            worker_topic,
            "--no-group",
            "--client-id",
            f"{base}-w",
            "--host",
            host,
            "--port",
            str(port),
            "--batch-ms",
            "50",
            "--session-expiry",
            "60",
        ],
        logs,
        debug=True,
    )
    server = Server(env, logs, debug=True)
    try:
        worker.start()
        worker.wait_subscribed()
        server.start()
        result = workload(container, server, worker_topic, (host, port))
        expected = sum(len(spots) * FLOAT32_REPEATS * 3 for spots in result["sent"].values())
        vins = list(result["sent"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = stored_values(container, vins)
            if sum(len(v) for v in got.values()) >= expected:
                break
            time.sleep(0.2)
        assert sum(len(v) for v in got.values()) == expected, "every record sent is stored"
    finally:
        if server.process is not None:
            server.kill()
        if worker.process is not None:
            worker.kill()
    for vin, spots in result["sent"].items():  # sent values are stored, decryptable
        lats = sorted(
            {v for (x, s, _), vs in got.items() if x == vin and s == COORDINATES[0] for v in vs}
        )
        assert lats == sorted(lat for lat, _ in spots)

    sent_coordinates = {c for spots in result["sent"].values() for spot in spots for c in spot}
    needles = collect_needles(container, sent_coordinates)
    vin_columns = vins_in_other_columns(
        container, {v.decode() for v, k in needles.texts.items() if k == "vin"}
    )
    database_files: list[Path] = []
    # the platform's own backup (`carprivacy backup`), scanned like every file of the data dir
    backup = data_dir / "carprivacy.backup"
    run_cli(env, "backup", str(backup))
    assert backup.stat().st_size > 0
    if database is not None:
        with container.database.engine.begin() as conn:
            conn.execute(text("CHECKPOINT"))
        dump = database.dump(data_dir / "backup.sql")
        # pg_dump's custom archive is compressed: its SQL, as a restore reads it, is scanned too
        archive_sql = data_dir / "carprivacy.backup.sql"
        subprocess.run(
            [str(POSTGRES_BIN / "pg_restore"), "--file", str(archive_sql), str(backup)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        assert "COPY" in archive_sql.read_text(errors="replace")
        container.close()
        database.stop("fast")  # the cluster's files as they lie on disk, none changing
        # PostgreSQL's own log is a log: a VIN there counts
        database_files = [
            dump,
            backup,
            archive_sql,
            *(p for p in database.root.rglob("*") if p != database.log),
        ]
    else:
        database_files = [*data_dir.glob("carprivacy.db*"), backup]
    scanner = Scanner(needles)
    scan_started = time.monotonic()
    hits = scanner.scan_tree(data_dir)
    if database is not None:
        hits += scanner.scan_tree(database.root)
    scan_s = time.monotonic() - scan_started
    if database is None:
        container.close()
    # the vehicle master table holds VINs; everywhere else a VIN is a finding
    hits = [h for h in hits if not (h.kind == "vin" and h.path in set(database_files))]

    kinds = needles.counts()
    sizes = Counter[str]()
    for path, size in scanner.scanned:
        sizes[_group(path, data_dir, database)] += size
    print(f"\nleakage scan ({'PostgreSQL' if database else 'SQLite'}):")
    print(f"  workload: {dict(result['done'])}")
    print(f"  values: {dict(sorted(kinds.items()))}")
    print(f"  shorter than 5 bytes, not scanned: {len(needles.skipped_short)}")
    print(f"  float32-checked coordinates: {len(needles.float32)}")
    mib = scanner.bytes_scanned / 2**20
    print(f"  files: {len(scanner.scanned)}, {mib:.1f} MiB in {scan_s:.1f} s:")
    print("    " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sorted(sizes.items())))
    print(f"  hits: {len(hits)}; VINs in columns other than vehicles.vin: {vin_columns}")
    print(
        f"  float32 chance matches: {len(scanner.chance_float32)} "
        f"(expected by chance {scanner.expected_float32_chance():.2f})"
    )
    for hit in hits[:40]:
        print(
            f"    {hit.path.relative_to(hit.path.anchor)} {hit.kind} {hit.encoding} "
            f"@{hit.offset}: {hit.label}"
        )
    assert len(needles.coordinates) > 1000 and kinds["e-mail"] >= 15 and kinds["vin"] >= 20
    assert any(p.name.endswith("-wal") for p, _ in scanner.scanned) or database is not None
    assert any(p.name == "server-1.log" for p, _ in scanner.scanned)
    assert hits == []
    assert vin_columns == []


def _group(path: Path, data_dir: Path, database: PrivatePostgres | None) -> str:
    if database is not None and path.is_relative_to(database.root):
        return "pg_wal" if "pg_wal" in path.parts else "postgres data"
    relative = path.relative_to(data_dir)
    if relative.parts[0] in ("logs", "outbox"):
        return relative.parts[0]
    return relative.name if relative.name.startswith("carprivacy.db") else "other"


def test_the_scanner_finds_each_encoding(tmp_path: Path) -> None:
    """The scan can fail: a value planted in each encoding is found, in the file it is in."""
    lat, lon = 52.37310471234567, 4.892234567812345
    needles = Needles()
    needles.add_text("surname", "van Leeuwen")
    needles.add_text("e-mail", "eva.jansen7@example.nl")
    needles.add_text("first name", "Eva")  # too short to tell from ciphertext: not looked for
    needles.add_coordinate("coordinate", lat, as_float32=True)
    needles.add_coordinate("coordinate", lon)
    noise = random.Random(5).randbytes(200_000)
    planted = {
        "utf-8": b"van Leeuwen",
        "utf-16-le": "eva.jansen7@example.nl".encode("utf-16-le"),
        "utf-16-be": "van Leeuwen".encode("utf-16-be"),
        "hex": b"\\x" + b"van Leeuwen".hex().encode(),
        "decimal": b'{"lat": 52.37310471234567}',
        "double-le": struct.pack("<d", lon),
        "double-be": struct.pack(">d", lat),
        "float32-be": struct.pack(">f", lat) * FLOAT32_REPEATS,
    }
    for name, value in planted.items():
        (tmp_path / name).write_bytes(noise[:777] + value + noise[777:])
    (tmp_path / "clean").write_bytes(noise + b"at 18:40:52.373104 +52.37 4.8922 Eva")
    scanner = Scanner(needles)
    hits = scanner.scan_tree(tmp_path)
    found = {(h.path.name, h.encoding) for h in hits}
    assert found == {(name, name) for name in planted}
    assert all(777 <= h.offset < 777 + len(planted[h.path.name]) for h in hits), hits
    assert needles.skipped_short == {"Eva"}
