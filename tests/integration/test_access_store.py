"""Callers, the audit log, alerts and automated decisions on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text, update
from tests.conftest import POLICY_PATH

from carprivacy.adapters.crypto.envelope import EnvelopeCipher
from carprivacy.adapters.crypto.master_key import MasterKeyRing, new_master_key
from carprivacy.adapters.crypto.passwords import Argon2PasswordHasher
from carprivacy.adapters.crypto.signing import Ed25519CheckpointSigner
from carprivacy.adapters.crypto.tokens import JwtTokenSigner
from carprivacy.adapters.db import migrate
from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.repositories.access import (
    SqlAuditLogRepository,
    SqlAutomatedDecisionRepository,
)
from carprivacy.adapters.db.repositories.callers import SqlCallerRepository
from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
from carprivacy.adapters.db.repositories.monitoring import SqlAlertRepository, SqlMonitoringWindows
from carprivacy.adapters.db.tables.access import audit_log
from carprivacy.adapters.db.tables.access import callers as callers_table
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.access import (
    Caller,
    CallerKind,
    Decision,
    DecisionRequest,
    Outcome,
    Reason,
    Role,
)
from carprivacy.domain.audit import Tamper
from carprivacy.domain.errors import AuthenticationError, ConflictError
from carprivacy.domain.policy import Form
from carprivacy.services.access.automated_decisions import AutomatedDecisionService
from carprivacy.services.audit.monitoring import MonitoringService
from carprivacy.services.audit.trail import AuditQuery, AuditService
from carprivacy.services.identity.callers import CallerService, CallerSettings
from carprivacy.testing.callers import InMemoryEmailOutbox

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CHEAP = CallerSettings()
# argon2id at its cheapest: the adapter is real, the cost is not
PASSWORDS = Argon2PasswordHasher(time_cost=1, memory_kib=8)
ACCESS_TABLES = [
    "callers",
    "caller_credentials",
    "email_codes",
    "audit_log",
    "audit_checkpoints",
    "alerts",
    "automated_decisions",
    "review_requests",
    "audit_log_subjects",
    "alert_acknowledgements",
    "monitoring_windows",
    "monitoring_subjects",
]


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy_file(POLICY_PATH)


def audit_service(engine: Engine, clock: Clock, every: int = 1000) -> AuditService:
    return AuditService(
        SqlAuditLogRepository(engine),
        Ed25519CheckpointSigner(b"s" * 32),
        b"k" * 32,
        clock,
        checkpoint_every=every,
    )


def decision_pair(caller: str = "p_1", subject: str = "cust-1", allow: bool = True):  # type: ignore[no-untyped-def]
    c = Caller(caller, CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    req = DecisionRequest(c, "customer_service", ("contact",), T0, subject_id=subject)
    reason = Reason("ok" if allow else "consent.required", "Art. 6(1)(b) GDPR", "E", "m")
    dec = Decision(
        Outcome.ALLOW if allow else Outcome.DENY,
        "customer_service",
        ("contact",),
        (reason,),
        Form.IDENTIFIED if allow else None,
        at=T0,
    )
    return req, dec


def test_the_migrations_create_exactly_the_access_tables(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    from sqlalchemy import inspect

    insp = inspect(empty_engine)
    md = load_all_tables()
    for name in ACCESS_TABLES:
        got = {c["name"]: c for c in insp.get_columns(name)}
        want = md.tables[name].columns
        assert set(got) == {c.name for c in want}, name
        for col in want:
            assert got[col.name]["nullable"] == col.nullable, (name, col.name)
        got_ix = {i["name"] for i in insp.get_indexes(name)}
        want_ix = {i.name for i in md.tables[name].indexes}
        assert want_ix <= got_ix, name
    migrate.downgrade(empty_engine, "0002_telemetry")
    assert not set(ACCESS_TABLES) & set(inspect(empty_engine).get_table_names())


def test_audit_appends_chain_and_a_row_changed_in_the_database_is_found(engine: Engine) -> None:
    clock = Clock()
    audit = audit_service(engine, clock, every=3)
    for i in range(7):
        audit.record(*decision_pair(subject=f"cust-{i}", allow=i % 2 == 0))
        clock.at += timedelta(seconds=1)
    assert audit.verify().ok
    assert [c.seq for c in audit.repository.checkpoints()] == [3, 6]
    entries = audit.find(AuditQuery(limit=10))
    assert [e.seq for e in entries] == list(range(1, 8))
    # no plaintext subject ids in the log
    with engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(audit_log.select()) for v in row)
    assert "cust-" not in dump
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 4).values(outcome="allow"))
    result = audit_service(engine, clock).verify()
    assert result.finding is not None and result.finding.seq == 4
    assert result.finding.tamper is Tamper.CHANGED


def test_a_list_read_is_one_entry_found_by_each_subject_it_names(engine: Engine) -> None:
    """U3: one entry for a read of 50 subjects, its subjects indexed in the same transaction;
    the accesses to one of them include it; a subject struck from the stored list is found."""
    clock = Clock()
    audit = audit_service(engine, clock)
    audit.record(*decision_pair(subject="s7"))
    audit.record_read([decision_pair(subject=f"s{i}") for i in range(50)])
    audit.record(*decision_pair(subject="other"))
    assert audit.verify().ok
    found = audit_service(engine, clock).find(AuditQuery(subject_ref=audit.subject_ref("s7")))
    assert [(e.seq, len(e.subject_refs())) for e in found] == [(1, 1), (2, 50)]
    assert audit.find(AuditQuery(subject_ref=audit.subject_ref("s49")))[0].seq == 2
    with engine.begin() as conn:
        listed = conn.execute(audit_log.select().where(audit_log.c.seq == 2)).one().subjects
        shorter = listed.replace(audit.subject_ref("s3") + ",", "")
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(subjects=shorter))
    result = audit_service(engine, clock).verify()
    assert result.finding is not None and result.finding.seq == 2
    assert result.finding.tamper is Tamper.CHANGED


def test_audit_deleted_row_and_truncated_tail_are_found(engine: Engine) -> None:
    clock = Clock()
    audit = audit_service(engine, clock)
    for i in range(5):
        audit.record(*decision_pair(subject=f"s{i}"))
    assert audit.checkpoint() is not None and audit.checkpoint() is None
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    result = audit.verify()
    assert result.finding is not None and result.finding.seq == 5
    assert result.finding.tamper is Tamper.REMOVED


def test_two_writers_never_fork_the_chain(engine: Engine) -> None:
    clock = Clock()
    writers = [audit_service(engine, clock) for _ in range(2)]

    def work(svc: AuditService, n: int) -> None:
        for i in range(n):
            svc.record(*decision_pair(subject=f"w{i}"))

    threads = [threading.Thread(target=work, args=(w, 30)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = writers[0].verify()
    assert result.ok and result.entries_checked == 60


def test_monitoring_alerts_are_stored_once(engine: Engine) -> None:
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    audit = audit_service(engine, clock)
    monitoring = MonitoringService(SqlAlertRepository(engine), windows=SqlMonitoringWindows(engine))
    audit.observers.append(monitoring.observe)
    for i in range(70):  # customer_service threshold is 60 distinct subjects per hour
        audit.record(*decision_pair(subject=f"m{i}"))
    alerts = monitoring.alerts()
    assert [a.rule.value for a in alerts] == ["subjects_per_hour"]
    assert alerts[0].count == 61 and alerts[0].threshold == 60
    # re-scanning the stored log after a restart raises nothing new
    assert monitoring.scan(audit.repository.iter_entries()).new == 0


def test_callers_passwords_codes_and_client_credentials(engine: Engine, policy) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    outbox = InMemoryEmailOutbox()
    cipher = EnvelopeCipher(SqlDataKeyRepository(engine), MasterKeyRing(new_master_key()))
    repo = SqlCallerRepository(engine, cipher, b"l" * 32)
    svc = CallerService(
        repo,
        policy,
        outbox,
        b"t" * 32,
        clock,
        CHEAP,
        passwords=PASSWORDS,
        tokens=JwtTokenSigner(b"t" * 32),
    )
    person, _ = svc.create(
        name="Officer",
        kind="person",
        role="privacy_officer",
        organisation="mini_nl",
        email="Officer@Example.org",
        password="correct horse battery",
    )
    machine, secret = svc.create(
        name="Insurer",
        kind="machine",
        role="partner",
        organisation="cardata_third_parties",
        scopes=["cardata:read"],
        generate_secret=True,
    )
    assert secret
    with pytest.raises(ConflictError):
        svc.create(
            name="Again",
            kind="person",
            role="dealer",
            organisation="dealers",
            email="officer@example.org",
        )
    token = svc.login_password("officer@example.org", "correct horse battery")
    assert svc.authenticate(token.access_token).role.value == "privacy_officer"
    with pytest.raises(AuthenticationError):
        svc.login_password("officer@example.org", "wrong password!!")
    code_id = svc.start_email_code("officer@example.org")
    code = outbox.sent[-1].body.split("code is ")[1][:6]
    with pytest.raises(AuthenticationError):
        svc.verify_email_code(code_id, "000000" if code != "000000" else "111111")
    assert svc.authenticate(svc.verify_email_code(code_id, code).access_token).id == person.id
    with pytest.raises(AuthenticationError):  # a code works once
        svc.verify_email_code(code_id, code)
    mt = svc.client_credentials(machine.id, secret, "cardata:read")
    assert svc.authenticate(mt.access_token).scopes == frozenset({"cardata:read"})
    with pytest.raises(AuthenticationError):
        svc.client_credentials(machine.id, secret + "x", None)
    svc.set_disabled(machine.id)
    with pytest.raises(AuthenticationError):
        svc.authenticate(mt.access_token)
    clock.at += timedelta(hours=1)
    with pytest.raises(AuthenticationError, match="expired"):
        svc.authenticate(token.access_token)
    assert {c.id for c in svc.list()} == {person.id, machine.id}
    # the login e-mail is stored only hashed and encrypted; a customer's dies with its key (R3)
    customer, _ = svc.create(
        name="Eva",
        kind="person",
        role="customer",
        organisation="mini_nl",
        subject_id="cust-5",
        email="eva@example.org",
        password="eva's passphrase",
    )
    with engine.connect() as conn:
        stored = " ".join(repr(v) for row in conn.execute(callers_table.select()) for v in row)
    assert "example.org" not in stored and "Example.org" not in stored
    assert svc.get(customer.id).email == "eva@example.org"
    cipher.destroy_key("subject:cust-5")
    assert svc.get(customer.id).email is None and svc.get(person.id).email == "officer@example.org"


def test_automated_decisions_and_review(engine: Engine, policy) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    cipher = EnvelopeCipher(SqlDataKeyRepository(engine), MasterKeyRing(new_master_key()))
    svc = AutomatedDecisionService(SqlAutomatedDecisionRepository(engine, cipher), clock)
    model = Caller("m_ubi", CallerKind.MACHINE, Role.SERVICE, "mini_ag")
    d = svc.record(
        model,
        subject_id="cust-9",
        purpose="contract_performance",
        model="ubi",
        model_version="2.1",
        inputs={"harsh_braking": "12"},
        categories=("position_movement",),
        outcome="premium +10%",
    )
    assert svc.get(d.id) == d
    customer = Caller("p_c", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id="cust-9")
    rr = svc.request_review(customer, d.id, "I brake hard because of a school zone")
    reviewer = Caller("p_r", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
    done = svc.decide_review(reviewer, rr.id, "changed", "school zone confirmed", "premium +0%")
    assert svc.reviews(d.id) == [done]
    assert done.new_outcome == "premium +0%" and done.reviewer == "p_r"
