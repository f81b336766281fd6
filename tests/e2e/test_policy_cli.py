"""``carprivacy policy check`` as a user runs it: exit codes, paths, rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from carprivacy.entrypoints.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "policies" / "mini-connected-nl.yaml"
runner = CliRunner()


def broken_copy(tmp_path: Path) -> Path:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    d = yaml.load(POLICY_PATH.read_text(encoding="utf-8"), Loader=loader)
    ids = [p["id"] for p in d["purposes"]]
    d["purposes"][ids.index("profiling")].pop("consent_topic")
    d["purposes"][ids.index("compliance")]["offers_portability"] = True
    d["retention"] = [r for r in d["retention"] if r["category"] != "obfcm"]
    for r in d["recipients"]:
        if r["id"] == "google_geocoding":
            r.pop("transfer_mechanism")
        if r["id"] == "catena_x_partners":
            r["allowed_fields"].append("vin")
    d["purposes"][ids.index("recall")]["recipients"].append("ghost_recipient")
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_shipped_policy_is_valid() -> None:
    result = runner.invoke(app, ["policy", "check", str(POLICY_PATH)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_a_broken_copy_lists_every_problem_with_path_and_rule(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(broken_copy(tmp_path))])
    assert result.exit_code == 1
    out = result.output
    for rule in (
        "consent.topic_required",
        "portability.basis",
        "retention.missing",
        "transfer.mechanism_missing",
        "minimisation.direct_identifier",
        "reference.unknown_recipient",
        "consent.topic_unused",
    ):
        assert f"[{rule}]" in out, rule
    assert ".consent_topic: [consent.topic_required]" in out
    assert "7 problem(s)" in out


def test_json_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", "--json", str(broken_copy(tmp_path))])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False and len(report["problems"]) == 7
    assert {"path", "rule", "message"} == set(report["problems"][0])


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\ntitle: {nl: a, en: b\nversion: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 1
    assert "line 3, column" in result.output and "[yaml.syntax]" in result.output


def test_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "[file.unreadable]" in result.output


def test_the_installed_command_exit_codes(tmp_path: Path) -> None:
    """As a new user runs it: the console script in a subprocess."""
    exe = Path(sys.executable).with_name("carprivacy")
    env = {**os.environ, "CARPRIVACY_DATA_DIR": str(tmp_path)}
    ok = subprocess.run(
        [str(exe), "policy", "check", str(POLICY_PATH)], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [str(exe), "policy", "check", str(broken_copy(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1 and "[retention.missing]" in bad.stdout


def test_schema_is_json_schema_of_every_top_level_key() -> None:
    from carprivacy.adapters.policy.schema import PolicyModel

    result = runner.invoke(app, ["policy", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert set(schema["properties"]) == set(PolicyModel.model_fields)
    assert "purposes" in schema["required"]


def test_docs_name_every_key_rule_and_command() -> None:
    """docs/policy-format.md is kept honest: every top-level key and every rule is documented."""
    from carprivacy.adapters.policy.schema import PolicyModel
    from carprivacy.domain.policy_rules import RULES

    doc = (ROOT / "docs" / "policy-format.md").read_text(encoding="utf-8")
    missing = [k for k in PolicyModel.model_fields if f"`{k}`" not in doc]
    missing += [r for r in RULES if f"`{r}`" not in doc]
    missing += [c for c in ("check", "schema", "notice", "register") if f"policy {c}" not in doc]
    assert missing == []


def test_notice_and_register_commands_print_the_committed_docs() -> None:
    for args, path in (
        (["policy", "notice", "--lang", "nl"], "docs/notice-nl.md"),
        (["policy", "notice", "--lang", "en"], "docs/notice-en.md"),
        (["policy", "register", "--format", "md"], "docs/register.md"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert result.output == (ROOT / path).read_text(encoding="utf-8")


def test_notice_of_an_invalid_policy_fails_with_its_problems(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "notice", "--policy", str(broken_copy(tmp_path))])
    assert result.exit_code == 1
    assert "[consent.topic_required]" in result.output
