"""The pure rules of the master data (SPEC I4): VIN format, validation that names fields and rules,
whose data a vehicle produces at a moment, owner changes and overlaps."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.domain.master import (
    ContactDetails,
    UsageKind,
    VehicleUsage,
    change_usage,
    subject_for,
    validate_contact,
    validate_usage,
    validate_vin,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def usage(
    kind: UsageKind,
    start: datetime,
    end: datetime | None = None,
    *,
    customer: str | None = None,
    fleet: str | None = None,
    ident: str | None = None,
    vehicle: str = "v1",
) -> VehicleUsage:
    return VehicleUsage(
        ident or f"{kind}-{customer or fleet}-{start.isoformat()}",
        vehicle,
        kind,
        customer,
        fleet,
        start,
        end,
        T0,
    )


@given(st.text(alphabet=VIN_CHARS, min_size=17, max_size=17))
def test_every_17_character_vin_without_i_o_q_is_valid(vin: str) -> None:
    assert validate_vin(vin) == []


@given(
    st.text(alphabet=VIN_CHARS, min_size=16, max_size=16),
    st.sampled_from("IOQio-_ é" + string.ascii_lowercase),
    st.integers(min_value=0, max_value=16),
)
def test_a_vin_with_a_forbidden_character_is_refused(base: str, bad: str, pos: int) -> None:
    vin = base[:pos] + bad + base[pos:]
    assert [(p.path, p.rule) for p in validate_vin(vin)] == [("vin", "vin_format")]


@given(st.text(alphabet=VIN_CHARS, max_size=30).filter(lambda s: len(s) != 17))
def test_a_vin_of_the_wrong_length_is_refused(vin: str) -> None:
    assert validate_vin(vin)[0].rule == "vin_format"


def test_contact_validation_lists_every_bad_field_without_its_value() -> None:
    contact = ContactDetails(
        surname="",
        first_name="Sanne",
        street="Laan van Meerdervoort",
        house_number="12" * 20,
        postal_code="2517 AB",
        city="Den Haag",
        country="Nederland",
        email="sanne-at-example.nl",
    )
    problems = validate_contact(contact)
    assert {(p.path, p.rule) for p in problems} == {
        ("surname", "required"),
        ("house_number", "max_length"),
        ("country", "iso_country"),
        ("email", "email_format"),
    }
    assert not any("sanne-at-example" in p.message or "Nederland" in p.message for p in problems)


def test_usage_needs_its_party_and_an_aware_start_before_its_end() -> None:
    naive = datetime(2024, 1, 1)
    bad = VehicleUsage("u", "v", UsageKind.OWNER, None, "f", naive, None, T0)
    assert {(p.path, p.rule) for p in validate_usage(bad)} == {
        ("start", "utc_datetime"),
        ("customer_id", "required"),
        ("fleet_id", "forbidden"),
    }
    backwards = usage(UsageKind.FLEET, T0, T0 - timedelta(days=1), fleet="f")
    assert [(p.path, p.rule) for p in validate_usage(backwards)] == [("end", "after_start")]
    cet = timezone(timedelta(hours=1))
    non_utc = usage(UsageKind.FLEET, datetime(2024, 1, 1, tzinfo=cet), fleet="f")
    assert validate_usage(non_utc)[0].rule == "utc_datetime"


def test_owner_change_moves_the_subject_at_the_change() -> None:
    change = T0 + timedelta(days=100)
    periods = [
        usage(UsageKind.OWNER, T0, change, customer="anna"),
        usage(UsageKind.OWNER, change, customer="bram"),
    ]
    assert subject_for("v1", periods, change - timedelta(microseconds=1)).customer_id == "anna"
    assert subject_for("v1", periods, change).customer_id == "bram"
    assert subject_for("v1", periods, T0 - timedelta(seconds=1)).basis is None
    assert subject_for("v1", periods, change).owner == "subject:bram"


def test_driver_wins_over_owner_and_a_fleet_car_without_driver_is_vehicle_linked() -> None:
    periods = [
        usage(UsageKind.FLEET, T0, fleet="lease"),
        usage(UsageKind.DRIVER, T0 + timedelta(days=1), T0 + timedelta(days=2), customer="dirk"),
    ]
    during = subject_for("v1", periods, T0 + timedelta(days=1, hours=1))
    assert (during.customer_id, during.fleet_id, during.basis) == ("dirk", "lease", "driver")
    after = subject_for("v1", periods, T0 + timedelta(days=3))
    assert (after.customer_id, after.fleet_id, after.basis) == (None, "lease", "fleet")
    assert after.owner == "vehicle:v1"


def test_other_vehicles_periods_are_ignored() -> None:
    periods = [usage(UsageKind.OWNER, T0, customer="anna", vehicle="v2")]
    assert subject_for("v1", periods, T0 + timedelta(days=1)).customer_id is None


def test_a_new_owner_closes_the_open_owner_period() -> None:
    old = usage(UsageKind.OWNER, T0, customer="anna", ident="old")
    change = T0 + timedelta(days=30)
    new = usage(UsageKind.OWNER, change, customer="bram", ident="new")
    closed, problems = change_usage(new, [old])
    assert problems == []
    assert [(u.id, u.end) for u in closed] == [("old", change)]


def test_an_owner_period_inside_a_closed_one_is_refused() -> None:
    old = usage(UsageKind.OWNER, T0, T0 + timedelta(days=60), customer="anna")
    new = usage(UsageKind.OWNER, T0 + timedelta(days=30), customer="bram")
    closed, problems = change_usage(new, [old])
    assert closed == []
    assert [(p.path, p.rule) for p in problems] == [("start", "no_overlap")]


def test_an_owner_period_before_the_open_one_is_refused() -> None:
    old = usage(UsageKind.OWNER, T0, customer="anna")
    new = usage(UsageKind.OWNER, T0 - timedelta(days=5), customer="bram")
    assert change_usage(new, [old])[1][0].rule == "no_overlap"


def test_two_drivers_may_share_a_car_but_one_driver_is_not_assigned_twice() -> None:
    first = usage(UsageKind.DRIVER, T0, customer="dirk")
    assert change_usage(usage(UsageKind.DRIVER, T0, customer="eva"), [first])[1] == []
    again = usage(UsageKind.DRIVER, T0 + timedelta(days=1), customer="dirk", ident="again")
    assert change_usage(again, [first])[1][0].rule == "no_overlap"


@given(
    st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8, unique=True),
    st.integers(min_value=0, max_value=12_000),
)
def test_a_chain_of_owner_changes_gives_exactly_one_owner_at_any_time(
    days: list[int], probe: int
) -> None:
    periods: list[VehicleUsage] = []
    for i, day in enumerate(sorted(days)):
        new = usage(UsageKind.OWNER, T0 + timedelta(days=day), customer=f"c{i}", ident=f"u{i}")
        closed, problems = change_usage(new, periods)
        assert problems == []
        periods = [u for u in periods if u.id not in {c.id for c in closed}] + closed + [new]
    at = T0 + timedelta(days=probe)
    owners = [u for u in periods if u.covers(at)]
    expected = [i for i, d in enumerate(sorted(days)) if d <= probe]
    if expected:
        assert [u.customer_id for u in owners] == [f"c{expected[-1]}"]
        assert subject_for("v1", periods, at).customer_id == f"c{expected[-1]}"
    else:
        assert owners == []


@pytest.mark.parametrize("kind", [UsageKind.OWNER, UsageKind.DRIVER])
def test_person_periods_need_a_customer(kind: UsageKind) -> None:
    bad = VehicleUsage("u", "v", kind, None, None, T0, None, T0)
    assert ("customer_id", "required") in {(p.path, p.rule) for p in validate_usage(bad)}
