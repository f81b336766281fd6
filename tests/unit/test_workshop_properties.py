"""Workshop uploads against an independent oracle (notice G; SPEC C3, I2, U1).

Random owner timelines of one car, random OBFCM refusals (given, sometimes withdrawn) and random
read-out times: every record must end exactly as the oracle says. A read-out from before the car
had any user is refused by ingestion and leaves only its reasons; one whose owner *at the
read-out time* refuses OBFCM collection *at the upload* is rejected and kept nowhere; every other
is stored for that owner with source ``workshop``. Built on the in-memory fakes and the shipped
policy, with the real decision engine and ingestion service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.adapters.catalogue import load_catalogue
from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.master import UsageKind, VehicleUsage
from carprivacy.domain.subject_state import ConsentChoice, ConsentRecord, UsagePeriod
from carprivacy.domain.telemetry import PAYLOAD_WITHHELD
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.ingestion.pipeline import IngestService, VehicleInfo
from carprivacy.services.ingestion.workshop import WorkshopCollector
from carprivacy.testing.audit import InMemoryAuditTrail
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.subject_state import InMemoryMasterFacts, InMemorySubjectStateRepository
from carprivacy.testing.telemetry import (
    InMemoryDataKeyRepository,
    InMemoryTelemetryRepository,
    InMemoryVehicleDirectory,
)

POLICY = load_policy_file(default_policy_path())
CATALOGUE = load_catalogue()
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
VIN, VEHICLE = "WMW51DH0402P00001", "veh-p"
SIGNAL = "Private.CarPrivacy.OBFCM.DistanceLifetime"
WORKSHOP = Caller("garage", CallerKind.PERSON, Role.DEALER, "workshops")

# an owner timeline: (start, days before NOW) per owner, strictly later each time
OWNERS = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=4, unique=True)
# per owner: no refusal, or (given days before NOW, withdrawn days before NOW or None)
REFUSAL = st.one_of(
    st.none(),
    st.tuples(st.integers(min_value=0, max_value=70), st.one_of(st.none(), st.integers(0, 70))),
)
READ_OUTS = st.lists(st.integers(min_value=0, max_value=80), min_size=1, max_size=8, unique=True)


def build(starts: list[int], refusals: list[tuple[int, int | None] | None]):
    starts = sorted(starts, reverse=True)  # days before NOW: the earliest owner first
    owners = [f"owner-{n}" for n in range(len(starts))]
    usages, periods = [], []
    for n, (owner, back) in enumerate(zip(owners, starts, strict=True)):
        start = NOW - back * DAY
        end = NOW - starts[n + 1] * DAY if n + 1 < len(starts) else None
        usages.append(
            VehicleUsage(f"u{n}", VEHICLE, UsageKind.OWNER, owner, None, start, end, start)
        )
        periods.append(UsagePeriod(VEHICLE, owner, start, end))
    state = InMemorySubjectStateRepository()
    for owner, refusal in zip(owners, refusals, strict=False):
        if refusal is None:
            continue
        given_back, withdrawn_back = refusal
        withdrawn = None if withdrawn_back is None else NOW - withdrawn_back * DAY
        given_at = NOW - given_back * DAY
        if withdrawn is not None and withdrawn <= given_at:
            withdrawn = None
        state.add_consent(
            ConsentRecord(
                f"c-{owner}",
                owner,
                "obfcm_refusal",
                ConsentChoice.REFUSED,
                POLICY.consent_topics_by_id["obfcm_refusal"].current_version.version,
                "workshop",
                given_at,
                "desk",
                vehicle_id=VEHICLE,
                withdrawn_at=withdrawn,
            )
        )
    directory = InMemoryVehicleDirectory()
    directory.add(VehicleInfo(VEHICLE, VIN, None, tuple(usages)))
    decisions = DecisionService(
        POLICY,
        InMemoryDecisionFacts(state, InMemoryMasterFacts(usage=periods)),
        InMemoryAuditTrail(),
    )
    store = InMemoryTelemetryRepository()
    cipher = EnvelopeCipher(InMemoryDataKeyRepository(), MasterKeyRing(new_master_key()))
    ingest = IngestService(POLICY, CATALOGUE, store, directory, cipher)
    collector = WorkshopCollector(decisions, ingest, CATALOGUE, directory)
    return collector, store, usages, state


def owner_at(usages: list[VehicleUsage], ts: datetime) -> str | None:
    for u in usages:
        if u.start <= ts and (u.end is None or ts < u.end):
            return u.customer_id
    return None


@settings(max_examples=120, deadline=None)
@given(starts=OWNERS, refusals=st.lists(REFUSAL, min_size=4, max_size=4), backs=READ_OUTS)
def test_every_read_out_ends_as_the_oracle_says(starts, refusals, backs):
    collector, store, usages, state = build(starts, refusals)
    records = [
        {"vin": VIN, "signal": SIGNAL, "value": 1000.0 + b, "ts": (NOW - b * DAY).isoformat()}
        for b in backs
    ]
    result = collector.collect(WORKSHOP, "obfcm_reporting", records, received_at=NOW)
    expected_rows = {}
    withheld = 0
    for b, status in zip(backs, result.statuses, strict=True):
        ts = NOW - b * DAY
        owner = owner_at(usages, ts)
        refusing = owner is not None and any(
            c.subject_id == owner and c.active(NOW) for c in state.consent_rows
        )
        rules = [e.rule for e in status.errors]
        if owner is None:
            assert (status.status, rules) == ("rejected", ["linked_vehicle"])
            withheld += 1
        elif refusing:
            assert status.status == "rejected" and rules == ["consent.refused"]
        else:
            assert (status.status, rules) == ("accepted", [])
            expected_rows[ts] = owner
    stored = store.rows_for_vehicle(VEHICLE)
    assert {r.ts: r.subject_id for r in stored} == expected_rows
    assert {r.source for r in stored} <= {"workshop"}
    quarantined = store.quarantine()
    assert len(quarantined) == withheld  # refused by a decision: kept nowhere
    assert all(q.payload_ciphertext == PAYLOAD_WITHHELD for q in quarantined)
    assert result.accepted + result.rejected + result.duplicates == len(records)
