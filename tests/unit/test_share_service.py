"""The share service on the in-memory fakes (SPEC C2; Data Act Art. 5, 6): who may make and
revoke a share, the hook points long-lived readers (the stream) use (``active_shares_for``,
``is_active``, ``revocations_since``, ``subscribe``), the period's begin and end recorded in
the history, and a gatekeeper refused even when it was registered before the policy listed it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carprivacy.config import Settings
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError
from carprivacy.domain.master import ContactDetails
from carprivacy.domain.policy import Gatekeeper
from carprivacy.domain.shares import Share, ShareReason, ShareState
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.services.cardata.sharing import Sharing
from carprivacy.testing import FakeClock
from carprivacy.testing.bootstrap import bootstrap_in_memory

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
ADMIN = Caller("admin", CallerKind.PERSON, Role.ADMINISTRATOR, "mini_nl")
MILEAGE = "Vehicle.TraveledDistance"


@pytest.fixture
def world() -> tuple[Sharing, FakeClock, Caller, str]:
    clock = FakeClock(T0)
    services = bootstrap_in_memory(Settings(data_dir=Path("/nonexistent/shares")), clock=clock)
    m = services.master
    eva = m.register_customer(
        ContactDetails("Eva", "E", "Straat", "1", "1234 AB", "Utrecht", "NL", None, None)
    )
    car = m.register_vehicle("WMW31DH0402R00055", "MINI Cooper SE", "green")
    m.add_usage(car.id, UsageKind.OWNER, T0 - timedelta(days=3), customer_id=eva.id)
    sharing = services.sharing
    sharing.registry.register(ADMIN, "insurer_a", "Insurer A", "NL", "eea", "a_group")
    me = Caller("eva", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=eva.id)
    return sharing, clock, me, car.id


def _share(sharing: Sharing, me: Caller, car: str, **over: object) -> Share:
    made = sharing.shares.create(
        me,
        vehicle_id=car,
        party="insurer_a",
        purpose="cardata_sharing",
        agreed_purpose="usage-based insurance",
        descriptors=[MILEAGE],
        **over,  # type: ignore[arg-type]
    )
    return made.share


def test_the_stream_finds_the_active_shares_and_hears_of_revocations(
    world: tuple[Sharing, FakeClock, Caller, str],
) -> None:
    sharing, clock, me, car = world
    heard: list[str] = []
    sharing.shares.subscribe(lambda s: heard.append(s.id))
    share = _share(sharing, me, car)
    assert [s.id for s in sharing.shares.active_shares_for("insurer_a", car)] == [share.id]
    assert sharing.shares.active_shares_for("insurer_b", car) == []
    assert sharing.shares.is_active(share.id)
    since = datetime.now(UTC) - timedelta(seconds=1)  # revocations are found by record time
    clock.advance(timedelta(minutes=1))
    sharing.shares.revoke(me, share.id)
    assert heard == [share.id]
    assert not sharing.shares.is_active(share.id)
    assert sharing.shares.active_shares_for("insurer_a", car) == []
    found = sharing.shares.revocations_since(since)
    assert [(e.share_id, e.state, e.actor) for e in found] == [
        (share.id, ShareState.REVOKED, "eva")
    ]
    sharing.shares.revoke(me, share.id)  # again: nothing new is recorded, nobody told
    assert heard == [share.id] and len(sharing.shares.history(me, share.id)) == 2


def test_the_period_begin_and_end_are_recorded_by_the_system(
    world: tuple[Sharing, FakeClock, Caller, str],
) -> None:
    sharing, clock, me, car = world
    share = _share(
        sharing, me, car, valid_from=T0 + timedelta(hours=1), valid_until=T0 + timedelta(hours=3)
    )
    assert share.state is ShareState.PENDING
    assert not sharing.shares.active_shares_for("insurer_a", car)
    clock.advance(timedelta(hours=2))
    assert sharing.shares.is_active(share.id)
    clock.advance(timedelta(hours=2))
    history = sharing.shares.history(me, share.id)
    assert [(e.state, e.actor, e.reason) for e in history] == [
        (ShareState.PENDING, "eva", ShareReason.CUSTOMER_CREATED),
        (ShareState.ACTIVE, "system", ShareReason.PERIOD_BEGAN),
        (ShareState.EXPIRED, "system", ShareReason.PERIOD_ENDED),
    ]
    assert [e.at for e in history[1:]] == [share.valid_from, share.valid_until]


def test_only_the_customer_makes_and_sees_their_shares(
    world: tuple[Sharing, FakeClock, Caller, str],
) -> None:
    sharing, _, me, car = world
    share = _share(sharing, me, car)
    staff = Caller("desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    with pytest.raises(AccessDeniedError, match="customer"):
        sharing.shares.shares_of(staff)
    other = replace(me, id="bob", subject_id="someone-else")
    assert sharing.shares.shares_of(other) == []
    with pytest.raises(InvalidInputError) as bad:
        _share(sharing, other, car)  # not bob's vehicle
    assert {p.path for p in bad.value.problems} == {"vehicle_id"}
    assert [v.share.id for v in sharing.shares.shares_of(me)] == [share.id]


def test_a_party_of_an_undertaking_later_listed_as_gatekeeper_gets_no_share(
    world: tuple[Sharing, FakeClock, Caller, str],
) -> None:
    """Data Act Art. 5(3): the policy decides at the time of the share, not of registration."""
    sharing, _, me, car = world
    policy = sharing.shares.policy
    sharing.shares.policy = replace(
        policy, gatekeepers=(*policy.gatekeepers, Gatekeeper("a_group", "A Group"))
    )
    with pytest.raises(AccessDeniedError) as refused:
        _share(sharing, me, car)
    assert "recipient.gatekeeper (Art. 5(3) Regulation (EU) 2023/2854" in refused.value.reasons[0]
