"""CarData shares: a customer shares one vehicle's data with one chosen third party (SPEC C2,
U1, U2; notice H; Data Act Art. 4-6).

- :meth:`ShareService.create`: in the portal or the API, in one step (no undue obstacle,
  Art. 5(1) Data Act): the vehicle (one the person owns or drives now), the registered third
  party, the scope (descriptors or categories of the purpose), the agreed purpose and the
  period; refused for a third party the policy lists as a DMA gatekeeper (Art. 5(3));
- :meth:`approve_request`: the same, from the share request of a third party's CarData client
  whose device code the customer approves;
- :meth:`revoke`: at any time; the engine stops releasing at once (it reads the shares as
  consents of one party each, ``domain.shares.as_consent``), whatever a sweep did;
- every change is an entry of the share's history (who, when, why); the period's own begin and
  end are recorded when the share is next read (:meth:`settle`);
- for the stream and other long-lived readers: :meth:`active_shares_for` (a party's active
  shares of a vehicle), :meth:`is_active`, :meth:`revocations_since` and :meth:`subscribe`
  (called after each revocation in this process).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.audit import AuditRecord
from carprivacy.domain.cardata import mapping_type
from carprivacy.domain.decision_index import chosen_party_topics
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, NotFoundError, Problem
from carprivacy.domain.policy import Policy, Text
from carprivacy.domain.shares import (
    Share,
    ShareEvent,
    ShareReason,
    ShareRequest,
    ShareState,
    ShareVia,
    ThirdParty,
    is_active,
    period_problems,
    scope_of,
    state_at,
    terms,
    text_problems,
    transitions,
)
from carprivacy.services.audit.trail import AuditService, iso
from carprivacy.services.cardata.ports import ShareRepository
from carprivacy.services.ports.clock import Clock

SYSTEM = "system"
CUSTOMER_ONLY = ("share.customer_only (Art. 5(1) Regulation (EU) 2023/2854): a share is made by "
                 "the user of the vehicle",)  # fmt: skip

RevocationListener = Callable[[Share], None]


@dataclass(frozen=True)
class ShareView:
    """A share as its customer sees it: its state now, the party's name and the terms."""

    share: Share
    state: ShareState
    party_name: str
    terms: Text


@dataclass
class ShareService:
    policy: Policy
    repository: ShareRepository
    party_of: Callable[[str], ThirdParty | None]
    signal_category: Mapping[str, str]  # catalogue signal -> category
    signal_fields: Mapping[str, Mapping[str, str]]  # category -> {signal: policy field}
    # (subject_id, vehicle_id, at) -> whether the person owns or drives the vehicle at ``at``
    uses_vehicle: Callable[[str, str, datetime], bool]
    clock: Clock
    # the vehicle's identification every share names: (category, its fields, the fields kept)
    handle: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None
    audit: AuditService | None = None  # each share made or revoked is an audit entry (U3)
    _listeners: list[RevocationListener] = field(default_factory=list, init=False)

    # -- making one --------------------------------------------------------------------------

    def create(
        self,
        caller: Caller,
        *,
        vehicle_id: str,
        party: str,
        purpose: str,
        agreed_purpose: str,
        descriptors: Iterable[str] = (),
        categories: Iterable[str] = (),
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        via: ShareVia = ShareVia.PORTAL,
        grant_id: str | None = None,
    ) -> ShareView:
        subject = _customer(caller)
        now = self.clock()
        begins = valid_from or now
        ends = valid_until or begins + timedelta(days=365)
        problems: list[Problem] = []
        found = self.party_of(party) if isinstance(party, str) else None
        if found is None:
            problems.append(Problem("party", "registered", "a registered third party"))
        target = self.policy.purposes_by_id.get(purpose)
        if target is None or target.consent_topic not in chosen_party_topics(self.policy):
            problems.append(Problem("purpose", "shareable", "a CarData sharing purpose"))
            target = None
        elif found is not None and found.member_of not in target.recipients:
            problems.append(Problem("party", "recipient", "not a recipient of this purpose"))
        problems += text_problems("agreed_purpose", agreed_purpose)
        problems += period_problems(begins, ends, now)
        if valid_from is not None and begins < now - timedelta(minutes=5):
            problems.append(Problem("valid_from", "not_past", "now or later"))
        scope: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())
        if target is not None:
            named, cats, withheld, scope_problems = scope_of(
                list(descriptors),
                list(categories),
                self.signal_category,
                target.categories,
                self.signal_fields,
                self.handle,
            )
            problems += scope_problems
            scope = (named, cats, withheld)
        if not isinstance(vehicle_id, str) or not self.uses_vehicle(subject, vehicle_id, now):
            # an unknown vehicle and another person's answer alike
            problems.append(Problem("vehicle_id", "yours", "a vehicle you own or drive now"))
        if problems:
            raise InvalidInputError(problems)
        assert found is not None and target is not None and target.consent_topic is not None
        gatekeeper = _gatekeeper(self.policy, found)
        if gatekeeper is not None:
            raise AccessDeniedError("a gatekeeper is not an eligible third party", (gatekeeper,))
        state = ShareState.PENDING if begins > now else ShareState.ACTIVE
        share = Share(
            id=uuid.uuid4().hex,
            subject_id=subject,
            vehicle_id=vehicle_id,
            party=found.id,
            purpose=target.id,
            topic=target.consent_topic,
            agreed_purpose=agreed_purpose.strip(),
            descriptors=scope[0],
            categories=scope[1],
            withheld=scope[2],
            valid_from=begins,
            valid_until=ends,
            created_at=now,
            created_by=caller.id,
            via=via,
            state=state,
            grant_id=grant_id,
        )
        reason = (
            ShareReason.CUSTOMER_APPROVED_REQUEST
            if via is ShareVia.DEVICE_CODE
            else ShareReason.CUSTOMER_CREATED
        )
        self.repository.add_share(share, ShareEvent(share.id, 1, now, state, caller.id, reason))
        self._audit(caller, share, now, "share.created", f"share.{reason.value} via {via.value}")
        return self._view(share, now)

    def approve_request(
        self, caller: Caller, request: ShareRequest, vehicle_id: str, grant_id: str
    ) -> ShareView:
        """The share a third party's CarData client asked for, made by the customer approving
        its device code (the grant it was approved through is recorded)."""
        now = self.clock()
        return self.create(
            caller,
            vehicle_id=vehicle_id,
            party=request.party,
            purpose=request.purpose,
            agreed_purpose=request.agreed_purpose,
            descriptors=request.descriptors,
            valid_from=now,
            valid_until=now + timedelta(days=request.days),
            via=ShareVia.DEVICE_CODE,
            grant_id=grant_id,
        )

    # -- the customer's own ------------------------------------------------------------------

    def shares_of(self, caller: Caller) -> list[ShareView]:
        subject = _customer(caller)
        now = self.clock()
        return [
            self._view(self.settle(s, now), now) for s in self.repository.shares(subject_id=subject)
        ]

    def share(self, caller: Caller, share_id: str) -> ShareView:
        found = self._own(caller, share_id)
        now = self.clock()
        return self._view(self.settle(found, now), now)

    def history(self, caller: Caller, share_id: str) -> list[ShareEvent]:
        found = self._own(caller, share_id)
        self.settle(found, self.clock())
        return self.repository.events(share_id)

    def revoke(self, caller: Caller, share_id: str) -> ShareView:
        """Revoke one of the person's shares now (idempotent: a revoked or expired one stays)."""
        found = self._own(caller, share_id)
        now = self.clock()
        current = self.settle(found, now)
        if current.state in (ShareState.PENDING, ShareState.ACTIVE):
            event = ShareEvent(
                share_id, 0, now, ShareState.REVOKED, caller.id, ShareReason.CUSTOMER_REVOKED
            )
            if self.repository.move(share_id, current.state, event, revoked_at=now):
                revoked = self.repository.share(share_id) or current
                self._audit(caller, revoked, now, "share.revoked", "share.customer_revoked")
                for listener in list(self._listeners):
                    listener(revoked)
        latest = self.repository.share(share_id) or current
        return self._view(latest, now)

    # -- the hook points of long-lived readers (the stream) ----------------------------------

    def active_shares_for(
        self, party: str, vehicle_id: str, at: datetime | None = None
    ) -> list[Share]:
        """The party's shares of the vehicle that are active at ``at`` (now)."""
        when = at or self.clock()
        return [
            s
            for s in self.repository.shares(party=party, vehicle_id=vehicle_id)
            if is_active(s, when)
        ]

    def active_shares_of(
        self, party: str, subject_id: str, at: datetime | None = None
    ) -> list[Share]:
        """The party's active shares with one person (what its CarData token reads)."""
        when = at or self.clock()
        return [
            s
            for s in self.repository.shares(party=party, subject_id=subject_id)
            if is_active(s, when)
        ]

    def is_active(self, share_id: str, at: datetime | None = None) -> bool:
        found = self.repository.share(share_id)
        return found is not None and is_active(found, at or self.clock())

    def revocations_since(self, after: datetime) -> list[ShareEvent]:
        """Revocations recorded after ``after`` (in any process), oldest first."""
        return self.repository.events_since(after, ShareState.REVOKED)

    def subscribe(self, listener: RevocationListener) -> None:
        """Call ``listener(share)`` after each revocation made through this service."""
        self._listeners.append(listener)

    def grant_subject(self, grant_id: str) -> str | None:
        """The person a third party's CarData grant was approved by (its shares' subject)."""
        found = self.repository.shares(grant_id=grant_id)
        return found[0].subject_id if found else None

    # -- parts -------------------------------------------------------------------------------

    def settle(self, share: Share, now: datetime) -> Share:
        """Record the period's begin and end the share went through by ``now``."""
        current = share
        for state, at, reason in transitions(share, now):
            event = ShareEvent(share.id, 0, at, state, SYSTEM, reason)
            if not self.repository.move(share.id, current.state, event):
                break
            current = self.repository.share(share.id) or current
        return current

    def _audit(self, caller: Caller, share: Share, at: datetime, rule: str, action: str) -> None:
        if self.audit is None:
            return
        self.audit.append(
            [
                AuditRecord(
                    at=iso(at),
                    caller_id=caller.id,
                    organisation=caller.organisation,
                    role=caller.role.value,
                    purpose=share.purpose,
                    subject_ref=self.audit.subject_ref(share.subject_id),
                    vehicle_ref=self.audit.vehicle_ref(share.vehicle_id),
                    categories=",".join(share.categories),
                    outcome="allow",
                    rule=rule,
                    form="",
                    action=f"{action} to {share.party}",
                )
            ]
        )

    def _own(self, caller: Caller, share_id: str) -> Share:
        subject = _customer(caller)
        found = self.repository.share(share_id)
        if found is None or found.subject_id != subject:
            raise NotFoundError("share", share_id)
        return found

    def _view(self, share: Share, now: datetime) -> ShareView:
        party = self.party_of(share.party)
        name = party.name if party is not None else share.party
        return ShareView(share, state_at(share, now), name, terms(share, name))


def _customer(caller: Caller) -> str:
    if caller.role is not Role.CUSTOMER or caller.subject_id is None:
        raise AccessDeniedError("a share is made by the customer", CUSTOMER_ONLY)
    return caller.subject_id


def _gatekeeper(policy: Policy, party: ThirdParty) -> str | None:
    if party.undertaking not in policy.gatekeeper_ids:
        return None
    return (
        "recipient.gatekeeper (Art. 5(3) Regulation (EU) 2023/2854, Data Act; notice H): "
        f"{party.undertaking} is designated as a gatekeeper under the Digital Markets Act"
    )


def uses_vehicle_now(master: Callable[[], Any]) -> Callable[[str, str, datetime], bool]:
    """Whether a person owns or drives a vehicle at a time, from master data."""

    def check(subject_id: str, vehicle_id: str, at: datetime) -> bool:
        with master() as uow:
            return any(
                u.vehicle_id == vehicle_id and mapping_type(u.kind.value) and u.covers(at)
                for u in uow.usages.for_customer(subject_id)
            )

    return check
