"""The decision facts read: the SQL reader and the in-memory one give the same snapshot of the same
data, on SQLite and PostgreSQL, for random master data and subject state (SPEC U1, U2)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from carprivacy.adapters.db.repositories.decision_facts import SqlDecisionFacts
from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork
from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.errors import CarPrivacyError
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.domain.subject_state import RestrictionCase
from carprivacy.services.consent.subject_state import SubjectStateService
from carprivacy.services.master.service import MasterDataService
from carprivacy.testing.crypto import InMemoryFieldCipher
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.master import InMemoryMasterData, InMemoryMasterDataUnitOfWork
from carprivacy.testing.subject_state import InMemorySubjectStateRepository

POLICY = load_policy_file(default_policy_path())
T0 = datetime(2024, 1, 1, tzinfo=UTC)

op = st.one_of(
    st.tuples(st.just("customer"), st.sampled_from(("NL", "BE", "DE"))),
    st.tuples(st.just("vehicle")),
    st.tuples(
        st.just("usage"),
        st.sampled_from([UsageKind.OWNER, UsageKind.DRIVER, UsageKind.FLEET]),
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(0, 60),
    ),
    st.tuples(st.just("contract"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(
        st.just("consent"), st.integers(0, 3), st.sampled_from(("profiling", "marketing_email"))
    ),
    st.tuples(st.just("objection"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("restriction"), st.integers(0, 3)),
)


def _apply(
    ops: list[tuple[Any, ...]],
    master: list[MasterDataService],
    state: SubjectStateService,
    prefix: str,
) -> tuple[list[str], list[str]]:
    made: dict[str, list[str]] = {"customer": [], "vehicle": [], "fleet": []}
    for svc in master:
        made["fleet"].append(svc.create_fleet("Fleet", "NL").id)
    made["fleet"] = made["fleet"][:1]
    serial = itertools.count()

    def pick(kind: str, i: int) -> str:
        return made[kind][i % len(made[kind])] if made[kind] else "missing"

    def each(call: Any) -> str | None:
        """``call(svc)`` on both stores, each refusing (or not) on its own; the first's id."""
        out = []
        for svc in master:
            try:
                out.append(call(svc).id)
            except CarPrivacyError:
                out.append(None)
        return out[0]

    for o in ops:
        made_id: str | None = None
        if o[0] == "customer":
            c = ContactDetails("Visser", "Iris", "Markt", "1", "1234 AB", "Delft", o[1])
            made_id = each(lambda svc, c=c: svc.register_customer(c))
        elif o[0] == "vehicle":
            vin = f"WMW{prefix[:6].upper()}{next(serial):08d}"
            made_id = each(lambda svc, vin=vin: svc.register_vehicle(vin, "MINI", "Red"))
        elif o[0] == "usage":
            _, kind, who, car, day = o
            party = (
                {"fleet_id": pick("fleet", who)}
                if kind is UsageKind.FLEET
                else {"customer_id": pick("customer", who)}
            )
            start = T0 + timedelta(days=day)
            each(
                lambda svc, k=kind, p=party, c=car, t=start: svc.add_usage(
                    pick("vehicle", c), k, t, **p
                )
            )
        elif o[0] == "contract":
            each(
                lambda svc, o=o: svc.conclude_contract(
                    pick("customer", o[1]), pick("vehicle", o[2]), T0, ()
                )
            )
        else:
            try:
                if o[0] == "consent":
                    state.give(pick("customer", o[1]), o[2], at=T0, by="test", channel="portal")
                elif o[0] == "objection":
                    purpose = None if o[2] else "market_research"
                    state.object(
                        pick("customer", o[1]), at=T0, by="test", marketing=o[2], purpose=purpose
                    )
                else:
                    state.restrict(
                        pick("customer", o[1]), RestrictionCase.ACCURACY_CONTESTED, at=T0, by="test"
                    )
            except CarPrivacyError:
                pass
        if made_id is not None:
            made[o[0]].append(made_id)
    return made["customer"], made["vehicle"]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(op, min_size=1, max_size=16))
def test_sql_and_in_memory_facts_agree(engine: Engine, ops: list[tuple[Any, ...]]) -> None:
    prefix = uuid.uuid4().hex[:8]
    cipher = InMemoryFieldCipher()
    store = InMemoryMasterData()
    ids = [itertools.count(), itertools.count()]
    ticks = [itertools.count(), itertools.count()]

    def service(i: int, uow: Any) -> MasterDataService:
        return MasterDataService(
            uow,
            lambda: T0 + timedelta(seconds=next(ticks[i])),
            new_id=lambda: f"{prefix}-{next(ids[i]):04d}",
        )

    fake_state = InMemorySubjectStateRepository()
    services = [
        service(0, lambda: InMemoryMasterDataUnitOfWork(store)),
        service(1, lambda: SqlMasterDataUnitOfWork(engine, cipher)),
    ]
    customers, vehicles = _apply(ops, services, SubjectStateService(POLICY, fake_state), prefix)
    sql_state = SqlSubjectStateRepository(engine, cipher)
    for s in customers:  # the same subject state in the SQL store
        for c in fake_state.consents(s):
            sql_state.add_consent(c)
        for o in fake_state.objections(s):
            sql_state.add_objection(o)
        for r in fake_state.restrictions(s):
            sql_state.add_restriction(r)
    subjects = [*customers, f"{prefix}-unknown"]
    cars = [*vehicles, f"{prefix}-no-car"]
    sql = SqlDecisionFacts(engine, cipher).snapshot(subjects, cars)
    fake = InMemoryDecisionFacts(fake_state, store).snapshot(subjects, cars)
    assert dict(sql.subjects) == dict(fake.subjects)
    assert dict(sql.usage) == dict(fake.usage)
    assert dict(sql.fleets) == dict(fake.fleets)
    with SqlMasterDataUnitOfWork(engine, cipher) as uow:  # the same inside a unit of work
        assert uow.snapshot(subjects, cars) == sql


def test_a_snapshot_of_many_subjects_reads_every_one(engine: Engine) -> None:
    """A list's facts read names thousands of ids as one parameter (SQLite bounds a statement's
    parameters at 32,766): every subject and vehicle is found, none invented (SPEC U1)."""
    prefix = uuid.uuid4().hex[:8]
    cipher = InMemoryFieldCipher()
    counter = itertools.count()
    service = MasterDataService(
        lambda: SqlMasterDataUnitOfWork(engine, cipher),
        lambda: T0,
        new_id=lambda: f"{prefix}-{next(counter):05d}",
    )
    contact = ContactDetails("Visser", "Iris", "Markt", "1", "1234 AB", "Delft", "NL")
    customers = [service.register_customer(contact).id for _ in range(40)]
    vehicles = [
        service.register_vehicle(f"WMW{prefix[:6].upper()}{i:08d}", "MINI", "Red").id
        for i in range(3)
    ]
    service.add_usage(vehicles[0], UsageKind.OWNER, T0, customer_id=customers[0])
    service.conclude_contract(customers[-1], vehicles[1], T0, ("ecall",))
    unknown = [f"{prefix}-nobody-{i}" for i in range(40_000)]
    snapshot = SqlDecisionFacts(engine, cipher).snapshot([*customers, *unknown], [*vehicles])
    assert set(snapshot.subjects) == set(customers)
    assert {s: r.country for s, r in snapshot.subjects.items()} == dict.fromkeys(customers, "NL")
    assert [p.subject_id for p in snapshot.usage[vehicles[0]]] == [customers[0]]
    assert [c.vehicle_id for c in snapshot.subjects[customers[-1]].contracts] == [vehicles[1]]
    assert snapshot.usage[vehicles[2]] == ()
