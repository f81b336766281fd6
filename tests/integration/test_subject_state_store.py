"""The subject state store on SQLite and PostgreSQL: round trips, closing records, the decision
service reading it, and migration 0004 matching the tables (SPEC U2, C4, R4, R6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect

from carprivacy.adapters.db.migrate import downgrade, upgrade
from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository
from carprivacy.adapters.db.tables import subject_state as tables
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.errors import ConflictError, InvalidInputError
from carprivacy.domain.subject_state import OverrideGround, RestrictionCase
from carprivacy.services.access.decisions import DecisionService
from carprivacy.services.consent.subject_state import SubjectStateService
from carprivacy.testing.audit import InMemoryAuditTrail
from carprivacy.testing.crypto import InMemoryFieldCipher
from carprivacy.testing.decision_facts import InMemoryDecisionFacts
from carprivacy.testing.decision_policy import sample_policy
from carprivacy.testing.subject_state import InMemoryMasterFacts, InMemorySubjectStateRepository

T0 = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
POLICY = sample_policy()
DEALER = Caller("d", CallerKind.PERSON, Role.DEALER, "dealers")
CRM = Caller("crm", CallerKind.MACHINE, Role.SERVICE, "bmw_nl")


def exercise(service: SubjectStateService) -> None:
    service.give("s1", "marketing_email", at=T0, by="s1", channel="portal")
    service.give("s1", "obfcm_refusal", at=T0, by="dealer-7", channel="workshop", vehicle_id="v1")
    service.withdraw("s1", "marketing_email", at=T0 + timedelta(days=2), by="s1", channel="app")
    o = service.object("s1", at=T0, by="s1", purpose="after_sales_service", grounds="why")
    service.override(
        "s1",
        "after_sales_service",
        OverrideGround.LEGAL_CLAIMS,
        "claim 7",
        at=T0 + timedelta(hours=1),
        by="dpo",
    )
    service.object("s1", at=T0, by="s1", marketing=True)
    r = service.restrict(
        "s1", RestrictionCase.OBJECTION_PENDING, at=T0, by="dpo", categories=("contact_data",)
    )
    service.lift("s1", r.id, at=T0 + timedelta(days=3), by="dpo", notice="letter of 2025-03-03")
    service.withdraw_objection("s1", o.id, at=T0 + timedelta(days=5))


def test_sql_store_round_trips_like_the_fake(engine: Engine) -> None:
    sql = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    fake = InMemorySubjectStateRepository()
    exercise(SubjectStateService(POLICY, sql))
    exercise(SubjectStateService(POLICY, fake))

    def strip(records: list[object]) -> list[dict[str, object]]:
        rows = [{k: v for k, v in r.__dict__.items() if k != "id"} for r in records]
        return sorted(rows, key=repr)

    for kind in ("consents", "objections", "overrides", "restrictions"):
        got, want = getattr(sql, kind)("s1"), getattr(fake, kind)("s1")
        assert strip(got) == strip(want), kind
    consents = {c.topic: c for c in sql.consents("s1")}
    assert consents["marketing_email"].withdrawn_at == T0 + timedelta(days=2)
    assert consents["obfcm_refusal"].given_at == T0 and consents["obfcm_refusal"].vehicle_id == "v1"
    assert sql.restrictions("s1")[0].lift_notice == "letter of 2025-03-03"
    assert sql.consents("nobody") == []


def test_updates_of_unknown_records_write_nothing(engine: Engine) -> None:
    sql = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    service = SubjectStateService(POLICY, sql)
    r = service.restrict("s1", RestrictionCase.ACCURACY_CONTESTED, at=T0, by="dpo")
    with pytest.raises(InvalidInputError) as err:
        service.lift("s1", r.id, at=T0, by="dpo", notice="  ")
    assert err.value.problems[0].path == "notice"
    assert sql.restrictions("s1")[0].lifted_at is None
    from dataclasses import replace

    with pytest.raises(KeyError):
        sql.update_restriction(replace(r, id="missing"))


def test_invalid_input_names_field_and_rule_and_writes_nothing(engine: Engine) -> None:
    sql = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    service = SubjectStateService(POLICY, sql)
    with pytest.raises(InvalidInputError) as err:
        service.give("s1", "no_topic", at=T0, by="s1", channel="")
    assert {(p.path, p.rule) for p in err.value.problems} == {
        ("channel", "required"),
        ("topic", "unknown"),
    }
    with pytest.raises(InvalidInputError) as err:
        service.give("s1", "obfcm_refusal", at=T0, by="s1", channel="workshop")
    assert err.value.problems[0].path == "vehicle_id"
    service.object("s1", at=T0, by="s1", marketing=True)
    with pytest.raises(InvalidInputError) as err:
        service.override(
            "s1", "market_research", OverrideGround.COMPELLING_GROUNDS, "x", at=T0, by="dpo"
        )
    assert err.value.problems[0].rule == "art21_3"
    with pytest.raises(ConflictError):
        service.override(
            "s1", "after_sales_service", OverrideGround.COMPELLING_GROUNDS, "x", at=T0, by="dpo"
        )
    with pytest.raises(InvalidInputError):
        service.object("s1", at=T0, by="s1", purpose="contract_performance")
    assert sql.consents("s1") == [] and sql.overrides("s1") == []


def test_decision_service_reads_the_sql_store(engine: Engine) -> None:
    sql = SqlSubjectStateRepository(engine, InMemoryFieldCipher())
    service = SubjectStateService(POLICY, sql)
    audit = InMemoryAuditTrail()
    decisions = DecisionService(POLICY, InMemoryDecisionFacts(sql, InMemoryMasterFacts()), audit)
    ask = DecisionRequest(CRM, "marketing_email", ("contact_data",), T0 + timedelta(days=1), "s1")
    assert decisions.decide(ask).rule == "consent.required"
    service.give("s1", "marketing_email", at=T0, by="s1", channel="portal")
    assert decisions.decide(ask).outcome is Outcome.ALLOW
    service.object("s1", at=T0, by="s1", purpose="after_sales_service")
    batch = decisions.decide_many(
        [ask, DecisionRequest(DEALER, "after_sales_service", ("maintenance",), T0, "s1")]
    )
    assert [d.rule for d in batch] == ["purpose.allowed", "objection.art21"]
    assert len(audit.records) == 4


def test_migration_0004_matches_the_tables(empty_engine: Engine) -> None:
    upgrade(empty_engine, "head")
    insp = inspect(empty_engine)
    for table in (
        tables.subject_consents,
        tables.subject_objections,
        tables.subject_overrides,
        tables.subject_restrictions,
    ):
        cols = {c["name"]: c for c in insp.get_columns(table.name)}
        assert set(cols) == {c.name for c in table.columns}, table.name
        for c in table.columns:
            assert cols[c.name]["nullable"] == c.nullable, (table.name, c.name)
        assert {i["name"] for i in insp.get_indexes(table.name)} == {i.name for i in table.indexes}
    downgrade(empty_engine, "0003_access")
    assert "subject_consents" not in inspect(empty_engine).get_table_names()


def test_free_text_is_sealed_and_shredded_with_the_subject_key(engine: Engine) -> None:
    from sqlalchemy import text

    cipher = InMemoryFieldCipher()
    sql = SqlSubjectStateRepository(engine, cipher)
    service = SubjectStateService(POLICY, sql)
    service.object("s1", at=T0, by="s1", purpose="after_sales_service", grounds="Mijn ziekte")
    service.override(
        "s1", "after_sales_service", OverrideGround.LEGAL_CLAIMS, "Zaak Jansen", at=T0, by="dpo"
    )
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT grounds FROM subject_objections")).scalar_one()
    assert b"ziekte" not in bytes(raw)
    assert sql.objections("s1")[0].grounds == "Mijn ziekte"
    cipher.destroy_key("subject:s1")
    objection = sql.objections("s1")[0]
    assert objection.grounds == "" and sql.overrides("s1")[0].justification == ""
    assert objection.active(T0)  # the record itself still counts
