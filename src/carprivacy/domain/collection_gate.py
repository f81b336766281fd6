"""Collection gated by a consent topic (SPEC I2, C3; notice G).

A category is collected for its collection purposes (``collection_purposes``). When *every* one of
them depends on a consent topic, the subject's choice decides whether the value may be collected
at all: an opt-out topic stops collection while a refusal is in force (OBFCM: "you can refuse
this collection"), an opt-in topic needs a consent in force. Such a value is then refused at
ingestion and kept nowhere. Categories with at least one purpose that needs no consent are
always collected (the decision engine decides each later use).

The rules are those of the decision engine (``decisions.py``, rule 7), for a request that names
the vehicle: a consent or refusal of a vehicle-only topic counts for its vehicle only.
``tests/unit/test_collection_gate.py`` checks that both agree (a property test).

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from carprivacy.domain.policy import ConsentKind, ConsentTopic, Policy
from carprivacy.domain.subject_state import ConsentChoice, ConsentRecord

REFUSED = ("consent.refused", "Art. 21 GDPR")
WITHDRAWN = ("consent.withdrawn", "Art. 7(3) GDPR")
REQUIRED = ("consent.required", "Art. 6(1)(a) GDPR")


@dataclass(frozen=True)
class GateRefusal:
    rule: str
    article: str
    message: str


@dataclass(frozen=True)
class CollectionGate:
    """The consent topics of a category's collection purposes (one per purpose)."""

    category: str
    topics: tuple[ConsentTopic, ...]

    def refusal(
        self,
        consents: Iterable[ConsentRecord],
        subject_id: str,
        vehicle_id: str,
        at: datetime,
    ) -> GateRefusal | None:
        """Why a value of this category may not be collected for ``subject_id`` at ``at``;
        None when some purpose still allows it."""
        records = [c for c in consents if c.subject_id == subject_id]
        first: tuple[str, str, str] | None = None
        for topic in self.topics:
            blocked = _blocked(topic, records, vehicle_id, at)
            if blocked is None:
                return None
            first = first or (*blocked, topic.id)
        assert first is not None
        rule, article, topic_id = first
        what = {
            "consent.refused": f"the subject refused topic {topic_id}",
            "consent.withdrawn": f"the consent for topic {topic_id} was withdrawn",
            "consent.required": f"no consent for topic {topic_id}",
        }[rule]
        return GateRefusal(
            rule,
            article,
            f"{what}: category {self.category} is not collected ({article})",
        )


def _blocked(
    topic: ConsentTopic, records: list[ConsentRecord], vehicle_id: str, at: datetime
) -> tuple[str, str] | None:
    mine = [
        r
        for r in records
        if r.topic == topic.id
        and (not topic.vehicle_only or r.vehicle_id == vehicle_id)
        and r.given_at <= at
    ]
    in_force = [r for r in mine if r.withdrawn_at is None or at < r.withdrawn_at]
    if topic.kind is ConsentKind.OPT_OUT:
        refused = any(r.choice is ConsentChoice.REFUSED for r in in_force)
        return REFUSED if refused else None
    if any(r.choice is ConsentChoice.GIVEN for r in in_force):
        return None
    return WITHDRAWN if any(r.choice is ConsentChoice.GIVEN for r in mine) else REQUIRED


def collection_gate(
    policy: Policy, category: str, purposes: tuple[str, ...]
) -> CollectionGate | None:
    """The gate of ``category`` collected for ``purposes``; None when one needs no consent."""
    topics = []
    for purpose_id in purposes:
        topic_id = policy.purpose(purpose_id).consent_topic
        if topic_id is None:
            return None
        topics.append(policy.consent_topics_by_id[topic_id])
    return CollectionGate(category, tuple(topics)) if topics else None
