"""``carprivacy requests ...``: rights requests handled by staff (SPEC R1-R8; Art. 12, 15-21).

Every command names the staff caller (``--as``: a caller id; customer service records and
verifies, the privacy officer also carries out, extends and refuses), so the same rules as the
HTTP routes apply and the history names who did it. ``list --due`` shows the open requests that
are nearly due or overdue. What a request asks is given with ``--detail key=value`` (repeatable;
``changes.<field>=value`` for a rectification) or ``--details-json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

requests_app = typer.Typer(
    help="Rights requests: submit for a person, verify, carry out, extend or refuse.",
    no_args_is_help=True,
)

AS = typer.Option(..., "--as", help="The staff caller id doing this.")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _run(staff: str, act: Callable[[Any, Any], Any]) -> Any:
    from carprivacy.bootstrap import bootstrap
    from carprivacy.domain.errors import CarPrivacyError, InvalidInputError

    container = bootstrap()
    try:
        record = container.callers.get(staff)
        if record.disabled:
            typer.echo(f"error: caller {staff} is disabled", err=True)
            raise typer.Exit(1)
        return act(container.rights, record.to_caller())
    except InvalidInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except CarPrivacyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        container.close()


def _details(pairs: list[str], raw: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if raw:
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError:
            raise typer.BadParameter("--details-json: not JSON") from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter("--details-json: a JSON object")
        out.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--detail {pair!r}: give key=value")
        parsed: Any = value
        if value in ("true", "false"):
            parsed = value == "true"
        elif key == "categories":
            parsed = [c for c in value.split(",") if c]
        head, _, rest = key.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = parsed
        else:
            out[key] = parsed
    return out


def _record(rights: Any, stored: Any) -> dict[str, Any]:
    from carprivacy.entrypoints.api.schemas.requests import RequestOut

    viewer = _viewer()
    return RequestOut.of(stored, rights.requests.clock(), viewer).model_dump(mode="json")


def _viewer() -> Any:
    from carprivacy.domain.access import Caller, CallerKind, Role

    return Caller("cli", CallerKind.MACHINE, Role.SERVICE, "")


def _line(rights: Any, stored: Any) -> str:
    r = stored.request
    standing = r.standing(rights.requests.clock())
    return (
        f"{r.id}  {r.kind.value:<13} {r.state.value:<17} due {r.deadline.due_date.isoformat()}"
        f"  {standing.value if standing else '-':<10} {r.controller}  subject {r.subject_id}"
    )


def _echo(rights: Any, caller: Any, stored: Any, as_json: bool) -> None:
    stored = rights.requests.view(caller, stored)  # decided by the gate where it is personal
    if as_json:
        typer.echo(json.dumps(_record(rights, stored), indent=2, ensure_ascii=False))
        return
    typer.echo(_line(rights, stored))
    for h in stored.request.history:
        before = h.before.value if h.before else "-"
        why = f": {h.reason}" if h.reason else ""
        typer.echo(
            f"    {h.at.isoformat(timespec='seconds')}  {before} -> {h.after.value}  by {h.by}{why}"
        )


@requests_app.command("submit")
def submit(
    kind: str = typer.Argument(
        ..., help="access, rectification, erasure, restriction, portability or objection."
    ),
    subject_id: str = typer.Option(..., "--subject", help="The customer id it is of."),
    staff: str = AS,
    controller: str | None = typer.Option(None, "--controller", help="Either joint controller."),
    channel: str = typer.Option("call_centre", "--channel", help="call_centre or letter."),
    detail: list[str] = typer.Option([], "--detail", help="key=value (repeatable)."),
    details_json: str | None = typer.Option(None, "--details-json", help="A JSON object."),
    language: str = typer.Option("nl", "--language", help="The notices' language (nl or en)."),
    as_json: bool = JSON,
) -> None:
    """Record a request a person made by phone or letter (to be verified)."""
    details = _details(detail, details_json)
    _run(
        staff,
        lambda rights, caller: _echo(
            rights,
            caller,
            rights.requests.submit(
                caller,
                kind,
                subject_id=subject_id,
                controller=controller,
                channel=channel,
                details=details,
                language=language,
            ),
            as_json,
        ),
    )


@requests_app.command("list")
def list_requests(
    staff: str = AS,
    open_only: bool = typer.Option(False, "--open", help="Only requests not yet answered."),
    due: bool = typer.Option(False, "--due", help="Only open ones nearly due or overdue."),
    subject_id: str | None = typer.Option(None, "--subject", help="Only this person's."),
    state: str | None = typer.Option(None, "--state", help="Only requests in this state."),
    limit: int = typer.Option(100, "--limit", min=1, max=500),
    as_json: bool = JSON,
) -> None:
    """Requests, the soonest due first."""
    from carprivacy.domain.request_workflow import RequestState
    from carprivacy.services.rights.ports import RequestFilter

    if state is not None and state not in {s.value for s in RequestState}:
        raise typer.BadParameter(f"--state: one of {', '.join(s.value for s in RequestState)}")

    def act(rights: Any, caller: Any) -> None:
        if due:
            found = rights.requests.due(caller, limit=limit)
        else:
            query = RequestFilter(
                subject_id, RequestState(state) if state else None, open_only, None, limit
            )
            found = rights.requests.find(caller, query)
        if as_json:
            typer.echo(json.dumps([_record(rights, s) for s in found], indent=2))
            return
        if not found:
            typer.echo("no requests")
        for s in found:
            typer.echo(_line(rights, s))

    _run(staff, act)


@requests_app.command("show")
def show(request_id: str = typer.Argument(...), staff: str = AS, as_json: bool = JSON) -> None:
    """One request with its history (who, when, why)."""

    def act(rights: Any, caller: Any) -> None:
        rights.requests.staff(caller)
        _echo(rights, caller, rights.requests.get(request_id, caller), as_json)

    _run(staff, act)


@requests_app.command("verify")
def verify(
    request_id: str = typer.Argument(...),
    staff: str = AS,
    send_code: bool = typer.Option(
        False, "--send-code", help="E-mail a code to the person's address (then --code)."
    ),
    code: str | None = typer.Option(None, "--code", help="The code the person gives."),
    evidence: str | None = typer.Option(
        None, "--evidence", help="What staff checked (an ID document, a signed letter)."
    ),
) -> None:
    """Verify the requester: by the e-mail code, or by evidence staff checked."""
    if sum((send_code, code is not None, evidence is not None)) != 1:
        raise typer.BadParameter("give one of --send-code, --code or --evidence")

    def act(rights: Any, caller: Any) -> None:
        if send_code:
            rights.requests.send_code(caller, request_id)
            typer.echo("code sent to the e-mail address held for the person")
            return
        method = "email_code" if code is not None else "staff_evidence"
        stored = rights.requests.verify(caller, request_id, method, code=code, evidence=evidence)
        _echo(rights, caller, stored, False)

    _run(staff, act)


@requests_app.command("complete")
def complete(
    request_id: str = typer.Argument(...),
    staff: str = AS,
    partial_reason: str | None = typer.Option(
        None, "--partial-reason", help="Carried out only in part: why (told to the person)."
    ),
    note: str = typer.Option("", "--note"),
) -> None:
    """Carry a verified request out by its kind and tell the person."""
    _run(
        staff,
        lambda rights, caller: _echo(
            rights,
            caller,
            rights.fulfilment.complete(
                caller, request_id, partial_reason=partial_reason, note=note
            ),
            False,
        ),
    )


@requests_app.command("refuse")
def refuse(
    request_id: str = typer.Argument(...),
    staff: str = AS,
    reason: str = typer.Option(
        ..., "--reason", help="Told to the person with the complaint route."
    ),
) -> None:
    """Refuse a request; the person is told why and where to complain (Art. 12(4))."""
    _run(
        staff,
        lambda rights, caller: _echo(
            rights, caller, rights.requests.refuse(caller, request_id, reason), False
        ),
    )


@requests_app.command("extend")
def extend(
    request_id: str = typer.Argument(...),
    staff: str = AS,
    months: int = typer.Option(..., "--months", min=1, max=2),
    reason: str = typer.Option(..., "--reason", help="Told to the person now."),
) -> None:
    """Extend the deadline by one or two months (Art. 12(3)); the person is told now."""
    _run(
        staff,
        lambda rights, caller: _echo(
            rights, caller, rights.requests.extend(caller, request_id, months, reason), False
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(requests_app, name="requests")
