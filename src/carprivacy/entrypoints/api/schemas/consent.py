"""Bodies and answers of the consent ledger routes (SPEC C1, C4, R4, R6)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from carprivacy.domain.consent_ledger import LedgerEntry, LedgerState

CHANNEL = Field(
    description="Where the choice came in: portal, app, vehicle, call_centre or workshop."
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(_In):
    topic: str = Field(min_length=1, max_length=64, description="A consent topic of the policy.")
    channel: str = CHANNEL
    language: str = Field("nl", description="The language the text was shown in (nl or en).")
    text_version: str | None = Field(None, description="Default: the topic's current version.")
    party: str | None = Field(
        None, max_length=64, description="The chosen third party's client id (CarData sharing)."
    )
    vehicle_id: str | None = Field(None, max_length=64, description="For vehicle settings (OBFCM).")


class WithdrawalIn(_In):
    topic: str = Field(min_length=1, max_length=64)
    channel: str = CHANNEL
    party: str | None = Field(None, max_length=64, description="Only this party's consent.")
    vehicle_id: str | None = Field(None, max_length=64)


class ObjectionIn(_In):
    channel: str = CHANNEL
    purpose: str | None = Field(
        None, description="A legitimate-interest purpose; none: every one (unless marketing)."
    )
    marketing: bool = Field(False, description="Object to all direct marketing (Art. 21(2)).")
    grounds: str = Field("", max_length=2000, description="The person's situation, as stated.")


class ChannelIn(_In):
    channel: str = CHANNEL


class OverrideIn(_In):
    purpose: str = Field(min_length=1, max_length=64)
    ground: str = Field(description="compelling_grounds or legal_claims (Art. 21(1)).")
    justification: str = Field(min_length=1, max_length=4000)
    channel: str = "portal"


class RestrictionIn(_In):
    case: str = Field(
        description="accuracy_contested, unlawful_processing, needed_for_legal_claims or "
        "objection_pending (Art. 18(1)(a)-(d))."
    )
    channel: str = CHANNEL
    categories: list[str] = Field(default_factory=list, description="None: all of the data.")
    note: str = Field("", max_length=2000)


class LiftIn(_In):
    channel: str = "portal"
    language: str = Field("nl", description="The language of the notice to the person.")


class EntryOut(BaseModel):
    id: str
    kind: str
    record_id: str
    at: datetime
    actor: str
    recorded_by: str
    channel: str
    topic: str | None = None
    choice: str | None = None
    party: str | None = None
    vehicle_id: str | None = None
    text_version: str | None = None
    language: str | None = None
    text_hash: str | None = None
    purpose: str | None = None
    marketing: bool = False
    case: str | None = None
    categories: list[str] = Field(default_factory=list)
    ground: str | None = None

    @classmethod
    def of(cls, e: LedgerEntry) -> EntryOut:
        return cls(
            id=e.id,
            kind=e.kind.value,
            record_id=e.record_id,
            at=e.at,
            actor=e.actor.value,
            recorded_by=e.recorded_by,
            channel=e.channel.value,
            topic=e.topic,
            choice=e.choice.value if e.choice else None,
            party=e.party,
            vehicle_id=e.vehicle_id,
            text_version=e.text_version,
            language=e.language,
            text_hash=e.text_hash,
            purpose=e.purpose,
            marketing=e.marketing,
            case=e.case.value if e.case else None,
            categories=list(e.categories),
            ground=e.ground.value if e.ground else None,
        )


class StateOut(BaseModel):
    """What is in force now, derived from the ledger."""

    consents: list[dict[str, str | None]]
    objections: list[dict[str, str | bool | None]]
    overrides: list[dict[str, str | None]]
    restrictions: list[dict[str, str | list[str] | None]]

    @classmethod
    def of(cls, state: LedgerState, now: datetime) -> StateOut:
        return cls(
            consents=[
                {
                    "id": c.id,
                    "topic": c.topic,
                    "choice": c.choice.value,
                    "party": c.party,
                    "vehicle_id": c.vehicle_id,
                    "text_version": c.text_version,
                    "given_at": c.given_at.isoformat(),
                }
                for c in state.consents
                if c.active(now)
            ],
            objections=[
                {
                    "id": o.id,
                    "purpose": o.purpose,
                    "marketing": o.marketing,
                    "made_at": o.made_at.isoformat(),
                }
                for o in state.objections
                if o.active(now)
            ],
            overrides=[
                {
                    "id": v.id,
                    "purpose": v.purpose,
                    "ground": v.ground.value,
                    "decided_at": v.decided_at.isoformat(),
                }
                for v in state.overrides
                if v.active(now)
            ],
            restrictions=[
                {
                    "id": r.id,
                    "case": r.case.value,
                    "article": r.case.article,
                    "categories": list(r.categories),
                    "started_at": r.started_at.isoformat(),
                }
                for r in state.restrictions
                if r.active(now)
            ],
        )
