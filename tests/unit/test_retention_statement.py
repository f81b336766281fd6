"""The notice and the register state one retention line per category and purpose, never two
that disagree (SPEC P4, L1): a dated term is not stated beside "as long as the purpose
requires" for the same category and purposes, and a category's general line names the other
purposes when some purposes have their own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from carprivacy.adapters.notice.notice import render_notice
from carprivacy.adapters.notice.register import register_rows
from carprivacy.bootstrap import policy_documents
from carprivacy.domain.policy import RetentionAnchor, RetentionRule
from carprivacy.domain.retention import stated_for, stated_rules

POLICY = policy_documents().load(Path("policies/mini-connected-nl.yaml"))

rules = st.lists(
    st.builds(
        RetentionRule,
        id=st.uuids().map(str),
        category=st.sampled_from(["contract", "financial", "telemetry"]),
        purpose=st.sampled_from([None, None, "service", "marketing"]),
        anchor=st.sampled_from(list(RetentionAnchor)),
        years=st.integers(0, 10),
    ),
    max_size=12,
)


@given(rules)
def test_one_line_per_category_and_purpose_and_no_two_that_disagree(given_rules: list) -> None:
    stated = stated_rules(given_rules)
    kept = {id(s.rule) for s in stated}
    for r in given_rules:
        general = [g for g in given_rules if g.category == r.category and g.purpose is None]
        if r.purpose is not None:
            assert id(r) in kept  # a purpose's own term is always stated
        elif r.anchor is RetentionAnchor.PURPOSE_END and any(
            g.anchor is not RetentionAnchor.PURPOSE_END for g in general
        ):
            assert id(r) not in kept  # "as long as needed" beside a dated term: left out
        else:
            assert id(r) in kept
    for s in stated:
        own = any(g.category == s.rule.category and g.purpose for g in given_rules)
        assert s.other_purposes == (s.rule.purpose is None and own)


def test_the_shipped_notice_states_contract_and_financial_terms_once() -> None:
    stated = Counter((s.rule.category, s.rule.purpose) for s in stated_rules(POLICY.retention))
    assert stated[("contract", None)] == 1 and stated[("financial_transactions", None)] == 1
    assert [r.id for r in stated_for(POLICY.retention, "financial_transactions", "x")] == [
        "financial_ten_years"
    ]
    for lang, phrase in (("en", "other purposes"), ("nl", "overige doelen")):
        text = render_notice(POLICY, lang, "md")
        lines = [line for line in text.splitlines() if line.startswith("| Contract")]
        assert len([line for line in lines if "1 year" in line or "1 jaar" in line]) == 1
        assert phrase in text
    for row in register_rows(POLICY, "en"):
        retention = row.get("retention", [])
        names = [line.split(":", 1)[0] for line in retention]
        assert len(names) == len(set(names)), (row["purpose_id"], retention)
