"""``carprivacy vehicles list`` and ``customers list``: the operator's lists, through the gate, on
SQLite and PostgreSQL (SPEC U1, U3, I4): the purpose's form, counts only what it may read, every
row audited, an unknown purpose refused listing the ones the operator may use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.e2e.test_telemetry_cli import VIN, env, fleet
from typer.testing import CliRunner

from carprivacy.bootstrap import Services
from carprivacy.domain.master import ContactDetails
from carprivacy.entrypoints.cli.main import app
from carprivacy.services.audit.trail import AuditQuery
from carprivacy.services.identity.operators import OPERATOR_ID

__all__ = ["env", "fleet"]


def test_vehicles_list_is_vehicle_linked_and_audited(fleet: Services, env):
    table = CliRunner().invoke(
        app, ["vehicles", "list", "--purpose", "after_sales_service"], env={**env, "COLUMNS": "200"}
    )
    assert table.exit_code == 0, table.output
    assert VIN in table.stdout and "MINI Clubman" in table.stdout
    assert "1 vehicles readable for purpose after_sales_service" in table.stdout
    listed = CliRunner().invoke(
        app, ["vehicles", "list", "--purpose", "after_sales_service", "--json"], env=env
    )
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["vin"] == VIN and "customer_id" not in row
    audited = fleet.audit.find(AuditQuery(caller_id=OPERATOR_ID, purpose="after_sales_service"))
    assert [e.action for e in audited][-1] == "carprivacy vehicles list"
    # a declared purpose that does not use the category: refused with the rule and section
    rnd = CliRunner().invoke(app, ["vehicles", "list", "--purpose", "product_development"], env=env)
    assert rnd.exit_code == 1 and VIN not in rnd.output
    assert "category.not_allowed" in rnd.stderr and "notice C" in rnd.stderr


def test_customers_list_counts_only_whom_the_purpose_may_read(fleet: Services, env):
    c = fleet.master
    (owner,) = c.list_customers().items
    vehicle = c.find_vehicle_by_vin(VIN)
    assert vehicle is not None
    c.conclude_contract(owner.id, vehicle.id, datetime.now(UTC) - timedelta(days=3), ["ecall"])
    c.register_customer(
        ContactDetails("Bakker", "Sem", "Markt", "1", "6211 AB", "Maastricht", "NL")
    )
    result = CliRunner().invoke(
        app, ["customers", "list", "--purpose", "customer_service", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["surname"] for r in rows] == ["Visser"]  # no contract: Bakker is not readable
    table = CliRunner().invoke(
        app, ["customers", "list", "--purpose", "customer_service"], env={**env, "COLUMNS": "200"}
    )
    assert "1 customers readable for purpose customer_service" in table.stdout
    assert "Bakker" not in table.stdout


def test_an_unknown_purpose_lists_the_operators_purposes(fleet: Services, env):
    for group in ("vehicles", "customers"):
        result = CliRunner().invoke(app, [group, "list", "--purpose", "nope"], env=env)
        assert result.exit_code == 2
        assert "--purpose: [known_purpose]" in result.stderr
        assert "customer_service" in result.stderr and "after_sales_service" in result.stderr


def test_quarantine_refuses_an_unknown_purpose_listing_the_operators(fleet: Services, env):
    result = CliRunner().invoke(app, ["ingest", "quarantine", "--purpose", "nope"], env=env)
    assert result.exit_code == 2 and "[known_purpose]" in result.stderr
    assert "after_sales_service" in result.stderr
