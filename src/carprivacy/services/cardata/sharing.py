"""CarData sharing, wired together (SPEC C2; Data Act Art. 4-6): the third-party registry, the
shares, the approvals of third parties' device codes, the third party's reads of the customer
API and the catalogue. ``bootstrap.build_sharing`` calls :func:`build` with the adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carprivacy.domain.decision_index import CompiledPolicy, is_vehicle_identifier
from carprivacy.domain.policy import Policy
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.gate import Gate
from carprivacy.services.access.telemetry import TelemetryReads
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.cardata.authorisation import CarDataAuthorisation
from carprivacy.services.cardata.eligibility import Catalogue
from carprivacy.services.cardata.ports import AuthorisationRepository, ShareRepository
from carprivacy.services.cardata.share_approvals import ShareApprovals
from carprivacy.services.cardata.shared_api import SharedApi
from carprivacy.services.cardata.shares import ShareService, uses_vehicle_now
from carprivacy.services.cardata.third_parties import ThirdPartyRegistry
from carprivacy.services.identity.ports import CallerRepository
from carprivacy.services.master.views import VEHICLE_RECORD
from carprivacy.services.ports.clock import Clock


@dataclass
class Sharing:
    registry: ThirdPartyRegistry
    shares: ShareService
    approvals: ShareApprovals
    shared_api: SharedApi
    catalogue: Catalogue


def build(
    policy: Policy,
    catalogue: SignalCatalogue,
    compiled: CompiledPolicy,
    repository: ShareRepository,
    clients: AuthorisationRepository,
    callers: CallerRepository,
    authorisation: CarDataAuthorisation,
    master: Callable[[], Any],
    gate: Gate[Any],
    telemetry: TelemetryReads,
    clock: Clock,
    audit: AuditService | None = None,
) -> Sharing:
    signal_category = {s.name: s.category for s in catalogue.signals}
    known = set(signal_category)
    signal_fields = {
        c.id: {f.vss_signal: f.name for f in c.fields if f.vss_signal in known}
        for c in policy.categories
    }
    handle = None
    vehicle = policy.categories_by_id.get(VEHICLE_RECORD.category)  # the vehicle's own record
    if vehicle is not None:
        names = tuple(f.name for f in vehicle.fields)
        handle = (vehicle.id, names, tuple(n for n in names if is_vehicle_identifier(vehicle, n)))
    registry = ThirdPartyRegistry(
        policy, compiled, repository, clients, callers, signal_category, clock
    )
    shares = ShareService(
        policy,
        repository,
        repository.party,
        signal_category,
        signal_fields,
        uses_vehicle_now(master),
        clock,
        handle,
        audit,
    )
    return Sharing(
        registry=registry,
        shares=shares,
        approvals=ShareApprovals(authorisation, shares, repository),
        shared_api=SharedApi(gate, telemetry, shares, catalogue),
        catalogue=Catalogue(policy, catalogue, telemetry.readable_signals(), gate),
    )
