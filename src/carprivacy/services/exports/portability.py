"""The right to data portability (Art. 20; SPEC R6): what the person provided and what their
vehicles generated, processed on consent or a contract, as JSON or a ZIP of CSV files, streamed.

The scope is the policy's (``domain/exports.py``'s :func:`portability_scope`): a section is in
the export when its category is included; the telemetry section keeps only rows of included
categories. Categories left out are named in the export with the rule and the reason
(legitimate interest only, or not provided by the person). Every read passes the gate under the
engine's portability purpose.

:meth:`PortabilityService.transmit` sends the export straight to another controller's HTTPS
endpoint (Art. 20(2)) through the :class:`~carprivacy.services.exports.ports.Transmitter`, and
keeps a receipt (what was sent: its SHA-256 and size; the status; the answer's first bytes).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from carprivacy.domain.access import Caller
from carprivacy.domain.decision_index import PORTABILITY_PURPOSE
from carprivacy.domain.errors import ConflictError
from carprivacy.domain.exports import portability_scope, portability_statement
from carprivacy.services.access.gate import Reading
from carprivacy.services.exports.access import (
    EXTENSIONS,
    MEDIA_TYPES,
    AccessExportService,
    Export,
    check_format,
)
from carprivacy.services.exports.ports import TransmissionReceipt, Transmitter
from carprivacy.services.exports.sections import Rows, Section
from carprivacy.services.exports.writers import csv_archive, json_document, readme

ANSWER_BYTES = 2000


@dataclass
class PortabilityService:
    exports: AccessExportService
    transmitter: Transmitter | None = None
    _ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    def included(self) -> frozenset[str]:
        return frozenset(c.id for c in portability_scope(self.exports.gate.policy)[0])

    def sections(self, reading: Reading, subject_id: str) -> list[Section]:
        r = self.exports.sections
        keep = self.included()
        candidates = [
            r.customer(reading, subject_id),
            r.contracts(reading, subject_id),
            r.payments(reading, subject_id),
            r.vehicles(reading, subject_id),
            r.usages(reading, subject_id),
        ]
        chosen = [s for s in candidates if s.category in keep]
        telemetry = r.telemetry_rows(reading, subject_id)

        def rows(source: Section = telemetry) -> Rows:
            return (row for row in source.rows() if row.get("category") in keep)

        chosen.append(replace(telemetry, rows=rows))
        return chosen

    def export(
        self,
        subject_id: str,
        fmt: str = "json",
        *,
        caller: Caller | None = None,
        action: str = "portability export",
    ) -> Export:
        """The portability export of ``subject_id`` (json, or csv: a ZIP of CSV files)."""
        check_format(fmt, ("json", "csv"))
        reading = Reading(
            caller or self.exports.workflow_caller(), PORTABILITY_PURPOSE, action=action
        )
        included, left_out = portability_scope(self.exports.gate.policy)
        head: dict[str, object] = {
            "scope": portability_statement(included, left_out),
            "subject_id": subject_id,
            "created_at": self.exports.gate.clock(),
        }
        sections = self.sections(reading, subject_id)
        # the first read happens now: a refusal comes before the first byte
        self.exports.gate.permit(reading, ("contact",), subject_id=subject_id)
        chunks: Iterator[bytes] = (
            csv_archive(head, sections, readme(sections, "en"))
            if fmt == "csv"
            else json_document(head, sections)
        )
        return Export(chunks, MEDIA_TYPES[fmt], f"portability.{EXTENSIONS[fmt]}")

    def transmit(
        self,
        subject_id: str,
        endpoint: str,
        fmt: str = "json",
        *,
        caller: Caller | None = None,
    ) -> TransmissionReceipt:
        """The export sent to ``endpoint`` (HTTPS, certificate verified), with its receipt."""
        if self.transmitter is None:
            raise ConflictError("direct transmission (Art. 20(2) GDPR) is not configured")
        export = self.export(subject_id, fmt, caller=caller, action="portability transmission")
        digest = hashlib.sha256()
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            for chunk in export:
                digest.update(chunk)
                sent += len(chunk)
                yield chunk

        answer = self.transmitter.post(endpoint, body(), export.media_type)
        if answer.status is None:
            status = "failed"
        else:
            status = "delivered" if 200 <= answer.status < 300 else "refused"
        text = answer.body[:ANSWER_BYTES].decode("utf-8", "replace") if answer.body else ""
        receipt = TransmissionReceipt(
            id=self._ids(),
            subject_id=subject_id,
            at=self.exports.gate.clock(),
            caller_id=(caller or self.exports.workflow_caller()).id,
            endpoint=endpoint,
            format=fmt,
            status=status,
            http_status=answer.status,
            digest=digest.hexdigest(),
            bytes_sent=sent,
            answer=text or (answer.error or ""),
        )
        self.exports.store.add_receipt(receipt)
        return receipt
