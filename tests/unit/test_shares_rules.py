"""CarData shares in the decision engine and their own rules (SPEC C2, U1, U2; notice H; Data
Act, Regulation (EU) 2023/2854, Art. 5, 6), on the shipped policy:

- a share counts only for its one organisation, its purpose, its vehicle, its period and the
  categories of its scope, and withholds the fields outside its descriptors; a share with
  insurer A is never one with insurer B nor with every organisation of the recipient kind
  (hypothesis over callers, purposes, vehicles, times and categories);
- a registered third party is a recipient of its own, with its own country and mechanism;
- a recipient belonging to a DMA gatekeeper is refused (``recipient.gatekeeper``, Art. 5(3));
- a share's state at a time, its transitions, its scope and its terms.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.decisions import compile_policy, decide
from carprivacy.domain.policy import Recipient, RecipientKind, Text, TransferMechanism
from carprivacy.domain.shares import (
    Share,
    ShareReason,
    ShareState,
    ShareVia,
    ThirdParty,
    as_consent,
    scope_of,
    state_at,
    terms,
    transitions,
)
from carprivacy.domain.subject_state import SubjectFacts

POLICY = load_policy_file(Path(__file__).parents[2] / "policies" / "mini-connected-nl.yaml")
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
GROUP = POLICY.recipients_by_id["cardata_third_parties"]
A = ThirdParty("insurer_a", "A", GROUP.id, "NL", TransferMechanism.EEA, "a_group", T0, "admin")
B = ThirdParty("insurer_b", "B", GROUP.id, "CH", TransferMechanism.ADEQUACY, "b_group", T0, "x")
SHARE = Share(
    id="s1",
    subject_id="subject-1",
    vehicle_id="vehicle-1",
    party="insurer_a",
    purpose="cardata_sharing",
    topic="cardata_sharing",
    agreed_purpose="usage-based insurance",
    descriptors=("Vehicle.TraveledDistance",),
    categories=("vehicle_status", "vehicle_general"),
    withheld=("vehicle_status.battery_voltage", "vehicle_general.model"),
    valid_from=T0,
    valid_until=T0 + timedelta(days=30),
    created_at=T0,
    created_by="eva",
    via=ShareVia.PORTAL,
    state=ShareState.ACTIVE,
)


def _compiled() -> object:
    cp = compile_policy(POLICY)
    members = {p.id: (p.recipient(GROUP), GROUP.id) for p in (A, B)}
    cp.use_members(members.get)
    return cp


def _caller(organisation: str, caller_id: str = "machine-1") -> Caller:
    return Caller(caller_id, CallerKind.MACHINE, Role.PARTNER, organisation)


def _request(
    organisation: str = "insurer_a",
    purpose: str = "cardata_sharing",
    category: str = "vehicle_status",
    vehicle: str | None = "vehicle-1",
    at: datetime = T0 + timedelta(days=1),
) -> DecisionRequest:
    return DecisionRequest(
        _caller(organisation), purpose, (category,), at, subject_id="subject-1", vehicle_id=vehicle
    )


def _facts(*shares: Share) -> SubjectFacts:
    return SubjectFacts("subject-1", consents=tuple(as_consent(s) for s in shares))


def test_a_share_releases_its_descriptors_to_its_party_only() -> None:
    cp = _compiled()
    d = decide(cp, _request(), _facts(SHARE))  # type: ignore[arg-type]
    assert d.outcome is Outcome.ALLOW
    fields = d.fields["vehicle_status"] if d.fields else ()
    assert "mileage" in fields and "vin" in fields and "battery_voltage" not in fields
    general = decide(cp, _request(category="vehicle_general"), _facts(SHARE))  # type: ignore[arg-type]
    assert general.allowed and general.fields is not None
    assert "vin" in general.fields["vehicle_general"]
    assert "model" not in general.fields["vehicle_general"]
    for refused in (
        _request("insurer_b"),  # another insurer
        _request("cardata_third_parties"),  # every organisation of the kind
        _request(vehicle="vehicle-2"),  # another vehicle
        _request(vehicle=None),  # a read that names no vehicle
        _request(category="position_movement"),  # outside the scope
        _request(at=T0 - timedelta(seconds=1)),  # before the period
        _request(at=T0 + timedelta(days=30)),  # after it
    ):
        d = decide(cp, refused, _facts(SHARE))  # type: ignore[arg-type]
        assert d.outcome is Outcome.DENY, refused
        assert d.rule in ("consent.required", "consent.withdrawn", "caller.not_recipient"), d


def test_a_revoked_share_counts_until_its_revocation_only() -> None:
    cp = _compiled()
    revoked = replace(SHARE, state=ShareState.REVOKED, revoked_at=T0 + timedelta(hours=5))
    before = _request(at=T0 + timedelta(hours=4))
    after = _request(at=T0 + timedelta(hours=6))
    assert decide(cp, before, _facts(revoked)).allowed  # type: ignore[arg-type]
    d = decide(cp, after, _facts(revoked))  # type: ignore[arg-type]
    assert not d.allowed and d.rule == "consent.withdrawn"


def test_two_shares_of_one_party_release_what_either_covers() -> None:
    cp = _compiled()
    voltage = replace(
        SHARE,
        id="s2",
        descriptors=("Vehicle.LowVoltageBattery.CurrentVoltage",),
        withheld=("vehicle_status.mileage",),
    )
    d = decide(cp, _request(), _facts(SHARE, voltage))  # type: ignore[arg-type]
    assert d.fields is not None
    assert {"mileage", "battery_voltage"} <= set(d.fields["vehicle_status"])


ORGS = st.sampled_from(["insurer_a", "insurer_b", "cardata_third_parties", "catena_x_partners"])
PURPOSES = st.sampled_from(["cardata_sharing", "cardata_eligibility", "fleet_operation"])
CATEGORIES = st.sampled_from(
    ["vehicle_status", "vehicle_general", "position_movement", "maintenance_service"]
)
VEHICLES = st.sampled_from(["vehicle-1", "vehicle-2", None])
OFFSETS = st.integers(min_value=-3 * 86400, max_value=40 * 86400)


@settings(max_examples=300, deadline=None)
@given(ORGS, PURPOSES, CATEGORIES, VEHICLES, OFFSETS)
def test_a_share_allows_nothing_beyond_its_party_purpose_vehicle_period_and_scope(
    org: str, purpose: str, category: str, vehicle: str | None, offset: int
) -> None:
    """SPEC C2: whatever is asked, the cardata_sharing purpose is allowed only when every
    part of the share matches."""
    cp = _compiled()
    at = T0 + timedelta(seconds=offset)
    d = decide(cp, _request(org, purpose, category, vehicle, at), _facts(SHARE))  # type: ignore[arg-type]
    if purpose != "cardata_sharing":
        return  # other purposes do not read shares (their own rules decide)
    matches = (
        org == "insurer_a"
        and vehicle == "vehicle-1"
        and category in SHARE.categories
        and SHARE.valid_from <= at < SHARE.valid_until
    )
    assert d.allowed is matches, (org, category, vehicle, offset, d.rule)


def test_a_registered_party_is_a_recipient_with_its_own_country_and_mechanism() -> None:
    cp = _compiled()
    facts = _facts(replace(SHARE, party="insurer_b"))
    d = decide(cp, _request("insurer_b"), facts)  # type: ignore[arg-type]
    assert d.allowed
    assert any(
        r.rule == "transfer.safeguarded" and "insurer_b in CH" in r.message for r in d.reasons
    )


def test_a_gatekeeper_is_refused_as_a_recipient_naming_the_data_act() -> None:
    """Data Act Art. 5(3): a recipient of a gatekeeper undertaking is refused, whatever it
    was given (a share, a recipient of the policy file)."""
    cp = compile_policy(POLICY)
    big = Recipient(
        "big_insurer", Text("B", "B"), RecipientKind.THIRD_PARTY, "NL", TransferMechanism.EEA,
        section="H", undertaking="alphabet",
    )  # fmt: skip
    cp.use_members({"big_insurer": (big, GROUP.id)}.get)
    d = decide(cp, _request("big_insurer"), _facts(replace(SHARE, party="big_insurer")))
    assert not d.allowed and d.rule == "recipient.gatekeeper"
    assert d.reasons[0].article == "Art. 5(3) Regulation (EU) 2023/2854 (Data Act)"
    # a processor of a gatekeeper's group works for the controller: not refused as such
    assert cp.gatekeeper_reason(replace(big, kind=RecipientKind.PROCESSOR), "H") is None


def test_the_shipped_policy_lists_the_gatekeepers_and_eligibility_releases_no_value() -> None:
    assert {"alphabet", "amazon", "apple", "bytedance", "meta", "microsoft"} <= (
        POLICY.gatekeeper_ids
    )
    assert POLICY.purposes_by_id["cardata_eligibility"].form.value == "catalogue"
    cp = compile_policy(POLICY)
    d = decide(
        cp,
        _request("cardata_third_parties", "cardata_eligibility", "vehicle_general"),
        SubjectFacts("subject-1"),
    )
    # the engine allows the use, in catalogue form, with no field of the vehicle
    assert d.allowed and d.form is not None and d.form.value == "catalogue"
    assert d.fields == {"vehicle_general": ()}


# -- the share's own rules ---------------------------------------------------------------------


def test_the_state_at_a_time() -> None:
    assert state_at(SHARE, T0 - timedelta(seconds=1)) is ShareState.PENDING
    assert state_at(SHARE, T0) is ShareState.ACTIVE
    assert state_at(SHARE, SHARE.valid_until) is ShareState.EXPIRED
    revoked = replace(SHARE, revoked_at=T0 + timedelta(days=1))
    assert state_at(revoked, T0 + timedelta(hours=1)) is ShareState.ACTIVE
    assert state_at(revoked, T0 + timedelta(days=2)) is ShareState.REVOKED


def test_transitions_record_the_period_begin_and_end() -> None:
    pending = replace(SHARE, state=ShareState.PENDING)
    assert transitions(pending, T0 - timedelta(seconds=1)) == []
    assert [t[0] for t in transitions(pending, T0 + timedelta(days=40))] == [
        ShareState.ACTIVE,
        ShareState.EXPIRED,
    ]
    assert transitions(replace(SHARE, state=ShareState.REVOKED), T0 + timedelta(days=40)) == []
    assert transitions(SHARE, T0 + timedelta(days=40))[0][2] is ShareReason.PERIOD_ENDED


def test_the_scope_of_descriptors_withholds_the_other_signals_and_names_the_vehicle() -> None:
    signal_category = {"Vehicle.TraveledDistance": "vehicle_status", "Vehicle.Speed": "position"}
    fields = {"vehicle_status": {"Vehicle.TraveledDistance": "mileage", "Vehicle.X": "x"}}
    handle = ("vehicle_general", ("vin", "model"), ("vin",))
    named, cats, withheld, problems = scope_of(
        ["Vehicle.TraveledDistance"], [], signal_category, ["vehicle_status", "vehicle_general"],
        fields, handle,
    )  # fmt: skip
    assert not problems and named == ("Vehicle.TraveledDistance",)
    assert cats == ("vehicle_status", "vehicle_general")
    assert withheld == ("vehicle_general.model", "vehicle_status.x")
    *_, problems = scope_of(["Vehicle.Speed"], [], signal_category, ["vehicle_status"], fields)
    assert [(p.path, p.rule) for p in problems] == [("descriptors.0", "not_shareable")]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_terms_say_only_for_the_agreed_purpose_and_no_onward_transfer(lang: str) -> None:
    text = getattr(terms(SHARE, "Insurer A"), lang)
    assert "usage-based insurance" in text
    words = {
        "nl": ("alleen gebruiken voor het afgesproken doel", "niet aan anderen doorgeven"),
        "en": ("only for the agreed purpose", "may not pass it on"),
    }[lang]
    assert all(w in text for w in words)
    assert SHARE.purpose_bound and not SHARE.onward_transfer


def test_a_registered_party_reads_through_shares_only_not_a_consent_naming_its_caller() -> None:
    """A consent of the per-party topic naming a caller id counts for a caller of a recipient
    of the policy file; a registered third party's caller gets nothing from it: only a share
    (with its scope, purpose, vehicle and period) opens its reads."""
    cp = _compiled()
    legacy = replace(as_consent(SHARE), id="c1", party="machine-1", scope=None, purpose=None)
    facts = SubjectFacts("subject-1", consents=(legacy,))
    registered = decide(cp, _request("insurer_a"), facts)  # type: ignore[arg-type]
    assert not registered.allowed and registered.rule == "consent.required"
    of_the_file = decide(cp, _request("cardata_third_parties"), facts)  # type: ignore[arg-type]
    assert of_the_file.allowed  # the caller id named, a recipient of the policy file
