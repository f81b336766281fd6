"""IngestService on in-memory fakes (SPEC I1-I3, P4)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from carprivacy.adapters.catalogue import load_catalogue
from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.errors import KeyDestroyedError, PolicyError
from carprivacy.domain.master import UsageKind, VehicleUsage
from carprivacy.domain.signals.catalogue import Signal, SignalCatalogue, SignalType
from carprivacy.domain.telemetry import aad_for, decode_value, quarantine_aad
from carprivacy.services.ingestion.pipeline import IngestService, VehicleInfo
from carprivacy.testing.telemetry import (
    InMemoryDataKeyRepository,
    InMemoryTelemetryRepository,
    InMemoryVehicleDirectory,
)

VIN = "WMW11111111111111"
OTHER_VIN = "WMW22222222222222"
UNLINKED_VIN = "WMW33333333333333"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHANGE = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
POLICY = load_policy_file(default_policy_path())
CATALOGUE = load_catalogue()


def usage(uid: str, vid: str, customer: str, start: datetime, end: datetime | None) -> VehicleUsage:
    return VehicleUsage(uid, vid, UsageKind.OWNER, customer, None, start, end, start)


@pytest.fixture
def world() -> tuple[IngestService, InMemoryTelemetryRepository, EnvelopeCipher]:
    return make_world()


def make_world() -> tuple[IngestService, InMemoryTelemetryRepository, EnvelopeCipher]:
    """Alice owns veh-1 until CHANGE, Bob from then on; veh-2 is in fleet-9; veh-3 is unlinked."""
    directory = InMemoryVehicleDirectory()
    directory.add(
        VehicleInfo(
            "veh-1",
            VIN,
            date(2040, 1, 31),
            (
                usage("u1", "veh-1", "alice", T0 - timedelta(days=400), CHANGE),
                usage("u2", "veh-1", "bob", CHANGE, None),
            ),
        )
    )
    directory.add(VehicleInfo("veh-2", OTHER_VIN, None, ()))
    directory.vehicles[OTHER_VIN] = VehicleInfo(
        "veh-2",
        OTHER_VIN,
        None,
        (
            VehicleUsage(
                "f1", "veh-2", UsageKind.FLEET, None, "fleet-9", T0 - timedelta(days=9), None, T0
            ),
        ),
    )
    directory.add(VehicleInfo("veh-3", UNLINKED_VIN, None, ()))
    repo = InMemoryTelemetryRepository()
    cipher = EnvelopeCipher(InMemoryDataKeyRepository(), MasterKeyRing(new_master_key()))
    service = IngestService(
        POLICY, CATALOGUE, repo, directory, cipher, max_future_skew=timedelta(minutes=5)
    )
    return service, repo, cipher


def rec(signal: str, value: object, ts: datetime = T0, **extra: object) -> dict[str, object]:
    return {"signal": signal, "value": value, "ts": ts.isoformat(), **extra}


def test_good_records_are_stored_and_bad_ones_quarantined_with_index_field_and_rule(world):
    service, repo, _ = world
    batch = [
        rec("Vehicle.TraveledDistance", 12345),
        rec("Vehicle.Unknown.Thing", 1),
        rec("Vehicle.Speed", "fast"),
        rec("Vehicle.LowVoltageBattery.CurrentVoltage", 99.0),
        rec("Vehicle.Speed", 50.0, NOW + timedelta(hours=1)),
        rec("Vehicle.Speed", 51.0, vin=OTHER_VIN),
        {"signal": "Vehicle.Speed", "value": 1, "ts": "yesterday"},
        rec("Vehicle.Speed", 52.0, T0 + timedelta(seconds=1)),
    ]
    result = service.ingest(batch, source="http", vehicle_vin=VIN, received_at=NOW)
    assert (result.accepted, result.rejected) == (2, 6)
    rules = {s.index: [(e.path, e.rule) for e in s.errors] for s in result.statuses}
    assert rules == {
        0: [],
        1: [("records[1].signal", "known_signal")],
        2: [("records[2].value", "type")],
        3: [("records[3].value", "range")],
        4: [("records[4].ts", "future")],
        5: [("records[5].vin", "vin_mismatch")],
        6: [("records[6].ts", "iso8601_tz")],
        7: [],
    }
    assert repo.count() == 2
    assert [q.record_index for q in repo.quarantine()] == [1, 2, 3, 4, 5, 6]
    assert repo.quarantine()[2].reasons[0].rule == "range"


def test_no_value_appears_in_an_error_message(world):
    service, _, _ = world
    secret = "Kerkstraat 12 Rijswijk"
    result = service.ingest(
        [rec("Private.CarPrivacy.Sensor.VoiceCommand", secret * 50)],
        source="mqtt",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert result.rejected == 1
    assert all(secret not in e.message for e in result.statuses[0].errors)


def test_no_field_name_of_the_sender_appears_in_an_error_message(world):
    """A sender's own field names can be personal data ("Jan de Vries, Damrak 1": "x"): the
    reason counts them and names the fields a record may have, in the answer and in quarantine."""
    service, repo, _ = world
    names = ["Jan de Vries, Damrak 1", "lat 52.3731"]
    record = {**rec("Vehicle.TraveledDistance", 100), **dict.fromkeys(names, "x")}
    result = service.ingest([record], source="http", vehicle_vin=VIN, received_at=NOW)
    (problem,) = result.statuses[0].errors
    assert (problem.path, problem.rule) == ("records[0]", "unknown_fields")
    assert problem.message.startswith("2 unexpected field(s)")
    (q,) = repo.quarantine()
    assert not any(n in p.message or n in p.path for n in names for p in q.reasons)
    assert not any(n.encode() in q.payload_ciphertext for n in names)


def test_unknown_and_unlinked_vehicles_are_refused(world):
    service, repo, _ = world
    result = service.ingest(
        [
            rec("Vehicle.Speed", 1.0, vin="WMW99999999999999"),
            rec("Vehicle.Speed", 1.0, vin=UNLINKED_VIN),
        ],
        source="mqtt",
        vehicle_vin=None,
        received_at=NOW,
    )
    assert [s.errors[0].rule for s in result.statuses] == ["known_vehicle", "linked_vehicle"]
    assert repo.count() == 0 and len(repo.quarantine()) == 2
    # the unlinked vehicle is known: its quarantine is sealed under its own key
    assert repo.quarantine()[1].key_owner == "vehicle:veh-3"


def test_records_belong_to_the_owner_of_their_moment_and_sensitive_values_are_ciphertext(world):
    service, repo, cipher = world
    before, after = CHANGE - timedelta(seconds=1), CHANGE
    service.ingest(
        [
            rec("Vehicle.CurrentLocation.Latitude", 52.04, before),
            rec("Vehicle.CurrentLocation.Latitude", 52.05, after),
            rec("Vehicle.TraveledDistance", 100, after),
        ],
        source="mqtt",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    rows = repo.rows_for_vehicle("veh-1")
    lat_before, lat_after, distance = rows[0], rows[1], rows[2]
    assert (lat_before.subject_id, lat_after.subject_id) == ("alice", "bob")
    assert lat_before.value is None and lat_before.value_ciphertext is not None
    assert b"52.04" not in lat_before.value_ciphertext
    aad = aad_for("veh-1", lat_before.signal, lat_before.ts, "mqtt")
    assert decode_value(cipher.decrypt("subject:alice", lat_before.value_ciphertext, aad)) == 52.04
    # the other owner's key does not open it
    with pytest.raises(ValueError):
        cipher.decrypt("subject:bob", lat_before.value_ciphertext, aad)
    assert distance.value == "100" and distance.value_ciphertext is None
    assert distance.category == "vehicle_status" and distance.unit == "m"
    assert "contract_performance" in distance.purposes
    assert "cardata_sharing" not in distance.purposes  # consent purposes are not tagged
    assert lat_before.source == "mqtt" and lat_before.received_at == NOW


def test_expiry_follows_the_policy(world):
    service, repo, _ = world
    service.ingest(
        [rec("Vehicle.CurrentLocation.Latitude", 1.0), rec("Vehicle.TraveledDistance", 1)],
        source="http",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    by_signal = {r.signal: r for r in repo.rows_for_vehicle("veh-1")}
    # section B position data: 4 weeks
    assert by_signal["Vehicle.CurrentLocation.Latitude"].expires_at == T0 + timedelta(weeks=4)
    # vehicle status is also technical data of section D: until the vehicle's end of life
    assert by_signal["Vehicle.TraveledDistance"].expires_at == datetime(2040, 1, 31, tzinfo=UTC)


def test_fleet_vehicle_without_driver_is_encrypted_under_the_vehicle_key(world):
    service, repo, cipher = world
    service.ingest(
        [rec("Vehicle.CurrentLocation.Longitude", 4.3)],
        source="mqtt",
        vehicle_vin=OTHER_VIN,
        received_at=NOW,
    )
    (row,) = repo.rows_for_vehicle("veh-2")
    assert (row.subject_id, row.fleet_id, row.key_owner) == (None, "fleet-9", "vehicle:veh-2")


def test_redelivery_is_stored_once(world):
    service, repo, _ = world
    batch = [rec("Vehicle.Speed", 10.0), rec("Vehicle.Speed", 10.0)]
    first = service.ingest(batch, source="mqtt", vehicle_vin=VIN, received_at=NOW)
    second = service.ingest(batch, source="mqtt", vehicle_vin=VIN, received_at=NOW)
    assert first.accepted == 1 and first.duplicates == 1
    assert [s.status for s in first.statuses] == ["accepted", "duplicate"]
    assert second.accepted == 0 and second.duplicates == 2
    assert [s.status for s in second.statuses] == ["duplicate", "duplicate"]
    assert repo.count() == 1
    # the same instant written with another offset is the same record
    other_offset = T0.astimezone(timezone_plus_two()).isoformat()
    service.ingest(
        [{"signal": "Vehicle.Speed", "value": 10.0, "ts": other_offset}],
        source="mqtt",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert repo.count() == 1


def timezone_plus_two():
    from datetime import timezone

    return timezone(timedelta(hours=2))


def test_nothing_is_stored_when_the_store_fails(world):
    service, repo, _ = world
    repo.fail_next_store = True
    with pytest.raises(ConnectionError):
        service.ingest(
            [rec("Vehicle.Speed", 1.0), rec("Nope", 1)],
            source="http",
            vehicle_vin=VIN,
            received_at=NOW,
        )
    assert repo.count() == 0 and repo.quarantine() == []


def test_erased_subject_gets_no_new_sensitive_data(world):
    service, repo, cipher = world
    cipher.destroy_key("subject:bob")
    result = service.ingest(
        [
            rec("Vehicle.CurrentLocation.Latitude", 1.0, NOW),
            rec("Vehicle.TraveledDistance", 5, NOW),
        ],
        source="http",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert [s.status for s in result.statuses] == ["rejected", "accepted"]
    assert result.statuses[0].errors[0].rule == "erased_subject"
    with pytest.raises(KeyDestroyedError):
        cipher.encrypt("subject:bob", b"x")


def test_quarantined_message_is_sealed(world):
    service, repo, cipher = world
    from carprivacy.domain.errors import Problem

    raw = b'{"signal": "Vehicle.Speed", "value": 5'
    problem = Problem("message", "json", "malformed JSON at line 1, column 38")
    service.quarantine_message(raw, problem, source="mqtt", vehicle_vin=VIN, received_at=NOW)
    (q,) = repo.quarantine()
    assert q.record_index is None and q.reasons == (problem,) and raw not in q.payload_ciphertext
    assert q.key_owner == "subject:bob"  # the vehicle's user at receipt (after the owner change)
    aad = quarantine_aad("mqtt", "veh-1", None, NOW, "subject:bob", (problem,))
    assert cipher.decrypt(q.key_owner, q.payload_ciphertext, aad) == raw


def test_unknown_source_is_refused(world):
    service, _, _ = world
    from carprivacy.domain.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        service.ingest([], source="carrier-pigeon", vehicle_vin=None, received_at=NOW)


def test_a_signal_of_a_category_the_policy_lacks_fails_at_start_up():
    bad = SignalCatalogue(
        (*CATALOGUE.signals, Signal("Vehicle.Body.Horn.IsActive", SignalType.BOOLEAN, "horn_use")),
    )
    with pytest.raises(PolicyError) as err:
        IngestService(
            POLICY,
            bad,
            InMemoryTelemetryRepository(),
            InMemoryVehicleDirectory(),
            EnvelopeCipher(InMemoryDataKeyRepository(), MasterKeyRing(new_master_key())),
        )
    assert err.value.problems[0].rule == "known_category"
    assert "horn_use" in err.value.problems[0].message


def test_statuses_cover_every_record_in_order(world):
    service, _, _ = world
    batch = [rec("Vehicle.Speed", float(i), T0 + timedelta(seconds=i)) for i in range(5)]
    batch.insert(2, "not an object")  # type: ignore[arg-type]
    result = service.ingest(batch, source="http", vehicle_vin=VIN, received_at=NOW)
    assert [s.index for s in result.statuses] == list(range(6))
    assert result.statuses[2].errors[0].rule == "type"
    assert json.loads(json.dumps([s.status for s in result.statuses]))[2] == "rejected"
    _ = replace


def test_every_missing_required_field_is_named_with_rule_required(world):
    """Incomplete records (SPEC I1): no value, no ts, JSON null, no VIN at all."""
    service, repo, _ = world
    ts = T0.isoformat()
    records = [
        {"signal": "Vehicle.Speed", "ts": ts},
        {"signal": "Vehicle.Speed", "value": None, "ts": ts},
        {"signal": "Vehicle.Speed", "value": 1.0},
        {"signal": "Vehicle.Speed", "value": 1.0, "ts": None},
        {"value": 1.0, "ts": ts, "vin": VIN},
        {},
    ]
    result = service.ingest(records, source="mqtt", vehicle_vin=None, received_at=NOW)
    required = [sorted(e.path for e in s.errors if e.rule == "required") for s in result.statuses]
    assert required == [
        ["records[0].value", "records[0].vin"],
        ["records[1].value", "records[1].vin"],
        ["records[2].ts", "records[2].vin"],
        ["records[3].ts", "records[3].vin"],
        ["records[4].signal"],
        ["records[5].signal", "records[5].ts", "records[5].value", "records[5].vin"],
    ]
    assert result.accepted == 0 and repo.count() == 0


def test_duplicates_get_their_own_status_between_rejected_and_accepted(world):
    """A repeated record is "duplicate" (already stored, nothing new), never counted accepted."""
    service, repo, _ = world
    pos = rec("Vehicle.CurrentLocation.Latitude", 52.1)  # sensitive: sealed later in the batch
    speed = rec("Vehicle.Speed", 10.0)
    service.ingest([pos, speed], source="http", vehicle_vin=VIN, received_at=NOW)
    later = rec("Vehicle.Speed", 11.0, T0 + timedelta(seconds=1))
    bad = rec("Vehicle.Speed", "fast")
    result = service.ingest(
        [bad, pos, later, speed, dict(later)], source="http", vehicle_vin=VIN, received_at=NOW
    )
    assert [s.status for s in result.statuses] == [
        "rejected",
        "duplicate",
        "accepted",
        "duplicate",
        "duplicate",
    ]
    assert (result.accepted, result.rejected, result.duplicates) == (1, 1, 3)
    assert repo.count() == 3


@pytest.mark.parametrize("transport", [None, VIN])
def test_a_vin_that_is_not_a_vin_is_named_by_syntax_not_as_unknown(world, transport):
    """Rule ``vin`` for a malformed VIN, ``known_vehicle`` for a well-formed unknown one, on the
    fast path (no transport VIN) and on the full check (a transport VIN)."""
    service, repo, _ = world
    records = [
        rec("Vehicle.TraveledDistance", 1, vin="NOTAVIN"),
        rec("Vehicle.TraveledDistance", 1, vin="WMW99999999999999"),
    ]
    result = service.ingest(records, source="mqtt", vehicle_vin=transport, received_at=NOW)
    rules = [[(e.path, e.rule) for e in s.errors] for s in result.statuses]
    assert rules[0] == [("records[0].vin", "vin")]
    assert rules[1] == [
        ("records[1].vin", "known_vehicle" if transport is None else "vin_mismatch")
    ]
    assert [[(p.path, p.rule) for p in q.reasons] for q in repo.quarantine()] == rules


def test_records_the_transport_refused_keep_its_reasons(world):
    from carprivacy.domain.errors import Problem

    service, repo, _ = world
    problem = Problem("records[1]", "json", "malformed JSON at line 2 column 3: Expecting value")
    result = service.ingest(
        [
            rec("Vehicle.TraveledDistance", 1),
            '{"signal": ',
            rec("Vehicle.TraveledDistance", 2, T0 + timedelta(seconds=1)),
        ],
        source="http",
        vehicle_vin=VIN,
        received_at=NOW,
        refused={1: [problem]},
    )
    assert [s.status for s in result.statuses] == ["accepted", "rejected", "accepted"]
    assert result.statuses[1].errors == (problem,)
    (q,) = repo.quarantine()
    assert q.reasons == (problem,) and q.record_index == 1
