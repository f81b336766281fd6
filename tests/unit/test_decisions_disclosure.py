"""Pseudonyms, coarsening and the disclosure of rows (SPEC U1, P6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.decisions import decide
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Coarsening
from carprivacy.domain.pseudonym import (
    Pseudonymiser,
    coarsen_position,
    coarsen_time,
    derive_recipient_key,
)
from carprivacy.domain.subject_state import SubjectFacts
from carprivacy.services.access.disclosure import Disclosure
from carprivacy.testing.decision_policy import sample_policy

SECRET = b"k" * 32
POLICY = sample_policy()
AT = datetime(2025, 6, 1, tzinfo=UTC)


def test_recipient_keys_differ_and_need_a_real_secret() -> None:
    assert derive_recipient_key(SECRET, "a") != derive_recipient_key(SECRET, "b")
    assert derive_recipient_key(SECRET, "a") != derive_recipient_key(b"j" * 32, "a")
    with pytest.raises(ValueError, match="at least"):
        derive_recipient_key(b"short", "a")


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_pseudonyms_are_stable_per_recipient_and_separate_values(a: str, b: str) -> None:
    p, q = Pseudonymiser(SECRET, "r1"), Pseudonymiser(SECRET, "r2")
    assert p.pseudonym("vin", a) == p.pseudonym("vin", a)
    assert p.pseudonym("vin", a) != q.pseudonym("vin", a)
    assert (p.pseudonym("vin", a) == p.pseudonym("vin", b)) == (a == b)


def test_coarsening_of_time_and_position() -> None:
    c = Coarsening(time_seconds=900, position_decimals=3)
    assert coarsen_time(datetime(2025, 1, 1, 10, 14, 59, tzinfo=UTC), c) == datetime(
        2025, 1, 1, 10, 0, tzinfo=UTC
    )
    assert coarsen_position(52.123456, c) == 52.123
    assert coarsen_time(AT, Coarsening()) == AT
    assert coarsen_position(1.23456, Coarsening()) == 1.23456


def _decision(purpose: str, org: str, role: Role, category: str):  # type: ignore[no-untyped-def]
    caller = Caller("x", CallerKind.PERSON, role, org)
    return decide(
        POLICY, DecisionRequest(caller, purpose, (category,), AT, "s1"), SubjectFacts("s1")
    )


def test_disclosure_refuses_a_denied_or_foreign_category() -> None:
    disclosure = Disclosure(POLICY, SECRET)
    denied = _decision("product_development", "dealers", Role.DEALER, "position")
    assert denied.outcome is Outcome.DENY
    with pytest.raises(AccessDeniedError):
        disclosure.apply(denied, "position", [{"vin": "V"}], recipient="dealers", at=AT)
    allowed = _decision("after_sales_service", "dealers", Role.DEALER, "maintenance")
    with pytest.raises(AccessDeniedError):
        disclosure.apply(allowed, "position", [{"vin": "V"}], recipient="dealers", at=AT)


def test_disclosure_drops_expired_and_unreadable_expiry_and_unknown_fields() -> None:
    disclosure = Disclosure(POLICY, SECRET)
    allowed = _decision("after_sales_service", "dealers", Role.DEALER, "maintenance")
    rows = [
        {"vin": "A", "oil_level": 1, "expires_at": AT},
        {"vin": "B", "oil_level": 2, "expires_at": "not a time"},
        {"vin": "C", "oil_level": 3, "expires_at": (AT + timedelta(days=1)).isoformat()},
        {"vin": "D", "oil_level": 4, "secret_column": "x", "customer_id": "s1"},
    ]
    out = disclosure.apply(allowed, "maintenance", rows, recipient="dealers", at=AT)
    assert out == [{"vin": "C", "oil_level": 3}, {"vin": "D", "oil_level": 4}]


CALLERS_FORMS = [
    ("product_development", "mini_ag_staff", Role.RND_ANALYST),
    ("product_development", "catena_x_partners", Role.PARTNER),
    ("after_sales_service", "dealers", Role.DEALER),
]
values = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=6, max_size=17)


@given(
    case=st.sampled_from(CALLERS_FORMS),
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "vin": values,
                "customer_id": values,
                "oil_level": st.floats(0, 1),
                "expires_at": st.one_of(
                    st.none(), st.integers(-5, 5).map(lambda d: AT + timedelta(days=d))
                ),
            }
        ),
        max_size=5,
    ),
)
def test_no_identifier_leaves_in_a_weaker_form(
    case: tuple[str, str, Role], rows: list[dict[str, object]]
) -> None:
    purpose, org, role = case
    decision = _decision(purpose, org, role, "maintenance")
    assert decision.allowed, decision.reasons
    out = Disclosure(POLICY, SECRET).apply(decision, "maintenance", rows, recipient=org, at=AT)
    live = [r for r in rows if r["expires_at"] is None or r["expires_at"] > AT]  # type: ignore[operator]
    assert len(out) == len(live)
    for released, original in zip(out, live, strict=True):
        assert "expires_at" not in released
        assert "customer_id" not in released or released["customer_id"] != original["customer_id"]
        if decision.form.value == "pseudonymised":  # type: ignore[union-attr]
            assert original["vin"] not in released.values()
            assert original["customer_id"] not in released.values()
        else:  # vehicle_linked: the VIN, never the customer
            assert released["vin"] == original["vin"]
            assert "customer_id" not in released
