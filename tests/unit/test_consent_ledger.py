"""The consent ledger service on fakes (carprivacy.testing), and the replay property: the state
every reader sees is the replay of the ledger, whatever the order of operations (SPEC C1, C4, R4,
R6)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.consent_ledger import EntryKind, replay, text_hash
from carprivacy.domain.errors import AccessDeniedError, ConflictError, InvalidInputError
from carprivacy.domain.policy import Policy
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.testing import (
    FakeCheckpointSigner,
    FakeClock,
    InMemoryAuditLogRepository,
    InMemoryEmailOutbox,
    InMemoryNoticeAddress,
    InMemorySubjectStateRepository,
)
from carprivacy.testing.decision_policy import sample_policy

T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)
EVA = Caller("eva", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="s1")
JAN = Caller("jan", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="s2")
DESK = Caller("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
DPO = Caller("dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")


class World:
    def __init__(self, policy: Policy | None = None) -> None:
        self.clock = FakeClock(T0)
        self.repo = InMemorySubjectStateRepository()
        self.log = InMemoryAuditLogRepository()
        self.outbox = InMemoryEmailOutbox()
        audit = AuditService(self.log, FakeCheckpointSigner(), b"p" * 32, self.clock)
        self.svc = ConsentLedgerService(
            policy or sample_policy(),
            self.repo,
            audit,
            self.outbox,
            InMemoryNoticeAddress({"s1": "eva@example.nl"}),
            self.clock,
        )

    def tick(self) -> None:
        self.clock.advance(timedelta(minutes=1))


def test_a_consent_records_who_what_text_channel_and_time() -> None:
    w = World()
    e = w.svc.give(EVA, "s1", "marketing_email", channel="app", language="en")
    topic = sample_policy().consent_topics_by_id["marketing_email"]
    assert e.actor.value == "subject" and e.recorded_by == "eva" and e.channel.value == "app"
    assert e.at == T0 and e.text_version == topic.current_version.version
    assert e.text_hash == text_hash(topic.current_version.text.get("en"))
    staff = w.svc.give(DESK, "s1", "marketing_email", channel="call_centre")
    assert staff.actor.value == "staff"
    assert len(list(w.log.iter_entries())) == 2  # every write is audited
    assert {x.rule for x in w.log.iter_entries()} == {"ledger.consent_given"}


def test_inputs_are_checked_before_anything_is_written() -> None:
    w = World()
    with pytest.raises(InvalidInputError) as bad:
        w.svc.give(EVA, "s1", "cardata_sharing", channel="fax", language="de")
    fields = {p.path for p in bad.value.problems}
    assert "channel" in fields
    with pytest.raises(InvalidInputError) as bad:
        w.svc.give(EVA, "s1", "cardata_sharing", channel="app", language="de")
    assert {p.path for p in bad.value.problems} == {"language", "party"}
    with pytest.raises(InvalidInputError):
        w.svc.give(EVA, "s1", "obfcm_refusal", channel="workshop")  # no vehicle named
    with pytest.raises(InvalidInputError):
        w.svc.give(EVA, "s1", "marketing_email", channel="app", text_version="99")
    with pytest.raises(AccessDeniedError):
        w.svc.give(JAN, "s1", "marketing_email", channel="app")
    assert w.repo.entries("s1") == [] and list(w.log.iter_entries()) == []


def test_a_topic_recorded_only_at_the_workshop_refuses_other_channels() -> None:
    """The shipped OBFCM refusal is made "bij geautoriseerde werkplaatsen en vestigingen van BMW"
    (``recorded_via: [workshop]``): the app, the portal or the vehicle cannot record it."""
    shipped = load_policy_file(
        Path(__file__).resolve().parents[2] / "policies/mini-connected-nl.yaml"
    )
    assert shipped.consent_topics_by_id["obfcm_refusal"].recorded_via == ("workshop",)
    w = World(shipped)
    for channel in ("app", "portal", "vehicle", "call_centre"):
        with pytest.raises(InvalidInputError) as bad:
            w.svc.give(DESK, "s1", "obfcm_refusal", channel=channel, vehicle_id="v1")
        assert [(p.path, p.rule) for p in bad.value.problems] == [("channel", "not_allowed")]
        assert "workshop" in bad.value.problems[0].message
    assert w.repo.entries("s1") == [] and list(w.log.iter_entries()) == []
    made = w.svc.give(DESK, "s1", "obfcm_refusal", channel="workshop", vehicle_id="v1")
    assert made.channel.value == "workshop" and made.choice is not None
    assert made.choice.value == "refused"
    # a topic without recorded_via takes any channel
    assert w.svc.give(EVA, "s1", "marketing_email", channel="app").channel.value == "app"


def test_withdrawal_closes_the_chosen_party_only() -> None:
    w = World()
    w.svc.give(EVA, "s1", "cardata_sharing", channel="app", party="ins_a")
    w.svc.give(EVA, "s1", "cardata_sharing", channel="app", party="ins_b")
    w.tick()
    w.svc.withdraw(EVA, "s1", "cardata_sharing", channel="portal", party="ins_a")
    w.tick()
    active = {c.party for c in w.repo.consents("s1") if c.active(w.clock())}
    assert active == {"ins_b"}
    with pytest.raises(Exception, match="consent"):
        w.svc.withdraw(EVA, "s1", "cardata_sharing", channel="portal", party="ins_a")


def test_objection_override_and_restriction_rules() -> None:
    w = World()
    with pytest.raises(InvalidInputError, match="art21|legitimate"):
        w.svc.object(EVA, "s1", channel="app", purpose="contract_performance")
    market = w.svc.object(EVA, "s1", channel="app", purpose="market_research")
    assert market.marketing or market.purpose == "market_research"
    o = w.svc.object(EVA, "s1", channel="app", purpose="after_sales_service", grounds="why")
    with pytest.raises(AccessDeniedError):
        w.svc.override(DESK, "s1", "after_sales_service", "legal_claims", "case 1")
    with pytest.raises(InvalidInputError):
        w.svc.override(DPO, "s1", "after_sales_service", "legal_claims", "  ")
    with pytest.raises(ConflictError):
        w.svc.override(DPO, "s1", "dealer_reports", "legal_claims", "case 1")  # no objection
    v = w.svc.override(DPO, "s1", "after_sales_service", "legal_claims", "case 1")
    assert v.actor.value == "staff" and v.ground is not None
    w.tick()
    w.svc.withdraw_objection(EVA, "s1", o.record_id, channel="app")
    with pytest.raises(ConflictError):
        w.svc.withdraw_objection(EVA, "s1", o.record_id, channel="app")
    r = w.svc.restrict(EVA, "s1", "needed_for_legal_claims", channel="portal")
    with pytest.raises(InvalidInputError):
        w.svc.restrict(EVA, "s1", "because", channel="portal")
    with pytest.raises(AccessDeniedError):
        w.svc.lift(EVA, "s1", r.record_id)
    w.tick()
    w.svc.lift(DESK, "s1", r.record_id, language="en")
    assert [m.to for m in w.outbox.sent] == ["eva@example.nl"]
    assert "Art. 18(1)(c) GDPR" in w.outbox.sent[0].body
    with pytest.raises(ConflictError):
        w.svc.lift(DESK, "s1", r.record_id)
    entries = json.loads(w.svc.export_json("s1"))["entries"]
    assert entries[-1]["kind"] == EntryKind.RESTRICTION_LIFTED.value
    # JSON keeps the types (null, boolean, list); CSV is the same entries as text
    assert all(
        isinstance(e["marketing"], bool) and isinstance(e["categories"], list) for e in entries
    )
    assert entries[-1]["topic"] is None and entries[-1]["party"] is None
    rows = list(csv.DictReader(io.StringIO(w.svc.export_csv("s1"))))
    assert [(r["entry_id"], r["kind"]) for r in rows] == [
        (e["entry_id"], e["kind"]) for e in entries
    ]
    assert rows[-1]["topic"] == "" and rows[-1]["marketing"] == "false"


def test_a_lift_without_an_address_for_the_notice_is_refused() -> None:
    w = World()
    jan = w.svc.restrict(JAN, "s2", "accuracy_contested", channel="app")
    with pytest.raises(ConflictError, match="notice"):
        w.svc.lift(DESK, "s2", jan.record_id)
    assert w.svc.state("s2").restrictions[0].lifted_at is None


TOPICS = ("marketing_email", "cardata_sharing")
PARTIES = ("ins_a", "ins_b")
OPS = st.lists(
    st.tuples(
        st.sampled_from(["give", "withdraw", "object", "unobject", "restrict", "lift"]),
        st.sampled_from(TOPICS),
        st.sampled_from(PARTIES),
        st.sampled_from([EVA, DESK]),
        st.integers(min_value=0, max_value=3),  # minutes to the next operation
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(ops=OPS, seed=st.integers(min_value=0, max_value=2**16))
def test_the_state_is_the_replay_of_the_ledger(
    ops: list[tuple[str, str, str, Caller, int]], seed: int
) -> None:
    """Model: a key (topic, party) is in force iff its last give is later than its last
    withdrawal; an objection or restriction is in force until closed. After every operation the
    state the readers see (repository reads, the service's state) equals the replay of the
    entries and the model, and replaying the entries in any input order gives the same state."""
    w = World()
    model: dict[tuple[str, str | None], bool] = {}
    objections: list[str] = []
    restrictions: list[str] = []
    for op, topic, party, who, wait in ops:
        chosen = party if topic == "cardata_sharing" else None
        if op == "give":
            w.svc.give(who, "s1", topic, channel="app", party=chosen)
            model[(topic, chosen)] = True
        elif op == "withdraw" and model.get((topic, chosen)):
            w.svc.withdraw(who, "s1", topic, channel="app", party=chosen)
            model[(topic, chosen)] = False
        elif op == "object":
            objections.append(
                w.svc.object(who, "s1", channel="app", purpose="after_sales_service").record_id
            )
        elif op == "unobject" and objections:
            w.svc.withdraw_objection(who, "s1", objections.pop(), channel="app")
        elif op == "restrict":
            restrictions.append(
                w.svc.restrict(who, "s1", "accuracy_contested", channel="app").record_id
            )
        elif op == "lift" and restrictions:
            w.svc.lift(DESK, "s1", restrictions.pop())
        w.clock.advance(timedelta(minutes=wait, microseconds=1))
        now = w.clock()
        entries = w.repo.entries("s1")
        derived = replay(entries)
        assert tuple(w.repo.consents("s1")) == tuple(
            sorted(derived.consents, key=lambda r: (r.given_at, r.id))
        )
        assert w.svc.state("s1") == derived
        in_force = {(c.topic, c.party) for c in derived.consents if c.active(now)}
        assert in_force == {k for k, v in model.items() if v}
        assert {o.id for o in derived.objections if o.active(now)} == set(objections)
        assert {r.id for r in derived.restrictions if r.active(now)} == set(restrictions)
    shuffled = list(w.repo.entries("s1"))
    random.Random(seed).shuffle(shuffled)
    assert replay(shuffled) == replay(w.repo.entries("s1"))


def test_the_demo_records_consents_some_withdrawn_an_objection_and_a_restriction() -> None:
    from carprivacy.services.demo.choices import load_choices

    w = World(load_policy_file(Path(__file__).parents[2] / "policies" / "mini-connected-nl.yaml"))
    ids = [f"c{i}" for i in range(10)]
    summary = load_choices(w.svc, ids, lambda cid: "v4" if cid == "c4" else None)
    assert (summary.withdrawals, summary.objections, summary.restrictions) == (2, 1, 1)
    now = w.clock() + timedelta(seconds=1)
    email = [c for i in ids for c in w.repo.consents(i) if c.topic == "marketing_email"]
    assert len(email) == 6 and sum(not c.active(now) for c in email) == 1
    assert [c.party for c in w.repo.consents("c5") if c.topic == "cardata_sharing"] == [
        "demo_insurer"
    ]
    assert [c.vehicle_id for c in w.repo.consents("c4") if c.topic == "obfcm_refusal"] == ["v4"]
    assert w.repo.objections("c6")[0].active(now) and w.repo.restrictions("c7")[0].active(now)
