"""``carprivacy erase <subject> --as <officer> --reason ...``: erase a data subject at one
controller or both (SPEC R3, P1; Art. 17) and print what was erased and what was kept and why.
Run it again after an interruption: it resumes, and ends as an uninterrupted run would."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("erase")
    def erase(
        subject: str = typer.Argument(..., help="The customer id of the data subject."),
        staff: str = typer.Option(..., "--as", help="The privacy officer's caller id."),
        reason: str = typer.Option(..., "--reason", help="The erasure's reference (request id)."),
        controller: str = typer.Option(
            "all",
            "--controller",
            help="mini_nl (the national company's records), mini_ag (the group login account "
            "and vehicle data) or all.",
        ),
        language: str = typer.Option("nl", "--language", help="The notice's language: nl, en."),
    ) -> None:
        """Erase what the law lets go of a subject's records; keep the rest with its reason.

        Kept records stay readable under a successor key; the subject's data key is destroyed
        (crypto-shredding) and recorded in the shred list; the erased rows are purged; the person
        is told what was kept and why. Privacy officer only."""
        from carprivacy.bootstrap import bootstrap
        from carprivacy.domain.access import Role
        from carprivacy.domain.errors import CarPrivacyError

        container = bootstrap()
        try:
            record = container.callers.get(staff)
            if record.disabled or record.role is not Role.PRIVACY_OFFICER:
                typer.echo(
                    f"error: caller {staff} may not erase: the privacy officer erases "
                    "(erasure.role; Art. 17, 38-39 GDPR)",
                    err=True,
                )
                raise typer.Exit(1)
            report = container.erasure.erase(
                subject, record.to_caller(), reason, controller, language=language
            )
        except CarPrivacyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            container.close()
        again = " (already done: the report of that erasure)" if report.resumed else ""
        typer.echo(f"erasure {report.erasure_id}: {report.state}{again}")
        typer.echo(f"controller: {report.controller}; judged as of {report.as_of}")
        typer.echo(f"key destroyed: {'yes' if report.key_destroyed else 'no'}")
        typer.echo(f"notice sent: {'yes' if report.notice_sent else 'no (no e-mail address)'}")
        for g in report.erased:
            typer.echo(f"erased\t{g.table}\t{g.category}\t{g.rows}")
        for k in report.kept:
            until = f" until {k.until}" if k.until else ""
            detail = f" ({k.detail})" if k.detail else ""
            typer.echo(
                f"kept\t{k.table}\t{k.category}\t{k.rows}\t{k.exemption}: {k.reason}, "
                f"{k.article}{detail}{until}"
            )
