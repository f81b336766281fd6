"""What is held about a person, as the right of access tells it (Art. 15(1), SPEC R1).

:func:`held_statement` is pure: the policy and the :class:`HeldFacts` of one person (which
categories the stores hold records of, the moments retention counts from) in, a JSON-ready
statement out. Per category of the policy: whether records of it are held about the person, where
it comes from when not from the person (Art. 15(1)(g)), the purposes it is used for with their
legal basis and notice section (Art. 15(1)(a)), the controllers that hold it (the notice names
joint controllers), the recipients each purpose shares it with (Art. 15(1)(c)) and how long it is
kept (Art. 15(1)(d)): each retention rule of the policy with its period, and the date it ends
where the person's records fix one (a contract that ended, a payment's booking, a vehicle's end
of life).

Standard library and domain only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carprivacy.domain.policy import Policy, RetentionAnchor, RetentionRule, Text
from carprivacy.domain.retention import rule_expiry, stated_rules


@dataclass(frozen=True)
class HeldFacts:
    """What the stores hold about one person."""

    subject_id: str
    held: frozenset[str]  # category ids with at least one record about the person
    contract_ends: tuple[datetime | None, ...] = ()  # per contract; None: still running
    bookings: tuple[datetime, ...] = ()  # payment transactions' booking times
    end_of_life: tuple[datetime, ...] = ()  # the person's vehicles' end of life


def _text(value: Text | None) -> dict[str, str] | None:
    return None if value is None else {"nl": value.nl, "en": value.en}


def _period(rule: RetentionRule) -> str | None:
    """The rule's period as ISO 8601 (P1Y, P4W); None for an open-ended rule."""
    if rule.is_open_ended:
        return None
    parts = [(rule.years, "Y"), (rule.months, "M"), (rule.weeks, "W"), (rule.days, "D")]
    return "P" + "".join(f"{n}{unit}" for n, unit in parts if n)


def _anchor(facts: HeldFacts, anchor: RetentionAnchor) -> datetime | None:
    """The latest moment of ``anchor`` among the person's records; None when not fixed yet (a
    contract still running) or when the anchor is per record (collection) or has no date."""
    if anchor is RetentionAnchor.CONTRACT_END:
        ends = facts.contract_ends
        return None if not ends or any(e is None for e in ends) else max(e for e in ends if e)
    if anchor is RetentionAnchor.TRANSACTION_DATE:
        return max(facts.bookings, default=None)
    if anchor is RetentionAnchor.VEHICLE_END_OF_LIFE:
        return max(facts.end_of_life, default=None)
    return None


def _retention(policy: Policy, category: str, facts: HeldFacts) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    # the terms the notice states: a dated term, not also "as long as the purpose requires"
    for rule in (s.rule for s in stated_rules(policy.retention) if s.rule.category == category):
        moment = _anchor(facts, rule.anchor)
        until = rule_expiry(rule, {rule.anchor: moment}) if moment is not None else None
        out.append(
            {
                "rule": rule.id,
                "purpose": rule.purpose,
                "anchor": rule.anchor.value,
                "period": _period(rule),
                "action": rule.action.value,
                "until": until,
                "section": rule.section,
                "reason": _text(rule.reason),
            }
        )
    return out


def held_statement(policy: Policy, facts: HeldFacts, at: datetime) -> dict[str, object]:
    """The statement of what is held about ``facts.subject_id`` (see the module docstring)."""
    recipients = policy.recipients_by_id
    controllers = policy.controllers_by_id
    categories: list[dict[str, object]] = []
    for cat in policy.categories:
        purposes = [
            {
                "id": p.id,
                "name": _text(p.name),
                "section": p.section,
                "legal_basis": p.legal_basis.value,
                "article": p.legal_basis.article,
                "controllers": list(p.controllers),
                "recipients": list(p.recipients),
                "form": p.form.value,
            }
            for p in policy.purposes_using(cat.id)
        ]
        shared = dict.fromkeys(r for p in policy.purposes_using(cat.id) for r in p.recipients)
        categories.append(
            {
                "id": cat.id,
                "name": _text(cat.name),
                "held": cat.id in facts.held,
                "section": cat.section,
                "source": _text(cat.source),
                "controllers": [c.id for c in policy.controllers if cat.id in c.holds],
                "purposes": purposes,
                "recipients": [
                    {
                        "id": r.id,
                        "name": _text(r.name),
                        "kind": r.kind.value,
                        "country": r.country,
                        "transfer_mechanism": r.transfer_mechanism.value,
                        "section": r.section,
                    }
                    for r in (recipients[rid] for rid in shared if rid in recipients)
                ],
                "retention": _retention(policy, cat.id, facts),
            }
        )
    return {
        "subject_id": facts.subject_id,
        "at": at,
        "policy": {"id": policy.id, "version": policy.version},
        "controllers": [
            {
                "id": c.id,
                "name": c.name,
                "role": _text(c.role),
                "country": c.country,
                "holds": list(c.holds),
                "contact": c.contact.email,
                "dpo": c.dpo.email if c.dpo else None,
            }
            for c in controllers.values()
        ],
        "categories": categories,
        "rights_section": "rights",
    }
