"""The right of access on fakes: a person's own data, through the gate (SPEC R1, U1-U3, U2).

``OwnData`` over the in-memory composition root: the engine allows the access right only to the
person's own login, for their own subject, without a contract (a former customer), and neither a
restriction nor an objection stops it; every read is audited under it; another subject is never
reached; what is held names purposes, bases, controllers, recipients and retention.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Role
from carprivacy.domain.decision_index import ACCESS_PURPOSE, CompiledPolicy
from carprivacy.domain.decisions import decide
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError
from carprivacy.domain.held import HeldFacts, held_statement
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.retention import stated_rules
from carprivacy.domain.subject_state import (
    ContractCover,
    Objection,
    Restriction,
    RestrictionCase,
    SubjectFacts,
)
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.services.access.gate import Record
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.access.purposes import check_purpose, usable_purposes
from carprivacy.services.access.telemetry import TelemetryQuery
from carprivacy.services.master import reads, views
from carprivacy.testing.bootstrap import InMemoryStores, bootstrap_in_memory

NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(days=6)
T1 = NOW - timedelta(days=3)
VIN = "WMW11DJ0402R00042"


def person(subject: str) -> Caller:
    return Caller(f"c-{subject}", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=subject)


class World:
    def __init__(self) -> None:
        self.stores = InMemoryStores()
        self.services = s = bootstrap_in_memory(stores=self.stores)
        m = s.master
        contact = ContactDetails("Visser", "Iris", "Vrijthof", "2", "6211 AB", "Maastricht", "NL")
        self.former = m.register_customer(contact).id
        self.owner = m.register_customer(contact).id
        self.vehicle = m.register_vehicle(VIN, "MINI Aceman", "Sage Green", (), date(2040, 1, 1))
        m.add_usage(self.vehicle.id, UsageKind.OWNER, T0, customer_id=self.former)
        m.add_usage(self.vehicle.id, UsageKind.OWNER, T1, customer_id=self.owner)
        self.contract = m.conclude_contract(self.former, self.vehicle.id, T0, ["teleservices"])
        m.update_contract(self.contract.id, {"end": T1})
        m.conclude_contract(self.owner, self.vehicle.id, T1, ["teleservices"])
        records = [
            {"signal": "Vehicle.TraveledDistance", "value": 10.0 + h, "ts": t.isoformat()}
            for h in range(120)
            if (t := T0 + timedelta(hours=h, minutes=1)) < NOW
        ]
        result = s.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=NOW)
        assert result.accepted == len(records)
        self.own = OwnData(s.gate, s.telemetry_reads, s.consent_ledger, s.master)

    def customer(self, caller: Caller) -> dict[str, object]:
        def load(session: Any, subject: str) -> Record:
            found = reads.customer(session, subject)
            data = {"id": found.id, **asdict(found.contact)} if found.contact else {}
            return Record(data, found.id)

        return self.own.one(caller, "test", views.CUSTOMER, load)

    def contracts(self, caller: Caller) -> list[dict[str, object]]:
        def load(session: Any, subject: str) -> Iterable[Record]:
            return [
                views.record(views.CONTRACT, asdict(c))
                for c in reads.contracts_of(session, subject)
            ]

        return self.own.of(caller, "test", views.CONTRACT, load)


@pytest.fixture
def world() -> World:
    return World()


def _decisions(world: World) -> list[tuple[str, str, str | None]]:
    entries = world.stores.audit_log.entries
    return [(e.purpose, e.outcome, e.rule) for e in entries]


def test_a_former_customer_reads_their_record_without_a_contract(world: World) -> None:
    me = person(world.former)
    record = world.customer(me)
    assert record["surname"] == "Visser" and record["id"] == world.former
    (contract,) = world.contracts(me)
    assert contract["id"] == world.contract.id
    # the contract purposes refuse the same person now (the contract ended) ...
    request = DecisionRequest(me, "customer_service", ("contact",), NOW, subject_id=world.former)
    assert world.services.decisions.decide(request).rule == "contract.required"
    # ... and every access-right read was decided and audited under the access right
    audited = [x for x in _decisions(world) if x[0] == ACCESS_PURPOSE]
    assert len(audited) >= 2 and {x[1] for x in audited} == {"allow"}
    assert {x[2] for x in audited} == {"right.access"}


def test_another_subject_is_never_reached(world: World) -> None:
    me = person(world.owner)
    assert world.customer(me)["id"] == world.owner  # own subject, whoever asks
    assert [c["customer_id"] for c in world.contracts(me)] == [world.owner]
    own = world.own.telemetry_page(me, "t", TelemetryQuery(), None, 1000).items
    other = world.own.telemetry_page(person(world.former), "t", TelemetryQuery(), None, 1000).items
    assert own and other
    assert {i["subject_id"] for i in own} == {world.owner}
    assert {i["subject_id"] for i in other} == {world.former}
    assert max(str(i["ts"]) for i in other) < min(str(i["ts"]) for i in own)  # split at T1
    # the query's subject or vehicle is ignored: the caller's own subject is read
    sneaky = TelemetryQuery(subject_id=world.former, vehicle_id=world.vehicle.id)
    items = world.own.telemetry_page(me, "t", sneaky, None, 1000).items
    assert {i["subject_id"] for i in items} == {world.owner}


def test_staff_and_recipients_cannot_use_the_access_right(world: World) -> None:
    for caller in (
        Caller("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl"),
        Caller("dpo", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl", subject_id=world.owner),
        Caller("garage", CallerKind.PERSON, Role.DEALER, "dealers"),
    ):
        with pytest.raises(AccessDeniedError) as refused:
            world.own.held(caller)
        assert "caller.role" in refused.value.reasons[0]
        assert "notice rights" in refused.value.reasons[0]
    assert {x[2] for x in _decisions(world) if x[0] == ACCESS_PURPOSE} == {"caller.role"}


def test_restriction_and_objection_do_not_stop_the_persons_own_access() -> None:
    cp = CompiledPolicy(World().services.policy)
    me = person("s1")
    facts = SubjectFacts(
        subject_id="s1",
        known=True,
        restrictions=(
            Restriction("r1", "s1", RestrictionCase.ACCURACY_CONTESTED, NOW - timedelta(1), "x"),
        ),
        objections=(Objection("o1", "s1", NOW - timedelta(days=1), "x"),),
        contracts=(ContractCover("k1", "s1", T0, T1),),
    )
    for categories in (("contact",), ("vehicle_status", "position_movement")):
        access = decide(cp, DecisionRequest(me, ACCESS_PURPOSE, categories, NOW), facts)
        assert access.allowed and access.form is not None and access.form.value == "identified"
        assert all(access.fields and access.fields[c] for c in categories)
    running = replace(facts, contracts=(ContractCover("k1", "s1", T0),))
    used = decide(cp, DecisionRequest(me, "customer_service", ("contact",), NOW), running)
    assert used.rule == "restriction.art18"  # the restriction stops the controllers' use
    other = decide(cp, DecisionRequest(me, ACCESS_PURPOSE, ("contact",), NOW, "s2"), facts)
    assert other.rule == "caller.not_own_data"


def test_held_names_what_is_held_and_until_when(world: World) -> None:
    statement = world.own.held(person(world.former))
    cats = {c["id"]: c for c in statement["categories"]}  # type: ignore[attr-defined]
    held = {c for c, v in cats.items() if v["held"]}
    assert held == {"contact", "contract", "vehicle_general", "vehicle_status"}
    (rule,) = [r for r in cats["contract"]["retention"] if r["rule"] == "contract_after_end"]
    assert rule["until"] == T1.replace(year=T1.year + 1)
    end_of_life = [r for r in cats["vehicle_general"]["retention"] if r["until"] is not None]
    assert [r["until"].date() for r in end_of_life] == [date(2040, 1, 1)]
    # a running contract fixes no end yet
    running = world.own.held(person(world.owner))
    cats = {c["id"]: c for c in running["categories"]}  # type: ignore[attr-defined]
    assert all(r["until"] is None for r in cats["contract"]["retention"])


def test_held_statement_is_the_policys_own_words() -> None:
    policy = World().services.policy
    facts = HeldFacts("s1", frozenset({"contact"}), bookings=(T0,))
    out = held_statement(policy, facts, NOW)
    cats = {c["id"]: c for c in out["categories"]}  # type: ignore[attr-defined]
    assert list(cats) == [c.id for c in policy.categories]
    for cat in policy.categories:
        got = cats[cat.id]
        assert {p["id"] for p in got["purposes"]} == {p.id for p in policy.purposes_using(cat.id)}
        want = {r for p in policy.purposes_using(cat.id) for r in p.recipients}
        assert {r["id"] for r in got["recipients"]} == want
        # the terms the notice states (test_retention_statement.py), one per purpose
        assert {r["rule"] for r in got["retention"]} == {
            s.rule.id for s in stated_rules(policy.retention) if s.rule.category == cat.id
        }
    ten = next(r for r in cats["financial_transactions"]["retention"] if r["period"] == "P10Y")
    assert ten["until"] == T0.replace(year=T0.year + 10)


def test_purposes_listed_are_exactly_those_the_engine_lets_the_caller_use() -> None:
    cp = CompiledPolicy(World().services.policy)
    callers = [
        person("s1"),
        Caller("garage", CallerKind.PERSON, Role.DEALER, "dealers"),
        Caller("rnd", CallerKind.PERSON, Role.RND_ANALYST, "mini_ag_staff"),
        Caller("ins", CallerKind.MACHINE, Role.PARTNER, "cardata_third_parties"),
        Caller("admin", CallerKind.PERSON, Role.ADMINISTRATOR, "mini_nl"),
    ]
    for caller in callers:
        listed = {p.id: set(p.categories) for p in usable_purposes(cp, caller)}
        for pid, idx in cp.purposes.items():
            allowed = {
                c
                for c in idx.purpose.categories
                if not isinstance(cp.static(pid, caller, (c,)), type(cp.not_own_data))
            }
            assert listed.get(pid, set()) == allowed, (caller.role, pid)
    assert ACCESS_PURPOSE in {p.id for p in usable_purposes(cp, callers[0])}
    assert usable_purposes(cp, callers[4]) == []  # the administrator reads no personal data
    with pytest.raises(InvalidInputError) as bad:
        check_purpose(cp, callers[4], "nope")
    assert "may use no purpose" in bad.value.problems[0].message
    with pytest.raises(InvalidInputError) as bad:
        check_purpose(cp, callers[1], "nope")
    (problem,) = bad.value.problems
    assert (problem.path, problem.rule) == ("purpose", "known_purpose")
    assert "after_sales_service" in problem.message and "product_development" not in problem.message
    check_purpose(cp, callers[1], "product_development")  # declared: the engine refuses it
