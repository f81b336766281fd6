"""How a kind of record maps onto a policy data category, and its release in a decision's form.

A :class:`View` names the policy category a record belongs to, which of its fields are which
policy fields (personal data: released only when the decision lists the policy field, which is the
recipient's ``allowed_fields`` minus what the form hides), which fields are references that name a
thing (a customer, a vehicle, a contract...), and which are bookkeeping of the record itself. A
field a view does not list is never released.

:func:`release` applies an allowed decision to one record (a mapping of field names to values):

- identified: the allowed policy fields, the references and the bookkeeping as they are;
- pseudonymised: every identifier and reference becomes the recipient's pseudonym of *the thing it
  names* (``Pseudonymiser.pseudonym(kind, value)``), so one recipient sees one pseudonym for one
  vehicle on every route and field, and two recipients cannot join theirs; times and positions
  are coarsened as the purpose says;
- vehicle-linked: the vehicle's own fields and references to the vehicle only; nothing that leads
  to a customer (no customer, account, usage, fleet, contract or payment ids);
- aggregated-anonymous: no records at all.

Standard library and domain only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from operator import itemgetter
from typing import Any

from carprivacy.domain.access import Decision
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Coarsening, Form
from carprivacy.domain.pseudonym import Pseudonymiser, coarsen_position, coarsen_time

VEHICLE = "vehicle"  # the kind of a reference that names the vehicle itself
DAY = 86_400


@dataclass(frozen=True)
class View:
    """How one kind of record maps onto one policy data category."""

    category: str
    fields: Mapping[str, str]  # record field -> policy field of the category (personal data)
    refs: Mapping[str, str] = field(default_factory=dict)  # record field -> kind of thing it names
    bookkeeping: frozenset[str] = frozenset()  # the record's own times and flags
    key: str = "id"  # the record's own id: echoed to the writer that created it
    of_a_person: bool = True  # False: the records name no data subject (a fleet's agreement)

    def kind_of(self, name: str) -> str:
        """The namespace of a pseudonym of ``name``: the thing it names, else the field."""
        return self.refs.get(name) or self.fields.get(name) or name


@dataclass(frozen=True)
class Shape:
    """What of the policy a release needs: the category's identifiers and position fields."""

    identifiers: frozenset[str]
    positions: frozenset[str]
    coarsening: Coarsening


def release(
    view: View,
    decision: Decision,
    record: Mapping[str, object],
    shape: Shape,
    pseudonymiser: Pseudonymiser,
) -> dict[str, object]:
    """One record in the form ``decision`` allows (see the module docstring)."""
    form = decision.form
    allowed = (decision.fields or {}).get(view.category)
    if not decision.allowed or form is None or allowed is None:
        raise AccessDeniedError(
            "the decision does not allow this release", tuple(str(r) for r in decision.reasons)
        )
    if form is Form.AGGREGATED_ANONYMOUS:
        raise AccessDeniedError(
            "records are never released in aggregated_anonymous form; use the anonymised export",
            ("form.aggregated_anonymous",),
        )
    if form is Form.CATALOGUE:
        raise AccessDeniedError(
            "records are never released in catalogue form; the catalogue names data, no values",
            ("form.catalogue",),
        )
    pseudo = form is Form.PSEUDONYMISED
    permitted = frozenset(allowed)
    out: dict[str, object] = {}
    for name in sorted(view.bookkeeping):  # one key order in every process (hash seeds differ)
        if name in record:
            value = record[name]
            out[name] = _coarse(value, shape.coarsening) if pseudo else value
    for name, policy_field in view.fields.items():
        if policy_field not in permitted or name not in record:
            continue
        value = record[name]
        if pseudo and value is not None:
            if policy_field in shape.identifiers or name in view.refs:
                value = pseudonymiser.pseudonym(view.kind_of(name), value)
            elif policy_field in shape.positions and isinstance(value, int | float):
                value = coarsen_position(value, shape.coarsening)
            else:
                value = _coarse(value, shape.coarsening)
        out[name] = value
    for name, kind in view.refs.items():
        if name in view.fields:
            continue  # a policy field: released (or not) above
        value = record.get(name)
        if value is None:
            continue
        if form is Form.IDENTIFIED or (form is Form.VEHICLE_LINKED and kind == VEHICLE):
            out[name] = value
        elif pseudo:
            out[name] = pseudonymiser.pseudonym(kind, value)
    return out


RowReleaser = Callable[[Sequence[object]], dict[str, object]]
Step = tuple[str, int, Callable[[object], object] | None]  # released name, position, transform


def row_releaser(
    view: View,
    decision: Decision,
    shape: Shape,
    pseudonymiser: Pseudonymiser,
    names: Sequence[str],
) -> RowReleaser:
    """:func:`release` of records read as rows: sequences of values in the order of ``names``
    (distinct field names; a store's read of one kind of record, with no dict per record).
    Prepared once per view and decision: which positions are released under which names, and
    what each value becomes (a pseudonym, a coarsened time or position). Equal to
    ``release(view, decision, dict(zip(names, values)), shape, pseudonymiser)`` for every
    ``values`` of ``len(names)``; a refused decision or the aggregated form raises as
    :func:`release` does."""
    form = decision.form
    allowed = (decision.fields or {}).get(view.category)
    if (
        not decision.allowed
        or form is None
        or allowed is None
        or form in (Form.AGGREGATED_ANONYMOUS, Form.CATALOGUE)
    ):
        return lambda values: release(
            view, decision, dict(zip(names, values, strict=True)), shape, pseudonymiser
        )
    at = {n: i for i, n in enumerate(names)}
    pseudo = form is Form.PSEUDONYMISED
    coarsening = shape.coarsening
    permitted = frozenset(allowed)
    coarse = _coarsener(coarsening) if pseudo else None
    head: list[Step] = [(n, at[n], coarse) for n in sorted(view.bookkeeping) if n in at]
    for name, policy_field in view.fields.items():
        if policy_field not in permitted or name not in at:
            continue
        change: Callable[[object], object] | None = None
        if pseudo:
            if policy_field in shape.identifiers or name in view.refs:
                change = _pseudonym_of(pseudonymiser, view.kind_of(name))
            elif policy_field in shape.positions:
                change = _position_coarsener(coarsening)
            else:
                change = coarse
        head.append((name, at[name], change))
    tail: list[Step] = []  # references: released only when they name something
    for name, kind in view.refs.items():
        if name in view.fields or name not in at:
            continue
        if form is Form.IDENTIFIED or (form is Form.VEHICLE_LINKED and kind == VEHICLE):
            tail.append((name, at[name], None))
        elif pseudo:
            tail.append((name, at[name], _pseudonym_of(pseudonymiser, kind)))
    refs = tuple(tail)
    if any(change is not None for _, _, change in head):
        steps = tuple(head)

        def changed(values: Sequence[object]) -> dict[str, object]:
            out: dict[str, object] = {}
            for name, position, change in steps:
                value = values[position]
                out[name] = value if change is None or value is None else change(value)
            for name, position, change in refs:
                value = values[position]
                if value is not None:
                    out[name] = value if change is None else change(value)
            return out

        return changed
    keys = tuple(n for n, _, _ in head)
    positions = tuple(p for _, p, _ in head)
    if any(change is not None for _, _, change in refs) or {n for n, _, _ in refs} & set(keys):
        get = _getter(positions)

        def copied(values: Sequence[object]) -> dict[str, object]:
            out = dict(zip(keys, get(values), strict=True))
            for name, position, change in refs:
                value = values[position]
                if value is not None:
                    out[name] = value if change is None else change(value)
            return out

        return copied
    # the common case: one dict display of the copied fields, the references removed again
    # when they name nothing
    return _copier(tuple(zip(keys, positions, strict=True)), tuple((n, p) for n, p, _ in refs))


def _copier(fields: tuple[tuple[str, int], ...], refs: tuple[tuple[str, int], ...]) -> RowReleaser:
    """``{name: values[position], ...}`` of ``fields`` and ``refs``, without the refs whose
    value is None, compiled once into one function (a dict display costs a third of building
    the dict from pairs). Names are written as literals (``repr``), positions as integers."""
    every = ", ".join(f"{name!r}: values[{int(p)}]" for name, p in (*fields, *refs))
    lines = [f"def copy(values):\n    out = {{{every}}}\n"]
    for name, p in refs:
        lines.append(f"    if values[{int(p)}] is None:\n        del out[{name!r}]\n")
    lines.append("    return out\n")
    namespace: dict[str, Any] = {}
    exec("".join(lines), namespace)  # noqa: S102  # generated from names and integers only
    copy: RowReleaser = namespace["copy"]
    return copy


def _getter(positions: tuple[int, ...]) -> Callable[[Sequence[object]], tuple[object, ...]]:
    """The values at ``positions``, as a tuple (``itemgetter`` of one position gives the value)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    if positions:
        (only,) = positions
        return lambda values: (values[only],)
    return lambda values: ()


def _coarsener(coarsening: Coarsening) -> Callable[[object], object]:
    return lambda value: _coarse(value, coarsening)


def _position_coarsener(coarsening: Coarsening) -> Callable[[object], object]:
    def change(value: object) -> object:
        if isinstance(value, int | float):
            return coarsen_position(value, coarsening)
        return _coarse(value, coarsening)

    return change


def _pseudonym_of(pseudonymiser: Pseudonymiser, kind: str) -> Callable[[object], object]:
    """The recipient's pseudonym of a value of ``kind``, computed once per distinct text (a
    window names few vehicles and subjects)."""
    known: dict[str, str] = {}

    def change(value: object) -> object:
        if type(value) is not str:
            return pseudonymiser.pseudonym(kind, value)
        found = known.get(value)
        if found is None:
            found = pseudonymiser.pseudonym(kind, value)
            if len(known) < 10_000:
                known[value] = found
        return found

    return change


def _coarse(value: object, coarsening: Coarsening) -> object:
    """A time as exact as the purpose allows (pseudonymised form): datetimes truncated to the
    purpose's period, dates too when the period is longer than a day; other values unchanged."""
    if isinstance(value, datetime):
        return coarsen_time(value, coarsening)
    if isinstance(value, date) and coarsening.time_seconds > DAY:
        midnight = datetime.combine(value, time(0), tzinfo=UTC)
        return coarsen_time(midnight, coarsening).date()
    return value
