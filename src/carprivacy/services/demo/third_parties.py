"""The demo's CarData third party (SPEC C2): one insurer registered as the administrator
would, so that a demo customer can share a vehicle's data with it in the portal."""

from __future__ import annotations

from dataclasses import replace

from carprivacy.domain.access import Role
from carprivacy.domain.policy import Policy
from carprivacy.services.cardata.third_parties import ThirdPartyRegistry
from carprivacy.services.identity.operators import operator

DEMO_PARTY = "demo_ubi_insurer_nl"


def load_third_parties(registry: ThirdPartyRegistry, policy: Policy) -> list[str]:
    """Register the demo insurer unless it is registered already; the notes to print."""
    if registry.repository.party(DEMO_PARTY) is not None:
        return []
    admin = replace(operator(policy), role=Role.ADMINISTRATOR)
    registry.register(admin, DEMO_PARTY, "Demo Verzekeringen N.V.", "NL", "eea", "demo_insurer")
    return [f"CarData third party {DEMO_PARTY} registered (share with it under /portal/shares)"]
