"""Recording a person's choices in the append-only ledger (SPEC C1, C4, R4, R6; Art. 7, 18, 21).

Give and withdraw a consent per topic (marketing per channel, profiling, CarData sharing per chosen
party, the OBFCM refusal per vehicle, ...); object to a legitimate-interest purpose or to all
marketing; the privacy officer's override with compelling grounds or legal claims where the policy
allows one; restrict in one of the four Art. 18(1) cases and lift with a notice to the person.

Every write is checked against the policy before anything is stored, appended as one ledger entry
and recorded in the audit trail (subject as a keyed pseudonym). The decision engine reads the state
:func:`~carprivacy.domain.consent_ledger.replay` derives from the entries, so a change counts from
the next decision on.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.audit import AuditRecord
from carprivacy.domain.consent_ledger import (
    HISTORY_FIELDS,
    Actor,
    Channel,
    EntryKind,
    LedgerEntry,
    LedgerState,
    consent_matches,
    history_record,
    history_row,
    replay,
    text_hash,
)
from carprivacy.domain.decision_index import chosen_party_topics
from carprivacy.domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from carprivacy.domain.policy import ConsentKind, LegalBasis, Policy
from carprivacy.domain.subject_state import ConsentChoice, OverrideGround, RestrictionCase
from carprivacy.services.audit.trail import AuditService, iso
from carprivacy.services.consent.ports import NoticeAddress, SubjectLedger
from carprivacy.services.identity.ports import EmailOutbox
from carprivacy.services.ports.clock import Clock

LANGUAGES = ("nl", "en")
LIFT_SUBJECT = {
    "nl": "Opheffing van de beperking van de verwerking",
    "en": "Restriction of processing lifted",
}
LIFT_BODY = {
    "nl": (
        "De beperking van de verwerking van uw gegevens ({article}) wordt per {at} opgeheven. "
        "Vanaf dat moment verwerken wij uw gegevens weer voor de doeleinden in onze "
        "privacyverklaring (Art. 18 lid 3 AVG)."
    ),
    "en": (
        "The restriction of processing of your data ({article}) is lifted as of {at}. From then on "
        "we process your data again for the purposes in our privacy notice (Art. 18(3) GDPR)."
    ),
}


def _problem(path: str, rule: str, message: str) -> InvalidInputError:
    return InvalidInputError([Problem(path, rule, message)])


def _channel(value: str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        names = ", ".join(c.value for c in Channel)
        raise _problem("channel", "unknown", f"channel must be one of {names}") from None


def _via_problem(topic: str, channels: tuple[str, ...]) -> Problem:
    return Problem(
        "channel",
        "not_allowed",
        f"topic {topic} is recorded only through: {', '.join(channels)} (the policy's "
        "recorded_via)",
    )


class ConsentLedgerService:
    def __init__(
        self,
        policy: Policy,
        ledger: SubjectLedger,
        audit: AuditService,
        outbox: EmailOutbox,
        address: NoticeAddress,
        clock: Clock,
    ) -> None:
        self.policy = policy
        self.ledger = ledger
        self.audit = audit
        self.outbox = outbox
        self.address = address
        self.clock = clock
        self.per_party = chosen_party_topics(policy)

    # -- reading --------------------------------------------------------------------------------

    def history(self, subject_id: str) -> list[LedgerEntry]:
        return self.ledger.entries(subject_id)

    def state(self, subject_id: str) -> LedgerState:
        return replay(self.ledger.entries(subject_id))

    def export_json(self, subject_id: str) -> str:
        rows = [history_record(e) for e in self.history(subject_id)]
        return json.dumps({"subject_id": subject_id, "entries": rows}, ensure_ascii=False, indent=2)

    def export_csv(self, subject_id: str) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=HISTORY_FIELDS, lineterminator="\n")
        writer.writeheader()
        for e in self.history(subject_id):
            writer.writerow(history_row(e))
        return out.getvalue()

    # -- consent (Art. 7) -----------------------------------------------------------------------

    def give(
        self,
        caller: Caller,
        subject_id: str,
        topic: str,
        *,
        channel: str,
        language: str = "nl",
        text_version: str | None = None,
        party: str | None = None,
        vehicle_id: str | None = None,
    ) -> LedgerEntry:
        """Record a consent (opt-in topic) or a refusal (opt-out topic: OBFCM) as shown in
        ``language`` under ``text_version`` (default: the current version)."""
        t = self.policy.consent_topics_by_id.get(topic)
        problems: list[Problem] = []
        if t is None:
            names = ", ".join(sorted(self.policy.consent_topics_by_id))
            raise _problem("topic", "unknown", f"topic must be one of {names}")
        via = _channel(channel)
        if language not in LANGUAGES:
            problems.append(Problem("language", "unknown", "language must be nl or en"))
        version = next(
            (v for v in t.versions if v.version == (text_version or t.current_version.version)),
            None,
        )
        if version is None:
            problems.append(
                Problem("text_version", "unknown", "not a text version of this consent topic")
            )
        if t.vehicle_only and not vehicle_id:
            problems.append(Problem("vehicle_id", "required", "this topic is a vehicle setting"))
        if t.recorded_via and via.value not in t.recorded_via:
            problems.append(_via_problem(t.id, t.recorded_via))
        if topic in self.per_party and not (party and party.strip()):
            problems.append(
                Problem("party", "required", "name the chosen party (its client id) to share with")
            )
        if problems:
            raise InvalidInputError(problems)
        assert version is not None
        choice = ConsentChoice.GIVEN if t.kind is ConsentKind.OPT_IN else ConsentChoice.REFUSED
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            kind=EntryKind.CONSENT_GIVEN,
            at=self._now(subject_id),
            recorded_by=caller.id,
            actor=self._actor(caller, subject_id),
            channel=via,
            record_id=str(uuid.uuid4()),
            topic=topic,
            choice=choice,
            party=party if topic in self.per_party else None,
            vehicle_id=vehicle_id if t.vehicle_only else None,
            text_version=version.version,
            text_hash=text_hash(version.text.get(language)),
            language=language,
        )
        return self._append(caller, entry, purpose=topic)

    def withdraw(
        self,
        caller: Caller,
        subject_id: str,
        topic: str,
        *,
        channel: str,
        party: str | None = None,
        vehicle_id: str | None = None,
    ) -> LedgerEntry:
        """Art. 7(3): withdraw from now on every consent of ``topic`` in force (of ``party`` and
        ``vehicle_id`` when named); the earlier entries stay as evidence."""
        if topic not in self.policy.consent_topics_by_id:
            raise _problem("topic", "unknown", "not a consent topic of the policy")
        via = _channel(channel)
        now = self._now(subject_id)
        if not any(
            consent_matches(r, topic, party, vehicle_id) and r.active(now)
            for r in self.state(subject_id).consents
        ):
            raise NotFoundError("consent", topic)
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            kind=EntryKind.CONSENT_WITHDRAWN,
            at=now,
            recorded_by=caller.id,
            actor=self._actor(caller, subject_id),
            channel=via,
            record_id="",
            topic=topic,
            party=party,
            vehicle_id=vehicle_id,
        )
        return self._append(caller, entry, purpose=topic)

    # -- objection and override (Art. 21) ---------------------------------------------------------

    def object(
        self,
        caller: Caller,
        subject_id: str,
        *,
        channel: str,
        purpose: str | None = None,
        marketing: bool = False,
        grounds: str = "",
    ) -> LedgerEntry:
        """An objection to one legitimate-interest purpose, to every one (``purpose`` None), or
        to all direct marketing (``marketing``, or a marketing purpose: always honoured)."""
        via = _channel(channel)
        if purpose is not None:
            p = self.policy.purposes_by_id.get(purpose)
            if p is None:
                raise _problem("purpose", "unknown", "not a purpose of the policy")
            if p.is_marketing:
                marketing = True  # Art. 21(2): an objection to marketing is always honoured
            elif marketing:
                raise _problem("purpose", "not_marketing", "the purpose is not marketing")
            elif p.legal_basis is not LegalBasis.LEGITIMATE_INTEREST:
                raise _problem(
                    "purpose",
                    "art21",
                    "an Art. 21(1) objection applies to legitimate-interest purposes only",
                )
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            kind=EntryKind.OBJECTION_MADE,
            at=self._now(subject_id),
            recorded_by=caller.id,
            actor=self._actor(caller, subject_id),
            channel=via,
            record_id=str(uuid.uuid4()),
            purpose=None if marketing else purpose,
            marketing=marketing,
            note=grounds,
        )
        return self._append(caller, entry, purpose=entry.purpose or "")

    def withdraw_objection(
        self, caller: Caller, subject_id: str, objection_id: str, *, channel: str
    ) -> LedgerEntry:
        via = _channel(channel)
        found = {o.id: o for o in self.state(subject_id).objections}.get(objection_id)
        if found is None:
            raise NotFoundError("objection", objection_id)
        if found.withdrawn_at is not None:
            raise ConflictError("the objection is already withdrawn")
        entry = self._closing(caller, subject_id, EntryKind.OBJECTION_WITHDRAWN, objection_id, via)
        return self._append(caller, entry, purpose=found.purpose or "")

    def override(
        self,
        caller: Caller,
        subject_id: str,
        purpose: str,
        ground: str,
        justification: str,
        *,
        channel: str = "portal",
    ) -> LedgerEntry:
        """The privacy officer records compelling legitimate grounds or legal claims that
        outweigh an objection to ``purpose`` (Art. 21(1)); never for marketing (Art. 21(3))."""
        if caller.role is not Role.PRIVACY_OFFICER:
            raise AccessDeniedError(
                "only the privacy officer records an override", ("caller.role",)
            )
        via = _channel(channel)
        try:
            why = OverrideGround(ground)
        except ValueError:
            raise _problem(
                "ground", "unknown", "ground must be compelling_grounds or legal_claims"
            ) from None
        if not justification.strip():
            raise _problem("justification", "required", "record the grounds or the legal claim")
        p = self.policy.purposes_by_id.get(purpose)
        if p is None:
            raise _problem("purpose", "unknown", "not a purpose of the policy")
        if p.is_marketing or not p.objection_override_allowed:
            raise _problem(
                "purpose",
                "art21_3" if p.is_marketing else "override_not_allowed",
                "the policy allows no override of an objection to this purpose",
            )
        now = self._now(subject_id)
        if not any(
            o.active(now) and not o.marketing and o.purpose in (None, purpose)
            for o in self.state(subject_id).objections
        ):
            raise ConflictError("there is no active objection to this purpose to override")
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            kind=EntryKind.OVERRIDE_RECORDED,
            at=now,
            recorded_by=caller.id,
            actor=Actor.STAFF,
            channel=via,
            record_id=str(uuid.uuid4()),
            purpose=purpose,
            ground=why,
            note=justification,
        )
        return self._append(caller, entry, purpose=purpose)

    def end_override(
        self, caller: Caller, subject_id: str, override_id: str, *, channel: str = "portal"
    ) -> LedgerEntry:
        if caller.role is not Role.PRIVACY_OFFICER:
            raise AccessDeniedError("only the privacy officer ends an override", ("caller.role",))
        via = _channel(channel)
        found = {o.id: o for o in self.state(subject_id).overrides}.get(override_id)
        if found is None:
            raise NotFoundError("override", override_id)
        if found.ended_at is not None:
            raise ConflictError("the override has already ended")
        entry = self._closing(caller, subject_id, EntryKind.OVERRIDE_ENDED, override_id, via)
        return self._append(caller, entry, purpose=found.purpose)

    # -- restriction (Art. 18) --------------------------------------------------------------------

    def restrict(
        self,
        caller: Caller,
        subject_id: str,
        case: str,
        *,
        channel: str,
        categories: tuple[str, ...] = (),
        note: str = "",
    ) -> LedgerEntry:
        """Restrict processing (all of the subject's data, or ``categories``): the data is kept
        but used only for storage, legal claims, the protection of others or with consent."""
        via = _channel(channel)
        try:
            which = RestrictionCase(case)
        except ValueError:
            names = ", ".join(c.value for c in RestrictionCase)
            raise _problem("case", "unknown", f"case must be one of {names}") from None
        problems = [
            Problem(f"categories[{i}]", "unknown", "not a data category of the policy")
            for i, c in enumerate(categories)
            if c not in self.policy.categories_by_id
        ]
        if problems:
            raise InvalidInputError(problems)
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            kind=EntryKind.RESTRICTION_STARTED,
            at=self._now(subject_id),
            recorded_by=caller.id,
            actor=self._actor(caller, subject_id),
            channel=via,
            record_id=str(uuid.uuid4()),
            case=which,
            categories=tuple(dict.fromkeys(categories)),
            note=note,
        )
        return self._append(caller, entry, purpose="")

    def lift(
        self,
        caller: Caller,
        subject_id: str,
        restriction_id: str,
        *,
        channel: str = "portal",
        language: str = "nl",
    ) -> LedgerEntry:
        """Lift a restriction (staff only) after telling the person (Art. 18(3)): the notice is
        written to the outbox, and the entry records that it was sent."""
        if caller.role is Role.CUSTOMER:
            raise AccessDeniedError("a restriction is lifted by staff", ("caller.role",))
        via = _channel(channel)
        lang = language if language in LANGUAGES else "nl"
        found = {r.id: r for r in self.state(subject_id).restrictions}.get(restriction_id)
        if found is None:
            raise NotFoundError("restriction", restriction_id)
        if found.lifted_at is not None:
            raise ConflictError("the restriction is already lifted")
        to = self.address(subject_id)
        if not to:
            raise ConflictError(
                "no e-mail address is held for the person: the lift notice cannot be sent"
            )
        now = self._now(subject_id)
        body = LIFT_BODY[lang].format(article=found.case.article, at=iso(now))
        self.outbox.send(to, LIFT_SUBJECT[lang], body)
        entry = self._closing(caller, subject_id, EntryKind.RESTRICTION_LIFTED, restriction_id, via)
        entry = replace(entry, at=now, note=f"notice by e-mail: {body}")
        return self._append(caller, entry, purpose="")

    # -- internals --------------------------------------------------------------------------------

    def _now(self, subject_id: str) -> datetime:
        """The time of a new entry: now, but always after the subject's last entry, so that the
        ledger order (time, then id) is the order in which the entries were made."""
        now = self.clock()
        entries = self.ledger.entries(subject_id)
        if entries and entries[-1].at >= now:
            return entries[-1].at + timedelta(microseconds=1)
        return now

    @staticmethod
    def _actor(caller: Caller, subject_id: str) -> Actor:
        if caller.role is Role.CUSTOMER:
            if caller.subject_id != subject_id:
                raise AccessDeniedError(
                    "customers record choices for themselves only", ("caller.not_own_data",)
                )
            return Actor.SUBJECT
        return Actor.STAFF

    def _closing(
        self, caller: Caller, subject_id: str, kind: EntryKind, record_id: str, via: Channel
    ) -> LedgerEntry:
        return LedgerEntry(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            kind=kind,
            at=self._now(subject_id),
            recorded_by=caller.id,
            actor=self._actor(caller, subject_id),
            channel=via,
            record_id=record_id,
        )

    def _append(self, caller: Caller, entry: LedgerEntry, *, purpose: str) -> LedgerEntry:
        self.ledger.append(entry)
        self.audit.append(
            [
                AuditRecord(
                    at=iso(entry.at),
                    caller_id=caller.id,
                    organisation=caller.organisation,
                    role=caller.role.value,
                    purpose=purpose,
                    subject_ref=self.audit.subject_ref(entry.subject_id),
                    vehicle_ref=self.audit.vehicle_ref(entry.vehicle_id),
                    categories="",
                    outcome="allow",
                    rule=f"ledger.{entry.kind.value}",
                    form="",
                    action=f"ledger.{entry.kind.value} via {entry.channel.value}",
                )
            ]
        )
        return entry
