"""Restriction of processing in the four Art. 18(1) cases and its lift (SPEC R4).

While restricted, the data is kept but the engine allows it only for storage, legal claims, the
protection of others or with consent. A lift is recorded by staff after the notice to the person
is written to the outbox (Art. 18(3)).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.acting import acting_for
from carprivacy.entrypoints.api.deps import get_consent_ledger
from carprivacy.entrypoints.api.schemas.consent import EntryOut, LiftIn, RestrictionIn
from carprivacy.services.consent.ledger import ConsentLedgerService

router = APIRouter(tags=["restriction"])
CREATED = status.HTTP_201_CREATED


@router.post("/v1/subjects/{subject_id}/restrictions", status_code=CREATED, response_model=EntryOut)
def restrict(
    subject_id: str,
    body: RestrictionIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    entry = ledger.restrict(
        caller,
        subject_id,
        body.case,
        channel=body.channel,
        categories=tuple(body.categories),
        note=body.note,
    )
    return EntryOut.of(entry)


@router.post(
    "/v1/subjects/{subject_id}/restrictions/{restriction_id}/lift",
    status_code=CREATED,
    response_model=EntryOut,
)
def lift_restriction(
    subject_id: str,
    restriction_id: str,
    body: LiftIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    entry = ledger.lift(
        caller, subject_id, restriction_id, channel=body.channel, language=body.language
    )
    return EntryOut.of(entry)
