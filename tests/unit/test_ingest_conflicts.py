"""Redelivery vs conflict, and how quarantine is sealed (SPEC I1, I3, R3).

A record whose natural key (vehicle, signal, time, source) is stored is a ``duplicate`` when its
value is the stored one, and ``rejected`` (rule ``conflicting_duplicate``) and quarantined when it
differs; the stored value never changes. Quarantined payloads are sealed under the key of the data
subject of the record's moment, bound to their row, and withheld for an erased subject.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.test_ingest_service import CHANGE, NOW, T0, VIN, make_world, rec, world

from carprivacy.domain.errors import CiphertextError
from carprivacy.domain.telemetry import PAYLOAD_WITHHELD, aad_for, decode_value
from carprivacy.services.ingestion.quarantine import QuarantineSealer

__all__ = ["world"]  # the fixture, shared with test_ingest_service

VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"  # plain category
LATITUDE = "Vehicle.CurrentLocation.Latitude"  # sensitive: stored as ciphertext


def statuses(result):
    return [(s.status, tuple(e.rule for e in s.errors)) for s in result.statuses]


@pytest.mark.parametrize("signal", [VOLTAGE, LATITUDE])
def test_another_value_under_a_stored_key_is_refused_and_quarantined(world, signal):
    service, repo, cipher = world
    service.ingest([rec(signal, 50.0)], source="http", vehicle_vin=VIN, received_at=NOW)
    result = service.ingest(
        [rec(signal, 50.0), rec(signal, 51.5)], source="http", vehicle_vin=VIN, received_at=NOW
    )
    assert statuses(result) == [("duplicate", ()), ("rejected", ("conflicting_duplicate",))]
    assert (result.accepted, result.rejected, result.duplicates) == (0, 1, 1)
    (problem,) = result.statuses[1].errors
    assert problem.path == "records[1].value" and "51.5" not in problem.message
    (stored,) = repo.rows_for_vehicle("veh-1")
    if stored.value is None:  # sensitive: compare through the cipher
        aad = aad_for(stored.vehicle_id, stored.signal, stored.ts, stored.source)
        text = cipher.decrypt(stored.key_owner, stored.value_ciphertext, aad).decode()
    else:
        text = stored.value
    assert decode_value(text) == 50.0  # the stored value is kept
    (q,) = repo.quarantine()
    assert q.record_index == 1 and q.reasons == (problem,)
    assert q.key_owner == "subject:alice"  # T0 is before the owner change
    opened = QuarantineSealer(cipher).open(q)
    assert opened is not None and json.loads(opened)["value"] == 51.5  # the new value is kept too


def test_a_conflict_within_one_batch_keeps_the_first_value(world):
    service, repo, _ = world
    result = service.ingest(
        [rec(VOLTAGE, 10.0), rec(VOLTAGE, 10.0), rec(VOLTAGE, 12.0)],
        source="mqtt",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert [s.status for s in result.statuses] == ["accepted", "duplicate", "rejected"]
    assert [decode_value(r.value) for r in repo.rows_for_vehicle("veh-1")] == [10.0]
    assert len(repo.quarantine()) == 1


def test_the_same_time_from_another_source_is_another_record(world):
    service, repo, _ = world
    service.ingest([rec(VOLTAGE, 10.0)], source="http", vehicle_vin=VIN, received_at=NOW)
    result = service.ingest([rec(VOLTAGE, 12.0)], source="mqtt", vehicle_vin=VIN, received_at=NOW)
    assert result.accepted == 1 and repo.count() == 2


def test_a_refused_record_is_sealed_for_the_subject_of_its_own_time(world):
    service, repo, cipher = world
    before, after = T0, CHANGE + timedelta(minutes=1)
    result = service.ingest(
        [
            rec(VOLTAGE, "fast", before),
            rec(VOLTAGE, "fast", after),
            {"signal": VOLTAGE, "value": "fast", "ts": "soon"},
        ],
        source="http",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert result.rejected == 3
    owners = [q.key_owner for q in repo.quarantine()]
    # alice before the change, bob after it; an unreadable time: the user at receipt (bob)
    assert owners == ["subject:alice", "subject:bob", "subject:bob"]
    sealer = QuarantineSealer(cipher)
    assert all(sealer.open(q) is not None for q in repo.quarantine())
    cipher.destroy_key("subject:alice")  # erasure shreds alice's quarantined payloads too
    assert [sealer.open(q) is None for q in repo.quarantine()] == [True, False, False]


def test_an_erased_subject_leaves_only_reasons_in_quarantine(world):
    service, repo, cipher = world
    cipher.destroy_key("subject:bob")
    after = CHANGE + timedelta(minutes=1)
    result = service.ingest(
        [rec(LATITUDE, 52.1, after), rec(VOLTAGE, "fast", after)],
        source="http",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert [s.errors[0].rule for s in result.statuses] == ["erased_subject", "type"]
    quarantined = repo.quarantine()
    assert len(quarantined) == 2
    assert all(q.payload_ciphertext == PAYLOAD_WITHHELD for q in quarantined)
    assert all(QuarantineSealer(cipher).open(q) is None for q in quarantined)


def test_a_quarantined_payload_does_not_open_in_another_row(world):
    service, repo, cipher = world
    service.ingest(
        [rec(VOLTAGE, "fast"), rec("Vehicle.Nope", 1)],
        source="http",
        vehicle_vin=VIN,
        received_at=NOW,
    )
    first, second = repo.quarantine()
    sealer = QuarantineSealer(cipher)
    for moved in (
        replace(second, payload_ciphertext=first.payload_ciphertext),  # swapped payloads
        replace(first, reasons=second.reasons),  # other reasons
        replace(first, vehicle_id="veh-2"),  # another vehicle
        replace(first, received_at=first.received_at + timedelta(seconds=1)),
    ):
        with pytest.raises(CiphertextError):
            sealer.open(moved)


# --- property: statuses and the store follow an independent oracle -------------------------

VALUES = st.sampled_from([10.0, 11.0, 12.5])
SIGNALS = st.sampled_from([VOLTAGE, LATITUDE])
SECONDS = st.integers(min_value=0, max_value=3)
BATCH = st.lists(st.tuples(SIGNALS, SECONDS, VALUES), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(BATCH, min_size=1, max_size=4))
def test_statuses_match_an_oracle_of_first_value_wins(batches):
    service, repo, cipher = make_world()
    stored: dict[tuple[str, int], float] = {}
    conflicts = 0
    for batch in batches:
        records = [rec(sig, value, T0 + timedelta(seconds=sec)) for sig, sec, value in batch]
        result = service.ingest(records, source="mqtt", vehicle_vin=VIN, received_at=NOW)
        expected = []
        for sig, sec, value in batch:
            key = (sig, sec)
            if key not in stored:
                stored[key] = value
                expected.append("accepted")
            elif stored[key] == value:
                expected.append("duplicate")
            else:
                conflicts += 1
                expected.append("rejected")
        assert [s.status for s in result.statuses] == expected
        assert result.accepted + result.rejected + result.duplicates == len(batch)
    assert repo.count() == len(stored) and len(repo.quarantine()) == conflicts
    for row in repo.rows_for_vehicle("veh-1"):
        text = row.value
        if text is None:
            aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
            text = cipher.decrypt(row.key_owner, row.value_ciphertext, aad).decode()
        key = (row.signal, int((row.ts - T0).total_seconds()))
        assert decode_value(text) == stored[key]


def test_a_record_naming_another_vin_is_sealed_for_the_sending_vehicle(world):
    service, repo, _ = world
    record = {**rec(VOLTAGE, 12.1), "vin": "WMW99999999999999"}
    result = service.ingest([record], source="http", vehicle_vin=VIN, received_at=NOW)
    assert result.statuses[0].errors[0].rule == "vin_mismatch"
    (q,) = repo.quarantine()
    assert (q.vehicle_id, q.key_owner) == ("veh-1", "subject:alice")  # the credential's car


@pytest.mark.parametrize(("first", "again"), [(13, 13.0), (13.0, 13), (52, 52.0), (1.3e1, 13)])
@pytest.mark.parametrize("signal", [VOLTAGE, LATITUDE])
def test_a_whole_number_and_its_float_are_one_value_of_a_float_signal(world, signal, first, again):
    """Another JSON writer may resend 13 as 13.0: a duplicate, not a conflict."""
    service, repo, _ = world
    records = [rec(signal, first), rec(signal, again)]
    result = service.ingest(records, source="mqtt", vehicle_vin=VIN, received_at=NOW)
    assert [s.status for s in result.statuses] == ["accepted", "duplicate"]
    assert repo.quarantine() == []


@pytest.mark.parametrize(
    ("stored", "new", "same"),
    [
        ("13", "13.0", True),  # stored before float signals stored floats
        ("-0.0", "0.0", True),
        ("52.1", "52.1", True),
        ("true", "1", False),  # a boolean is not a number
        ('"13"', "13.0", False),  # a string is not a number
        ("13", "14.0", False),
        ("not json", "13", False),
    ],
)
def test_stored_texts_are_compared_by_value(stored, new, same):
    from carprivacy.services.ingestion.conflicts import same_text

    assert same_text(stored, new) is same


@pytest.mark.parametrize("signal", [VOLTAGE, LATITUDE])
def test_a_value_stored_the_old_way_is_still_a_duplicate(world, signal):
    """Rows stored before whole numbers of float signals were stored as floats hold "13"."""
    service, repo, cipher = world
    service.ingest([rec(signal, 13)], source="mqtt", vehicle_vin=VIN, received_at=NOW)
    [(key, row)] = repo.rows.items()
    if row.value is None:
        aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
        old = cipher.encrypt(row.key_owner, b"13", aad)
        repo.rows[key] = row._replace(value_ciphertext=old)
    else:
        repo.rows[key] = row._replace(value="13")
    again = service.ingest([rec(signal, 13)], source="mqtt", vehicle_vin=VIN, received_at=NOW)
    assert [s.status for s in again.statuses] == ["duplicate"] and repo.quarantine() == []
