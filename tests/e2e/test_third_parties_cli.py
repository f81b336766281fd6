"""``carprivacy third-parties register/list/add-client``: the operator registers the
organisations customers may share CarData with, on SQLite and PostgreSQL (SPEC C2, P5; Data
Act Art. 5(3): a DMA gatekeeper is refused, naming the rule and the article)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from carprivacy.entrypoints.cli.main import app as cli

MILEAGE = "Vehicle.TraveledDistance"


def test_the_operator_registers_third_parties_and_their_clients(
    engine: Engine, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in {
        "CARPRIVACY_DATA_DIR": str(tmp_path),
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8",
    }.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    register = ["third-parties", "register", "--country", "NL", "--name", "Insurer A N.V."]
    done = runner.invoke(cli, [*register, "--id", "insurer_a", "--undertaking", "a_group"])
    assert done.exit_code == 0, done.output
    assert "registered insurer_a (NL, eea)" in done.stdout
    refused = runner.invoke(cli, [*register, "--id", "big_one", "--undertaking", "alphabet"])
    assert refused.exit_code == 1
    assert "undertaking: [recipient.gatekeeper]" in refused.output
    assert "Art. 5(3) Regulation (EU) 2023/2854" in refused.output
    far = runner.invoke(
        cli,
        ["third-parties", "register", "--id", "far_one", "--name", "Far", "--country", "US",
         "--undertaking", "far_group"],
    )  # fmt: skip
    assert far.exit_code == 1 and "transfer_mechanism: [chapter_v]" in far.output
    again = runner.invoke(cli, [*register, "--id", "insurer_a", "--undertaking", "a_group"])
    assert again.exit_code == 1
    listed = runner.invoke(cli, ["third-parties", "list"])
    assert listed.stdout.splitlines() == ["insurer_a\tInsurer A N.V.\tNL\teea\ta_group"]
    caller = runner.invoke(
        cli,
        ["callers", "add", "--id", "insurer_a_api", "--name", "A API", "--kind", "machine",
         "--role", "partner", "--organisation", "insurer_a", "--generate-secret"],
    )  # fmt: skip
    assert caller.exit_code == 0, caller.output  # a registered party is an organisation now
    client = runner.invoke(
        cli,
        ["third-parties", "add-client", "--party", "insurer_a", "--owner", "insurer_a_api",
         "--name", "UBI", "--agreed-purpose", "usage-based insurance", "--descriptors", MILEAGE],
    )  # fmt: skip
    assert client.exit_code == 0, client.output
    assert len(client.stdout.strip()) == 36
    bad = runner.invoke(
        cli,
        ["third-parties", "add-client", "--party", "insurer_a", "--owner", "insurer_a_api",
         "--name", "UBI", "--agreed-purpose", "x", "--descriptors", "Vehicle.Nope"],
    )  # fmt: skip
    assert bad.exit_code == 1 and "descriptors.0: [unknown_descriptor]" in bad.output
