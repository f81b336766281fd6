"""Receiving, verifying, extending and refusing rights requests (SPEC R1-R8; Art. 12 GDPR).

:class:`RightsRequests` is what the person's routes (``/v1/me/requests``, the portal), the staff
routes (``/v1/requests``) and ``carprivacy requests`` call. Carrying a request out is
``fulfilment.py``'s.

- **Submitted** by the person (their own login: portal or API) or by staff on their behalf
  (call centre, letter), at either joint controller of the policy. A request made in the
  person's logged-in session is verified by that session at once (Art. 12(6)).
- **Verified** otherwise by an e-mail code sent to the address held for the person (six digits,
  kept as a keyed hash, valid ten minutes, five attempts), or by evidence staff checked and
  recorded; nothing is released or changed before.
- **Deadline** from ``domain/request_deadlines.py``: one calendar month from receipt, extendable
  by two with the reason told to the person; open requests nearly due or overdue are listed.
- **Refused** (or partly) with the reason told to the person with the complaint route to the
  Autoriteit Persoonsgegevens (Art. 12(4)).

Every change records who, when and why (``domain/request_workflow.py``). What the person asks
and the reasons are personal: the repository keeps them sealed under the person's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from carprivacy.domain import request_notices as notices
from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from carprivacy.domain.policy import Policy
from carprivacy.domain.request_deadlines import DeadlineStanding
from carprivacy.domain.request_workflow import (
    RequestChannel,
    RequestKind,
    RequestState,
    Verification,
    receive,
)
from carprivacy.services.consent.ports import NoticeAddress
from carprivacy.services.identity.ports import EmailOutbox
from carprivacy.services.ports.clock import Clock
from carprivacy.services.rights import codes
from carprivacy.services.rights.details import checked
from carprivacy.services.rights.ports import (
    RequestFilter,
    RightsRequestRepository,
    StoredRequest,
)

MAX_EVIDENCE = 1000
# staff who record a request on the person's behalf and verify it
INTAKE_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.CUSTOMER_SERVICE, Role.SERVICE})
# staff who decide it: carry it out, extend or refuse it
DECIDING_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.SERVICE})
STAFF_CHANNELS = (RequestChannel.CALL_CENTRE, RequestChannel.LETTER)
PERSON_CHANNELS = (RequestChannel.PORTAL, RequestChannel.API)


def _problem(path: str, rule: str, message: str) -> InvalidInputError:
    return InvalidInputError([Problem(path, rule, message)])


def _enum(kind: type[Any], value: str, path: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(m.value for m in kind)
        raise _problem(path, "one_of", f"must be one of {names}") from None


@dataclass
class RightsRequests:
    policy: Policy
    repository: RightsRequestRepository
    outbox: EmailOutbox
    address: NoticeAddress
    subject_exists: Callable[[str], None]  # NotFoundError for an unknown subject
    code_key: bytes
    clock: Clock
    nearly_due: timedelta = timedelta(days=7)
    # decides and records a read of the person's request (the gate under the right of access):
    # (caller, subject id, action); AccessDeniedError when refused. None: not checked.
    permit: Callable[[Caller, str, str], None] | None = None
    _ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    # -- who may do what ------------------------------------------------------------------------

    @property
    def controller_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.policy.controllers)

    def controller_of(self, organisation: str) -> str | None:
        """The controller a caller's organisation is, or whose staff it is (an internal or joint
        controller recipient of the policy naming its controller), else None."""
        if organisation in self.controller_ids:
            return organisation
        recipient = self.policy.recipients_by_id.get(organisation)
        controller = recipient.controller if recipient is not None else None
        return controller if controller in self.controller_ids else None

    def require_staff(self, caller: Caller, roles: frozenset[Role], what: str) -> None:
        if caller.role not in roles:
            names = ", ".join(sorted(r.value for r in roles))
            raise AccessDeniedError(
                f"{what} needs the role {names} (Art. 12 GDPR)", ("caller.role",)
            )
        if self.controller_of(caller.organisation) is None:
            raise AccessDeniedError(
                f"{what} is done by staff of a controller of the policy (Art. 26 GDPR)",
                ("caller.organisation",),
            )

    def staff(self, caller: Caller) -> None:
        """AccessDeniedError unless ``caller`` is staff of a controller who handles requests."""
        self.require_staff(caller, INTAKE_ROLES, "handling requests")

    def visible_to(self, caller: Caller, stored: StoredRequest) -> bool:
        if caller.role is Role.CUSTOMER:
            return caller.subject_id == stored.request.subject_id
        return caller.role in INTAKE_ROLES and self.controller_of(caller.organisation) is not None

    # -- receipt --------------------------------------------------------------------------------

    def submit(
        self,
        caller: Caller,
        kind: str,
        *,
        subject_id: str | None = None,
        controller: str | None = None,
        channel: str | None = None,
        details: Mapping[str, Any] | None = None,
        language: str = "nl",
        by: str | None = None,
    ) -> StoredRequest:
        """A request received now: by the person in their own session (verified by it), or
        recorded by staff for ``subject_id`` (to be verified)."""
        what = _enum(RequestKind, kind, "kind")
        lang = language if language in notices.LANGUAGES else "nl"
        if caller.role is Role.CUSTOMER:
            if caller.subject_id is None or (subject_id not in (None, caller.subject_id)):
                raise AccessDeniedError(
                    "a person makes requests about their own data only", ("caller.not_own_data",)
                )
            subject = caller.subject_id
            via = _enum(RequestChannel, channel or "api", "channel")
            if via not in PERSON_CHANNELS:
                raise _problem("channel", "request.channel", "portal or api for the person")
        else:
            self.require_staff(caller, INTAKE_ROLES, "recording a request for a person")
            if not subject_id:
                raise _problem("subject_id", "required", "name the person the request is of")
            subject = subject_id
            via = _enum(RequestChannel, channel or "call_centre", "channel")
            if via not in STAFF_CHANNELS:
                raise _problem(
                    "channel",
                    "request.channel",
                    "call_centre or letter for staff on a person's behalf",
                )
        where = controller or self.controller_of(caller.organisation) or self.controller_ids[0]
        if where not in self.controller_ids:
            raise _problem(
                "controller",
                "one_of",
                f"must be one of the joint controllers {', '.join(self.controller_ids)}",
            )
        asked = checked(self.policy, what, details or {})
        self.subject_exists(subject)
        now = self.clock()
        actor = (by or caller.id).strip()
        request = receive(
            id=self._ids(),
            kind=what,
            subject_id=subject,
            controller=where,
            channel=via,
            received_at=now,
            by=actor,
            rule=self.policy.deadline,
        )
        if caller.role is Role.CUSTOMER:
            request = request.verify(Verification.SESSION, by=actor, at=now)
        stored = StoredRequest(request, asked, {}, lang)
        self.repository.add(stored)
        notice = notices.received(what, request.id, request.deadline.due_date, lang)
        return self.tell(stored, notice)

    # -- reading --------------------------------------------------------------------------------

    def get(self, request_id: str, caller: Caller | None = None) -> StoredRequest:
        stored = self.repository.get(request_id)
        if stored is None or (caller is not None and not self.visible_to(caller, stored)):
            raise NotFoundError("request", request_id)
        return stored

    def read(self, caller: Caller, request_id: str) -> StoredRequest:
        """One request as ``caller`` may see it (:meth:`view`)."""
        return self.view(caller, self.get(request_id, caller))

    def view(self, caller: Caller, stored: StoredRequest) -> StoredRequest:
        """What the request asks and what was done are the person's data: the person and the
        staff who decide (privacy officer, the operator) see them, each read decided and recorded
        by the gate under the right of access; customer service sees the :func:`summary`."""
        if caller.role is Role.CUSTOMER or caller.role in DECIDING_ROLES:
            if self.permit is not None:
                self.permit(caller, stored.request.subject_id, f"request {stored.request.id}")
            return stored
        return summary(stored)

    def find(self, caller: Caller, query: RequestFilter) -> list[StoredRequest]:
        """The person's own requests whole (one decision for the list); for staff, summaries:
        kind, state, dates and who changed what when, without details, outcome or reasons
        (:meth:`read` one for those)."""
        if caller.role is Role.CUSTOMER:
            query = replace(query, subject_id=caller.subject_id or "-")
            found = self.repository.find(query)
            if found and self.permit is not None:
                self.permit(caller, caller.subject_id or "-", "requests list")
            return found
        self.require_staff(caller, INTAKE_ROLES, "listing requests")
        return [summary(s) for s in self.repository.find(query)]

    def due(self, caller: Caller, *, limit: int = 500) -> list[StoredRequest]:
        """Open requests nearly due or overdue at this moment, the soonest first."""
        now = self.clock()
        soon = self.find(
            caller, RequestFilter(open_only=True, due_before=now + self.nearly_due, limit=limit)
        )
        late = (DeadlineStanding.NEARLY_DUE, DeadlineStanding.OVERDUE)
        return [s for s in soon if s.request.standing(now) in late]

    # -- verification ---------------------------------------------------------------------------

    def send_code(self, caller: Caller, request_id: str) -> StoredRequest:
        """An e-mail code to the address held for the person; the person gives it back."""
        stored = self.get(request_id, caller)
        if stored.request.state is not RequestState.RECEIVED:
            raise ConflictError(f"the request is {stored.request.state.value}, not received")
        to = self.address(stored.request.subject_id)
        if not to:
            raise ConflictError(
                "no e-mail address is held for the person: verify with evidence instead"
            )
        code, pending = codes.issue(self.code_key, request_id, self.clock())
        notice = notices.verification_code(
            code, int(codes.CODE_TTL.total_seconds()) // 60, stored.language
        )
        self.outbox.send(
            to,
            notice.subject,
            notice.body,
            reference=f"request-code:{request_id}",
            expires_at=pending.expires_at,
        )
        stored = replace(stored, code=pending)
        self.repository.save(stored)
        return stored

    def verify(
        self,
        caller: Caller,
        request_id: str,
        method: str,
        *,
        code: str | None = None,
        evidence: str | None = None,
        by: str | None = None,
    ) -> StoredRequest:
        """The requester's identity verified by an e-mail code or staff-recorded evidence."""
        stored = self.get(request_id, caller)
        how = _enum(Verification, method, "method")
        if caller.role is Role.CUSTOMER:
            if how is not Verification.EMAIL_CODE:
                raise _problem("method", "request.verification", "a person verifies by code")
        else:
            self.require_staff(caller, INTAKE_ROLES, "verifying a requester")
        actor = (by or caller.id).strip()
        now = self.clock()
        if how is Verification.SESSION:
            raise _problem(
                "method",
                "request.verification",
                "a session verifies only the person's own request, when it is made",
            )
        if how is Verification.EMAIL_CODE:
            stored = self._check_code(stored, code, now)
            request = stored.request.verify(how, by=actor, at=now)
        else:
            if not evidence or not evidence.strip() or len(evidence) > MAX_EVIDENCE:
                raise _problem(
                    "evidence",
                    "request.evidence",
                    f"describe the evidence checked (1 to {MAX_EVIDENCE} characters; Art. "
                    "12(6) GDPR)",
                )
            request = stored.request.verify(how, by=actor, at=now)
            last = request.history[-1]
            change = replace(last, reason=f"{last.reason}; evidence: {evidence.strip()}")
            request = replace(request, history=(*request.history[:-1], change))
        stored = replace(stored, request=request, code=None)
        self.repository.save(stored)
        return stored

    def _check_code(self, stored: StoredRequest, code: str | None, now: datetime) -> StoredRequest:
        pending, problem = codes.check(
            self.code_key, stored.request.id, stored.code, now=now, given=code
        )
        if problem is None or pending is None:  # used or ended: a kept copy of the code goes
            self.outbox.withdraw(f"request-code:{stored.request.id}")
        if problem is not None:
            if stored.code is not None:
                self.repository.save(replace(stored, code=pending))
            raise InvalidInputError([problem])
        return stored

    # -- deadline and refusal -------------------------------------------------------------------

    def extend(
        self,
        caller: Caller,
        request_id: str,
        months: int,
        reason: str,
        *,
        by: str | None = None,
    ) -> StoredRequest:
        """The deadline extended (Art. 12(3)); the person told now, with the reason."""
        self.require_staff(caller, DECIDING_ROLES, "extending a request's deadline")
        stored = self.get(request_id)
        now = self.clock()
        actor = (by or caller.id).strip()
        request = stored.request.extend(months, reason, by=actor, told_at=now, at=now)
        stored = replace(stored, request=request)
        self.repository.save(stored)
        notice = notices.extended(
            request.kind,
            request.id,
            months,
            request.deadline.due_date,
            reason.strip(),
            stored.language,
        )
        return self.tell(stored, notice)

    def refuse(
        self, caller: Caller, request_id: str, reason: str, *, by: str | None = None
    ) -> StoredRequest:
        """Refused with its reason, told to the person with the complaint route (Art. 12(4))."""
        self.require_staff(caller, DECIDING_ROLES, "refusing a request")
        stored = self.get(request_id)
        request = stored.request.refuse(by=(by or caller.id), at=self.clock(), reason=reason)
        stored = replace(stored, request=request)
        self.repository.save(stored)
        notice = notices.refused(
            self.policy,
            request.kind,
            request.id,
            reason.strip(),
            partial=False,
            done=(),
            lang=stored.language,
        )
        return self.tell(stored, notice)

    # -- telling the person ---------------------------------------------------------------------

    def tell(
        self, stored: StoredRequest, notice: notices.Notice, to: str | None = None
    ) -> StoredRequest:
        """The notice to the person's e-mail address (``to``: the one held before an erasure);
        recorded in the outcome (when, what about, or that no address is held and it must go by
        letter)."""
        to = to or self.address(stored.request.subject_id)
        if to:
            self.outbox.send(to, notice.subject, notice.body)
        told = list(stored.outcome.get("told", []))
        told.append(
            {
                "at": self.clock().isoformat(),
                "subject": notice.subject,
                "by": "email" if to else "letter (no e-mail address held)",
            }
        )
        stored = replace(stored, outcome={**stored.outcome, "told": told})
        self.repository.save(stored)
        return stored


def summary(stored: StoredRequest) -> StoredRequest:
    """``stored`` without what describes the person: no details, outcome or reasons."""
    r = stored.request
    history = tuple(replace(h, reason="") for h in r.history)
    extensions = tuple(replace(e, reason="") for e in r.deadline.extensions)
    request = replace(r, history=history, deadline=replace(r.deadline, extensions=extensions))
    return replace(stored, request=request, details={}, outcome={}, code=None)
