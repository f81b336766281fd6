"""A person's copy on the in-memory stores: JSON, CSV archive and HTML, streamed (SPEC R1)."""

from __future__ import annotations

import io
import json
import zipfile

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.master import ContactDetails
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.exports.access import AccessExportService
from carprivacy.services.exports.sections import SectionReader
from carprivacy.testing import InMemoryExportStore, bootstrap_in_memory


def _service() -> tuple[AccessExportService, InMemoryExportStore, str]:
    s = bootstrap_in_memory()
    person = s.master.register_customer(
        ContactDetails("Jansen", "Eva", "Markt", "1", "2611 GS", "Delft", "NL", "e@x.nl", None)
    )
    store = InMemoryExportStore()
    own = OwnData(s.gate, s.telemetry_reads, s.consent_ledger, s.master)
    reader = SectionReader(s.gate, s.telemetry_reads, s.consent_ledger, s.audit, store, s.cipher)
    return AccessExportService(s.gate, own, reader, s.audit, store), store, person.id


def test_the_copy_is_given_in_each_format_and_a_second_one_is_flagged() -> None:
    service, store, subject = _service()
    me = Caller("eva", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=subject)
    first = service.copy(subject, "json", caller=me)
    assert not first.issue or not first.issue.fee_flagged
    document = json.loads(b"".join(first))
    assert document["sections"]["customer"][0]["surname"] == "Jansen"
    assert document["export"]["report"]["complaint"]["authority"] == "Autoriteit Persoonsgegevens"
    assert len(store.copies) == 1
    archive = zipfile.ZipFile(io.BytesIO(b"".join(service.copy(subject, "csv", caller=me))))
    assert "customer.csv" in archive.namelist() and "README.txt" in archive.namelist()
    assert "Jansen" in archive.read("customer.csv").decode()
    page = b"".join(service.copy(subject, "html", caller=me, lang="en")).decode()
    assert "Jansen" in page and "reasonable fee" in page
    assert [c.fee_flagged for c in store.copies] == [False, True, True]
