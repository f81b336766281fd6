"""A releaser prepared for rows gives exactly what ``release`` gives for the same record as a
dict, in every form, for any view, decision, field order and values (SPEC U1, U2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.access import Decision, Outcome
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Coarsening, Form
from carprivacy.domain.pseudonym import Pseudonymiser
from carprivacy.services.access.views import Shape, View, release, row_releaser

NAMES = ["value", "ts", "vin", "vehicle_id", "subject_id", "signal", "unit", "lat", "other"]
POLICY_FIELDS = ["mileage", "timestamp", "vin", "latitude", "speed"]
KINDS = ["vehicle", "customer", "fleet"]
PSEUDONYMISER = Pseudonymiser(b"k" * 32, "r")
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.sampled_from(["veh-1", "cust-1"]),  # repeats: the pseudonyms known per releaser
    st.sampled_from([1, 1.0, True, "1"]),  # equal or alike, each with a pseudonym of its own
    st.sampled_from([52.0123456, -4.98765432]),  # a position that coarsening rounds
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
    ),
    st.datetimes(min_value=datetime(2000, 1, 1)),  # naive
    st.dates(min_value=date(2000, 1, 1)),
    st.lists(st.integers(), max_size=2),  # unhashable: a pseudonym of its text
)

views = st.builds(
    View,
    st.just("c"),
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(POLICY_FIELDS), min_size=1),
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(KINDS)),
    st.frozensets(st.sampled_from(NAMES)),
)
shapes = st.builds(
    Shape,
    st.frozensets(st.sampled_from(POLICY_FIELDS), max_size=2),
    st.frozensets(st.sampled_from(POLICY_FIELDS), min_size=1),
    st.builds(
        Coarsening,
        st.sampled_from([0, 60, 3600, 86_400, 7 * 86_400]),
        st.one_of(st.none(), st.integers(0, 4)),
    ),
)
ALLOWED = st.builds(
    lambda allowed: {"c": tuple(sorted(allowed))},
    st.sets(st.sampled_from(POLICY_FIELDS), min_size=1),
)
FORMS = [Form.IDENTIFIED, Form.VEHICLE_LINKED, Form.PSEUDONYMISED]
# the other decisions: refused, aggregated, without a form or without the category's fields
odd_decisions = st.builds(
    Decision,
    st.sampled_from(Outcome),
    st.just("p"),
    st.just(("c",)),
    st.just(()),
    st.one_of(st.none(), st.sampled_from(Form)),
    st.one_of(st.none(), st.just({}), ALLOWED),
)


@st.composite
def rows(draw: st.DrawFn) -> tuple[list[str], list[list[object]]]:
    """Distinct field names in any order, and a few rows of values for them."""
    names = draw(st.permutations(NAMES))[: draw(st.integers(0, len(NAMES)))]
    row = st.lists(VALUES, min_size=len(names), max_size=len(names))
    values = draw(st.lists(row, min_size=1, max_size=6))
    return list(names), values


def _outcome(call: Callable[..., dict[str, object]], *args: object) -> object:
    try:
        return call(*args)
    except AccessDeniedError as error:
        return ("refused", str(error), error.reasons)


def _check(
    view: View, decision: Decision, shape: Shape, table: tuple[list[str], list[list[object]]]
) -> None:
    names, values = table
    prepared = row_releaser(view, decision, shape, PSEUDONYMISER, names)
    for row in values:
        record = dict(zip(names, row, strict=True))
        expected = _outcome(release, view, decision, record, shape, PSEUDONYMISER)
        got = _outcome(prepared, tuple(row))
        assert got == expected
        if isinstance(expected, dict):
            assert list(got) == list(expected)  # type: ignore[arg-type]  # one key order


@pytest.mark.parametrize("form", FORMS)
@settings(max_examples=500, deadline=None)
@given(view=views, allowed=ALLOWED, shape=shapes, table=rows())
def test_a_row_releaser_equals_release_of_the_record(
    form: Form,
    view: View,
    allowed: dict[str, tuple[str, ...]],
    shape: Shape,
    table: tuple[list[str], list[list[object]]],
) -> None:
    _check(view, Decision(Outcome.ALLOW, "p", ("c",), (), form, allowed), shape, table)


@settings(max_examples=300, deadline=None)
@given(view=views, decision=odd_decisions, shape=shapes, table=rows())
def test_a_row_releaser_refuses_what_release_refuses(
    view: View, decision: Decision, shape: Shape, table: tuple[list[str], list[list[object]]]
) -> None:
    _check(view, decision, shape, table)


TELEMETRY = View(
    "vehicle_status",
    {"value": "mileage", "ts": "timestamp"},
    {"vehicle_id": "vehicle", "subject_id": "customer"},
    frozenset({"signal", "unit", "category"}),
)
NAMES_OF_A_VALUE = ("ts", "signal", "unit", "category", "vehicle_id", "subject_id", "value")
ROW = (datetime(2026, 3, 1, 7, 42, tzinfo=UTC), "Vehicle.TraveledDistance", "km", "vehicle_status")


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            Form.IDENTIFIED,
            {"category": "vehicle_status", "signal": "Vehicle.TraveledDistance", "unit": "km"}
            | {"value": 1042.5, "ts": ROW[0], "vehicle_id": "veh-1", "subject_id": "cust-1"},
        ),
        (
            Form.VEHICLE_LINKED,
            {"category": "vehicle_status", "signal": "Vehicle.TraveledDistance", "unit": "km"}
            | {"value": 1042.5, "ts": ROW[0], "vehicle_id": "veh-1"},
        ),
        (
            Form.PSEUDONYMISED,
            {"category": "vehicle_status", "signal": "Vehicle.TraveledDistance", "unit": "km"}
            | {"value": 1042.5, "ts": datetime(2026, 3, 1, tzinfo=UTC)}
            | {
                "vehicle_id": PSEUDONYMISER.pseudonym("vehicle", "veh-1"),
                "subject_id": PSEUDONYMISER.pseudonym("customer", "cust-1"),
            },
        ),
    ],
)
def test_a_telemetry_value_in_each_form(form: Form, expected: dict[str, object]) -> None:
    """The forms the notice promises, spelled out: the owner identified, the dealer without the
    customer, the R&D partner pseudonymised with the day only."""
    decision = Decision(
        Outcome.ALLOW, "p", ("vehicle_status",), (), form, {"vehicle_status": ("mileage",)}
    )
    decision_with_time = Decision(
        Outcome.ALLOW,
        "p",
        ("vehicle_status",),
        (),
        form,
        {"vehicle_status": ("mileage", "timestamp")},
    )
    shape = Shape(frozenset(), frozenset(), Coarsening(time_seconds=86_400))
    row = (*ROW, "veh-1", "cust-1", 1042.5)
    got = row_releaser(TELEMETRY, decision_with_time, shape, PSEUDONYMISER, NAMES_OF_A_VALUE)(row)
    assert got == expected
    without_time = row_releaser(TELEMETRY, decision, shape, PSEUDONYMISER, NAMES_OF_A_VALUE)(row)
    assert "ts" not in without_time  # the time field not allowed: not released
    anonymous = (*ROW, "veh-1", None, 1042.5)  # a value attributed to no person
    released = row_releaser(TELEMETRY, decision, shape, PSEUDONYMISER, NAMES_OF_A_VALUE)(anonymous)
    assert "subject_id" not in released


def test_a_refused_decision_releases_nothing() -> None:
    refused = Decision(Outcome.DENY, "p", ("vehicle_status",), ())
    prepared = row_releaser(
        TELEMETRY,
        refused,
        Shape(frozenset(), frozenset(), Coarsening()),
        PSEUDONYMISER,
        NAMES_OF_A_VALUE,
    )
    with pytest.raises(AccessDeniedError):
        prepared((*ROW, "veh-1", "cust-1", 1.0))
