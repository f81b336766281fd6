"""A prepared releaser gives exactly what ``release`` gives, in every form (SPEC U1, U2)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.domain.access import Decision, Outcome
from carprivacy.domain.policy import Coarsening, Form
from carprivacy.domain.pseudonym import Pseudonymiser
from carprivacy.services.access.views import Shape, View, release, releaser

VIEW = View(
    "vehicle_status",
    {"value": "mileage", "ts": "timestamp", "vin": "vin"},
    {"vehicle_id": "vehicle", "subject_id": "customer"},
    frozenset({"signal", "unit"}),
)
SHAPE = Shape(frozenset({"vin"}), frozenset(), Coarsening(time_seconds=3600))
NAMES = ["value", "ts", "vin", "vehicle_id", "subject_id", "signal", "unit", "other"]
VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
)


@settings(deadline=None)
@given(
    form=st.sampled_from([f for f in Form if f is not Form.AGGREGATED_ANONYMOUS]),
    allowed=st.sets(st.sampled_from(["mileage", "timestamp", "vin"])),
    record=st.dictionaries(st.sampled_from(NAMES), VALUES),
)
def test_a_releaser_equals_release(form: Form, allowed: set[str], record: dict) -> None:
    decision = Decision(
        Outcome.ALLOW,
        "p",
        ("vehicle_status",),
        (),
        form,
        {"vehicle_status": tuple(sorted(allowed))},
    )
    pseudonymiser = Pseudonymiser(b"k" * 32, "r")
    expected = release(VIEW, decision, record, SHAPE, pseudonymiser)
    assert releaser(VIEW, decision, SHAPE, pseudonymiser)(record) == expected
