"""Recording what a subject said: consent and withdrawal, objection, override, restriction and lift.

(SPEC U2, C1, C3, C4, R4, R6.) Every record is evidence and is never deleted: a withdrawal, an end
or a lift closes the record's interval. Inputs are checked against the policy (topic, text version,
purpose, category) before anything is written; errors name the field and the rule, never values.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from carprivacy.domain.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from carprivacy.domain.policy import ConsentKind, LegalBasis, Policy
from carprivacy.domain.subject_state import (
    ConsentChoice,
    ConsentRecord,
    Objection,
    Override,
    OverrideGround,
    Restriction,
    RestrictionCase,
)
from carprivacy.services.consent.ports import SubjectStateRepository

_R = TypeVar("_R", Objection, Override, Restriction)


def _require(value: str | None, path: str) -> list[Problem]:
    if value is None or not value.strip():
        return [Problem(path, "required", f"{path} must not be empty")]
    return []


def _aware(value: datetime, path: str) -> list[Problem]:
    if value.tzinfo is None:
        return [Problem(path, "timezone", f"{path} must carry a timezone (UTC)")]
    return []


def _fail(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInputError(problems)


class SubjectStateService:
    def __init__(self, policy: Policy, repository: SubjectStateRepository) -> None:
        self.policy = policy
        self.repo = repository

    # -- consent (C1, C3, C4; Art. 7) ------------------------------------------------------

    def give(
        self,
        subject_id: str,
        topic: str,
        *,
        at: datetime,
        by: str,
        channel: str,
        text_version: str | None = None,
        vehicle_id: str | None = None,
    ) -> ConsentRecord:
        """Record a consent (opt-in topic) or a refusal (opt-out topic, e.g. OBFCM)."""
        t = self.policy.consent_topics_by_id.get(topic)
        problems = _require(subject_id, "subject_id") + _require(channel, "channel")
        problems += _require(by, "recorded_by") + _aware(at, "at")
        if t is None:
            problems.append(
                Problem("topic", "unknown", "topic is not a consent topic of the policy")
            )
        else:
            version = text_version or t.current_version.version
            if version not in {v.version for v in t.versions}:
                problems.append(
                    Problem("text_version", "unknown", "not a text version of this consent topic")
                )
            if t.vehicle_only and not vehicle_id:
                problems.append(
                    Problem("vehicle_id", "required", "this topic is a setting of one vehicle")
                )
            if t.recorded_via and channel and channel not in t.recorded_via:
                problems.append(
                    Problem(
                        "channel",
                        "not_allowed",
                        f"topic {topic} is recorded only through: {', '.join(t.recorded_via)}",
                    )
                )
        _fail(problems)
        assert t is not None
        choice = ConsentChoice.GIVEN if t.kind is ConsentKind.OPT_IN else ConsentChoice.REFUSED
        vehicle = vehicle_id if t.vehicle_only else None
        for rec in self.repo.consents(subject_id):
            if rec.topic == topic and rec.vehicle_id == vehicle and rec.active(at):
                return rec  # already in force: recording it again changes nothing
        record = ConsentRecord(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            topic=topic,
            choice=choice,
            text_version=text_version or t.current_version.version,
            channel=channel,
            given_at=at,
            recorded_by=by,
            vehicle_id=vehicle,
        )
        self.repo.add_consent(record)
        return record

    def withdraw(
        self,
        subject_id: str,
        topic: str,
        *,
        at: datetime,
        by: str,
        channel: str,
        vehicle_id: str | None = None,
    ) -> ConsentRecord:
        """Art. 7(3): withdraw a consent (or a refusal) from ``at`` on; the record is kept."""
        _fail(_require(channel, "channel") + _require(by, "withdrawn_by") + _aware(at, "at"))
        open_records = [
            rec
            for rec in self.repo.consents(subject_id)
            if rec.topic == topic
            and (vehicle_id is None or rec.vehicle_id == vehicle_id)
            and rec.withdrawn_at is None
        ]
        if not open_records:
            raise NotFoundError("consent", topic)
        in_force = [rec for rec in open_records if rec.given_at <= at]
        if not in_force:
            raise InvalidInputError(
                [Problem("at", "order", "a withdrawal cannot precede the consent")]
            )
        # Every record in force is closed: consents given through several channels (or entered
        # out of order) must all stop at the withdrawal, or one of them would keep the use going.
        closed = [
            replace(rec, withdrawn_at=at, withdrawn_by=by, withdrawal_channel=channel)
            for rec in in_force
        ]
        for rec in closed:
            self.repo.update_consent(rec)
        return max(closed, key=lambda rec: rec.given_at)

    def history(self, subject_id: str) -> list[ConsentRecord]:
        return self.repo.consents(subject_id)

    # -- objection (R6, Art. 21) ---------------------------------------------------------------

    def object(
        self,
        subject_id: str,
        *,
        at: datetime,
        by: str,
        purpose: str | None = None,
        marketing: bool = False,
        grounds: str = "",
    ) -> Objection:
        problems = (
            _require(subject_id, "subject_id") + _require(by, "recorded_by") + _aware(at, "at")
        )
        if purpose is not None:
            p = self.policy.purposes_by_id.get(purpose)
            if p is None:
                problems.append(Problem("purpose", "unknown", "not a purpose of the policy"))
            elif marketing and not p.is_marketing:
                problems.append(Problem("purpose", "not_marketing", "purpose is not marketing"))
            elif not p.is_marketing and p.legal_basis is not LegalBasis.LEGITIMATE_INTEREST:
                problems.append(
                    Problem(
                        "purpose",
                        "art21",
                        "Art. 21(1) objection applies to legitimate-interest purposes only",
                    )
                )
            elif p.is_marketing:
                marketing = True  # Art. 21(2): an objection to marketing is always honoured
        _fail(problems)
        objection = Objection(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            made_at=at,
            recorded_by=by,
            purpose=None if marketing else purpose,
            marketing=marketing,
            grounds=grounds,
        )
        self.repo.add_objection(objection)
        return objection

    def withdraw_objection(self, subject_id: str, objection_id: str, *, at: datetime) -> Objection:
        objection = self._find(self.repo.objections(subject_id), objection_id, "objection")
        if objection.withdrawn_at is not None:
            raise ConflictError("the objection is already withdrawn")
        closed = replace(objection, withdrawn_at=at)
        self.repo.update_objection(closed)
        return closed

    def override(
        self,
        subject_id: str,
        purpose: str,
        ground: OverrideGround,
        justification: str,
        *,
        at: datetime,
        by: str,
    ) -> Override:
        """Record compelling grounds or legal claims that outweigh an objection (Art. 21(1))."""
        problems = _require(justification, "justification") + _require(by, "decided_by")
        problems += _aware(at, "at")
        p = self.policy.purposes_by_id.get(purpose)
        if p is None:
            problems.append(Problem("purpose", "unknown", "not a purpose of the policy"))
        elif p.is_marketing or not p.objection_override_allowed:
            problems.append(
                Problem(
                    "purpose",
                    "art21_3",
                    "an objection to direct marketing cannot be overridden (Art. 21(3))",
                )
            )
        _fail(problems)
        if not any(
            o.active(at) and not o.marketing and o.purpose in (None, purpose)
            for o in self.repo.objections(subject_id)
        ):
            raise ConflictError("there is no active objection to this purpose to override")
        record = Override(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            purpose=purpose,
            ground=ground,
            justification=justification,
            decided_by=by,
            decided_at=at,
        )
        self.repo.add_override(record)
        return record

    def end_override(self, subject_id: str, override_id: str, *, at: datetime) -> Override:
        record = self._find(self.repo.overrides(subject_id), override_id, "override")
        if record.ended_at is not None:
            raise ConflictError("the override has already ended")
        closed = replace(record, ended_at=at)
        self.repo.update_override(closed)
        return closed

    # -- restriction (R4, Art. 18) -------------------------------------------------------------

    def restrict(
        self,
        subject_id: str,
        case: RestrictionCase,
        *,
        at: datetime,
        by: str,
        categories: tuple[str, ...] = (),
    ) -> Restriction:
        problems = (
            _require(subject_id, "subject_id") + _require(by, "recorded_by") + _aware(at, "at")
        )
        for i, c in enumerate(categories):
            if c not in self.policy.categories_by_id:
                problems.append(Problem(f"categories[{i}]", "unknown", "not a data category"))
        _fail(problems)
        record = Restriction(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            case=case,
            started_at=at,
            recorded_by=by,
            categories=tuple(dict.fromkeys(categories)),
        )
        self.repo.add_restriction(record)
        return record

    def lift(
        self, subject_id: str, restriction_id: str, *, at: datetime, by: str, notice: str
    ) -> Restriction:
        """Lift a restriction; Art. 18(3) requires that the person was told: ``notice`` says how."""
        _fail(_require(notice, "notice") + _require(by, "lifted_by") + _aware(at, "at"))
        record = self._find(self.repo.restrictions(subject_id), restriction_id, "restriction")
        if record.lifted_at is not None:
            raise ConflictError("the restriction is already lifted")
        if at < record.started_at:
            raise InvalidInputError([Problem("at", "order", "a lift cannot precede the start")])
        lifted = replace(record, lifted_at=at, lifted_by=by, lift_notice=notice)
        self.repo.update_restriction(lifted)
        return lifted

    @staticmethod
    def _find(records: list[_R], record_id: str, kind: str) -> _R:
        for r in records:
            if r.id == record_id:
                return r
        raise NotFoundError(kind, record_id)
