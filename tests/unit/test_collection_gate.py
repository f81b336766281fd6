"""Collection gated by consent topics (SPEC C3, I2; notice G).

OBFCM values are collected only for ``obfcm_reporting``, whose consent topic ``obfcm_refusal`` is
an opt-out: while the car's owner refuses, an OBFCM value sent by the car is refused at
ingestion (``consent.refused``) and kept nowhere, whatever the transport. The gate agrees with the
decision engine over random consent histories.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.adapters.catalogue import load_catalogue
from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.collection_gate import collection_gate
from carprivacy.domain.decisions import compile_policy as compiled
from carprivacy.domain.decisions import decide
from carprivacy.domain.master import UsageKind, VehicleUsage
from carprivacy.domain.subject_state import ConsentChoice, ConsentRecord, SubjectFacts, UsagePeriod
from carprivacy.domain.telemetry import collection_purposes
from carprivacy.services.ingestion.pipeline import IngestService, VehicleInfo
from carprivacy.testing.subject_state import InMemorySubjectStateRepository
from carprivacy.testing.telemetry import (
    InMemoryDataKeyRepository,
    InMemoryTelemetryRepository,
    InMemoryVehicleDirectory,
)

POLICY = load_policy_file(default_policy_path())
CATALOGUE = load_catalogue()
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OBFCM = "Private.CarPrivacy.OBFCM.DistanceLifetime"
MILEAGE = "Vehicle.TraveledDistance"
VERSION = POLICY.consent_topics_by_id["obfcm_refusal"].current_version.version


def refusal(subject: str, vehicle: str, given: datetime, withdrawn: datetime | None = None):
    return ConsentRecord(
        f"c-{subject}-{vehicle}-{given.timestamp()}",
        subject,
        "obfcm_refusal",
        ConsentChoice.REFUSED,
        VERSION,
        "workshop",
        given,
        "desk",
        vehicle_id=vehicle,
        withdrawn_at=withdrawn,
    )


@pytest.fixture
def world():
    directory = InMemoryVehicleDirectory()
    start = NOW - timedelta(days=100)
    owner = VehicleUsage("u1", "veh-1", UsageKind.OWNER, "anna", None, start, None, start)
    directory.add(VehicleInfo("veh-1", "WMW11111111111111", date(2040, 1, 1), (owner,)))
    other = VehicleUsage("u2", "veh-2", UsageKind.OWNER, "anna", None, start, None, start)
    directory.add(VehicleInfo("veh-2", "WMW22222222222222", None, (other,)))
    fleet = VehicleUsage("u3", "veh-3", UsageKind.FLEET, None, "fleet-1", start, None, start)
    directory.add(VehicleInfo("veh-3", "WMW33333333333333", None, (fleet,)))
    state = InMemorySubjectStateRepository()
    store = InMemoryTelemetryRepository()
    cipher = EnvelopeCipher(InMemoryDataKeyRepository(), MasterKeyRing(new_master_key()))
    service = IngestService(POLICY, CATALOGUE, store, directory, cipher, consents=state)
    return service, store, state


def send(service, vin: str, signal: str, value: float, source: str = "mqtt"):
    record = {"signal": signal, "value": value, "ts": (NOW - timedelta(minutes=1)).isoformat()}
    return service.ingest([record], source=source, vehicle_vin=vin, received_at=NOW)


def test_a_refusal_in_force_stops_obfcm_collection_from_the_car(world):
    service, store, state = world
    state.add_consent(refusal("anna", "veh-1", NOW - timedelta(days=3)))
    for source in ("mqtt", "http"):
        result = send(service, "WMW11111111111111", OBFCM, 4242.0, source)
        (status,) = result.statuses
        assert status.status == "rejected" and result.rejected == 1
        (problem,) = status.errors
        assert (problem.path, problem.rule) == ("records[0]", "consent.refused")
        assert "Art. 21 GDPR" in problem.message and "4242" not in problem.message
    assert store.count() == 0 and store.quarantine() == []  # kept nowhere
    # other categories of the same person are collected as before
    assert send(service, "WMW11111111111111", MILEAGE, 4242).accepted == 1


def test_the_refusal_is_a_setting_of_one_car_and_ends_when_withdrawn(world):
    service, store, state = world
    state.add_consent(refusal("anna", "veh-1", NOW - timedelta(days=3), NOW - timedelta(hours=1)))
    assert send(service, "WMW11111111111111", OBFCM, 1.0).accepted == 1  # withdrawn before
    state.add_consent(refusal("anna", "veh-2", NOW - timedelta(days=1)))
    assert send(service, "WMW22222222222222", OBFCM, 2.0).rejected == 1
    assert send(service, "WMW33333333333333", OBFCM, 3.0).accepted == 1  # fleet car: nobody
    assert send(service, "WMW11111111111111", OBFCM, 4.0, "http").accepted == 1


def test_only_categories_whose_every_purpose_needs_a_consent_topic_are_gated():
    gated = {
        c
        for c in CATALOGUE.categories
        if collection_gate(POLICY, c, collection_purposes(POLICY, c)) is not None
    }
    assert gated == {"obfcm"}


# --- agreement with the decision engine -----------------------------------------------------

TIMES = st.integers(min_value=0, max_value=20)  # days before NOW
RECORDS = st.lists(
    st.tuples(
        st.sampled_from(["veh-1", "veh-2"]),
        TIMES,
        st.one_of(st.none(), TIMES),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(history=RECORDS, at_back=TIMES)
def test_the_gate_agrees_with_the_engine(history, at_back):
    at = NOW - timedelta(days=at_back)
    consents = []
    for vehicle, given_back, withdrawn_back in history:
        given_at = NOW - timedelta(days=given_back)
        withdrawn = None if withdrawn_back is None else NOW - timedelta(days=withdrawn_back)
        if withdrawn is not None and withdrawn <= given_at:
            withdrawn = None
        consents.append(refusal("anna", vehicle, given_at, withdrawn))
    gate = collection_gate(POLICY, "obfcm", collection_purposes(POLICY, "obfcm"))
    assert gate is not None
    refused = gate.refusal(consents, "anna", "veh-1", at)
    request = DecisionRequest(
        caller=Caller("garage", CallerKind.PERSON, Role.DEALER, "workshops"),
        purpose="obfcm_reporting",
        categories=("obfcm",),
        at=at,
        subject_id="anna",
        vehicle_id="veh-1",
    )
    start = NOW - timedelta(days=100)
    facts = SubjectFacts(
        subject_id="anna",
        vehicle_id="veh-1",
        consents=tuple(consents),
        usage=(UsagePeriod("veh-1", "anna", start),),
    )
    decision = decide(compiled(POLICY), request, facts)
    assert (refused is None) == (decision.outcome is Outcome.ALLOW)
    if refused is not None:
        assert refused.rule in {r.rule for r in decision.reasons}


def test_one_consent_lookup_per_batch_and_none_without_a_gated_signal(world):
    service, store, state = world
    calls: list[set[str]] = []
    real = state.consents_of

    def counting(subject_ids):
        calls.append(set(subject_ids))
        return real(subject_ids)

    state.consents_of = counting  # type: ignore[method-assign]
    ts = (NOW - timedelta(minutes=1)).isoformat()
    records = [
        {"vin": vin, "signal": OBFCM, "value": 1.0, "ts": ts}
        for vin in ("WMW11111111111111", "WMW22222222222222", "WMW33333333333333")
    ]
    assert service.ingest(records, source="mqtt", vehicle_vin=None, received_at=NOW).accepted == 3
    assert calls == [{"anna"}]  # every person of the batch's cars, at once
    plain = [{**r, "signal": MILEAGE, "value": 7} for r in records]
    service.ingest(plain, source="mqtt", vehicle_vin=None, received_at=NOW)
    assert len(calls) == 1  # no gated signal: nothing read
