"""``GET /v1/purposes``: the purposes and categories the calling role may use (SPEC U1, U3).

Each with its legal basis (and article), the form the gate releases it in, its consent topic and
its notice section (id and title), from the engine's own static rules
(``services/access/purposes.py``): a caller need not try purposes to find one that works. A
purpose listed may still be refused for a subject (no consent, no contract, an objection, a
restriction); the refusal names why.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from carprivacy.domain.access import Caller
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import get_decisions
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.purposes import UsablePurpose, usable_purposes

router = APIRouter(tags=["purposes"])


class TextOut(BaseModel):
    nl: str
    en: str


class PurposeOut(BaseModel):
    id: str
    name: TextOut
    section: str
    section_title: TextOut | None
    legal_basis: str
    article: str
    form: str
    categories: list[str]
    consent_topic: str | None

    @classmethod
    def of(cls, p: UsablePurpose) -> PurposeOut:
        title = p.section_title
        return cls(
            id=p.id,
            name=TextOut(nl=p.name.nl, en=p.name.en),
            section=p.section,
            section_title=None if title is None else TextOut(nl=title.nl, en=title.en),
            legal_basis=p.legal_basis,
            article=p.article,
            form=p.form,
            categories=list(p.categories),
            consent_topic=p.consent_topic,
        )


class PurposesOut(BaseModel):
    caller: str
    role: str
    organisation: str
    purposes: list[PurposeOut]


@router.get("/v1/purposes", response_model=PurposesOut)
def list_purposes(
    caller: Caller = Depends(get_caller),
    decisions: DecisionService = Depends(get_decisions),
) -> PurposesOut:
    """The purposes this caller may use, each with the categories it may use for it."""
    return PurposesOut(
        caller=caller.id,
        role=caller.role.value,
        organisation=caller.organisation,
        purposes=[PurposeOut.of(p) for p in usable_purposes(decisions.policy, caller)],
    )
