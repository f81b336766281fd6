"""Rights requests (Art. 12, 15-21 GDPR; SPEC R1-R8): the person's own under ``/v1/me/requests``,
staff's under ``/v1/requests``. Routes turn requests into calls of ``services/rights`` and
answers into bytes; downloads stream (the copy is written as it is sent)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.request_workflow import RequestState
from carprivacy.entrypoints.api.auth import get_caller
from carprivacy.entrypoints.api.deps import services_of
from carprivacy.entrypoints.api.schemas.requests import (
    CompletionIn,
    ExtensionIn,
    MyRequestIn,
    RefusalIn,
    RequestOut,
    StaffRequestIn,
    VerificationIn,
)
from carprivacy.services.exports.access import Export
from carprivacy.services.rights.ports import FieldChange, RequestFilter, StoredRequest
from carprivacy.services.rights.requests import DECIDING_ROLES
from carprivacy.services.rights.wiring import RightsParts

router = APIRouter(tags=["rights requests"])
CREATED = status.HTTP_201_CREATED
FORMAT = Query("json", description="json, csv (a ZIP of CSV files) or html (access only).")
LANG = Query("nl", description="The language of the HTML page and README (nl or en).")


async def get_rights(request: Request) -> RightsParts:
    return services_of(request).rights


def _out(rights: RightsParts, stored: StoredRequest, caller: Caller) -> RequestOut:
    """The answer as ``caller`` may see it (decided by the gate where it holds personal data)."""
    return RequestOut.of(rights.requests.view(caller, stored), rights.requests.clock(), caller)


def _stream(export: Export) -> StreamingResponse:
    return StreamingResponse(
        export,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


# -- the person ----------------------------------------------------------------------------------


def get_person(caller: Caller = Depends(get_caller)) -> Caller:
    """The calling person: routes about the caller's own requests refuse other callers before
    their body is judged."""
    return _person(caller)


@router.post("/v1/me/requests", status_code=CREATED, response_model=RequestOut)
def submit_mine(
    body: MyRequestIn,
    caller: Caller = Depends(get_person),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    """A request about the caller's own data; their logged-in session verifies it."""
    stored = rights.requests.submit(
        caller,
        body.kind,
        controller=body.controller,
        channel="api",
        details=body.details,
        language=body.language,
    )
    return _out(rights, stored, caller)


@router.get("/v1/me/requests", response_model=list[RequestOut])
def list_mine(
    caller: Caller = Depends(get_person), rights: RightsParts = Depends(get_rights)
) -> list[RequestOut]:
    found = rights.requests.find(caller, RequestFilter(subject_id=caller.subject_id))
    now = rights.requests.clock()
    return [RequestOut.of(s, now, caller) for s in found]  # one decision for the list


@router.get("/v1/me/requests/{request_id}", response_model=RequestOut)
def show_mine(
    request_id: str,
    caller: Caller = Depends(get_person),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    return _out(rights, rights.requests.get(request_id, _person(caller)), caller)


@router.get("/v1/me/requests/{request_id}/download")
def download_mine(
    request_id: str,
    format: str = FORMAT,
    lang: str = LANG,
    caller: Caller = Depends(get_person),
    rights: RightsParts = Depends(get_rights),
) -> StreamingResponse:
    """The copy (access) or export (portability), streamed; the first copy in a year is free,
    a further one is flagged for a reasonable fee (Art. 15(3))."""
    return _stream(rights.fulfilment.download(_person(caller), request_id, format, lang))


@router.get("/v1/me/access-report")
def my_access_report(
    caller: Caller = Depends(get_person), rights: RightsParts = Depends(get_rights)
) -> dict[str, object]:
    """The Art. 15(1)-(2) report: categories, purposes, legal bases, sources, recipients (declared
    and those that received the data), retention, transfers, rights and the complaint route."""
    person = _person(caller)
    return rights.exports.report(person.subject_id or "-", caller=person)


@router.get("/v1/me/copy")
def my_copy(
    format: str = FORMAT,
    lang: str = LANG,
    caller: Caller = Depends(get_person),
    rights: RightsParts = Depends(get_rights),
) -> StreamingResponse:
    """A copy of the caller's data (their session verifies them), streamed; the first in a
    year free, a further one flagged for a reasonable fee (Art. 15(3))."""
    person = _person(caller)
    return _stream(rights.exports.copy(person.subject_id or "-", format, caller=person, lang=lang))


@router.get("/v1/me/rectifications")
def my_rectifications(
    caller: Caller = Depends(get_person), rights: RightsParts = Depends(get_rights)
) -> list[dict[str, object]]:
    """Every field of the caller's data a rectification changed: old and new value, when, by
    which request (Art. 16)."""
    person = _person(caller)
    return _changes(rights.fulfilment.field_history(person, person.subject_id or "-"))


@router.get("/v1/subjects/{subject_id}/rectifications")
def rectifications_of(
    subject_id: str,
    caller: Caller = Depends(get_caller),
    rights: RightsParts = Depends(get_rights),
) -> list[dict[str, object]]:
    """Privacy officer: a person's rectification history."""
    return _changes(rights.fulfilment.field_history(caller, subject_id))


def _changes(changes: list[FieldChange]) -> list[dict[str, object]]:
    return [
        {
            "request_id": c.request_id,
            "record": c.record,
            "field": c.field,
            "old_value": c.old_value,
            "new_value": c.new_value,
            "at": c.at.isoformat(),
        }
        for c in changes
    ]


def _person(caller: Caller) -> Caller:
    if caller.role is not Role.CUSTOMER:
        raise AccessDeniedError("/v1/me/requests is the person's own", ("caller.not_the_person",))
    return caller


# -- staff ---------------------------------------------------------------------------------------


def get_intake(
    caller: Caller = Depends(get_caller), rights: RightsParts = Depends(get_rights)
) -> Caller:
    """Staff who record and verify requests: others refused before the body is judged."""
    rights.requests.staff(caller)
    return caller


def get_decider(
    caller: Caller = Depends(get_caller), rights: RightsParts = Depends(get_rights)
) -> Caller:
    """Staff who carry out, refuse or extend requests: others refused before the body."""
    rights.requests.require_staff(caller, DECIDING_ROLES, "deciding requests")
    return caller


@router.post("/v1/requests", status_code=CREATED, response_model=RequestOut)
def submit_for(
    body: StaffRequestIn,
    caller: Caller = Depends(get_intake),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    """Staff record a request on the person's behalf (call centre, letter), to be verified."""
    stored = rights.requests.submit(
        caller,
        body.kind,
        subject_id=body.subject_id,
        controller=body.controller,
        channel=body.channel,
        details=body.details,
        language=body.language,
    )
    return _out(rights, stored, caller)


@router.get("/v1/requests", response_model=list[RequestOut])
def list_requests(
    subject_id: str | None = Query(None, max_length=64),
    state: RequestState | None = Query(None),
    open: bool = Query(False, description="Only requests not yet answered."),
    due: bool = Query(False, description="Only open requests nearly due or overdue."),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    caller: Caller = Depends(get_caller),
    rights: RightsParts = Depends(get_rights),
) -> list[RequestOut]:
    """Requests, the soonest due first (staff)."""
    rights.requests.staff(caller)
    if due:
        found = rights.requests.due(caller, limit=limit)
    else:
        query = RequestFilter(subject_id, state, open, None, limit, offset)
        found = rights.requests.find(caller, query)
    now = rights.requests.clock()
    return [RequestOut.of(s, now, caller) for s in found]  # summaries


@router.get("/v1/requests/{request_id}", response_model=RequestOut)
def show_request(
    request_id: str,
    caller: Caller = Depends(get_caller),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    rights.requests.staff(caller)
    return _out(rights, rights.requests.get(request_id, caller), caller)


@router.post("/v1/requests/{request_id}/email-code", response_model=RequestOut)
def send_code(
    request_id: str,
    caller: Caller = Depends(get_caller),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    """Send a verification code to the e-mail address held for the person."""
    rights.requests.staff(caller)
    return _out(rights, rights.requests.send_code(caller, request_id), caller)


@router.post("/v1/requests/{request_id}/verification", response_model=RequestOut)
def verify(
    request_id: str,
    body: VerificationIn,
    caller: Caller = Depends(get_intake),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    stored = rights.requests.verify(
        caller, request_id, body.method, code=body.code, evidence=body.evidence
    )
    return _out(rights, stored, caller)


@router.post("/v1/requests/{request_id}/completion", response_model=RequestOut)
def complete(
    request_id: str,
    body: CompletionIn,
    caller: Caller = Depends(get_decider),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    """Carry the request out by its kind and tell the person (privacy officer)."""
    stored = rights.fulfilment.complete(
        caller, request_id, partial_reason=body.partial_reason, note=body.note
    )
    return _out(rights, stored, caller)


@router.post("/v1/requests/{request_id}/refusal", response_model=RequestOut)
def refuse(
    request_id: str,
    body: RefusalIn,
    caller: Caller = Depends(get_decider),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    """Refuse with the reason, told to the person with the complaint route (Art. 12(4))."""
    return _out(rights, rights.requests.refuse(caller, request_id, body.reason), caller)


@router.post("/v1/requests/{request_id}/extension", response_model=RequestOut)
def extend(
    request_id: str,
    body: ExtensionIn,
    caller: Caller = Depends(get_decider),
    rights: RightsParts = Depends(get_rights),
) -> RequestOut:
    """Extend the deadline (Art. 12(3)): the reason told to the person now."""
    stored = rights.requests.extend(caller, request_id, body.months, body.reason)
    return _out(rights, stored, caller)


@router.get("/v1/requests/{request_id}/download")
def download_for(
    request_id: str,
    format: str = FORMAT,
    lang: str = LANG,
    caller: Caller = Depends(get_caller),
    rights: RightsParts = Depends(get_rights),
) -> StreamingResponse:
    """Staff: the copy or export of a verified request, to send on (by letter)."""
    rights.requests.staff(caller)
    return _stream(rights.fulfilment.download(caller, request_id, format, lang))
