"""Erasure on SQLite and PostgreSQL (SPEC R3, P1; Art. 17): on the demo's data, every record of
the subject is judged; kept records (10-year financial records and their counterparty, a legal
hold, the other controller's records, evidence, the audit log) stay readable under the successor
key and are reported with their reason; the rest is gone and the subject's key destroyed; the
audit chain verifies; the person is told; a second call changes nothing; an erasure stopped
after any phase and run again ends in the same state."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.repositories.sealing import from_db_time
from carprivacy.adapters.db.tables.master import accounts, contracts, customers
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings
from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.erasure import ErasureState
from carprivacy.domain.errors import AccessDeniedError, ConflictError, InvalidInputError
from carprivacy.domain.telemetry import aad_for
from carprivacy.services.demo.master_data import load_demo
from carprivacy.services.demo.telemetry import load_week
from carprivacy.services.erasure.service import ErasureService
from carprivacy.testing import InMemoryEmailOutbox

OFFICER = Caller("dpo-1", CallerKind.PERSON, Role.PRIVACY_OFFICER, "mini_nl")


def world(tmp_path: Path, engine: Engine) -> tuple[Services, InMemoryEmailOutbox, str, str]:
    settings = load_settings(data_dir=tmp_path / "data", database_url=str(engine.url))
    outbox = InMemoryEmailOutbox()
    container = bootstrap(settings=settings, engine=engine, outbox=outbox)
    summary = load_demo(container.master)
    now = datetime.now(UTC)
    load_week(container.ingest, container.catalogue, summary.telemetry_vins[:2], now)
    # a customer whose vehicle sent telemetry and who has payments
    for vehicle_id, vin, _model, _whose in summary.made:
        if vin not in summary.telemetry_vins[:2]:
            continue
        for cid in summary.customer_ids:
            if any(v.id == vehicle_id for v in container.master.vehicles_of(cid, now)) and (
                container.master.payments_of(cid)
            ):
                return container, outbox, cid, vehicle_id
    raise AssertionError("the demo has no customer with telemetry and payments")


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_erasure_keeps_what_the_law_keeps_and_shreds_the_rest(
    tmp_path: Path, engine: Engine
) -> None:
    c, outbox, cid, vehicle_id = world(tmp_path, engine)
    before = c.master.get_customer(cid)
    assert before.contact is not None and before.contact.email
    payments = c.master.payments_of(cid)
    assert count(engine, telemetry, telemetry.c.subject_id == cid) > 0

    report = c.erasure.erase(cid, OFFICER, "request R-1 (Art. 17(1)(b))")

    assert report.state == "completed" and report.key_destroyed and report.notice_sent
    kept = {(g.table, g.exemption) for g in report.kept}
    assert ("payment_transactions", "statutory_retention") in kept
    assert ("customers.name_address", "statutory_retention") in kept
    assert any(g.table == "telemetry" for g in report.erased)
    assert ("customers.reachability", "contact") in {(g.table, g.category) for g in report.erased}
    # the subject's key is gone; what was kept reads through the successor key
    assert c.cipher.is_destroyed(f"subject:{cid}")  # type: ignore[attr-defined]
    after = c.master.get_customer(cid)
    assert after.contact is not None
    assert after.contact.surname == before.contact.surname
    assert after.contact.email is None and after.contact.phone is None
    assert [p.method.details for p in c.master.payments_of(cid)] == [
        p.method.details for p in payments
    ]
    # the erased rows are gone
    assert count(engine, telemetry, telemetry.c.subject_id == cid) == 0
    assert count(engine, contracts, contracts.c.customer_id == cid) == 0
    assert count(engine, accounts, accounts.c.customer_id == cid) == 0
    # the audit chain verifies and names the erasure by pseudonym only
    assert c.audit.verify().finding is None
    entries = [e for e in c.audit.repository.iter_entries() if e.rule == "erasure.completed"]
    assert len(entries) == 1 and entries[0].subject_ref == c.audit.subject_ref(cid)
    assert cid not in entries[0].action
    # the person was told what was kept and why
    [mail] = [m for m in outbox.sent if m.to == before.contact.email]
    assert "Art. 17(3)(b)" in mail.body and "payment_transactions" in mail.body
    # the shred list: outside the database, mode 0600, pseudonyms only
    shred = c.settings.resolved_shred_list_path
    assert stat.S_IMODE(shred.stat().st_mode) == 0o600
    assert cid not in shred.read_text()
    assert json.loads(shred.read_text().splitlines()[0])["erasure_id"] == report.erasure_id

    again = c.erasure.erase(cid, OFFICER, "request R-1 (Art. 17(1)(b))")
    assert again.resumed and again.erasure_id == report.erasure_id
    assert len([m for m in outbox.sent if m.to == before.contact.email]) == 1


def test_the_group_login_account_alone_leaves_the_national_company_records(
    tmp_path: Path, engine: Engine
) -> None:
    c, _outbox, cid, _vehicle = world(tmp_path, engine)
    before = c.master.get_customer(cid)
    groups = [a for a in c.master.accounts_of(cid) if a.controller == "mini_ag"]
    assert groups
    n_contracts = count(engine, contracts, contracts.c.customer_id == cid)

    report = c.erasure.erase(cid, OFFICER, "request R-2", "mini_ag")

    assert {a.controller for a in c.master.accounts_of(cid)} == {"mini_nl"} or not [
        a for a in c.master.accounts_of(cid) if a.controller == "mini_ag"
    ]
    assert count(engine, telemetry, telemetry.c.subject_id == cid) == 0
    # MINI NL's records stay whole and readable, e-mail address included
    assert c.master.get_customer(cid).contact == before.contact
    assert count(engine, contracts, contracts.c.customer_id == cid) == n_contracts
    assert ("customers", "other_controller") in {(g.table, g.exemption) for g in report.kept}

    # then at MINI NL: the national company's records go, the 10-year records stay
    second = c.erasure.erase(cid, OFFICER, "request R-3", "mini_nl")
    assert second.erasure_id != report.erasure_id and second.key_destroyed
    assert c.cipher.is_destroyed(f"subject:{cid}/kept1")  # type: ignore[attr-defined]
    assert c.master.get_customer(cid).contact is not None
    assert c.master.payments_of(cid)[0].method.details is not None
    assert c.audit.verify().finding is None


def test_a_legal_hold_keeps_the_telemetry_readable(tmp_path: Path, engine: Engine) -> None:
    c, _outbox, cid, vehicle_id = world(tmp_path, engine)
    hold = c.legal_holds.place(
        subject_id=cid,
        vehicle_id=None,
        category="position_movement",
        reason="legal claims: case 12",
        created_by="dpo-1",
    )
    held = count(
        engine,
        telemetry,
        telemetry.c.subject_id == cid,
        telemetry.c.category == "position_movement",
    )
    assert held > 0
    report = c.erasure.erase(cid, OFFICER, "request R-4")
    assert any(
        g.table == "telemetry" and g.exemption == "legal_hold" and hold.id in g.detail
        for g in report.kept
    )
    assert count(engine, telemetry, telemetry.c.subject_id == cid) == held
    t = telemetry.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.key_owner, t.value_ciphertext, t.vehicle_id, t.signal, t.ts, t.source).where(
                t.subject_id == cid, t.value_ciphertext.is_not(None)
            )
        ).all()
    assert rows
    for r in rows:
        aad = aad_for(r.vehicle_id, r.signal, from_db_time(r.ts), r.source)
        assert c.cipher.decrypt(r.key_owner, bytes(r.value_ciphertext), aad)


@pytest.mark.parametrize("stop_after", list(ErasureState)[1:])
def test_an_interrupted_erasure_resumes_to_the_same_end(
    tmp_path: Path, engine: Engine, stop_after: ErasureState
) -> None:
    c, outbox, cid, _vehicle = world(tmp_path, engine)

    def stop(state: ErasureState) -> None:
        if state is stop_after:
            raise KeyboardInterrupt

    first = ErasureService(**{**vars(c.erasure), "after_phase": stop})
    with pytest.raises(KeyboardInterrupt):
        first.erase(cid, OFFICER, "request R-5")
    report = c.erasure.erase(cid, OFFICER, "request R-5")
    assert report.state == "completed" and report.key_destroyed
    assert count(engine, telemetry, telemetry.c.subject_id == cid) == 0
    assert count(engine, customers, customers.c.id == cid) == 1  # the counterparty stays
    assert c.master.payments_of(cid)[0].method.details is not None
    assert c.audit.verify().finding is None
    assert len(outbox.sent) == 1


def test_only_the_privacy_officer_erases_and_bad_input_names_its_field(
    tmp_path: Path, engine: Engine
) -> None:
    c, _outbox, cid, _vehicle = world(tmp_path, engine)
    clerk = Caller("cs-1", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    with pytest.raises(AccessDeniedError):
        c.erasure.erase(cid, clerk, "request R-6")
    with pytest.raises(InvalidInputError) as bad:
        c.erasure.erase(cid, OFFICER, " ", "mini_xx")
    assert {p.path for p in bad.value.problems} == {"reason", "controller"}
    assert not c.cipher.is_destroyed(f"subject:{cid}")  # type: ignore[attr-defined]


def test_the_purge_in_small_batches_removes_every_row_and_no_other(
    tmp_path: Path, engine: Engine
) -> None:
    c, _outbox, cid, _vehicle = world(tmp_path, engine)
    mine = count(engine, telemetry, telemetry.c.subject_id == cid)
    total = count(engine, telemetry)
    assert mine > 50
    small = ErasureService(**{**vars(c.erasure), "purge_batch": 7})  # many rows share a ts
    report = small.erase(cid, OFFICER, "request R-8")
    erased = sum(g.rows for g in report.erased if g.table == "telemetry")
    assert erased == mine
    assert count(engine, telemetry, telemetry.c.subject_id == cid) == 0
    assert count(engine, telemetry) == total - mine


def test_one_unfinished_erasure_per_subject(tmp_path: Path, engine: Engine) -> None:
    c, _outbox, cid, _vehicle = world(tmp_path, engine)

    def stop(state: ErasureState) -> None:
        if state is ErasureState.RESEALED:
            raise KeyboardInterrupt

    first = ErasureService(**{**vars(c.erasure), "after_phase": stop})
    with pytest.raises(KeyboardInterrupt):
        first.erase(cid, OFFICER, "request R-10")
    [open_] = c.erasure.store.of_subject(cid)
    with pytest.raises(ConflictError):  # the store refuses a second unfinished one
        c.erasure.store.add(replace(open_, id="another", successor=f"subject:{cid}/kept2"))
    report = c.erasure.erase(cid, OFFICER, "request R-11")
    assert report.erasure_id == open_.id and report.state == "completed"
    assert [r.successor for r in c.erasure.store.of_subject(cid)] == [f"subject:{cid}/kept1"]
