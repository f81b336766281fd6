"""The rights services over their ports (the composition root passes the adapters by name).

Ports (keys of ``ports``): ``export_store`` (ExportStore), ``transmitter`` (Transmitter),
``requests`` (RightsRequestRepository), ``rectifications`` (RectificationLog) and, optional,
``erasure`` (ErasureExecutor: without one an erasure request stays in progress with a clear
error when staff try to carry it out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carprivacy.domain.access import Caller
from carprivacy.domain.decision_index import ACCESS_PURPOSE
from carprivacy.domain.errors import CarPrivacyError
from carprivacy.domain.policy import Policy
from carprivacy.services.access.gate import Gate, Reading
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.access.telemetry import TelemetryReads
from carprivacy.services.audit.trail import AuditService
from carprivacy.services.consent.ledger import ConsentLedgerService
from carprivacy.services.exports.access import AccessExportService
from carprivacy.services.exports.portability import PortabilityService
from carprivacy.services.exports.sections import SectionReader
from carprivacy.services.identity.ports import EmailOutbox
from carprivacy.services.master.service import MasterDataService
from carprivacy.services.ports.clock import Clock
from carprivacy.services.ports.crypto import FieldCipher
from carprivacy.services.rights.fulfilment import Fulfilment
from carprivacy.services.rights.requests import RightsRequests


@dataclass
class RightsParts:
    exports: AccessExportService
    portability: PortabilityService
    requests: RightsRequests
    fulfilment: Fulfilment


def build_rights(
    policy: Policy,
    ports: dict[str, Any],
    *,
    gate: Gate[Any],
    telemetry_reads: TelemetryReads,
    master: MasterDataService,
    audit: AuditService,
    outbox: EmailOutbox,
    cipher: FieldCipher,
    ledger: ConsentLedgerService,
    code_key: bytes,
    clock: Clock,
    copy_period_months: int = 12,
) -> RightsParts:
    store = ports["export_store"]
    own = OwnData(gate, telemetry_reads, ledger, master)
    reader = SectionReader(gate, telemetry_reads, ledger, audit, store, cipher)
    exports = AccessExportService(
        gate, own, reader, audit, store, copy_period_months=copy_period_months
    )
    portability = PortabilityService(exports, ports.get("transmitter"))

    def address(subject_id: str) -> str | None:
        try:
            contact = master.get_customer(subject_id).contact
        except CarPrivacyError:
            return None
        return contact.email if contact is not None else None

    def exists(subject_id: str) -> None:
        master.get_customer(subject_id)

    def permit(caller: Caller, subject_id: str, action: str) -> None:
        reading = Reading(caller, ACCESS_PURPOSE, action=action)
        gate.permit(reading, ("contact",), subject_id=subject_id)

    requests = RightsRequests(
        policy, ports["requests"], outbox, address, exists, code_key, clock, permit=permit
    )
    fulfilment = Fulfilment(
        requests,
        exports,
        portability,
        ledger,
        master,
        ports["rectifications"],
        ports.get("erasure"),
    )
    return RightsParts(exports, portability, requests, fulfilment)
