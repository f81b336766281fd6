"""FastAPI dependencies: each route asks for the services it uses, by name.

The app factory keeps the :class:`~carprivacy.bootstrap.Services` built by the composition root
in ``app.state.services``; nothing else in the API reaches for it.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carprivacy.bootstrap import PolicyDocuments, Services
from carprivacy.config import Settings
from carprivacy.domain.errors import AuthenticationError
from carprivacy.domain.policy import Policy
from carprivacy.services.access.automated_decisions import AutomatedDecisionService
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.audit.monitoring import MonitoringService
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.cardata.authorisation import CarDataAuthorisation
from carprivacy.services.cardata.customer_api import CustomerApi
from carprivacy.services.cardata.quota import CallQuota
from carprivacy.services.cardata.sharing import Sharing
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.services.erasure.service import ErasureService
from carprivacy.services.identity.callers import CallerService
from carprivacy.services.ingestion.grouping import GroupedIngest
from carprivacy.services.ingestion.pipeline import IngestService
from carprivacy.services.ingestion.vehicle_credentials import VehicleCredentialService
from carprivacy.services.ingestion.workshop import WorkshopCollector
from carprivacy.services.master.service import MasterDataService
from carprivacy.services.ports.operations import Database

bearer = HTTPBearer(auto_error=False)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# The getters below do no I/O: ``async def`` keeps FastAPI from sending each to a worker thread
# (a thread hop per dependency and request).


async def get_services(request: Request) -> Services:
    return services_of(request)


# The former name, still used by the read path (release.py, routes/master.py).


async def get_settings(request: Request) -> Settings:
    return services_of(request).settings


async def get_policy(request: Request) -> Policy:
    return services_of(request).policy


async def get_documents(request: Request) -> PolicyDocuments:
    return services_of(request).documents


async def get_database(request: Request) -> Database:
    return services_of(request).database


async def get_master(request: Request) -> MasterDataService:
    return services_of(request).master


async def get_callers(request: Request) -> CallerService:
    return services_of(request).callers


async def get_audit(request: Request) -> AuditService:
    return services_of(request).audit


async def get_monitoring(request: Request) -> MonitoringService:
    return services_of(request).monitoring


async def get_decisions(request: Request) -> DecisionService:
    return services_of(request).decisions


async def get_automated_decisions(request: Request) -> AutomatedDecisionService:
    return services_of(request).automated_decisions


async def get_consent_ledger(request: Request) -> ConsentLedgerService:
    return services_of(request).consent_ledger


def grouped_ingest_of(request: Request) -> GroupedIngest:
    """The ingestion turns of this process (``POST /v1/telemetry``)."""
    grouped: GroupedIngest = request.app.state.grouped_ingest
    return grouped


async def get_ingest(request: Request) -> IngestService:
    return services_of(request).ingest


async def get_workshop(request: Request) -> WorkshopCollector:
    return services_of(request).workshop


async def get_vehicle_credentials(request: Request) -> VehicleCredentialService:
    return services_of(request).vehicle_credentials


async def require_admin(
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    settings: Settings = Depends(get_settings),
) -> str:
    """The administrator credential from configuration (CARPRIVACY_ADMIN_TOKEN)."""
    expected = settings.admin_token
    if creds is None or expected is None:
        raise AuthenticationError("a bearer token is required")
    if not hmac.compare_digest(creds.credentials.encode(), expected.get_secret_value().encode()):
        raise AuthenticationError("the bearer token is not valid")
    return "admin"


async def get_own_data(request: Request) -> OwnData:
    """A person's own data (the right of access), over the gate and the services it reads."""
    s = services_of(request)
    return OwnData(s.gate, s.telemetry_reads, s.consent_ledger, s.master)


def get_cardata(request: Request) -> CarDataAuthorisation:
    return services_of(request).cardata


def get_cardata_api(request: Request) -> CustomerApi:
    return services_of(request).cardata_api


def get_cardata_quota(request: Request) -> CallQuota:
    return services_of(request).cardata_quota


def get_sharing(request: Request) -> Sharing:
    """CarData sharing: third parties, shares, approvals, the catalogue."""
    return services_of(request).sharing


async def get_erasure(request: Request) -> ErasureService:
    return services_of(request).erasure
