"""The demo's logins: one caller for every role the policy's readers have, so that every form of
the gate can be tried at once (SPEC U1: identified, vehicle-linked, pseudonymised, a fleet's
time, a chosen third party's consent, the right of access).

Secrets are never in the repository: each person's password and each machine's client secret is
generated when the demo is loaded (``secrets``), returned once for the command to print, and
stored only hashed. Loading again keeps the existing callers (their secrets are not shown again;
``carprivacy callers rotate-secret`` or a new password gives new ones).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from carprivacy.domain.errors import ConflictError
from carprivacy.services.demo.choices import DEMO_INSURER
from carprivacy.services.identity.callers import CallerService


@dataclass(frozen=True)
class DemoCaller:
    """One demo login and what to try with it."""

    id: str
    kind: str  # person (password) | machine (client credentials)
    role: str
    organisation: str
    tries: str  # a read that shows this caller's form
    subject: int | None = None  # demo customer index (customers)
    fleet: bool = False  # the demo fleet's manager


# Every role that reads (all but ``vehicle``, which sends telemetry with its own credential), and
# every kind of recipient organisation of the shipped policy (internal, joint controller,
# controller, third party, processor, authority).
CALLERS: tuple[DemoCaller, ...] = (
    DemoCaller("demo-owner", "person", "customer", "mini_nl", "GET /v1/me/telemetry", 5),
    DemoCaller(
        "demo-former", "person", "customer", "mini_nl", "GET /v1/me/held (contract ended)", 0
    ),
    DemoCaller("demo-objector", "person", "customer", "mini_nl", "GET /v1/me/consents", 6),
    DemoCaller("demo-restricted", "person", "customer", "mini_nl", "GET /v1/me/customer", 7),
    DemoCaller("demo-driver", "person", "customer", "mini_nl", "GET /v1/me/vehicles", 17),
    DemoCaller(
        "demo-desk", "person", "customer_service", "mini_nl", "customer_service (identified)"
    ),
    DemoCaller(
        "demo-dpo", "person", "privacy_officer", "mini_nl_staff", "legal_claims (identified)"
    ),
    DemoCaller(
        "demo-rnd", "person", "rnd_analyst", "mini_ag_staff", "product_development (pseudonymised)"
    ),
    DemoCaller(
        "demo-dealer", "person", "dealer", "dealers", "after_sales_service (vehicle-linked)"
    ),
    DemoCaller(
        "demo-workshop", "person", "dealer", "workshops", "repair_information (vehicle-linked)"
    ),
    DemoCaller(
        "demo-fleet",
        "person",
        "fleet_manager",
        "fleet_operators",
        "fleet_operation (its fleet's time)",
        fleet=True,
    ),
    DemoCaller(
        "demo-authority", "person", "authority_liaison", "authorities", "authority_requests"
    ),
    DemoCaller("demo-admin", "person", "administrator", "mini_nl", "master data (no reads)"),
    DemoCaller(
        DEMO_INSURER,
        "machine",
        "partner",
        "cardata_third_parties",
        "cardata_sharing (customer 6's consent)",
    ),
    DemoCaller(
        "demo-catena",
        "machine",
        "partner",
        "catena_x_partners",
        "development_partners (pseudonymised)",
    ),
    DemoCaller("demo-geocoder", "machine", "partner", "google_geocoding", "geocoding (contact)"),
    DemoCaller(
        "demo-mailer",
        "machine",
        "partner",
        "marketing_partners",
        "marketing_email (customers 1-6 consented, customer 2 withdrew)",
    ),
    DemoCaller("demo-service", "machine", "service", "mini_ag", "contract_performance"),
)


@dataclass(frozen=True)
class DemoLogin:
    caller: DemoCaller
    secret: str | None  # the password or client secret, shown once; None: the caller existed


def load_callers(
    callers: CallerService,
    customers: Sequence[str],
    fleet_id: str | None,
    *,
    password: Callable[[], str] = lambda: secrets.token_urlsafe(12),
) -> list[DemoLogin]:
    """Create the demo callers (customers by demo index in ``customers``) with fresh secrets."""
    out: list[DemoLogin] = []
    known = {r.id for r in callers.list()}
    for c in CALLERS:
        if c.id in known:
            out.append(DemoLogin(c, None))
            continue
        person = c.kind == "person"
        secret = password() if person else None
        try:
            _, generated = callers.create(
                name=c.id,
                kind=c.kind,
                role=c.role,
                organisation=c.organisation,
                subject_id=customers[c.subject] if c.subject is not None else None,
                fleet_id=fleet_id if c.fleet else None,
                password=secret,
                generate_secret=not person,
                caller_id=c.id,
            )
        except ConflictError:
            out.append(DemoLogin(c, None))
            continue
        out.append(DemoLogin(c, secret if person else generated))
    return out
