"""Carrying out a verified rights request (SPEC R1-R6, R8; Art. 15-21 GDPR).

:meth:`Fulfilment.complete` starts a verified request and carries it out by its kind, then tells
the person what was done:

- **access** (15) and **portability** (20): the copy or export becomes the person's to download
  (``download``: streamed, first copy free, further ones flagged for a fee); a portability
  request naming another controller's endpoint is sent there directly, with a receipt;
- **rectification** (16): the contact fields corrected, each change kept in the rectification
  log (old and new value sealed, never logged), and the recipients that received the data listed
  for notification (Art. 19), from the audit trail;
- **restriction** (18) and **objection** (21): recorded in the consent ledger, so the engine
  honours them from the next decision; the request names the ledger record;
- **erasure** (17): handed to the :class:`~carprivacy.services.rights.ports.ErasureExecutor`;
  what it kept, with why, makes the answer a partial refusal.

``partial_reason`` ends a request carried out only in part as partially refused, the reason told
with the complaint route (Art. 12(4)).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from carprivacy.domain import request_notices as notices
from carprivacy.domain.access import Caller, Role
from carprivacy.domain.errors import AccessDeniedError, ConflictError
from carprivacy.domain.request_workflow import RequestChannel, RequestKind, RequestState
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.services.exports.access import AccessExportService, Export, check_format
from carprivacy.services.exports.portability import PortabilityService
from carprivacy.services.master.service import MasterDataService
from carprivacy.services.rights.ports import (
    ErasureExecutor,
    FieldChange,
    RectificationLog,
    StoredRequest,
)
from carprivacy.services.rights.requests import DECIDING_ROLES, RightsRequests

LEDGER_CHANNEL = {
    RequestChannel.PORTAL: "portal",
    RequestChannel.API: "app",
    RequestChannel.CALL_CENTRE: "call_centre",
    RequestChannel.LETTER: "call_centre",  # recorded by staff, as a call centre entry
}
RELEASED = frozenset(
    {
        RequestState.VERIFIED,
        RequestState.IN_PROGRESS,
        RequestState.COMPLETED,
        RequestState.PARTIALLY_REFUSED,
    }
)
ANSWERED = frozenset({RequestState.COMPLETED, RequestState.PARTIALLY_REFUSED})
Done = tuple[dict[str, Any], list[str]]  # (outcome, lines told to the person)


@dataclass
class Fulfilment:
    requests: RightsRequests
    exports: AccessExportService
    portability: PortabilityService
    ledger: ConsentLedgerService
    master: MasterDataService
    rectifications: RectificationLog
    erasure: ErasureExecutor | None = None
    _ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    def complete(
        self,
        caller: Caller,
        request_id: str,
        *,
        partial_reason: str | None = None,
        note: str = "",
        by: str | None = None,
    ) -> StoredRequest:
        r = self.requests
        r.require_staff(caller, DECIDING_ROLES, "carrying out a request")
        stored = r.get(request_id)
        actor = (by or caller.id).strip()
        request = stored.request
        if request.state is RequestState.VERIFIED:
            request = request.start(by=actor, at=r.clock())
        elif request.state is not RequestState.IN_PROGRESS:
            # the workflow's own refusal: before verification, or once final
            request.start(by=actor, at=r.clock())
        stored = replace(stored, request=request)
        r.repository.save(stored)
        # the address held before an erasure removes it: the answer goes there
        to = r.address(request.subject_id) if request.kind is RequestKind.ERASURE else None
        outcome, lines = self._carry_out(caller, actor, stored)
        lang = stored.language
        kept = outcome.get("kept") or []
        reason = (partial_reason or "").strip()
        if kept and not reason:
            reason = "; ".join(f"{k['what']}: {k['why']}" for k in kept)
        now = r.clock()
        if reason:
            request = request.partially_refuse(by=actor, at=now, reason=reason)
            notice = notices.refused(
                r.policy, request.kind, request.id, reason, partial=True, done=lines, lang=lang
            )
        else:
            request = request.complete(by=actor, at=now, note=note or outcome.get("note", ""))
            notice = notices.completed(request.kind, request.id, lines, lang)
        stored = replace(stored, request=request, outcome={**stored.outcome, **outcome})
        r.repository.save(stored)
        return r.tell(stored, notice, to)

    def _carry_out(self, caller: Caller, actor: str, stored: StoredRequest) -> Done:
        kind = stored.request.kind
        if kind is RequestKind.ACCESS:
            return self._access(stored)
        if kind is RequestKind.PORTABILITY:
            return self._portability(stored)
        if kind is RequestKind.RECTIFICATION:
            return self._rectification(actor, stored)
        if kind is RequestKind.RESTRICTION:
            return self._restriction(caller, actor, stored)
        if kind is RequestKind.OBJECTION:
            return self._objection(caller, actor, stored)
        return self._erasure(actor, stored)

    # -- each kind ------------------------------------------------------------------------------

    @staticmethod
    def _en(stored: StoredRequest, nl: str, en: str) -> str:
        return en if stored.language == "en" else nl

    def _access(self, stored: StoredRequest) -> Done:
        link = f"/v1/me/requests/{stored.request.id}/download"
        line = self._en(
            stored,
            "uw kopie (JSON, CSV of HTML) staat klaar om te downloaden in het klantportaal",
            "your copy (JSON, CSV or HTML) is ready to download in the customer portal",
        )
        return {"download": link, "note": "copy ready for download"}, [line]

    def _portability(self, stored: StoredRequest) -> Done:
        link = f"/v1/me/requests/{stored.request.id}/download"
        outcome: dict[str, Any] = {"download": link, "note": "export ready for download"}
        lines = [
            self._en(
                stored,
                "uw gegevens (JSON of CSV) staan klaar om te downloaden in het klantportaal",
                "your data (JSON or CSV) is ready to download in the customer portal",
            )
        ]
        endpoint = stored.details.get("endpoint")
        if endpoint:
            receipt = self.portability.transmit(
                stored.request.subject_id, endpoint, stored.details.get("format", "json")
            )
            outcome["receipt"] = {
                "id": receipt.id,
                "status": receipt.status,
                "http_status": receipt.http_status,
                "digest": receipt.digest,
                "bytes_sent": receipt.bytes_sent,
                "at": receipt.at.isoformat(),
            }
            lines.append(
                self._en(
                    stored,
                    f"verzonden aan de opgegeven verwerkingsverantwoordelijke: {receipt.status} "
                    f"(ontvangstbewijs {receipt.id})",
                    f"sent to the controller you named: {receipt.status} (receipt {receipt.id})",
                )
            )
            if receipt.status != "delivered":
                outcome["kept"] = [
                    {
                        "what": "direct transmission",
                        "why": f"the endpoint did not accept it ({receipt.status}); the export "
                        "stays available for download (Art. 20(2) GDPR: where technically "
                        "feasible)",
                    }
                ]
        return outcome, lines

    def _rectification(self, actor: str, stored: StoredRequest) -> Done:
        subject = stored.request.subject_id
        before = self.master.get_customer(subject).contact
        changes: dict[str, Any] = dict(stored.details.get("changes", {}))
        after = self.master.update_customer(subject, changes).contact
        now = self.requests.clock()
        changed = [
            FieldChange(
                self._ids(),
                subject,
                stored.request.id,
                "customer",
                name,
                getattr(before, name, None),
                getattr(after, name, None),
                now,
                actor,
            )
            for name in changes
            if getattr(before, name, None) != getattr(after, name, None)
        ]
        self.rectifications.add(changed)
        received = self.exports.recipients_that_received(subject)
        recipients: list[dict[str, Any]] = [
            {"organisation": u.organisation, "purposes": list(u.purposes), "last": u.last}
            for u in received
        ]
        names = ", ".join(c.field for c in changed) or "-"
        orgs = ", ".join(u.organisation for u in received) or "-"
        lines = [
            self._en(stored, f"gecorrigeerd: {names}", f"corrected: {names}"),
            self._en(
                stored,
                f"ontvangers die uw gegevens kregen en van de correctie op de hoogte worden "
                f"gebracht (art. 19 AVG): {orgs}",
                f"recipients that received your data and are told of the correction "
                f"(Art. 19 GDPR): {orgs}",
            ),
        ]
        outcome = {
            "fields": [c.field for c in changed],
            "recipients": recipients,
            "note": f"rectified: {names}",
        }
        return outcome, lines

    def _restriction(self, caller: Caller, actor: str, stored: StoredRequest) -> Done:
        d = stored.details
        entry = self.ledger.restrict(
            self._staff_caller(caller, actor),
            stored.request.subject_id,
            d["case"],
            channel=LEDGER_CHANNEL[stored.request.channel],
            categories=tuple(d.get("categories", ())),
            note=d.get("note", ""),
        )
        line = self._en(
            stored,
            "de verwerking van uw gegevens is beperkt: wij bewaren ze en gebruiken ze alleen "
            "met uw toestemming of voor rechtsvorderingen (art. 18 lid 2 AVG)",
            "processing of your data is restricted: we keep it and use it only with your "
            "consent or for legal claims (Art. 18(2) GDPR)",
        )
        return {"restriction_id": entry.record_id, "note": "restriction recorded"}, [line]

    def _objection(self, caller: Caller, actor: str, stored: StoredRequest) -> Done:
        d = stored.details
        entry = self.ledger.object(
            self._staff_caller(caller, actor),
            stored.request.subject_id,
            channel=LEDGER_CHANNEL[stored.request.channel],
            purpose=d.get("purpose"),
            marketing=bool(d.get("marketing")),
            grounds=d.get("grounds", ""),
        )
        what = "direct marketing" if entry.marketing else (entry.purpose or "all")
        line = self._en(
            stored,
            f"uw bezwaar is vastgelegd ({what}); wij verwerken uw gegevens daarvoor niet meer",
            f"your objection is recorded ({what}); we no longer process your data for it",
        )
        return {"objection_id": entry.record_id, "note": f"objection recorded: {what}"}, [line]

    def _erasure(self, actor: str, stored: StoredRequest) -> Done:
        if self.erasure is None:
            raise ConflictError(
                "erasure (Art. 17 GDPR) is carried out by the erasure service, which this "
                "installation does not run; the request stays in progress"
            )
        r = stored.request
        done = self.erasure.erase(
            r.subject_id,
            controller=r.controller,
            request_id=r.id,
            by=actor,
            at=self.requests.clock(),
        )
        lines = [self._en(stored, f"gewist: {e}", f"erased: {e}") for e in done.erased]
        lines += [self._en(stored, f"bewaard: {w} ({y})", f"kept: {w} ({y})") for w, y in done.kept]
        outcome: dict[str, Any] = {"erased": list(done.erased), "note": "erased"}
        if done.kept:
            outcome["kept"] = [{"what": w, "why": y} for w, y in done.kept]
        return outcome, lines

    @staticmethod
    def _staff_caller(caller: Caller, actor: str) -> Caller:
        """The ledger records the staff member who carried the request out."""
        return caller if caller.id == actor else replace(caller, id=actor)

    # -- the rectification history ----------------------------------------------------------------

    def field_history(self, caller: Caller, subject_id: str) -> list[FieldChange]:
        """Every field a rectification changed for ``subject_id``, old and new value: for the
        person or the privacy officer, decided and recorded by the gate (right of access)."""
        r = self.requests
        if caller.role is Role.CUSTOMER:
            if caller.subject_id != subject_id:
                raise AccessDeniedError(
                    "a person reads their own history only", ("caller.not_own_data",)
                )
        else:
            r.require_staff(caller, DECIDING_ROLES, "reading a rectification history")
        if r.permit is not None:
            r.permit(caller, subject_id, "rectification history")
        return self.rectifications.of(subject_id)

    # -- the download ---------------------------------------------------------------------------

    def download(
        self, caller: Caller, request_id: str, fmt: str = "json", lang: str = "nl"
    ) -> Export:
        """The copy (access) or export (portability) of a verified request, streamed: for the
        person themselves, or for staff who send it on."""
        if caller.role is not Role.CUSTOMER:
            self.requests.require_staff(caller, DECIDING_ROLES, "downloading a person's copy")
        stored = self.requests.get(request_id, caller)
        r = stored.request
        if r.kind not in (RequestKind.ACCESS, RequestKind.PORTABILITY):
            raise ConflictError(f"a {r.kind.value} request has nothing to download")
        if r.state not in RELEASED:
            raise AccessDeniedError(
                "nothing is released before the requester's identity is verified (Art. 12(6) GDPR)",
                ("request.not_verified",),
            )
        person = caller if caller.role is Role.CUSTOMER else None
        if person is not None and r.state not in ANSWERED:
            raise ConflictError(
                f"the request is {r.state.value}: its result is ready once it is completed"
            )
        action = f"request {r.id} download"
        if r.kind is RequestKind.PORTABILITY:
            check_format(fmt, ("json", "csv"))
            return self.portability.export(r.subject_id, fmt, caller=person, action=action)
        return self.exports.copy(r.subject_id, fmt, caller=person, lang=lang, action=action)
