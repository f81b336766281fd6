"""``carprivacy consent ...``: staff record a person's choices for them (SPEC C1, C4, R4, R6).

Every command names the staff caller (``--as``, a caller id with the role customer_service or
privacy_officer) and the purpose they act under (``--purpose``); the same checks as the HTTP
routes apply, every write is a ledger entry and is audited. ``history`` prints the evidence export
(JSON or CSV).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from carprivacy.domain.consent_ledger import LedgerEntry

consent_app = typer.Typer(
    help="Consents, objections and restrictions, recorded by staff for a person.",
    no_args_is_help=True,
)

AS = typer.Option(..., "--as", help="The staff caller id recording this.")
PURPOSE = typer.Option(..., "--purpose", help="The purpose the staff member acts under.")
CHANNEL = typer.Option(
    "call_centre", "--channel", help="portal, app, vehicle, call_centre or workshop."
)


def _run(staff: str, purpose: str, subject_id: str, act: Callable[[Any, Any], Any]) -> Any:
    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import CarPrivacyError
    from carprivacy.services.consent.acting import check_acting

    container = bootstrap()
    try:
        record = container.callers.get(staff)
        if record.disabled:
            typer.echo(f"error: caller {staff} is disabled", err=True)
            raise typer.Exit(1)
        caller = record.to_caller()
        check_acting(container.decisions, caller, subject_id, purpose)
        container.master.get_customer(subject_id)
        return act(container.consent_ledger, caller)
    except CarPrivacyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        container.close()


def _done(entry: LedgerEntry) -> None:
    typer.echo(f"{entry.kind.value} {entry.record_id or entry.id} at {entry.at.isoformat()}")


@consent_app.command("give")
def give(
    subject_id: str = typer.Argument(..., help="The customer id."),
    topic: str = typer.Argument(..., help="A consent topic of the policy."),
    staff: str = AS,
    purpose: str = PURPOSE,
    channel: str = CHANNEL,
    language: str = typer.Option("nl", "--language", help="The language the text was shown in."),
    text_version: str | None = typer.Option(None, "--text-version", help="Default: current."),
    party: str | None = typer.Option(None, "--party", help="The chosen party (CarData)."),
    vehicle_id: str | None = typer.Option(None, "--vehicle", help="For vehicle settings."),
) -> None:
    """Record a consent (or the OBFCM refusal) the person gave."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.give(
                caller,
                subject_id,
                topic,
                channel=channel,
                language=language,
                text_version=text_version,
                party=party,
                vehicle_id=vehicle_id,
            ),
        )
    )


@consent_app.command("withdraw")
def withdraw(
    subject_id: str = typer.Argument(..., help="The customer id."),
    topic: str = typer.Argument(..., help="A consent topic of the policy."),
    staff: str = AS,
    purpose: str = PURPOSE,
    channel: str = CHANNEL,
    party: str | None = typer.Option(None, "--party", help="Only this party's consent."),
    vehicle_id: str | None = typer.Option(None, "--vehicle", help="Only this vehicle's."),
) -> None:
    """Record the withdrawal of a consent (Art. 7(3))."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.withdraw(
                caller, subject_id, topic, channel=channel, party=party, vehicle_id=vehicle_id
            ),
        )
    )


@consent_app.command("history")
def history(
    subject_id: str = typer.Argument(..., help="The customer id."),
    staff: str = AS,
    purpose: str = PURPOSE,
    format: str = typer.Option("json", "--format", help="json or csv"),
) -> None:
    """Print the person's ledger: every consent, withdrawal, objection and restriction."""
    if format not in ("json", "csv"):
        typer.echo("error: --format must be json or csv", err=True)
        raise typer.Exit(2)
    text = _run(
        staff,
        purpose,
        subject_id,
        lambda svc, _caller: (
            svc.export_csv(subject_id) if format == "csv" else svc.export_json(subject_id)
        ),
    )
    typer.echo(text, nl=format == "json")


@consent_app.command("object")
def make_objection(
    subject_id: str = typer.Argument(..., help="The customer id."),
    staff: str = AS,
    purpose: str = PURPOSE,
    channel: str = CHANNEL,
    to: str | None = typer.Option(
        None, "--to", help="The legitimate-interest purpose objected to; none: all of them."
    ),
    marketing: bool = typer.Option(False, "--marketing", help="Object to all direct marketing."),
    grounds: str = typer.Option("", "--grounds", help="The person's situation, as stated."),
) -> None:
    """Record an objection (Art. 21)."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.object(
                caller,
                subject_id,
                channel=channel,
                purpose=to,
                marketing=marketing,
                grounds=grounds,
            ),
        )
    )


@consent_app.command("withdraw-objection")
def withdraw_objection(
    subject_id: str = typer.Argument(..., help="The customer id."),
    objection_id: str = typer.Argument(..., help="The objection's record id."),
    staff: str = AS,
    purpose: str = PURPOSE,
    channel: str = CHANNEL,
) -> None:
    """Record that the person withdrew an objection."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.withdraw_objection(
                caller, subject_id, objection_id, channel=channel
            ),
        )
    )


@consent_app.command("override")
def override(
    subject_id: str = typer.Argument(..., help="The customer id."),
    to: str = typer.Argument(..., help="The purpose the objection concerns."),
    ground: str = typer.Option(..., "--ground", help="compelling_grounds or legal_claims."),
    justification: str = typer.Option(..., "--justification", help="The grounds or the claim."),
    staff: str = AS,
    purpose: str = PURPOSE,
) -> None:
    """Privacy officer: record that compelling grounds or legal claims outweigh an objection."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.override(caller, subject_id, to, ground, justification),
        )
    )


@consent_app.command("restrict")
def restrict(
    subject_id: str = typer.Argument(..., help="The customer id."),
    case: str = typer.Argument(
        ...,
        help="accuracy_contested, unlawful_processing, needed_for_legal_claims, objection_pending.",
    ),
    staff: str = AS,
    purpose: str = PURPOSE,
    channel: str = CHANNEL,
    category: list[str] = typer.Option([], "--category", help="Only these categories."),
) -> None:
    """Record a restriction of processing (Art. 18(1))."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.restrict(
                caller, subject_id, case, channel=channel, categories=tuple(category)
            ),
        )
    )


@consent_app.command("lift")
def lift(
    subject_id: str = typer.Argument(..., help="The customer id."),
    restriction_id: str = typer.Argument(..., help="The restriction's record id."),
    staff: str = AS,
    purpose: str = PURPOSE,
    language: str = typer.Option("nl", "--language", help="The language of the notice."),
) -> None:
    """Lift a restriction: the notice to the person is written to the outbox (Art. 18(3))."""
    _done(
        _run(
            staff,
            purpose,
            subject_id,
            lambda svc, caller: svc.lift(caller, subject_id, restriction_id, language=language),
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")
