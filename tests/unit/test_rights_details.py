"""What a request asks is checked on receipt (SPEC R1-R6): any JSON a caller sends either passes
as the details of its kind or is refused naming ``details.<field>`` and a rule; never another
error. Property-based over arbitrary JSON objects and every kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.bootstrap import policy_documents
from carprivacy.domain.errors import InvalidInputError
from carprivacy.domain.request_workflow import RequestKind
from carprivacy.services.rights.details import ALLOWED, checked

POLICY = policy_documents().load(Path("policies/mini-connected-nl.yaml"))
KEYS = sorted({k for keys in ALLOWED.values() for k in keys} | {"x", "changes.email"})
LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
VALUE = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["email", "city", "iban", "a"]), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(RequestKind)),
    st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=5),
)
def test_details_pass_or_are_refused_naming_the_field(kind: RequestKind, details: Any) -> None:
    try:
        out = checked(POLICY, kind, details)
    except InvalidInputError as exc:
        assert exc.problems
        assert all(p.path.startswith("details.") and p.rule for p in exc.problems)
        return
    assert set(out) <= ALLOWED[kind] | {
        "note",
        "format",
        "categories",
        "marketing",
        "purpose",
        "grounds",
        "case",
    }
    assert set(details) <= ALLOWED[kind]


def test_a_rectification_names_known_fields_and_text_values() -> None:
    ok = checked(POLICY, RequestKind.RECTIFICATION, {"changes": {"email": "a@b.nl"}})
    assert ok == {"changes": {"email": "a@b.nl"}}
    for bad, path in (
        ({"changes": {}}, "details.changes"),
        ({"changes": {"email": 5}}, "details.changes.email"),
        ({"changes": {"iban": "x"}}, "details.changes.iban"),
        ({"changes": {"email": "a"}, "case": "x"}, "details.case"),
    ):
        try:
            checked(POLICY, RequestKind.RECTIFICATION, bad)
        except InvalidInputError as exc:
            assert path in [p.path for p in exc.problems]
        else:
            raise AssertionError(bad)
