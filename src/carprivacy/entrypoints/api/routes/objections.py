"""Objections (Art. 21) and the privacy officer's overrides, as ledger entries (SPEC R6)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.acting import acting_for
from carprivacy.entrypoints.api.deps import get_consent_ledger
from carprivacy.entrypoints.api.schemas.consent import ChannelIn, EntryOut, ObjectionIn, OverrideIn
from carprivacy.services.consent.ledger import ConsentLedgerService

router = APIRouter(tags=["objection"])
CREATED = status.HTTP_201_CREATED


@router.post("/v1/subjects/{subject_id}/objections", status_code=CREATED, response_model=EntryOut)
def make_objection(
    subject_id: str,
    body: ObjectionIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    """Object to a legitimate-interest purpose, to all of them, or to all marketing."""
    entry = ledger.object(
        caller,
        subject_id,
        channel=body.channel,
        purpose=body.purpose,
        marketing=body.marketing,
        grounds=body.grounds,
    )
    return EntryOut.of(entry)


@router.post(
    "/v1/subjects/{subject_id}/objections/{objection_id}/withdrawal",
    status_code=CREATED,
    response_model=EntryOut,
)
def withdraw_objection(
    subject_id: str,
    objection_id: str,
    body: ChannelIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    entry = ledger.withdraw_objection(caller, subject_id, objection_id, channel=body.channel)
    return EntryOut.of(entry)


@router.post("/v1/subjects/{subject_id}/overrides", status_code=CREATED, response_model=EntryOut)
def record_override(
    subject_id: str,
    body: OverrideIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    """Privacy officer: compelling grounds or legal claims outweigh the objection (Art. 21(1))."""
    entry = ledger.override(
        caller,
        subject_id,
        body.purpose,
        body.ground,
        body.justification,
        channel=body.channel,
    )
    return EntryOut.of(entry)


@router.post(
    "/v1/subjects/{subject_id}/overrides/{override_id}/end",
    status_code=CREATED,
    response_model=EntryOut,
)
def end_override(
    subject_id: str,
    override_id: str,
    body: ChannelIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    return EntryOut.of(ledger.end_override(caller, subject_id, override_id, channel=body.channel))
