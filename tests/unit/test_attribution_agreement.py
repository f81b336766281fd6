"""The decision engine and ingestion agree on whose data a vehicle produces.

Owner O1, an assigned driver D from February, an owner change to O2 in March: in April the data
is D's for ingestion, so the engine must evaluate D (D's objection, D's consents), not O2.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.subject_state import SubjectFacts, UsagePeriod
from carprivacy.domain.vehicle_usage import UsageKind, VehicleUsage, subject_for

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def usage(i: int, kind: UsageKind, who: str, start: int, end: int | None) -> VehicleUsage:
    return VehicleUsage(
        id=f"u{i}",
        vehicle_id="v",
        kind=kind,
        customer_id=who,
        fleet_id=None,
        start=T0 + timedelta(days=start),
        end=None if end is None else T0 + timedelta(days=end),
        created_at=T0,
    )


def as_periods(usages: list[VehicleUsage]) -> SubjectFacts:
    return SubjectFacts(
        usage=tuple(
            UsagePeriod(
                u.vehicle_id, str(u.customer_id), u.start, u.end, driver=u.kind is UsageKind.DRIVER
            )
            for u in usages
        )
    )


def test_the_driver_not_the_new_owner_is_the_subject() -> None:
    usages = [
        usage(1, UsageKind.OWNER, "O1", 0, 60),
        usage(2, UsageKind.DRIVER, "D", 31, None),
        usage(3, UsageKind.OWNER, "O2", 60, None),
    ]
    april = T0 + timedelta(days=95)
    assert subject_for("v", usages, april).customer_id == "D"
    assert as_periods(usages).user_at("v", april) == "D"


periods = st.lists(
    st.tuples(
        st.sampled_from([UsageKind.OWNER, UsageKind.DRIVER]),
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 100),
        st.one_of(st.none(), st.integers(1, 60)),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(spec=periods, day=st.integers(0, 200))
def test_engine_and_ingestion_agree_on_the_subject(
    spec: list[tuple[UsageKind, str, int, int | None]], day: int
) -> None:
    usages = [
        usage(i, kind, who, start, None if length is None else start + length)
        for i, (kind, who, start, length) in enumerate(spec)
    ]
    at = T0 + timedelta(days=day)
    assert as_periods(usages).user_at("v", at) == subject_for("v", usages, at).customer_id
