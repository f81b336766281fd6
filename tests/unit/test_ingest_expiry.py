"""A record already past its retention when it is received is refused (SPEC P4, I1), on every
transport: rule ``retention.expired`` on ``records[i].ts``, quarantined like other refusals and
counted as rejected; a record is stored iff its expiry is after its receipt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.test_ingest_service import CATALOGUE, NOW, POLICY, VIN, make_world, rec, usage

from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.domain.policy import RetentionAnchor, RetentionRule
from carprivacy.domain.retention import expiry_for
from carprivacy.domain.telemetry import collection_purposes
from carprivacy.services.ingestion.pipeline import IngestService, VehicleInfo
from carprivacy.testing.telemetry import (
    InMemoryDataKeyRepository,
    InMemoryTelemetryRepository,
    InMemoryVehicleDirectory,
)

SPEED = "Vehicle.Speed"  # position_movement: 4 weeks (section B), sensitive
VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"  # vehicle_status: until end of life


@pytest.mark.parametrize("source", ["http", "mqtt", "workshop"])
def test_a_record_past_its_retention_at_receipt_is_refused_and_quarantined(source):
    service, repo, _ = make_world()
    old = NOW - timedelta(days=35)  # position data is kept 4 weeks
    recent = NOW - timedelta(days=27)
    result = service.ingest(
        [rec(SPEED, 50.0, old), rec(SPEED, 51.0, recent), rec(VOLTAGE, 12.5, old)],
        source=source,
        vehicle_vin=VIN,
        received_at=NOW,
    )
    assert [s.status for s in result.statuses] == ["rejected", "accepted", "accepted"]
    assert (result.accepted, result.rejected) == (2, 1)
    (problem,) = result.statuses[0].errors
    assert (problem.path, problem.rule) == ("records[0].ts", "retention.expired")
    assert "50.0" not in problem.message
    assert repo.count() == 2
    assert all(r.expires_at is None or r.expires_at > NOW for r in repo.rows.values())
    (q,) = repo.quarantine()
    assert q.record_index == 0 and q.reasons == (problem,)


def test_expired_records_keep_the_senders_numbering():
    service, repo, _ = make_world()
    old = NOW - timedelta(days=40)
    result = service.ingest(
        [rec(SPEED, 1.0), rec(SPEED, 2.0, old)],
        source="mqtt",
        vehicle_vin=VIN,
        received_at=NOW,
        positions=[7, 3],
    )
    assert result.statuses[1].errors[0].path == "records[3].ts"
    assert [q.record_index for q in repo.quarantine()] == [3]


def test_the_slow_path_refuses_an_expired_record_too():
    """A record off the common path (an int for a float signal, an offset time) takes the full
    check; the retention rule applies after it all the same."""
    service, repo, _ = make_world()
    old = (NOW - timedelta(days=35)).astimezone(UTC).isoformat().replace("+00:00", "+02:00")
    result = service.ingest(
        [{"signal": SPEED, "value": 50, "ts": old}], source="http", vehicle_vin=VIN, received_at=NOW
    )
    assert result.statuses[0].errors[0].rule == "retention.expired"
    assert repo.count() == 0 and len(repo.quarantine()) == 1


CATEGORIES = {SPEED: "position_movement", VOLTAGE: "vehicle_status"}

rules = st.builds(
    lambda anchor, years, months, weeks, days, specific: (
        anchor,
        years,
        months,
        weeks,
        days,
        specific,
    ),
    st.sampled_from(
        [
            RetentionAnchor.COLLECTED,
            RetentionAnchor.VEHICLE_END_OF_LIFE,
            RetentionAnchor.PURPOSE_END,
        ]
    ),
    st.integers(0, 2),
    st.integers(0, 14),
    st.integers(0, 10),
    st.integers(0, 60),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    signal=st.sampled_from([SPEED, VOLTAGE]),
    drawn=st.lists(rules, min_size=1, max_size=3),
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=700)),
    end_of_life=st.one_of(
        st.none(), st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
    ),
)
def test_a_record_is_stored_iff_its_expiry_is_after_its_receipt(signal, drawn, age, end_of_life):
    category = CATEGORIES[signal]
    purposes = collection_purposes(POLICY, category)
    own = tuple(
        RetentionRule(
            id=f"drawn_{i}",
            category=category,
            purpose=purposes[0] if specific and purposes else None,
            anchor=anchor,
            years=years,
            months=months,
            weeks=weeks,
            days=days,
        )
        for i, (anchor, years, months, weeks, days, specific) in enumerate(drawn)
    )
    policy = replace(
        POLICY, retention=(*(r for r in POLICY.retention if r.category != category), *own)
    )
    ts = NOW - age
    directory = InMemoryVehicleDirectory()
    directory.add(
        VehicleInfo(
            "veh-1",
            VIN,
            end_of_life,
            (usage("u1", "veh-1", "alice", NOW - timedelta(days=800), None),),
        )
    )
    repo = InMemoryTelemetryRepository()
    cipher = EnvelopeCipher(InMemoryDataKeyRepository(), MasterKeyRing(new_master_key()))
    service = IngestService(policy, CATALOGUE, repo, directory, cipher)
    anchors = {RetentionAnchor.COLLECTED: ts}
    if end_of_life is not None:
        anchors[RetentionAnchor.VEHICLE_END_OF_LIFE] = datetime.combine(
            end_of_life, datetime.min.time(), UTC
        )
    expected = expiry_for(policy, category, purposes, anchors)

    result = service.ingest(
        [rec(signal, 12.0, ts)], source="http", vehicle_vin=VIN, received_at=NOW
    )

    stored = expected is None or expected > NOW
    assert (repo.count() == 1) is stored
    if stored:
        assert result.statuses[0].status == "accepted"
        (row,) = repo.rows.values()
        assert row.expires_at == expected
    else:
        assert [e.rule for e in result.statuses[0].errors] == ["retention.expired"]
        assert [q.reasons[0].rule for q in repo.quarantine()] == ["retention.expired"]
