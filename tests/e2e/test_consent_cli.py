"""``carprivacy consent give/withdraw/history/object/restrict/lift``: staff record a person's
choices from the CLI, with the same checks as the routes, on SQLite and PostgreSQL (SPEC C1, C4,
R4, R6)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from carprivacy.adapters.email.outbox import FileEmailOutbox
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.entrypoints.cli.main import app as cli


def test_staff_record_consent_objection_and_restriction_from_the_cli(
    engine: Engine, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    for cid, role in (("desk", "customer_service"), ("dealer", "dealer")):
        add = [
            "callers", "add", "--name", cid, "--kind", "person", "--role", role,
            "--organisation", "mini_nl" if role != "dealer" else "dealers", "--id", cid,
            "--password-stdin",
        ]  # fmt: skip
        assert runner.invoke(cli, add, input="a long passphrase\n").exit_code == 0
    settings = Settings(data_dir=tmp_path, argon2_time_cost=1, argon2_memory_kib=8)
    container = bootstrap(settings, engine=engine)
    eva = container.master.register_customer(
        ContactDetails("Jansen", "Eva", "Dorpsstraat", "3", "3511 AB", "Utrecht", "NL", "e@x.nl")
    ).id
    container.close()
    staff = ["--as", "desk", "--purpose", "customer_service"]

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["consent", *args, *staff])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert run("give", eva, "marketing_phone", "--channel", "call_centre").startswith(
        "consent_given "
    )
    run("withdraw", eva, "marketing_phone")
    run("object", eva, "--to", "after_sales_service", "--grounds", "as stated on the phone")
    restriction = run("restrict", eva, "unlawful_processing").split()[1]
    run("lift", eva, restriction, "--language", "en")
    assert len(FileEmailOutbox(tmp_path / "outbox").messages()) == 1
    history = json.loads(run("history", eva))
    assert [e["kind"] for e in history["entries"]] == [
        "consent_given", "consent_withdrawn", "objection_made", "restriction_started",
        "restriction_lifted",
    ]  # fmt: skip
    assert {e["actor"] for e in history["entries"]} == {"staff"}
    rows = list(csv.DictReader(io.StringIO(run("history", eva, "--format", "csv"))))
    assert len(rows) == 5 and rows[0]["recorded_by"] == "desk"
    # a dealer does not act for the person; an unknown topic is refused by name
    dealer = runner.invoke(
        cli,
        ["consent", "give", eva, "profiling", "--as", "dealer", "--purpose", "customer_service"],
    )
    assert dealer.exit_code == 1 and "role" in dealer.output
    bad = runner.invoke(cli, ["consent", "give", eva, "nope", *staff])
    assert bad.exit_code == 1 and "topic" in bad.output
