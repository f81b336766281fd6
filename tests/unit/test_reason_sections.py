"""Every reason the engine and the gate can give names a notice section the policy declares
(SPEC U1: "every refusal says why: which rule, which article"; the notice decides which section).

The reasons are gathered exhaustively: every pre-built reason of every compiled purpose (the
access right included), every static answer for every purpose x organisation x role x category,
every screen refusal, and the gate's and decision service's own reasons. A section named by a
heading text instead of an id (as "Rechten als betrokkene" was) fails here.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from itertools import product

import pytest

from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.config import default_policy_path
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Reason, Role
from carprivacy.domain.decision_index import ACCESS_PURPOSE, CompiledPolicy, PurposeIndex
from carprivacy.domain.decisions import screen
from carprivacy.domain.policy import Policy
from carprivacy.services.access import gate
from carprivacy.services.access.decisions import TIME_NOT_ALLOWED

AT = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = load_policy_file(default_policy_path())


def every_reason(policy: Policy) -> list[Reason]:
    cp = CompiledPolicy(policy)
    out = [cp.not_own_data, cp.unknown_purpose, cp.fleet_not_member, TIME_NOT_ALLOWED]
    out += [gate.VEHICLE_LINKED_VIA_SUBJECT, gate.AGGREGATED_ONLY]
    for idx in cp.purposes.values():
        out += [getattr(idx, f.name) for f in fields(PurposeIndex)]
    orgs = [r.id for r in policy.recipients] + [c.id for c in policy.controllers] + ["nobody"]
    purposes = [*cp.purposes, "no_such_purpose"]
    categories = [(c.id,) for c in policy.categories] + [(), ("no_such_category",)]
    for purpose, org, role, cats in product(purposes, orgs, list(Role), categories):
        for subject in ("s1", None):
            caller = Caller("c", CallerKind.PERSON, role, org, subject_id=subject, fleet_id="f1")
            static = cp.static(purpose, caller, cats)
            out += [static] if isinstance(static, Reason) else list(static.reasons)
            refusal = screen(cp, DecisionRequest(caller, purpose, cats, AT, subject_id="s2"))
            if refusal is not None:
                out.append(refusal)
    return [r for r in out if isinstance(r, Reason)]


def test_the_shipped_policy_declares_every_section_a_reason_names() -> None:
    reasons = every_reason(POLICY)
    declared = set(POLICY.sections_by_id)
    unknown = sorted({f"{r.rule}: {r.section!r}" for r in reasons if r.section not in declared})
    assert unknown == []
    rules = {r.rule for r in reasons}
    # the walk reaches the refusals that name a heading rather than a purpose section
    assert {"purpose.unknown", "caller.not_own_data", "retention.expired", "right.access"} <= rules


@pytest.mark.parametrize(
    ("reason", "section"),
    [
        (CompiledPolicy(POLICY).unknown_purpose, "categories"),
        (CompiledPolicy(POLICY).not_own_data, "rights"),
        (TIME_NOT_ALLOWED, "rights"),
        (CompiledPolicy(POLICY).purposes[ACCESS_PURPOSE].deny_no_subject, "rights"),
        (CompiledPolicy(POLICY).purposes["marketing_email"].deny_consent_required, "F"),
        (CompiledPolicy(POLICY).purposes["after_sales_service"].deny_objection, "D"),
    ],
    ids=lambda x: x.rule if isinstance(x, Reason) else x,
)
def test_a_reason_names_the_section_that_governs_it(reason: Reason, section: str) -> None:
    assert reason.section == section
    assert POLICY.sections_by_id[section].title.nl


def test_refusals_of_acting_for_a_person_name_their_section() -> None:
    from carprivacy.domain.errors import AccessDeniedError
    from carprivacy.services.consent.acting import check_acting
    from carprivacy.testing.bootstrap import bootstrap_in_memory

    decisions = bootstrap_in_memory().decisions
    cases = [
        (Caller("c", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="s1"), None, "rights"),
        (Caller("d", CallerKind.PERSON, Role.DEALER, "dealers"), None, "rights"),
        (Caller("e", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl"), None, "categories"),
    ]
    for caller, purpose, section in cases:
        with pytest.raises(AccessDeniedError) as refused:
            check_acting(decisions, caller, "s2", purpose)
        (reason,) = refused.value.reasons
        assert f"notice {section})" in reason and section in POLICY.sections_by_id
