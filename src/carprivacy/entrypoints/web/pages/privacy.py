"""Privacy settings (SPEC C1, C3, C4, R6): each consent topic of the policy, its text in the
language shown and its state; give and withdraw through the consent ledger as the person
(channel ``portal``, the text version and language shown recorded, as the consent routes do);
the settings made elsewhere (in the vehicle, at a workshop, per chosen CarData party) shown as
such; objections to legitimate-interest purposes and to direct marketing.

The state is read as ``GET /v1/subjects/{id}/consent-state`` reads it (the person acting for
themselves, ``check_acting``); writes are the ledger's own checks, so nothing here decides."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from carprivacy.domain.consent_ledger import LedgerState
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import ConsentTopic, LegalBasis
from carprivacy.entrypoints.web.context import (
    PREFIX,
    Customer,
    language,
    redirect,
    render,
    services_of,
    signed_in,
)
from carprivacy.entrypoints.web.messages import LANGUAGES, message
from carprivacy.services.consent.acting import check_acting
from carprivacy.services.consent.ledger import ConsentLedgerService

router = APIRouter()
CHANNEL = "portal"


@dataclass(frozen=True)
class TopicRow:
    topic: ConsentTopic
    name: str
    text: str
    version: str
    active: int  # consents (or refusals) in force
    form: bool  # given and withdrawn here
    elsewhere: str | None  # where it is changed instead


@dataclass(frozen=True)
class PurposeRow:
    purpose: str  # a purpose id, or "marketing" (all direct marketing)
    name: str
    objection: str | None  # the id of the objection in force


def _state(request: Request, customer: Customer) -> tuple[ConsentLedgerService, LedgerState]:
    s = services_of(request)
    check_acting(s.decisions, customer.caller, customer.subject_id, None)
    return s.consent_ledger, s.consent_ledger.state(customer.subject_id)


def _where(ledger: ConsentLedgerService, topic: ConsentTopic, lang: str) -> str | None:
    if topic.id in ledger.per_party:
        return message("in_shares", lang)
    if topic.recorded_via and CHANNEL not in topic.recorded_via:
        return topic.where.get(lang) if topic.where else ", ".join(topic.recorded_via)
    if topic.vehicle_only:
        return message("in_vehicle", lang)
    return None


def topic_rows(ledger: ConsentLedgerService, state: LedgerState, lang: str) -> list[TopicRow]:
    now = ledger.clock()
    rows = []
    for topic in ledger.policy.consent_topics:
        version = topic.current_version
        where = _where(ledger, topic, lang)
        active = sum(1 for c in state.consents if c.topic == topic.id and c.active(now))
        rows.append(
            TopicRow(
                topic,
                topic.name.get(lang),
                version.text.get(lang),
                version.version,
                active,
                where is None,
                where,
            )
        )
    return rows


def purpose_rows(ledger: ConsentLedgerService, state: LedgerState, lang: str) -> list[PurposeRow]:
    now = ledger.clock()
    active = [o for o in state.objections if o.active(now)]
    rows = []
    for p in ledger.policy.purposes:
        if p.legal_basis is LegalBasis.LEGITIMATE_INTEREST and not p.is_marketing:
            found = next((o.id for o in active if not o.marketing and o.purpose == p.id), None)
            rows.append(PurposeRow(p.id, p.name.get(lang), found))
    marketing = next((o.id for o in active if o.marketing), None)
    rows.append(PurposeRow("marketing", message("all_marketing", lang), marketing))
    return rows


@router.get("/privacy")
def privacy(request: Request, saved: int = 0, customer: Customer = Depends(signed_in)) -> Response:
    lang = language(request)
    ledger, state = _state(request, customer)
    statement = ledger.policy.settings_statement
    return render(
        request,
        "privacy.html",
        topics=topic_rows(ledger, state, lang),
        purposes=purpose_rows(ledger, state, lang),
        statement=statement.get(lang) if statement else None,
        saved=bool(saved),
    )


@router.post("/privacy/consents")
def consent(
    request: Request,
    topic: str = Form(..., max_length=64),
    choice: str = Form(..., pattern="^(give|withdraw)$"),
    text_version: str = Form("", max_length=32),
    shown_in: str = Form("nl", max_length=2),
    customer: Customer = Depends(signed_in),
) -> Response:
    """Give (as shown: ``text_version`` in ``shown_in``) or withdraw the consent of ``topic``."""
    ledger, _ = _state(request, customer)
    if choice == "give":
        if shown_in not in LANGUAGES:
            raise InvalidInputError([Problem("shown_in", "unknown", "nl or en")])
        ledger.give(
            customer.caller,
            customer.subject_id,
            topic,
            channel=CHANNEL,
            language=shown_in,
            text_version=text_version or None,
        )
    else:
        ledger.withdraw(customer.caller, customer.subject_id, topic, channel=CHANNEL)
    return redirect(f"{PREFIX}/privacy?saved=1")


@router.post("/privacy/objections")
def objection(
    request: Request,
    purpose: str = Form(..., max_length=64),
    choice: str = Form(..., pattern="^(object|withdraw)$"),
    objection_id: str = Form("", max_length=64),
    customer: Customer = Depends(signed_in),
) -> Response:
    """Object to a legitimate-interest purpose or to all direct marketing, or withdraw one."""
    ledger, _ = _state(request, customer)
    if choice == "object":
        marketing = purpose == "marketing"
        ledger.object(
            customer.caller,
            customer.subject_id,
            channel=CHANNEL,
            purpose=None if marketing else purpose,
            marketing=marketing,
        )
    else:
        ledger.withdraw_objection(
            customer.caller, customer.subject_id, objection_id, channel=CHANNEL
        )
    return redirect(f"{PREFIX}/privacy?saved=1")
