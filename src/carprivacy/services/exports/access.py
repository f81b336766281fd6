"""The right of access: the report and the copy of a person's data (Art. 15; SPEC R1).

:class:`AccessExportService` is what the person's routes (``/v1/me/access-report``,
``/v1/me/copy``), the privacy officer's (``/v1/customers/{id}/access-report``, ``.../copy``) and
the request workflow call:

- :meth:`~AccessExportService.report`: the Art. 15(1)-(2) report (``domain/exports.py``), from
  what is held (``OwnData.statement``) and the recipients that actually received the data: the
  organisations of the allowed reads the audit trail names the person in (read a page at a time);
- :meth:`~AccessExportService.copy`: every datum of the person (``sections.py``) as JSON, a ZIP
  of CSV files or an HTML page (NL or EN), an :class:`Export`: an iterator of bytes, read and
  written a chunk at a time. The first copy in a period (``copy_period_months``, default 12) is
  free; a further one is flagged for a reasonable fee (Art. 15(3)), in the copy itself and in
  :attr:`Export.issue`. A copy counts as given once its last byte is out (recorded then).

Every read passes the gate under the right of access (``subject_access``): the person's own
login, or a privacy officer or the request workflow's service caller answering a request (the
engine's ``RIGHTS_STAFF``); anyone else is refused before anything is read, and recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.decision_index import ACCESS_PURPOSE
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.exports import CopyIssue, RecipientUse, access_report, copy_fee_due
from carprivacy.services.access.gate import Gate, Reading
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.audit.trail import AuditQuery, AuditService
from carprivacy.services.exports.html import html_page
from carprivacy.services.exports.ports import ExportStore
from carprivacy.services.exports.sections import Section, SectionReader
from carprivacy.services.exports.writers import csv_archive, json_document, readme

FORMATS = ("json", "csv", "html")
LANGUAGES = ("nl", "en")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "application/zip",
    "html": "text/html; charset=utf-8",
}
EXTENSIONS = {"json": "json", "csv": "zip", "html": "html"}
AUDIT_PAGE = 1000


class Export(Iterator[bytes]):
    """An export being written: iterate it for its bytes (each chunk read as it is written)."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        media_type: str,
        filename: str,
        issue: CopyIssue | None = None,
    ) -> None:
        self._chunks = chunks
        self.media_type = media_type
        self.filename = filename
        self.issue = issue

    def __iter__(self) -> Export:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)


def check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> str:
    if fmt not in allowed:
        raise InvalidInputError(
            [Problem("format", "one_of", f"must be one of {', '.join(allowed)}")]
        )
    return fmt


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InvalidInputError([Problem("lang", "one_of", "must be nl or en")])
    return lang


@dataclass
class AccessExportService:
    gate: Gate[Any]
    own: OwnData
    sections: SectionReader
    audit: AuditService
    store: ExportStore
    copy_period_months: int = 12
    service_organisation: str = ""  # the controller the request workflow's caller answers for
    _ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    def workflow_caller(self) -> Caller:
        """The request workflow's own caller: an internal system of the first controller."""
        organisation = self.service_organisation or self.gate.policy.controllers[0].id
        return Caller("request-workflow", CallerKind.MACHINE, Role.SERVICE, organisation)

    def reading(self, caller: Caller | None, action: str) -> Reading:
        return Reading(caller or self.workflow_caller(), ACCESS_PURPOSE, action=action)

    # -- the report ---------------------------------------------------------------------------

    def report(
        self, subject_id: str, *, caller: Caller | None = None, action: str = "access report"
    ) -> dict[str, object]:
        """The Art. 15 report of ``subject_id`` (JSON-ready)."""
        reading = self.reading(caller, action)
        held = self.own.statement(reading, subject_id)
        received = self.recipients_that_received(subject_id)
        return access_report(self.gate.policy, held, received, self.gate.clock())

    def recipients_that_received(self, subject_id: str) -> list[RecipientUse]:
        """The organisations the audit trail shows reading the person's data (allowed reads),
        with the purposes and the first and last time; the person's own reads left out."""
        ref, after = self.audit.subject_ref(subject_id), 0
        found: dict[str, tuple[dict[str, None], str, str, int]] = {}
        while True:
            page = self.audit.find(
                AuditQuery(subject_ref=ref, outcome="allow", after_seq=after, limit=AUDIT_PAGE)
            )
            for e in page:
                if e.role == Role.CUSTOMER.value:
                    continue
                purposes, first, _, n = found.get(e.organisation, ({}, e.at, e.at, 0))
                purposes[e.purpose] = None
                found[e.organisation] = (purposes, first, e.at, n + 1)
            if len(page) < AUDIT_PAGE:
                break
            after = page[-1].seq
        return [
            RecipientUse(org, tuple(p), first, last, n)
            for org, (p, first, last, n) in sorted(found.items())
        ]

    # -- the copy -----------------------------------------------------------------------------

    def copies(self, subject_id: str) -> list[CopyIssue]:
        return self.store.copies_of(subject_id)

    def copy(
        self,
        subject_id: str,
        fmt: str = "json",
        *,
        caller: Caller | None = None,
        lang: str = "nl",
        action: str = "access copy",
    ) -> Export:
        """A copy of every datum of ``subject_id`` in ``fmt`` (json, csv: a ZIP of CSV files,
        html), streamed. Refusals and bad input come now, before the first byte."""
        check_format(fmt)
        check_language(lang)
        reading = self.reading(caller, action)
        report = self.report(subject_id, caller=reading.caller, action=action)
        now = self.gate.clock()
        earlier = [c.issued_at for c in self.store.copies_of(subject_id)]
        issue = CopyIssue(
            self._ids(),
            subject_id,
            now,
            fmt,
            reading.caller.id,
            copy_fee_due(earlier, now, self.copy_period_months),
        )
        head: dict[str, object] = {
            "report": report,
            "copy": {
                "id": issue.id,
                "issued_at": issue.issued_at,
                "number_in_period": 1
                + sum(copy_fee_due([t], now, self.copy_period_months) for t in earlier),
                "period_months": self.copy_period_months,
                "fee_flagged": issue.fee_flagged,
                "article": "Art. 15(3) GDPR",
            },
        }
        head_of_trail = self.audit.repository.head()
        sections = self.copy_sections(reading, subject_id, head_of_trail[0] if head_of_trail else 0)
        chunks = self._encoded(head, sections, fmt, lang)
        return Export(
            self._recorded(chunks, issue), MEDIA_TYPES[fmt], f"copy.{EXTENSIONS[fmt]}", issue
        )

    def copy_sections(self, reading: Reading, subject_id: str, audit_up_to: int) -> list[Section]:
        r = self.sections
        return [
            r.customer(reading, subject_id),
            r.accounts(reading, subject_id),
            r.contracts(reading, subject_id),
            r.payments(reading, subject_id),
            r.vehicles(reading, subject_id),
            r.usages(reading, subject_id),
            r.consents(reading, subject_id),
            r.telemetry_rows(reading, subject_id),
            r.quarantine(reading, subject_id),
            r.audit_entries(reading, subject_id, audit_up_to),
        ]

    @staticmethod
    def _encoded(
        head: dict[str, object], sections: Sequence[Section], fmt: str, lang: str
    ) -> Iterator[bytes]:
        if fmt == "csv":
            return csv_archive(head, sections, readme(sections, lang))
        if fmt == "html":
            return html_page(head, sections, lang)
        return json_document(head, sections)

    def _recorded(self, chunks: Iterator[bytes], issue: CopyIssue) -> Iterator[bytes]:
        yield from chunks
        self.store.add_copy(issue)  # given: its last byte is out
