"""What a third party's CarData client may receive on the stream: its active shares (SPEC C2,
U1, U2; notice H; Data Act Art. 5, 6).

An :data:`~carprivacy.services.cardata.stream_entitlements.EntitlementSource` beside the owner's
own clients. A third party's CarData client is a client of its own (owned by the party's
machine caller); the customer approves its device code, and its tokens name an account of
their own (one per party and customer, never the customer's account). For each such account
whose current stream token is live, its grant in force and its client holding
``cardata:streaming:read``, each vehicle of an active share of that party with that person
(in its period, not revoked) is entitled, with the descriptors both the share covers and the
party's live containers name, while the engine allows the share's purpose for that party,
person and vehicle now. A revoked or expired share is no longer active: the next reconciler
pass (every second; at once in the process where it was revoked) takes the VIN off the
account's role and closes its connections.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carprivacy.domain.access import Caller, DecisionRequest, Role
from carprivacy.domain.cardata import STREAM_READ, GrantStatus
from carprivacy.domain.cardata_stream import StreamCredential, StreamEntitlement
from carprivacy.domain.errors import CarPrivacyError
from carprivacy.domain.shares import Share
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.gate import Reading
from carprivacy.services.cardata.ports import (
    AuthorisationRepository,
    ContainerRepository,
    StreamCredentialRepository,
)
from carprivacy.services.cardata.shares import ShareService
from carprivacy.services.cardata.stream_entitlements import STREAM_ACTION
from carprivacy.services.identity.ports import CallerRepository
from carprivacy.services.master import reads


@dataclass
class ShareStreamEntitlements:
    credentials: StreamCredentialRepository
    grants: AuthorisationRepository
    containers: ContainerRepository
    callers: CallerRepository
    shares: ShareService
    decisions: DecisionService
    master: Callable[[], Any]  # a master-data unit of work (a context manager)
    catalogue: SignalCatalogue

    def __call__(
        self, now: datetime, vehicle_ids: Collection[str] | None = None
    ) -> list[StreamEntitlement]:
        wanted: list[tuple[StreamCredential, Caller, Share, tuple[str, ...]]] = []
        for credential in self.credentials.credentials():
            if not credential.live(now):
                continue
            found = self._reader(credential)
            if found is None:
                continue
            caller, subject, streamed = found
            for share in self.shares.active_shares_of(str(caller.organisation), subject, now):
                if vehicle_ids is not None and share.vehicle_id not in vehicle_ids:
                    continue
                descriptors = tuple(d for d in streamed if self._covers(share, d))
                if descriptors:
                    wanted.append((credential, caller, share, descriptors))
        if not wanted:
            return []
        requests = [
            DecisionRequest(
                caller=caller,
                purpose=share.purpose,
                categories=self._categories(descriptors),
                at=now,
                subject_id=share.subject_id,
                vehicle_id=share.vehicle_id,
            )
            for _, caller, share, descriptors in wanted
        ]
        vins: dict[str, str | None] = {}
        out = []
        for (credential, caller, share, descriptors), decision in zip(
            wanted, self.decisions.check(requests), strict=True
        ):
            if not decision.allowed:
                continue
            if share.vehicle_id not in vins:
                vins[share.vehicle_id] = self._vin(share.vehicle_id)
            vin = vins[share.vehicle_id]
            if vin is None:
                continue
            out.append(
                StreamEntitlement(
                    username=credential.gcid,
                    vin=vin,
                    vehicle_id=share.vehicle_id,
                    subject_id=share.subject_id,
                    descriptors=descriptors,
                    credential=credential.grant_id,
                    reading=Reading(caller, share.purpose, action=STREAM_ACTION),
                )
            )
        return _merged(out)

    # -- parts -------------------------------------------------------------------------------

    def _reader(self, credential: StreamCredential) -> tuple[Caller, str, tuple[str, ...]] | None:
        """The third party as the engine sees it, whose shares its grant reads and the
        descriptors its containers name; None for a customer's own client or when the
        token's grant, client or party no longer stands."""
        grant = self.grants.grant(credential.grant_id)
        client = self.grants.client(credential.client_id)
        party = self.callers.get(credential.owner_id)
        if (
            grant is None
            or grant.status is not GrantStatus.USED
            or client is None
            or grant.client_id != client.id
            or STREAM_READ not in client.scopes & grant.scopes
            or party is None
            or party.disabled
            or party.role is not Role.PARTNER
            or not party.organisation
        ):
            return None
        subject = self.shares.grant_subject(grant.id)
        if subject is None:
            return None
        streamed = _union(
            c.descriptors for c in self.containers.containers_of(party.id) if not c.deleted
        )
        if not streamed:
            return None
        return party.to_caller(frozenset()), subject, streamed

    def _covers(self, share: Share, descriptor: str) -> bool:
        if share.descriptors:
            return descriptor in share.descriptors
        signal = self.catalogue.get(descriptor)
        return signal is not None and signal.category in share.categories

    def _categories(self, descriptors: Iterable[str]) -> tuple[str, ...]:
        found = {s.category for d in descriptors if (s := self.catalogue.get(d)) is not None}
        return tuple(sorted(found))

    def _vin(self, vehicle_id: str) -> str | None:
        try:
            with self.master() as uow:
                return reads.vehicle(uow, vehicle_id).vin
        except CarPrivacyError:  # the vehicle is gone (erased): nothing
            return None


def _merged(entitlements: list[StreamEntitlement]) -> list[StreamEntitlement]:
    """One entitlement per account and vehicle: two active shares of one vehicle with one
    party (e.g. of different descriptors) stream one message with both."""
    by_key: dict[tuple[str, str], StreamEntitlement] = {}
    for e in entitlements:
        key = (e.username, e.vehicle_id)
        first = by_key.get(key)
        if first is None:
            by_key[key] = e
        else:
            both = _union((first.descriptors, e.descriptors))
            by_key[key] = StreamEntitlement(
                first.username, first.vin, first.vehicle_id, first.subject_id, both,
                first.credential, first.reading,
            )  # fmt: skip
    return list(by_key.values())


def _union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for name in group:
            seen.setdefault(name, None)
    return tuple(seen)
