"""The decision service on the real container: master data (contracts, owner changes, country)
and the SQL subject state feed the engine, and every decision reaches the audit log (SPEC
U1, U2, I4). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.testing.decision_policy import with_service_countries

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_vehicle_requests_follow_owner_changes_and_contracts(
    engine: Engine, tmp_path: Path
) -> None:
    # the notice names no energy-tariff countries; this test's policy serves NL, DE and AT
    settings = Settings(data_dir=tmp_path, admin_token=SecretStr("x" * 32))
    policy = with_service_countries(
        load_policy_file(settings.policy_path), "energy_tariff_partners", "NL", "DE", "AT"
    )
    container = bootstrap(settings, engine=engine, policy=policy)
    m = container.master
    first = m.register_customer(
        ContactDetails("Eerste", "E", "Straat", "1", "1234 AB", "Utrecht", "NL", None, None)
    )
    second = m.register_customer(
        ContactDetails("Tweede", "T", "Rue", "2", "1000", "Brussel", "BE", None, None)
    )
    vehicle = m.register_vehicle("WMW00000000000042", "MINI Cooper", "red")
    m.add_usage(vehicle.id, UsageKind.OWNER, T0, customer_id=first.id)
    m.conclude_contract(first.id, vehicle.id, T0, ["teleservices"])
    change = T0 + timedelta(days=100)
    m.add_usage(vehicle.id, UsageKind.OWNER, change, customer_id=second.id)

    service = Caller("svc", CallerKind.MACHINE, Role.SERVICE, "mini_ag")

    def ask(at: datetime) -> str:
        request = DecisionRequest(
            service, "contract_performance", ("vehicle_status",), at, None, vehicle.id
        )
        return container.decisions.decide(request).rule

    assert ask(change - timedelta(days=1)) == "purpose.allowed"  # the first owner's contract
    assert ask(change + timedelta(days=1)) == "contract.required"  # the second has none

    energy = Caller("e", CallerKind.MACHINE, Role.PARTNER, "energy_tariff_partners")
    facts_nl = container.decisions.decide(
        DecisionRequest(energy, "energy_tariffs", ("contact",), T0 + timedelta(days=1), first.id)
    )
    facts_be = container.decisions.decide(
        DecisionRequest(energy, "energy_tariffs", ("contact",), change, second.id)
    )
    assert facts_nl.outcome is Outcome.ALLOW
    assert facts_be.rule == "recipient.service_country"  # served in NL, DE, AT only
    with engine.connect() as conn:
        logged = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert logged == 4  # allow and deny alike
    container.close()
