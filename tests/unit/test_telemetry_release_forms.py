"""Telemetry read back on rows releases exactly what the general releaser gives (SPEC U1-U3, R1).

On the in-memory composition root: one vehicle's values (one sensitive signal, sealed), an owner
change and a fleet period. For the owner (identified), a dealer (vehicle-linked), R&D staff and
a development partner (pseudonymised, coarsened) and the fleet operator (its fleet's time only),
every value ``TelemetryReads.stream`` gives equals ``views.release`` of the stored value as a
record dict, under the decision the engine makes for that value's (category, subject, vehicle,
fleet) at the reading's time, attribution checked; values the decision refuses, or past their
retention, are not given; the decisions are recorded once per key.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from carprivacy.domain.access import Caller, CallerKind, Decision, Role
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.telemetry import StoredReading, TelemetryWindow, aad_for, decode_value
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.services.access.gate import Reading
from carprivacy.services.access.telemetry import TelemetryQuery
from carprivacy.services.access.views import release
from carprivacy.testing.bootstrap import InMemoryStores, bootstrap_in_memory

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T0 = NOW - timedelta(days=3)
T1 = NOW - timedelta(days=2)  # owner change
T2 = NOW - timedelta(days=1)  # fleet period begins
VIN = "WMW11DJ0402R00077"
SIGNALS = {
    "Vehicle.TraveledDistance": lambda h: 1000.0 + h,
    "Vehicle.Service.DistanceToService": lambda h: 20000 - h,
    "Vehicle.Speed": lambda h: float(h % 120),  # sensitive: sealed
}
CALLERS = {
    "owner": (Caller("o", CallerKind.PERSON, Role.CUSTOMER, "mini_nl"), "contract_performance"),
    "dealer": (Caller("d", CallerKind.PERSON, Role.DEALER, "dealers"), "after_sales_service"),
    "rnd": (
        Caller("r", CallerKind.PERSON, Role.RND_ANALYST, "mini_ag_staff"),
        "product_development",
    ),
    "partner": (
        Caller("p", CallerKind.MACHINE, Role.PARTNER, "catena_x_partners"),
        "development_partners",
    ),
    "fleet": (
        Caller("f", CallerKind.PERSON, Role.FLEET_MANAGER, "fleet_operators"),
        "fleet_operation",
    ),
}


@pytest.fixture(scope="module")
def world() -> dict[str, object]:
    stores = InMemoryStores()
    s = bootstrap_in_memory(stores=stores)
    m = s.master
    contact = ContactDetails("Bakker", "Anna", "Markt", "3", "5611 EB", "Eindhoven", "NL")
    first, second = m.register_customer(contact).id, m.register_customer(contact).id
    fleet = m.create_fleet("Lease B.V.", "NL").id
    vehicle = m.register_vehicle(VIN, "MINI Aceman", "Sage Green", (), date(2040, 1, 1)).id
    m.add_usage(vehicle, UsageKind.OWNER, T0, customer_id=first)
    m.add_usage(vehicle, UsageKind.OWNER, T1, customer_id=second)
    m.add_usage(vehicle, UsageKind.FLEET, T2, fleet_id=fleet)
    m.conclude_contract(first, vehicle, T0 - timedelta(days=1), ["teleservices"])
    m.conclude_contract(second, vehicle, T1, ["teleservices"])
    records = [
        {"signal": name, "value": f(h), "ts": (T0 + timedelta(hours=h, minutes=7)).isoformat()}
        for h in range(3 * 24 - 1)
        for name, f in SIGNALS.items()
    ]
    result = s.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=NOW)
    assert result.accepted == len(records)
    return {
        "services": s,
        "stores": stores,
        "first": first,
        "second": second,
        "fleet": fleet,
        "vehicle": vehicle,
    }


def _expected(world: dict[str, object], reading: Reading) -> tuple[list[dict[str, object]], int]:
    """The general path: each stored value as a record dict, decided per key, ``release``d."""
    s = world["services"]
    reads, gate = s.telemetry_reads, s.gate  # type: ignore[attr-defined]
    at = gate.clock()
    window = TelemetryWindow(vehicle_id=str(world["vehicle"]), live_at=at)
    rows: list[StoredReading] = reads.reader.window(window, None, 100_000)
    purpose = gate.policy.purposes_by_id[reading.purpose]
    categories = {c for c in purpose.categories if c in reads.catalogue.categories}
    decided: dict[tuple[object, ...], Decision] = {}
    out = []
    for row in rows:
        view = reads._view_for(row.signal)
        if view is None or view.category not in categories:
            continue
        key = (view.category, row.subject_id, row.vehicle_id, row.fleet_id)
        if key not in decided:
            request = gate._request(reading, view, at, {}, row.subject_id, row.vehicle_id)
            with gate.session() as session:
                snapshot = session.snapshot(
                    {row.subject_id} - {None}, {row.vehicle_id}, countries=True
                )
            (found,) = gate.decisions.decide_with([request], snapshot, record=False)
            decided[key] = gate._attribution(reading.caller, request, found, row.fleet_id, None)
        decision = decided[key]
        if not decision.allowed or (row.expires_at is not None and row.expires_at <= at):
            continue
        text = row.value
        if text is None:
            aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
            text = s.cipher.decrypt(row.key_owner, row.value_ciphertext, aad).decode()
        record = {
            "id": row.id,
            "ts": row.ts,
            "signal": row.signal,
            "value": decode_value(text),
            "unit": row.unit,
            "category": row.category,
            "vehicle_id": row.vehicle_id,
            "subject_id": row.subject_id,
            "expires_at": row.expires_at,
        }
        shape = gate._shape(view.category, decision.purpose)
        released = release(
            view, decision, record, shape, gate.pseudonymiser(reading.caller.organisation)
        )
        if "value" in released:
            out.append(released)
    # the audit trail groups one read's decisions: one entry per distinct decision, naming its
    # subjects and vehicles (AuditService.record_read)
    groups = {
        (d.categories, d.outcome, d.rule, d.form if d.allowed else None) for d in decided.values()
    }
    return out, len(groups)


@pytest.mark.parametrize("who", list(CALLERS))
def test_each_form_equals_the_general_release(world: dict[str, object], who: str) -> None:
    caller, purpose = CALLERS[who]
    if who == "owner":
        caller = replace(caller, subject_id=str(world["second"]))
    if who == "fleet":
        caller = replace(caller, fleet_id=str(world["fleet"]))
    reading = Reading(caller, purpose, action="test")
    s = world["services"]
    log = world["stores"].audit_log  # type: ignore[attr-defined]
    audit_before = len(list(log.iter_entries()))
    got = list(s.telemetry_reads.stream(reading, TelemetryQuery(vehicle_id=str(world["vehicle"]))))  # type: ignore[attr-defined]
    expected, entries = _expected(world, reading)
    assert got and got == expected
    assert [list(g) for g in got] == [list(e) for e in expected]  # one key order
    # one audit entry per distinct decision of the read, not one per value nor per key
    assert len(list(log.iter_entries())) - audit_before == entries
    if who == "owner":
        assert {g["subject_id"] for g in got} == {world["second"]}
    if who in ("dealer", "fleet"):
        assert all("subject_id" not in g for g in got)
    if who in ("rnd", "partner"):
        assert all(str(g["vehicle_id"]).startswith("ps_") for g in got)
    if who == "fleet":
        assert min(g["ts"] for g in got) >= T2  # type: ignore[type-var]
