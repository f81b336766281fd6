"""What a connected stream identity may receive now (SPEC C2, U1, U2; notice section H).

One function answers it for the whole stream, :data:`EntitlementSource`: ``(now, vehicle_ids)``
in, :class:`~carprivacy.domain.cardata_stream.StreamEntitlement` s out. The reconciler makes the
broker match its answer every second, and the publisher asks it before every message, so a
source added here (third-party shares: an active share of a vehicle's descriptors with one
organisation) is enforced by the broker and the publisher alike; :func:`combined` joins sources.

:class:`OwnStreamEntitlements` is the owner's own CarData clients: for each account whose
current stream token is live, its grant still in force and its client still holding
``cardata:streaming:read``, each vehicle whose data is the person's now (owner or assigned
driver; an owner change ends it), with the descriptors of the person's live containers, while
the engine allows the CarData purpose for that person and vehicle now: the consent to
``cardata_sharing`` given to that client id and not withdrawn, no restriction that the consent
does not cover. Asked every second, these checks decide without an audit entry (they release
nothing); every value then published is released, and recorded, by the gate.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Role
from carprivacy.domain.cardata import STREAM_READ, GrantStatus
from carprivacy.domain.cardata_stream import STREAM_PURPOSE, StreamCredential, StreamEntitlement
from carprivacy.domain.errors import CarPrivacyError
from carprivacy.domain.policy import Policy
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.gate import Reading
from carprivacy.services.cardata.ports import (
    AuthorisationRepository,
    ContainerRepository,
    StreamCredentialRepository,
)
from carprivacy.services.identity.ports import CallerRepository
from carprivacy.services.master import reads

EntitlementSource = Callable[[datetime, Collection[str] | None], Sequence[StreamEntitlement]]
STREAM_ACTION = "cardata.stream"


def combined(*sources: EntitlementSource) -> EntitlementSource:
    """One source answering what every one of ``sources`` answers."""

    def entitlements(
        now: datetime, vehicle_ids: Collection[str] | None = None
    ) -> list[StreamEntitlement]:
        return [e for source in sources for e in source(now, vehicle_ids)]

    return entitlements


def stream_recipient(policy: Policy) -> str:
    """The recipient a CarData client reads as: the stream purpose's (third-party) recipient."""
    purpose = policy.purposes_by_id[STREAM_PURPOSE]
    return purpose.recipients[0]


@dataclass
class OwnStreamEntitlements:
    credentials: StreamCredentialRepository
    grants: AuthorisationRepository
    containers: ContainerRepository
    callers: CallerRepository
    decisions: DecisionService
    master: Callable[[], Any]  # a master-data unit of work (a context manager)
    catalogue: SignalCatalogue
    recipient: str  # the policy recipient a CarData client reads as

    def __call__(
        self, now: datetime, vehicle_ids: Collection[str] | None = None
    ) -> list[StreamEntitlement]:
        wanted: list[tuple[StreamCredential, Caller, tuple[str, ...], str, str, str]] = []
        for credential in self.credentials.credentials():
            if not credential.live(now):
                continue
            found = self._reader(credential)
            if found is None:
                continue
            caller, descriptors, subject = found
            try:
                with self.master() as uow:
                    vehicles = reads.vehicles_of(uow, subject, now)
            except CarPrivacyError:  # the person is gone (erased): nothing, and not for others
                continue
            for vehicle in vehicles:
                if vehicle_ids is None or vehicle.id in vehicle_ids:
                    wanted.append(
                        (credential, caller, descriptors, subject, vehicle.id, vehicle.vin)
                    )
        if not wanted:
            return []
        requests = [
            DecisionRequest(
                caller=caller,
                purpose=STREAM_PURPOSE,
                categories=self._categories(descriptors),
                at=now,
                subject_id=subject,
                vehicle_id=vehicle_id,
            )
            for _, caller, descriptors, subject, vehicle_id, _ in wanted
        ]
        out = []
        for (credential, caller, descriptors, subject, vehicle_id, vin), decision in zip(
            wanted, self.decisions.check(requests), strict=True
        ):
            if decision.allowed:
                out.append(
                    StreamEntitlement(
                        username=credential.gcid,
                        vin=vin,
                        vehicle_id=vehicle_id,
                        subject_id=subject,
                        descriptors=descriptors,
                        credential=credential.grant_id,
                        reading=Reading(caller, STREAM_PURPOSE, action=STREAM_ACTION),
                    )
                )
        return out

    # -- parts -------------------------------------------------------------------------------

    def _reader(self, credential: StreamCredential) -> tuple[Caller, tuple[str, ...], str] | None:
        """The client as the engine sees it, the descriptors it streams and whose data they
        are; None when the token's grant, client or person no longer stands."""
        grant = self.grants.grant(credential.grant_id)
        client = self.grants.client(credential.client_id)
        person = self.callers.get(credential.owner_id)
        if (
            grant is None
            or grant.status is not GrantStatus.USED
            or client is None
            or grant.client_id != client.id
            or STREAM_READ not in client.scopes & grant.scopes
            or person is None
            or person.disabled
            or person.subject_id is None
        ):
            return None
        descriptors = _union(
            c.descriptors for c in self.containers.containers_of(person.id) if not c.deleted
        )
        if not descriptors:
            return None
        caller = Caller(
            id=client.id, kind=CallerKind.MACHINE, role=Role.PARTNER, organisation=self.recipient
        )
        return caller, descriptors, person.subject_id

    def _categories(self, descriptors: Iterable[str]) -> tuple[str, ...]:
        found = {s.category for d in descriptors if (s := self.catalogue.get(d)) is not None}
        return tuple(sorted(found))


def _union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for name in group:
            seen.setdefault(name, None)
    return tuple(seen)
