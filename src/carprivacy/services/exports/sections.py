"""The sections of a person's copy (Art. 15(3)) and portability export (Art. 20), read lazily.

A :class:`Section` names its columns and reads its rows only when a writer iterates them, each
through the gate under the reading given (the right exercised is its purpose), in chunks:

- master data (customer record decrypted, accounts, contracts, payments, vehicles, usage
  periods): ``gate.one`` / ``gate.of`` with the master-data views;
- the consent, objection and restriction history (the consent ledger's evidence rows);
- telemetry attributed to the person (their vehicles in the periods they were its subject):
  ``TelemetryReads.stream``, a page at a time;
- quarantined records sealed under the person's key, opened a page at a time;
- audit entries naming the person, up to the trail's head when the copy began, a page at a time.
  The staff member's own id is left out (the rights of others, Art. 15(4)); organisation, role,
  purpose and outcome say who used the data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from carprivacy.domain.consent_ledger import HISTORY_FIELDS, history_row
from carprivacy.domain.errors import CarPrivacyError
from carprivacy.domain.policy import Text
from carprivacy.domain.telemetry import quarantine_aad
from carprivacy.services.access.attributed import expired
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.access.telemetry import COLUMNS, TelemetryQuery, TelemetryReads
from carprivacy.services.audit.trail import AuditQuery, AuditService
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.services.exports.ports import ExportStore
from carprivacy.services.master import reads
from carprivacy.services.master import views as mv
from carprivacy.services.ports.crypto import FieldCipher

PAGE = 500
Rows = Iterator[dict[str, object]]


@dataclass(frozen=True)
class Section:
    name: str  # the file name in a CSV archive, the key in JSON
    title: Text
    columns: tuple[str, ...]
    rows: Callable[[], Rows]  # read when iterated, not before
    category: str | None = None  # the policy category the rows are of (None: several, or none)


@dataclass
class SectionReader:
    """Builds the sections of one subject for one reading."""

    gate: Gate[Any]
    telemetry: TelemetryReads
    ledger: ConsentLedgerService
    audit: AuditService
    store: ExportStore
    cipher: FieldCipher

    # -- master data --------------------------------------------------------------------------

    def customer(self, reading: Reading, subject: str) -> Section:
        def rows() -> Rows:
            def load(s: Any) -> Record:
                return mv.record(mv.CUSTOMER, mv.customer_data(reads.customer(s, subject)))

            yield self.gate.one(reading, mv.CUSTOMER, load, subject_id=subject)

        columns: tuple[str, ...] = (
            "id",
            "surname",
            "first_name",
            "street",
            "house_number",
            "postal_code",
        )
        columns += ("city", "country", "email", "phone", "home_latitude", "home_longitude")
        return Section(
            "customer",
            Text("Klantgegevens", "Customer record"),
            columns + ("created_at", "updated_at"),
            rows,
            "contact",
        )

    def _records(
        self,
        reading: Reading,
        subject: str,
        view: Any,
        load: Callable[[Any, str], list[dict[str, object]]],
    ) -> Callable[[], Rows]:
        def rows() -> Rows:
            def loader(s: Any) -> list[Record]:
                return [mv.record(view, d, subject) for d in load(s, subject)]

            yield from self.gate.of(reading, view, loader, subject_id=subject)

        return rows

    def accounts(self, reading: Reading, subject: str) -> Section:
        return Section(
            "accounts",
            Text("Accounts", "Accounts"),
            ("id", "customer_id", "controller", "kind", "login_id", "created_at"),
            self._records(
                reading,
                subject,
                mv.ACCOUNT,
                lambda s, x: [vars(a) for a in reads.accounts_of(s, x)],
            ),
            "account",
        )

    def contracts(self, reading: Reading, subject: str) -> Section:
        return Section(
            "contracts",
            Text("Contracten", "Contracts"),
            ("id", "customer_id", "vehicle_id", "services", "start", "end", "created_at"),
            self._records(
                reading,
                subject,
                mv.CONTRACT,
                lambda s, x: [
                    {**vars(c), "services": list(c.services)} for c in reads.contracts_of(s, x)
                ],
            ),
            "contract",
        )

    def payments(self, reading: Reading, subject: str) -> Section:
        def load(s: Any, x: str) -> list[dict[str, object]]:
            return [
                {
                    **vars(p),
                    "amount": str(Decimal(p.amount_minor).scaleb(-2)),
                    "method": {"kind": p.method.kind.value, "details": p.method.details},
                }
                for p in reads.payments_of(s, x)
            ]

        return Section(
            "payments",
            Text("Betalingen", "Payments"),
            ("id", "customer_id", "contract_id", "amount", "currency", "booked_at", "method"),
            self._records(reading, subject, mv.PAYMENT, load),
            "financial_transactions",
        )

    def vehicles(self, reading: Reading, subject: str) -> Section:
        def load(s: Any, x: str) -> list[dict[str, object]]:
            usages = reads.usages_of_customer(s, x)
            ids = dict.fromkeys(u.vehicle_id for u in usages)
            return [mv.vehicle_data(reads.vehicle(s, v)) for v in ids]

        return Section(
            "vehicles",
            Text("Voertuigen", "Vehicles"),
            ("id", "vin", "model", "colour", "equipment", "end_of_life"),
            self._records(reading, subject, mv.VEHICLE_RECORD, load),
            "vehicle_general",
        )

    def usages(self, reading: Reading, subject: str) -> Section:
        return Section(
            "usages",
            Text("Perioden als eigenaar of bestuurder", "Periods as owner or driver"),
            ("id", "vehicle_id", "kind", "customer_id", "fleet_id", "start", "end"),
            self._records(
                reading,
                subject,
                mv.USAGE,
                lambda s, x: [vars(u) for u in reads.usages_of_customer(s, x)],
            ),
            "vehicle_general",
        )

    # -- the ledger, telemetry, quarantine, audit ---------------------------------------------

    def consents(self, reading: Reading, subject: str) -> Section:
        def rows() -> Rows:
            self.gate.permit(reading, ("contact",), subject_id=subject)
            for entry in self.ledger.history(subject):
                yield dict(history_row(entry))

        return Section(
            "consents",
            Text("Toestemmingen, bezwaren en beperkingen", "Consents, objections and restrictions"),
            tuple(HISTORY_FIELDS),
            rows,
        )

    def telemetry_rows(self, reading: Reading, subject: str) -> Section:
        def rows() -> Rows:
            query = TelemetryQuery(subject_id=subject)
            yield from self.telemetry.stream(reading, query)

        return Section(
            "telemetry",
            Text("Voertuiggegevens (telemetrie)", "Vehicle data (telemetry)"),
            COLUMNS,
            rows,
        )

    def quarantine(self, reading: Reading, subject: str) -> Section:
        categories = tuple(sorted(self.telemetry.catalogue.categories))

        def rows() -> Rows:
            self.gate.permit(reading, categories, subject_id=subject)
            owner, after, at = f"subject:{subject}", 0, self.gate.clock()
            while True:
                page = self.store.quarantine_of(owner, after, PAGE)
                for row_id, q in page:
                    if expired(q.expires_at, at):
                        continue
                    yield {
                        "id": row_id,
                        "received_at": q.received_at,
                        "source": q.source,
                        "vehicle_id": q.vehicle_id,
                        "record_index": q.record_index,
                        "reasons": [f"{p.path}: {p.rule}: {p.message}" for p in q.reasons],
                        "payload": self._payload(q),
                        "expires_at": q.expires_at,
                    }
                if len(page) < PAGE:
                    return
                after = page[-1][0]

        return Section(
            "quarantine",
            Text("Geweigerde berichten (quarantaine)", "Refused records (quarantine)"),
            ("id", "received_at", "source", "vehicle_id", "record_index", "reasons", "payload")
            + ("expires_at",),
            rows,
        )

    def _payload(self, q: Any) -> object:
        if not q.payload_ciphertext:
            return None
        aad = quarantine_aad(
            q.source, q.vehicle_id, q.record_index, q.received_at, q.key_owner, q.reasons
        )
        try:
            text = self.cipher.decrypt(q.key_owner, q.payload_ciphertext, aad).decode()
        except (CarPrivacyError, UnicodeDecodeError):
            return None  # the key destroyed, or not a text: nothing to show
        try:
            return json.loads(text)
        except ValueError:
            return text

    def audit_entries(self, reading: Reading, subject: str, up_to: int) -> Section:
        def rows() -> Rows:
            self.gate.permit(reading, ("contact",), subject_id=subject)
            ref, after = self.audit.subject_ref(subject), 0
            while after < up_to:
                query = AuditQuery(subject_ref=ref, after_seq=after, limit=PAGE)
                page = self.audit.find(query)
                for e in page:
                    if e.seq > up_to:
                        return
                    yield {
                        "seq": e.seq,
                        "at": e.at,
                        "organisation": e.organisation,
                        "role": e.role,
                        "purpose": e.purpose,
                        "categories": e.categories,
                        "outcome": e.outcome,
                        "rule": e.rule,
                        "form": e.form,
                        "action": e.action,
                    }
                if len(page) < PAGE:
                    return
                after = page[-1].seq

        return Section(
            "audit",
            Text("Wie uw gegevens gebruikte (auditlog)", "Who used your data (audit log)"),
            ("seq", "at", "organisation", "role", "purpose", "categories", "outcome", "rule")
            + ("form", "action"),
            rows,
        )
