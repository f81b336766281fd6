"""Records attributed at their own time, released a window at a time (SPEC U1-U3, R1, P4).

Telemetry is stored with whom the vehicle's data belonged to at the record's moment (subject,
fleet), and read back as rows: tuples straight from the store, a page at a time, never a dict per
record. :func:`release_rows` is the per-row part of the gate's ``attributed`` read:

- each page's rows are keyed by (selector, subject, vehicle, fleet), where the selector picks the
  row's view (telemetry: the signal, whose policy field the value is); for the keys not met
  before, the view is resolved once and the gate decides each distinct (category, subject,
  vehicle, fleet) once, on one facts read, recorded in the audit trail before any row of the
  page is released (``decide``);
- an allowed key gets the decision's :func:`~carprivacy.services.access.views.row_releaser`
  (``prepare``), so a row's release is that copy, with no per-row view lookup or decision;
- a row of a refused key, of a view the read does not cover, or past its ``expires_at`` at the
  decision time is never opened nor released; an allowed row is opened (``open_row``: e.g.
  decrypted and decoded, giving the values in the order of ``RowLayout.names``) just before
  its release.

Standard library, domain and services only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from carprivacy.domain.access import Decision
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.services.access.views import RowReleaser, View

AttributedKey = tuple[str, str | None, str | None, str | None]  # category, subject, vehicle, fleet
RowKey = tuple[Any, str | None, str | None, str | None]  # selector, subject, vehicle, fleet

R = TypeVar("R", bound=Sequence[Any])


@dataclass(frozen=True)
class RowLayout:
    """Where a stored row holds what the gate needs, and the fields of an opened row."""

    names: tuple[str, ...]  # the opened row's fields, in order: what a view releases from
    selector: int  # what picks the row's view (telemetry: the signal)
    subject: int  # whom the row was attributed to at its own time
    vehicle: int
    fleet: int
    expires: int  # the row's expires_at (None: held until an event not known yet)


def release_rows(
    pages: Iterable[Sequence[R]],
    layout: RowLayout,
    view_of: Callable[[Any], View | None],
    categories: frozenset[str],
    decide: Callable[[list[AttributedKey]], list[Decision]],
    prepare: Callable[[View, Decision], RowReleaser],
    open_row: Callable[[R], Sequence[object]],
    at: datetime,
    refuse_empty: Callable[[Decision], AccessDeniedError | None] | None = None,
    required: str | None = None,
    when_empty: Callable[[], AccessDeniedError | None] | None = None,
) -> Iterator[tuple[R, dict[str, object]]]:
    """(row, released) for every row of ``pages`` the read may release (see the module
    docstring); with ``required``, only those whose release has that field (telemetry: the
    value, whose policy field the caller may not receive). ``refuse_empty``: when rows were
    decided but none was released, the error made from the first refusal it makes one of is
    raised (a refusal it makes none of leaves its rows out silently). ``when_empty``: when no
    row was met at all, the error it makes, if any, is raised."""
    decided: dict[AttributedKey, Decision] = {}
    releasers: dict[RowKey, RowReleaser | None] = {}
    key_of = itemgetter(layout.selector, layout.subject, layout.vehicle, layout.fleet)
    expires_at = layout.expires
    released = False
    for page in pages:
        # a row's key is made again where it is used rather than kept in a list: a page of
        # live key tuples only feeds the garbage collector
        new = [k for k in dict.fromkeys(map(key_of, page)) if k not in releasers]
        if new:
            _prepare(new, view_of, categories, decide, prepare, decided, releasers)
        for row in page:
            release = releasers[key_of(row)]
            if release is None:
                continue
            expires = row[expires_at]
            if expires is not None:
                try:
                    if expires <= at:
                        continue
                except TypeError:  # not an aware time: see ``expired``
                    if expired(expires, at):
                        continue
            released = True
            item = release(open_row(row))
            if required is None or required in item:
                yield row, item
    if refuse_empty is not None and not released and decided:
        for decision in decided.values():
            error = None if decision.allowed else refuse_empty(decision)
            if error is not None:
                raise error
    if when_empty is not None and not decided:
        error = when_empty()
        if error is not None:
            raise error


def _prepare(
    new: list[RowKey],
    view_of: Callable[[Any], View | None],
    categories: frozenset[str],
    decide: Callable[[list[AttributedKey]], list[Decision]],
    prepare: Callable[[View, Decision], RowReleaser],
    decided: dict[AttributedKey, Decision],
    releasers: dict[RowKey, RowReleaser | None],
) -> None:
    """The releaser of each new row key (None: never released), deciding the (category,
    subject, vehicle, fleet) not decided before in one call, in order of first appearance."""
    views: dict[RowKey, tuple[View, AttributedKey]] = {}
    for key in new:
        view = view_of(key[0])
        if view is None or view.category not in categories:
            releasers[key] = None
        else:
            views[key] = (view, (view.category, key[1], key[2], key[3]))
    todo = list(dict.fromkeys(d for _, d in views.values() if d not in decided))
    if todo:
        decided.update(zip(todo, decide(todo), strict=True))
    for key, (view, d) in views.items():
        decision = decided[d]
        releasers[key] = prepare(view, decision) if decision.allowed else None


def expired(value: object, at: datetime) -> bool:
    """Whether a record's ``expires_at`` has passed at ``at``; one that is not an aware time
    (unreadable) counts as passed: never released by mistake."""
    if value is None:
        return False
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return True
    if not isinstance(value, datetime) or value.tzinfo is None:
        return True
    return value <= at
