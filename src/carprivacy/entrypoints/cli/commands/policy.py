"""``carprivacy policy``: check a policy file, render the notice and the Art. 30 register (P7)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from carprivacy.domain.errors import PolicyError
from carprivacy.domain.policy import Policy


class Lang(StrEnum):
    NL = "nl"
    EN = "en"


class NoticeFormat(StrEnum):
    MD = "md"
    HTML = "html"


class RegisterFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    MD = "md"
    HTML = "html"


def _policy(path: Path | None) -> Policy:
    from carprivacy.bootstrap import policy_documents
    from carprivacy.config import load_settings

    try:
        return policy_documents().load(path or load_settings().policy_path)
    except PolicyError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s): the policy is not valid", err=True)
        raise typer.Exit(1) from exc


POLICY_OPTION = typer.Option(
    None, "--policy", help="Policy file (default: CARPRIVACY_POLICY_PATH or the shipped one)."
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="The policy file: check it, render the notice and the record of processing.",
        no_args_is_help=True,
    )
    app.add_typer(group, name="policy")

    @group.command("check")
    def check(
        file: Path = typer.Argument(..., help="The policy YAML file to check."),
        as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
    ) -> None:
        """List EVERY problem of FILE with its YAML path and rule; exit 0 when valid, 1 when not."""
        from carprivacy.bootstrap import policy_documents

        documents = policy_documents()
        try:
            text = documents.read(file)
        except PolicyError as exc:
            problems = exc.problems
            policy = None
        else:
            policy, problems = documents.check(text, str(file))
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "file": str(file),
                        "valid": policy is not None,
                        "problems": [
                            {"path": p.path, "rule": p.rule, "message": p.message} for p in problems
                        ],
                    },
                    indent=2,
                )
            )
        elif policy is not None:
            typer.echo(
                f"{file}: valid ({len(policy.purposes)} purposes, {len(policy.categories)} "
                f"categories, {len(policy.recipients)} recipients, {len(policy.retention)} "
                "retention rules)"
            )
        else:
            for problem in problems:
                typer.echo(f"{file}: {problem}")
            typer.echo(f"{len(problems)} problem(s): {file} is not valid")
        if policy is None:
            raise typer.Exit(1)

    @group.command("schema")
    def schema() -> None:
        """Print the JSON Schema of the policy file (for editors and other tools)."""
        from carprivacy.bootstrap import policy_documents

        schema = policy_documents().schema()
        typer.echo(json.dumps(schema, indent=2, ensure_ascii=False))

    @group.command("notice")
    def notice(
        lang: Lang = typer.Option(Lang.NL, "--lang", help="Language of the notice."),
        fmt: NoticeFormat = typer.Option(NoticeFormat.MD, "--format", help="Output format."),
        policy_file: Path | None = POLICY_OPTION,
    ) -> None:
        """Render the human-readable privacy notice from the policy."""
        from carprivacy.bootstrap import policy_documents

        text = policy_documents().notice(_policy(policy_file), lang.value, fmt.value)
        typer.echo(text, nl=False)

    @group.command("register")
    def register_(
        fmt: RegisterFormat = typer.Option(RegisterFormat.MD, "--format", help="Output format."),
        lang: Lang = typer.Option(Lang.EN, "--lang", help="Language of the texts."),
        policy_file: Path | None = POLICY_OPTION,
    ) -> None:
        """Render the GDPR Art. 30(1) record of processing activities (one row per purpose)."""
        from carprivacy.bootstrap import policy_documents

        text = policy_documents().register(_policy(policy_file), fmt.value, lang.value)
        typer.echo(text, nl=False)
