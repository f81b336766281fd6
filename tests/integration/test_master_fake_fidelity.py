"""The in-memory fakes behave like the SQL store (so service tests on fakes mean something): the
same random sequence of use cases gives the same answers and errors on both, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork
from carprivacy.domain.errors import CarPrivacyError
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.services.master.service import MasterDataService
from carprivacy.testing.crypto import InMemoryFieldCipher
from carprivacy.testing.master import InMemoryMasterData, InMemoryMasterDataUnitOfWork

T0 = datetime(2024, 1, 1, tzinfo=UTC)
VINS = ("WMWXU31060T000001", "WMWXU31060T000002", "WMWXU31060T000003")
SERVICES = ("ecall", "rtti", "teleservices", "warp_drive")

op = st.one_of(
    st.tuples(st.just("customer"), st.sampled_from(("NL", "BE", "nl"))),
    st.tuples(st.just("vehicle"), st.sampled_from(VINS)),
    st.tuples(st.just("fleet"), st.sampled_from(("NL", "DE"))),
    st.tuples(
        st.just("usage"),
        st.sampled_from(list(UsageKind)),
        st.integers(0, 4),
        st.integers(0, 4),
        st.integers(0, 50),
        st.one_of(st.none(), st.integers(1, 30)),
    ),
    st.tuples(
        st.just("contract"),
        st.integers(0, 4),
        st.integers(0, 4),
        st.lists(st.sampled_from(SERVICES), min_size=0, max_size=3),
    ),
    st.tuples(st.just("end_contract"), st.integers(0, 4), st.integers(-5, 400)),
)


def _service(uow: Callable[[], Any], prefix: str) -> MasterDataService:
    ids = itertools.count()
    ticks = itertools.count()
    return MasterDataService(
        uow,
        lambda: T0 + timedelta(seconds=next(ticks)),
        new_id=lambda: f"{prefix}-{next(ids):04d}",
        controllers={"mini_ag": True, "mini_nl": False},
    )


def _run(svc: MasterDataService, ops: list[tuple[Any, ...]]) -> list[object]:
    made: dict[str, list[str]] = {"customer": [], "vehicle": [], "fleet": [], "contract": []}
    answers: list[object] = []

    def pick(kind: str, i: int) -> str:
        return made[kind][i % len(made[kind])] if made[kind] else "missing"

    for o in ops:
        try:
            if o[0] == "customer":
                c = ContactDetails("Visser", "Iris", "Markt", "1", "1234 AB", "Delft", o[1])
                out: Any = svc.register_customer(c)
            elif o[0] == "vehicle":
                out = svc.register_vehicle(o[1], "MINI Cooper", "Chili Red")
            elif o[0] == "fleet":
                out = svc.create_fleet("Fleet", o[1])
            elif o[0] == "usage":
                _, kind, who, car, day, length = o
                start = T0 + timedelta(days=day)
                end = None if length is None else start + timedelta(days=length)
                party = {"fleet_id": pick("fleet", who)} if kind is UsageKind.FLEET else {}
                if kind is not UsageKind.FLEET:
                    party = {"customer_id": pick("customer", who)}
                out = svc.add_usage(pick("vehicle", car), kind, start, end=end, **party)
            elif o[0] == "contract":
                _, who, car, services = o
                out = svc.conclude_contract(
                    pick("customer", who), pick("vehicle", car), T0, services
                )
            else:
                out = svc.update_contract(
                    pick("contract", o[1]), {"end": T0 + timedelta(days=o[2])}
                )
            if o[0] in made:
                made[o[0]].append(out.id)
            answers.append(out)
        except CarPrivacyError as exc:
            answers.append((type(exc).__name__, str(exc)))
    for vehicle_id in made["vehicle"]:
        answers.append(svc.usages_of(vehicle_id))
        answers.append(svc.subject_for(vehicle_id, T0 + timedelta(days=20)))
    answers.extend(svc.get_customer(c) for c in made["customer"])
    answers.extend(svc.get_contract(c) for c in made["contract"])
    return answers


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(op, min_size=1, max_size=14))
def test_the_fake_and_the_sql_store_agree(engine: Engine, ops: list[tuple[Any, ...]]) -> None:
    prefix = uuid.uuid4().hex[:8]  # one database serves every example: keep ids apart
    vins = {v: "WMW" + prefix[:6].upper().replace("O", "0").replace("I", "1") + v[9:] for v in VINS}
    ops = [(o[0], vins[o[1]]) if o[0] == "vehicle" else o for o in ops]
    store = InMemoryMasterData()
    fake = _service(lambda: InMemoryMasterDataUnitOfWork(store), prefix)
    cipher = InMemoryFieldCipher()
    real = _service(lambda: SqlMasterDataUnitOfWork(engine, cipher), prefix)
    assert _run(fake, ops) == _run(real, ops)
