"""A person's own data, read by the person (the right of access, Art. 15; SPEC R1, U1-U3).

Every read here names no purpose of the notice: the right of access is the use
(:data:`~carprivacy.domain.decision_index.ACCESS_PURPOSE`, compiled by the engine from the
policy's ``rights``), and the subject is the caller's own (``Caller.subject_id``): another
person's data is never named, so never reachable. Each read still passes the gate, decided and
audited under that use: the engine allows it only to a customer login, for their own subject,
identified and whole, without a contract (a former customer keeps the right), a consent or an
objection check, and a restriction does not stop it.

- :meth:`OwnData.held`: what is held, for which purposes on which legal basis, by which
  controller, shared with which recipients, kept until when (``domain/held.py``);
- :meth:`OwnData.one` / :meth:`OwnData.of`: the person's records (customer record, accounts,
  contracts, payments, vehicles, usage periods) through ``gate.one`` / ``gate.of``;
- :meth:`OwnData.consents`: the consent ledger's evidence history (JSON or CSV);
- :meth:`OwnData.telemetry_page` / :meth:`OwnData.telemetry_stream`: the telemetry attributed
  to the person (an owner change splits a vehicle's history: the earlier owner's part only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from carprivacy.domain.access import Caller, DecisionRequest, Reason, Role
from carprivacy.domain.decision_index import ACCESS_PURPOSE, SECTION_RIGHTS
from carprivacy.domain.decisions import deny
from carprivacy.domain.errors import AccessDeniedError
from carprivacy.domain.held import HeldFacts, held_statement
from carprivacy.domain.telemetry import TelemetryWindow
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.access.telemetry import TelemetryPage, TelemetryQuery, TelemetryReads
from carprivacy.services.access.views import View
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.services.master.service import MasterDataService

# The categories master data holds, by what a record of it is (what "held" is judged on).
CONSENT_CATEGORY = "contact"  # the ledger's evidence is decided as the person's contact data
NOT_THE_PERSON = Reason(
    "caller.role",
    "Art. 15 GDPR",
    SECTION_RIGHTS,
    "the own-data reads are the data subject's own login's; staff answer a request for a named "
    "subject (the subject's access report and copy)",
)


@dataclass
class OwnData:
    gate: Gate[Any]
    telemetry: TelemetryReads
    ledger: ConsentLedgerService
    master: MasterDataService

    def reading(self, caller: Caller, action: str) -> Reading:
        """The reading of a person's own data: the right of access is its purpose. Only the
        person's own login reads here (staff answering a request read a named subject through
        the exports, ``services/exports``): anyone else is refused, and the refusal recorded."""
        reading = Reading(caller, ACCESS_PURPOSE, action=action)
        if caller.role is not Role.CUSTOMER or caller.subject_id is None:
            request = DecisionRequest(
                caller, ACCESS_PURPOSE, ("contact",), self.gate.clock(), extra={"action": action}
            )
            self.gate.decisions.record([request], [deny(request, NOT_THE_PERSON)])
            raise AccessDeniedError(
                f"purpose {ACCESS_PURPOSE!r} does not allow this read", (str(NOT_THE_PERSON),)
            )
        return reading

    # -- what is held ------------------------------------------------------------------------

    def held(self, caller: Caller, action: str = "held") -> dict[str, object]:
        """What is held about the caller (Art. 15(1)(a)-(d),(g)), decided for every category."""
        # refused (403, recorded) unless the caller reads their own subject
        return self.statement(self.reading(caller, action), str(caller.subject_id))

    def statement(self, reading: Reading, subject_id: str) -> dict[str, object]:
        """What is held about ``subject_id``, decided for every category under ``reading`` (the
        person's own, or a privacy officer answering their request)."""
        policy = self.gate.policy
        categories = tuple(c.id for c in policy.categories)
        self.gate.permit(reading, categories, subject_id=subject_id)
        return held_statement(policy, self._facts(subject_id), self.gate.clock())

    def _facts(self, subject: str) -> HeldFacts:
        master = self.master
        customer = master.get_customer(subject)
        accounts = master.accounts_of(subject)
        contracts = master.contracts_of(subject)
        payments = master.payments_of(subject)
        usages = master.usages_of_customer(subject)
        vehicles = [master.get_vehicle(v) for v in dict.fromkeys(u.vehicle_id for u in usages)]
        held = {
            name
            for name, present in (
                ("contact", customer.contact is not None),
                ("account", bool(accounts)),
                ("contract", bool(contracts)),
                ("financial_transactions", bool(payments)),
                ("vehicle_general", bool(usages)),
            )
            if present
        }
        held |= self._telemetry_held(subject)
        return HeldFacts(
            subject_id=subject,
            held=frozenset(held),
            contract_ends=tuple(c.end for c in contracts),
            bookings=tuple(p.booked_at for p in payments),
            end_of_life=tuple(
                datetime.combine(v.end_of_life, time(), UTC) for v in vehicles if v.end_of_life
            ),
        )

    def _telemetry_held(self, subject: str) -> set[str]:
        """The telemetry categories with a live value attributed to the person."""
        reads = self.telemetry
        now = self.gate.clock()
        found = set()
        for category in sorted(reads.catalogue.categories):
            window = TelemetryWindow(subject_id=subject, categories=(category,), live_at=now)
            if reads.reader.window(window, None, 1):
                found.add(category)
        return found

    # -- records ------------------------------------------------------------------------------

    def one(
        self, caller: Caller, action: str, view: View, load: Callable[[Any, str], Record]
    ) -> dict[str, object]:
        """The caller's one record of ``view`` (``load(session, subject_id)``)."""
        subject = caller.subject_id
        return self.gate.one(
            self.reading(caller, action),
            view,
            lambda s: load(s, str(subject)),
            subject_id=subject,
        )

    def of(
        self,
        caller: Caller,
        action: str,
        view: View,
        load: Callable[[Any, str], Iterable[Record]],
    ) -> list[dict[str, object]]:
        """The caller's records of ``view`` (``load(session, subject_id)``)."""
        subject = caller.subject_id
        return self.gate.of(
            self.reading(caller, action),
            view,
            lambda s: load(s, str(subject)),
            subject_id=subject,
        )

    def consents(self, caller: Caller, action: str = "consents", fmt: str = "json") -> str:
        """The caller's consent, objection and restriction history (C4), as JSON or CSV."""
        self.gate.permit(
            self.reading(caller, action), (CONSENT_CATEGORY,), subject_id=caller.subject_id
        )
        subject = str(caller.subject_id)
        if fmt == "csv":
            return self.ledger.export_csv(subject)
        return self.ledger.export_json(subject)

    # -- telemetry ----------------------------------------------------------------------------

    def telemetry_page(
        self,
        caller: Caller,
        action: str,
        query: TelemetryQuery,
        cursor: str | None,
        limit: int,
    ) -> TelemetryPage:
        """A page of the telemetry attributed to the caller (``query``'s period and signals)."""
        return self.telemetry.page(
            self.reading(caller, action), self._own(caller, query), cursor, limit
        )

    def telemetry_stream(
        self, caller: Caller, action: str, query: TelemetryQuery, cursor: str | None = None
    ) -> Iterator[dict[str, object]]:
        return self.telemetry.stream(self.reading(caller, action), self._own(caller, query), cursor)

    @staticmethod
    def _own(caller: Caller, query: TelemetryQuery) -> TelemetryQuery:
        """The caller's own subject, always; a named vehicle narrows the read to that vehicle's
        values attributed to the caller (the gate releases a customer nothing else)."""
        return TelemetryQuery(
            subject_id=caller.subject_id,
            vehicle_id=query.vehicle_id if caller.subject_id else None,
            start=query.start,
            end=query.end,
            signals=query.signals,
        )
