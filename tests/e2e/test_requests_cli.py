"""``carprivacy requests submit|list|show|verify|complete|refuse|extend``: staff handle a
person's request from the command line with the same rules as the routes, on SQLite and
PostgreSQL (SPEC R1-R8); the notices land in the outbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from carprivacy.adapters.email.outbox import FileEmailOutbox
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.domain.master import ContactDetails
from carprivacy.entrypoints.cli.main import app as cli


def test_staff_handle_requests_from_the_cli(
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
    for cid, role, org in (
        ("desk", "customer_service", "mini_ag"),
        ("po", "privacy_officer", "mini_nl"),
        ("dealer", "dealer", "dealers"),
    ):
        add = [
            "callers", "add", "--name", cid, "--kind", "person", "--role", role,
            "--organisation", org, "--id", cid, "--password-stdin",
        ]  # fmt: skip
        assert runner.invoke(cli, add, input="a long passphrase\n").exit_code == 0
    settings = Settings(data_dir=tmp_path, argon2_time_cost=1, argon2_memory_kib=8)
    container = bootstrap(settings, engine=engine)
    eva = container.master.register_customer(
        ContactDetails("Jansen", "Eva", "Dorpsstraat", "3", "3511 AB", "Utrecht", "NL", "e@x.nl")
    ).id
    container.close()
    outbox = FileEmailOutbox(tmp_path / "outbox")

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, ["requests", *args])
        assert result.exit_code == code, result.output
        return result.stdout

    out = run(
        "submit", "rectification", "--subject", eva, "--as", "desk", "--channel", "letter",
        "--detail", "changes.city=Amersfoort", "--json",
    )  # fmt: skip
    rec = json.loads(out)
    rid = rec["id"]
    assert rec["state"] == "received" and rec["controller"] == "mini_ag"
    run("complete", rid, "--as", "po", code=2)  # not verified yet (Art. 12(6))
    run("verify", rid, "--as", "desk", "--send-code")
    bodies = [m.read_text() for m in sorted((tmp_path / "outbox").glob("*.eml"))]
    found = [re.search(r" is (\d{6})\.", b) for b in bodies]
    codes = [m[1] for m in found if m]
    assert codes and outbox is not None
    run("verify", rid, "--as", "desk", "--code", codes[-1])
    run("complete", rid, "--as", "desk", code=1)  # customer service does not decide
    out = run("complete", rid, "--as", "po")
    assert "completed" in out and "by po" in out
    run("submit", "access", "--subject", eva, "--as", "dealer", code=1)
    out = run("submit", "erasure", "--subject", eva, "--as", "desk")
    eid = out.split()[0]
    run("verify", eid, "--as", "desk", "--evidence", "signed letter with ID copy")
    run("extend", eid, "--as", "po", "--months", "1", "--reason", "records at MINI AG")
    out = run("refuse", eid, "--as", "po", "--reason", "a legal claim is pending")
    assert "refused" in out and "a legal claim is pending" in out
    out = run("show", eid, "--as", "po", "--json")
    shown = json.loads(out)
    assert shown["extended_months"] == 1
    assert [h["after"] for h in shown["history"]] == ["received", "verified", "verified", "refused"]
    listed = run("list", "--as", "po")
    assert rid in listed and eid in listed
    assert run("list", "--as", "po", "--open").strip() == "no requests"
    assert run("list", "--as", "po", "--due").strip() == "no requests"
    run("submit", "restriction", "--subject", eva, "--as", "desk", "--detail", "case=x", code=2)
    text = "\n".join(m.read_text() for m in (tmp_path / "outbox").glob("*.eml"))
    assert "Autoriteit Persoonsgegevens" in text
