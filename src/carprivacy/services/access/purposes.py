"""Which purposes a caller may use, and a purpose that does not exist (SPEC U1, U3).

:func:`usable_purposes` answers, for one caller, every purpose of the policy (and the right of
access, for a customer) whose static rules let that caller use at least one category, with those
categories, the legal basis, the form and the notice section: what ``GET /v1/purposes`` shows, so
that no one has to try purposes to find one that works. It asks the engine's own static check
(``CompiledPolicy.static``), so it never lists what the gate would refuse for the caller's
organisation or role (a purpose listed may still be refused for a subject: no consent, no
contract, an objection).

:func:`check_purpose`: a purpose the policy does not declare is bad input (422 naming
``purpose`` and the purposes this caller may use), not a refusal; a declared purpose the caller
may not use stays the engine's refusal (403 with its reasons, audited).
"""

from __future__ import annotations

from dataclasses import dataclass

from carprivacy.domain.access import Caller, Reason
from carprivacy.domain.decision_index import CompiledPolicy
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import Text

LISTED = 40  # purposes named in a 422 at most (the shipped policy has 32 and the access right)


@dataclass(frozen=True)
class UsablePurpose:
    id: str
    name: Text
    section: str  # the notice section (A-H, or "rights" for the access right)
    section_title: Text | None
    legal_basis: str
    article: str
    form: str
    categories: tuple[str, ...]  # the categories this caller may use for the purpose
    consent_topic: str | None


def usable_purposes(policy: CompiledPolicy, caller: Caller) -> list[UsablePurpose]:
    """The purposes ``caller`` may use, each with the categories it may use (policy order)."""
    sections = policy.policy.sections_by_id
    out: list[UsablePurpose] = []
    for pid, idx in policy.purposes.items():
        p = idx.purpose
        categories = tuple(
            c for c in p.categories if not isinstance(policy.static(pid, caller, (c,)), Reason)
        )
        if not categories:
            continue
        section = sections.get(p.section)
        out.append(
            UsablePurpose(
                id=p.id,
                name=p.name,
                section=p.section,
                section_title=section.title if section else None,
                legal_basis=p.legal_basis.value,
                article=p.legal_basis.article,
                form=p.form.value,
                categories=categories,
                consent_topic=p.consent_topic,
            )
        )
    return out


def check_purpose(
    policy: CompiledPolicy, caller: Caller, purpose: str, path: str = "purpose"
) -> None:
    """InvalidInputError (422 naming ``path``) when ``purpose`` is not declared; the message
    lists the purposes ``caller`` may use."""
    if purpose in policy.purposes:
        return
    usable = [p.id for p in usable_purposes(policy, caller)]
    if not usable:
        hint = "this caller may use no purpose"
    else:
        more = f" and {len(usable) - LISTED} more" if len(usable) > LISTED else ""
        hint = "this caller may use: " + ", ".join(usable[:LISTED]) + more
    raise InvalidInputError(
        [Problem(path, "known_purpose", f"not a purpose of the policy; {hint} (GET /v1/purposes)")]
    )
