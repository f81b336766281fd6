"""``carprivacy ingest quarantine``: what an operator sees of refused telemetry (SPEC
I1), on SQLite and PostgreSQL: reasons per row, counts per source, never a payload value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from tests.e2e.test_telemetry_cli import VIN, env, fleet
from typer.testing import CliRunner

from carprivacy.bootstrap import Services
from carprivacy.domain.errors import Problem
from carprivacy.entrypoints.cli.main import app
from carprivacy.services.audit.trail import AuditQuery

__all__ = ["env", "fleet"]
# the operator's read names its purpose: vehicle-linked, so the vehicle id and never a customer
LIST = ["ingest", "quarantine", "--purpose", "after_sales_service"]


def test_quarantine_lists_reasons_newest_first_without_values(fleet: Services, env):
    now = datetime.now(UTC)
    ts = (now - timedelta(minutes=1)).isoformat()
    records = [
        {"signal": "Vehicle.CurrentLocation.Latitude", "value": 152.123456, "ts": ts},  # range
        {"signal": "Vehicle.Speed", "value": 88.5, "ts": ts},  # good
        {"signal": "Vehicle.Nope", "value": 1, "ts": ts},  # unknown signal
    ]
    fleet.ingest.ingest(records, source="http", vehicle_vin=VIN, received_at=now)
    raw = b'{"signal": "Vehicle.Speed", "value": 61.25'
    fleet.ingest.quarantine_message(
        raw,
        Problem("message", "json", "malformed JSON"),
        source="mqtt",
        vehicle_vin=VIN,
        received_at=now + timedelta(seconds=1),
    )

    table = CliRunner().invoke(
        app,
        LIST,
        env={**env, "COLUMNS": "200"},
    )
    assert table.exit_code == 0, table.output
    assert "quarantine holds 3 row(s) (http: 2, mqtt: 1)" in table.stdout
    assert "records[0].value: range" in table.stdout and "records[2].signal" in table.stdout
    for value in ("152.123456", "88.5", "61.25", "Nope"):  # no payload reaches the operator
        assert value not in table.stdout

    listed = CliRunner().invoke(
        app,
        [*LIST, "--json", "--limit", "2"],
        env=env,
    )
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["source"] for r in rows] == ["mqtt", "http"]  # newest first, limited to 2
    assert rows[0]["record_index"] is None and rows[0]["reasons"][0]["rule"] == "json"
    assert rows[1]["record_index"] == 2 and rows[1]["payload"] == "sealed"
    assert rows[0]["id"] > rows[1]["id"]


def test_an_empty_quarantine_says_so(fleet: Services, env):
    result = CliRunner().invoke(app, LIST, env=env)
    assert result.exit_code == 0 and "quarantine holds 0 row(s) (empty)" in result.stdout


def test_quarantine_filters_by_source_rule_and_time(fleet: Services, env):
    now = datetime.now(UTC)
    ts = (now - timedelta(minutes=1)).isoformat()
    bad = [
        {"signal": "Vehicle.Speed", "value": 999.0, "ts": ts},  # range
        {"signal": "Vehicle.Nope", "value": 1, "ts": ts},  # known_signal
    ]
    fleet.ingest.ingest(bad, source="http", vehicle_vin=VIN, received_at=now - timedelta(hours=2))
    fleet.ingest.ingest(bad, source="mqtt", vehicle_vin=VIN, received_at=now)

    def listed(*args: str) -> list[dict]:
        result = CliRunner().invoke(
            app,
            [*LIST, "--json", *args],
            env=env,
        )
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    assert len(listed()) == 4
    assert {r["source"] for r in listed("--source", "mqtt")} == {"mqtt"}
    ranged = listed("--rule", "range")
    assert len(ranged) == 2 and all(r["reasons"][0]["rule"] == "range" for r in ranged)
    since = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    assert [r["source"] for r in listed("--since", since)] == ["mqtt", "mqtt"]
    assert listed("--rule", "ran%") == []  # a rule is matched exactly, no wildcards
    assert listed("--rule", "RANGE") == []  # and with its case, on both databases
    plus_two = (now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    offset = plus_two.isoformat(timespec="seconds")  # the same instant, another offset
    assert [r["source"] for r in listed("--since", offset)] == ["mqtt", "mqtt"]
    refused = CliRunner().invoke(
        app,
        [*LIST, "--source", "fax"],
        env=env,
    )
    assert refused.exit_code == 2


def test_the_listing_passes_the_gate_refused_with_its_rule_and_audited(fleet: Services, env):
    now = datetime.now(UTC)
    bad = [
        {"signal": "Vehicle.Speed", "value": 999.0, "ts": (now - timedelta(minutes=1)).isoformat()}
    ]
    fleet.ingest.ingest(bad, source="http", vehicle_vin=VIN, received_at=now)
    before = len(fleet.audit.find(AuditQuery(limit=10_000)))
    listed = CliRunner().invoke(app, [*LIST, "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    entries = fleet.audit.find(AuditQuery(limit=10_000))
    assert len(entries) == before + 1  # one decision per released row, as the operator
    assert entries[-1].caller_id == "operator" and entries[-1].outcome == "allow"
    assert entries[-1].action == "carprivacy ingest quarantine"
    refused = CliRunner().invoke(
        app, ["ingest", "quarantine", "--purpose", "group_accounting"], env=env
    )
    assert refused.exit_code == 1, refused.output
    assert "category.not_allowed" in refused.output  # the rule and article that refused
    missing = CliRunner().invoke(app, ["ingest", "quarantine"], env=env)
    assert missing.exit_code == 2 and "--purpose" in missing.output
