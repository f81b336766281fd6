"""A customer answers a third party's device code (SPEC C2; RFC 8628; Data Act Art. 5(1)).

A third party is a CarData client of its own (``ThirdPartyRegistry.add_client``): its client
asks for a device code as any CarData client does, and shows the user code to the customer.
The customer, logged in, enters the code: :meth:`ShareApprovals.lookup` tells what the third
party asks for (its name, the purpose in its words, the descriptors, the period and the terms);
:meth:`answer` approves it for one of the person's vehicles (the share is made and the grant
approved: the third party's tokens read only what the share allows) or denies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from carprivacy.domain.access import Caller
from carprivacy.domain.cardata import DeviceGrant, GrantStatus
from carprivacy.domain.errors import NotFoundError
from carprivacy.domain.policy import Text
from carprivacy.domain.shares import (
    Share,
    ShareRequest,
    ShareState,
    ShareVia,
    terms,
)
from carprivacy.services.cardata.authorisation import CarDataAuthorisation
from carprivacy.services.cardata.ports import ShareRepository
from carprivacy.services.cardata.shares import ShareService, ShareView


@dataclass(frozen=True)
class PendingShare:
    """What a third party's device code asks the customer for."""

    grant: DeviceGrant
    request: ShareRequest
    party_name: str
    terms: Text


@dataclass
class ShareApprovals:
    authorisation: CarDataAuthorisation
    shares: ShareService
    repository: ShareRepository

    def lookup(self, caller: Caller, user_code: str, *, count: bool = True) -> PendingShare:
        """The share a third party's user code asks for; an unknown, answered, expired code or
        one of a customer's own clients answers 404 (those go to ``answer`` of the
        authorisation)."""
        grant = self.authorisation.pending_grant(caller, user_code, count=count)
        request = self.repository.request_of(grant.client_id)
        if request is None:
            raise NotFoundError("user code", "")
        party = self.shares.party_of(request.party)
        name = party.name if party is not None else request.party
        now = self.shares.clock()
        preview = Share(
            id="",
            subject_id="",
            vehicle_id="",
            party=request.party,
            purpose=request.purpose,
            topic="",
            agreed_purpose=request.agreed_purpose,
            descriptors=request.descriptors,
            categories=(),
            withheld=(),
            valid_from=now,
            valid_until=now + timedelta(days=request.days),
            created_at=now,
            created_by="",
            via=ShareVia.DEVICE_CODE,
            state=ShareState.PENDING,
        )
        return PendingShare(grant, request, name, terms(preview, name))

    def answer(
        self,
        caller: Caller,
        user_code: str,
        approve: bool,
        vehicle_id: str | None,
        *,
        count: bool = True,
    ) -> ShareView | None:
        """Approve (the share is made for ``vehicle_id``, then the grant approved) or deny the
        third party's request; the share made, or None when denied."""
        pending = self.lookup(caller, user_code, count=count)
        if not approve:
            self.authorisation.answer_for(caller, pending.grant, False)
            return None
        made = self.shares.approve_request(
            caller, pending.request, vehicle_id or "", pending.grant.id
        )
        try:
            status = self.authorisation.answer_for(caller, pending.grant, True)
        except NotFoundError:
            # answered meanwhile (another tab): the share made here must not stay
            self.shares.revoke(caller, made.share.id)
            raise
        assert status is GrantStatus.APPROVED
        return made
