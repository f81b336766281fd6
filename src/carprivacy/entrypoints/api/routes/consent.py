"""Consents, their withdrawal, the current state and the evidence history (SPEC C1, C4).

The person themselves (customer token, own subject only) or staff on their behalf (a role and a
purpose the policy allows, see ``entrypoints/api/acting.py``). Every write is one ledger entry,
audited; the next decision sees it.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response, status

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.acting import acting_for
from carprivacy.entrypoints.api.deps import get_consent_ledger
from carprivacy.entrypoints.api.schemas.consent import ConsentIn, EntryOut, StateOut, WithdrawalIn
from carprivacy.services.consent.ledger import ConsentLedgerService

router = APIRouter(tags=["consent"])


@router.post(
    "/v1/subjects/{subject_id}/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryOut,
)
def give_consent(
    subject_id: str,
    body: ConsentIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    """Give a consent (or, for OBFCM, a refusal) as shown in ``language``, ``text_version``."""
    entry = ledger.give(
        caller,
        subject_id,
        body.topic,
        channel=body.channel,
        language=body.language,
        text_version=body.text_version,
        party=body.party,
        vehicle_id=body.vehicle_id,
    )
    return EntryOut.of(entry)


@router.post(
    "/v1/subjects/{subject_id}/consents/withdrawals",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryOut,
)
def withdraw_consent(
    subject_id: str,
    body: WithdrawalIn,
    caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> EntryOut:
    """Withdraw a consent (Art. 7(3)); 404 when none of the topic is in force."""
    entry = ledger.withdraw(
        caller,
        subject_id,
        body.topic,
        channel=body.channel,
        party=body.party,
        vehicle_id=body.vehicle_id,
    )
    return EntryOut.of(entry)


@router.get("/v1/subjects/{subject_id}/consent-state", response_model=StateOut)
def consent_state(
    subject_id: str,
    _caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> StateOut:
    """The consents, objections, overrides and restrictions in force now."""
    return StateOut.of(ledger.state(subject_id), ledger.clock())


@router.get("/v1/subjects/{subject_id}/consent-history")
def consent_history(
    subject_id: str,
    format: Literal["json", "csv"] = Query("json", description="json or csv"),
    _caller: Caller = Depends(acting_for),
    ledger: ConsentLedgerService = Depends(get_consent_ledger),
) -> Response:
    """The evidence export: every ledger entry of the person, oldest first (C4)."""
    if format == "csv":
        return Response(ledger.export_csv(subject_id), media_type="text/csv; charset=utf-8")
    return Response(ledger.export_json(subject_id), media_type="application/json")
