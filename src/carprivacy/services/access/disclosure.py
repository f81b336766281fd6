"""Applying a Decision to rows before they leave (SPEC U1, P4, P6).

``Disclosure.apply(decision, category, rows, recipient=..., at=...)``:

- refuses when the decision denies or does not cover the category;
- drops every row whose ``expires_at`` has passed, whoever asks (retention, Art. 5(1)(e));
- keeps only the fields the decision allows (minimisation per recipient, Art. 5(1)(c));
- ``pseudonymised``: direct identifiers become keyed HMAC pseudonyms, a different key per recipient,
  timestamps and positions are coarsened as the purpose's ``Coarsening`` says;
- ``vehicle_linked``: the decision's fields already hold the VIN and no customer identifier;
- ``aggregated_anonymous``: no rows at all (aggregates come from the anonymised export).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from carprivacy.domain.access import Decision
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.policy import Coarsening, Form, Policy
from carprivacy.domain.pseudonym import Pseudonymiser, coarsen_position, coarsen_time

EXPIRES_AT = "expires_at"
POSITION_FIELDS = frozenset({"latitude", "longitude", "lat", "lon", "lng"})
POSITION_SIGNAL_SUFFIXES = (".Latitude", ".Longitude")


def _expired(value: object, at: datetime) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return True  # unreadable: never release by mistake
    if not isinstance(value, datetime) or value.tzinfo is None:
        return True
    return value <= at


class Disclosure:
    def __init__(self, policy: Policy, pseudonym_secret: bytes) -> None:
        self.policy = policy
        self._secret = pseudonym_secret
        self._pseudonymisers: dict[str, Pseudonymiser] = {}
        self._identifiers = {c.id: c.direct_identifier_fields for c in policy.categories}
        self._positions = {
            c.id: frozenset(
                f.name
                for f in c.fields
                if f.name in POSITION_FIELDS
                or (f.vss_signal or "").endswith(POSITION_SIGNAL_SUFFIXES)
            )
            for c in policy.categories
        }

    def pseudonymiser(self, recipient: str) -> Pseudonymiser:
        p = self._pseudonymisers.get(recipient)
        if p is None:
            p = self._pseudonymisers[recipient] = Pseudonymiser(self._secret, recipient)
        return p

    def coarsening(self, purpose_id: str) -> Coarsening:
        """How coarse times and positions of ``purpose_id`` are in pseudonymised form."""
        purpose = self.policy.purposes_by_id.get(purpose_id)
        return purpose.coarsening if purpose is not None else Coarsening()

    def apply(
        self,
        decision: Decision,
        category: str,
        rows: Iterable[Mapping[str, object]],
        *,
        recipient: str,
        at: datetime,
    ) -> list[dict[str, object]]:
        if not decision.allowed or decision.fields is None or decision.form is None:
            raise AccessDeniedError(
                "the decision does not allow this release", tuple(str(r) for r in decision.reasons)
            )
        fields = decision.fields.get(category)
        if fields is None:
            raise AccessDeniedError(
                f"the decision does not cover category {category}", ("category.not_allowed",)
            )
        if decision.form in (Form.AGGREGATED_ANONYMOUS, Form.CATALOGUE):
            raise AccessDeniedError(
                f"rows are never released in {decision.form.value} form",
                (f"form.{decision.form.value}",),
            )
        pseudo = decision.form is Form.PSEUDONYMISED
        coarsening = self.coarsening(decision.purpose)
        identifiers = self._identifiers.get(category, frozenset())
        positions = self._positions.get(category, frozenset())
        pseudonymiser = self.pseudonymiser(recipient) if pseudo else None
        out: list[dict[str, object]] = []
        for row in rows:
            if _expired(row.get(EXPIRES_AT), at):
                continue
            released: dict[str, object] = {}
            for name in fields:
                if name not in row:
                    continue
                value = row[name]
                if pseudonymiser is not None and value is not None:
                    if name in identifiers:
                        value = pseudonymiser.pseudonym(name, value)
                    elif isinstance(value, datetime):
                        value = coarsen_time(value, coarsening)
                    elif name in positions and isinstance(value, int | float):
                        value = coarsen_position(value, coarsening)
                released[name] = value
            out.append(released)
        return out
