"""The master data store on SQLite and PostgreSQL (SPEC I4, P1, I3): every use case through the
real SQL repositories; contact data and payment details only as ciphertext; nothing half-written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.repositories.master import SqlMasterDataUnitOfWork
from carprivacy.adapters.db.tables.master import (
    customers,
    payment_transactions,
    vehicle_usages,
    vehicles,
)
from carprivacy.domain.errors import ConflictError, InvalidInputError, NotFoundError
from carprivacy.domain.master import (
    AccountKind,
    ContactDetails,
    PaymentMethod,
    PaymentMethodKind,
    UsageKind,
    Vehicle,
)
from carprivacy.services.master.service import MasterDataService
from carprivacy.testing.crypto import InMemoryFieldCipher

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
CONTACT = ContactDetails(
    surname="de Vries",
    first_name="Sanne",
    street="Laan van Meerdervoort",
    house_number="112B",
    postal_code="2517 AB",
    city="Den Haag",
    country="NL",
    email="sanne.devries@example.nl",
    phone="+31 70 123 4567",
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def cipher() -> InMemoryFieldCipher:
    return InMemoryFieldCipher()


@pytest.fixture
def service(engine: Engine, cipher: InMemoryFieldCipher) -> MasterDataService:
    return MasterDataService(
        lambda: SqlMasterDataUnitOfWork(engine, cipher),
        Clock(),
        controllers={"mini_ag": True, "mini_nl": False},
    )


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_customer_round_trip_with_contact_data_only_as_ciphertext(
    service: MasterDataService, engine: Engine
) -> None:
    created = service.register_customer(CONTACT)
    assert service.get_customer(created.id) == created
    assert created.created_at == T0 and created.created_at.tzinfo is not None
    with engine.connect() as conn:
        row = conn.execute(select(customers)).one()._mapping
    raw = b"".join(bytes(row[c]) for c in ("surname", "first_name", "street", "email", "phone"))
    for secret in ("Vries", "Sanne", "Meerdervoort", "example.nl", "4567"):
        assert secret.encode() not in raw


def test_ciphertext_is_bound_to_its_row(service: MasterDataService, engine: Engine) -> None:
    a = service.register_customer(CONTACT)
    b = service.register_customer(CONTACT)
    with engine.begin() as conn:
        stolen = conn.execute(select(customers.c.surname).where(customers.c.id == a.id)).scalar()
        conn.execute(customers.update().where(customers.c.id == b.id).values(surname=stolen))
    with pytest.raises(Exception, match="does not belong"):
        service.get_customer(b.id)


def test_destroying_the_subject_key_erases_contact_and_payment_details_only(
    service: MasterDataService, cipher: InMemoryFieldCipher
) -> None:
    c = service.register_customer(CONTACT)
    other = service.register_customer(CONTACT)
    v = service.register_vehicle("WMWXU31060T999999", "MINI Cooper", "Chili Red")
    contract = service.conclude_contract(c.id, v.id, T0, ["ecall"])
    account = service.open_account(c.id, "mini_ag", AccountKind.GROUP_LOGIN, "login@example.nl")
    method = PaymentMethod(PaymentMethodKind.SEPA_DEBIT, "NL**INGB****1234")
    pay = service.record_payment(c.id, 1299, "EUR", T0, method, contract.id)
    cipher.destroy_key(f"subject:{c.id}")
    erased = service.get_customer(c.id)
    assert erased.erased and erased.contact is None
    kept = service.get_payment(pay.id)  # statutory retention: the transaction stays
    assert (kept.amount_minor, kept.method.kind, kept.method.details) == (1299, "sepa_debit", None)
    assert service.accounts_of(c.id)[0].id == account.id
    assert service.accounts_of(c.id)[0].login_id is None
    assert service.get_contract(contract.id) == contract
    assert sorted(x.erased for x in service.list_customers().items) == [False, True]
    assert service.get_customer(other.id).contact == CONTACT
    with pytest.raises(ConflictError):
        service.update_customer(c.id, {"city": "Delft"})
    with pytest.raises(ConflictError):
        service.record_payment(c.id, 100, "EUR", T0, method)


def test_update_customer_changes_only_the_given_fields(service: MasterDataService) -> None:
    c = service.register_customer(CONTACT)
    updated = service.update_customer(c.id, {"city": "Rijswijk", "phone": None})
    assert updated.contact.city == "Rijswijk" and updated.contact.phone is None
    assert updated.contact.surname == "de Vries"
    assert service.get_customer(c.id) == updated


def test_update_customer_with_bad_input_writes_nothing(service: MasterDataService) -> None:
    c = service.register_customer(CONTACT)
    with pytest.raises(InvalidInputError) as err:
        service.update_customer(c.id, {"city": "Delft", "email": "nope", "vin": "x"})
    assert {(p.path, p.rule) for p in err.value.problems} == {("vin", "unknown_field")}
    with pytest.raises(InvalidInputError) as err:
        service.update_customer(c.id, {"city": "Delft", "email": "nope"})
    assert [(p.path, p.rule) for p in err.value.problems] == [("email", "email_format")]
    assert service.get_customer(c.id).contact.city == "Den Haag"


def test_paging_is_stable_and_counts_everything(service: MasterDataService) -> None:
    ids = [service.register_customer(CONTACT).id for _ in range(7)]
    first, second = service.list_customers(0, 4), service.list_customers(4, 4)
    assert first.total == 7 and second.total == 7
    assert sorted([c.id for c in first.items + second.items]) == sorted(ids)
    with pytest.raises(InvalidInputError):
        service.list_customers(-1, 0)


def test_vehicles_have_unique_vins_and_keep_their_equipment(service: MasterDataService) -> None:
    v = service.register_vehicle(
        "WMWXU31060T123456",
        "MINI Cooper SE",
        "British Racing Green",
        ["panorama_roof", "hud"],
        date(2040, 6, 30),
    )
    assert service.get_vehicle(v.id) == v
    assert service.find_vehicle_by_vin("WMWXU31060T123456") == v
    with pytest.raises(ConflictError):
        service.register_vehicle("WMWXU31060T123456", "MINI Cooper", "Chili Red")
    changed = service.update_vehicle(v.id, {"colour": "Midnight Black", "equipment": ["hud"]})
    assert service.get_vehicle(v.id).equipment == ("hud",) == changed.equipment
    with pytest.raises(NotFoundError):
        service.get_vehicle("00000000-0000-0000-0000-000000000000")


def test_owner_change_and_fleet_membership_attribute_data_over_time(
    service: MasterDataService, engine: Engine
) -> None:
    anna = service.register_customer(CONTACT)
    bram = service.register_customer(CONTACT)
    v = service.register_vehicle("WMW11DJ0102T45678", "MINI Countryman", "Chili Red")
    service.add_usage(v.id, UsageKind.OWNER, T0, customer_id=anna.id)
    change = T0 + timedelta(days=400)
    service.add_usage(v.id, UsageKind.OWNER, change, customer_id=bram.id)
    periods = service.usages_of(v.id)
    assert [(u.customer_id, u.end) for u in periods] == [(anna.id, change), (bram.id, None)]
    assert service.subject_for(v.id, change - timedelta(seconds=1)).customer_id == anna.id
    assert service.subject_for(v.id, change).customer_id == bram.id
    assert service.vehicles_of(anna.id, change - timedelta(days=1)) == [v]
    assert service.vehicles_of(anna.id, change) == []
    assert service.vehicles_of(bram.id, change) == [v]
    assert [u.end for u in service.usages_of_customer(anna.id)] == [change]

    fleet = service.create_fleet("LeasePlan Zakelijk", "NL")
    car = service.register_vehicle("WMWXR31000TX12345", "MINI Clubman", "Pepper White")
    service.add_usage(car.id, UsageKind.FLEET, T0, fleet_id=fleet.id)
    at = T0 + timedelta(days=2)
    assert service.subject_for(car.id, at).fleet_id == fleet.id
    assert service.subject_for(car.id, at).owner == f"vehicle:{car.id}"
    with pytest.raises(ConflictError):
        service.add_usage(v.id, UsageKind.OWNER, T0 + timedelta(days=10), customer_id=anna.id)
    assert _count(engine, vehicle_usages) == 3


def test_usage_for_unknown_parties_names_the_field_and_writes_nothing(
    service: MasterDataService, engine: Engine
) -> None:
    v = service.register_vehicle("WMWXU31060T765432", "MINI Cooper", "Chili Red")
    with pytest.raises(InvalidInputError) as err:
        service.add_usage(v.id, UsageKind.OWNER, T0, customer_id="nobody")
    assert [(p.path, p.rule) for p in err.value.problems] == [("customer_id", "exists")]
    with pytest.raises(NotFoundError):
        service.add_usage("no-such-vehicle", UsageKind.FLEET, T0, fleet_id="x")
    assert _count(engine, vehicle_usages) == 0


def test_contracts_need_known_parties_and_can_be_ended(service: MasterDataService) -> None:
    c = service.register_customer(CONTACT)
    v = service.register_vehicle("WMWXU31060T111111", "MINI Cooper SE", "Island Blue")
    contract = service.conclude_contract(c.id, v.id, T0, ["ecall", "rtti", "teleservices"])
    assert service.get_contract(contract.id) == contract
    assert service.contracts_of(c.id) == [contract]
    with pytest.raises(InvalidInputError) as err:
        service.conclude_contract(c.id, "unknown-vehicle", T0, ["ecall"])
    assert [(p.path, p.rule) for p in err.value.problems] == [("vehicle_id", "exists")]
    assert service.list_contracts().total == 1
    ended = service.update_contract(contract.id, {"end": T0 + timedelta(days=365)})
    assert service.get_contract(contract.id).end == ended.end == T0 + timedelta(days=365)
    with pytest.raises(InvalidInputError) as err:
        service.update_contract(contract.id, {"end": T0 - timedelta(days=1)})
    assert err.value.problems[0].rule == "after_start"


def test_payments_belong_to_their_customers_contract(
    service: MasterDataService, engine: Engine
) -> None:
    c = service.register_customer(CONTACT)
    other = service.register_customer(CONTACT)
    v = service.register_vehicle("WMWXU31060T222222", "MINI Cooper", "Chili Red")
    contract = service.conclude_contract(c.id, v.id, T0, ["remote_services"])
    method = PaymentMethod(PaymentMethodKind.CARD, "VISA **** 4242")
    paid = service.record_payment(c.id, 4999, "EUR", T0, method, contract.id)
    assert service.get_payment(paid.id) == paid
    with pytest.raises(InvalidInputError) as err:
        service.record_payment(other.id, 100, "EUR", T0, method, contract.id)
    assert [(p.path, p.rule) for p in err.value.problems] == [("contract_id", "same_customer")]
    with engine.connect() as conn:
        blob = conn.execute(select(payment_transactions.c.method_details)).scalar_one()
    assert b"4242" not in bytes(blob)
    assert _count(engine, payment_transactions) == 1


def test_deleting_the_group_login_account_leaves_the_national_records(
    service: MasterDataService,
) -> None:
    c = service.register_customer(CONTACT)
    group = service.open_account(c.id, "mini_ag", AccountKind.GROUP_LOGIN, "sanne@example.nl")
    national = service.open_account(c.id, "mini_nl", AccountKind.CUSTOMER, None)
    with pytest.raises(ConflictError):
        service.open_account(c.id, "mini_ag", AccountKind.GROUP_LOGIN, "again@example.nl")
    with pytest.raises(InvalidInputError) as err:
        service.open_account(c.id, "mini_nl", AccountKind.GROUP_LOGIN, None)
    assert err.value.problems[0].rule == "account_owner"
    service.delete_account(group.id)
    assert service.accounts_of(c.id) == [national]
    assert service.get_customer(c.id).contact == CONTACT
    with pytest.raises(NotFoundError):
        service.delete_account(group.id)


def test_the_database_refuses_a_duplicate_vin_even_past_the_service_check(
    engine: Engine, cipher: InMemoryFieldCipher
) -> None:
    v = Vehicle("a", "WMWXU31060T333333", "MINI Cooper", "Red", (), None, T0, T0)
    with SqlMasterDataUnitOfWork(engine, cipher) as uow:
        uow.vehicles.add(v)
        uow.commit()
    with pytest.raises(ConflictError), SqlMasterDataUnitOfWork(engine, cipher) as uow:
        uow.vehicles.add(Vehicle("b", v.vin, "MINI Cooper", "Blue", (), None, T0, T0))
    assert _count(engine, vehicles) == 1


def test_a_unit_of_work_left_without_commit_writes_nothing(
    service: MasterDataService, engine: Engine, cipher: InMemoryFieldCipher
) -> None:
    anna = service.register_customer(CONTACT)
    v = service.register_vehicle("WMWXU31060T444444", "MINI Cooper", "Chili Red")
    service.add_usage(v.id, UsageKind.OWNER, T0, customer_id=anna.id)
    open_period = service.usages_of(v.id)[0]
    with pytest.raises(RuntimeError), SqlMasterDataUnitOfWork(engine, cipher) as uow:
        uow.usages.update(replace(open_period, end=T0 + timedelta(days=1)))
        uow.customers.add(replace(anna, id="someone-else"))
        raise RuntimeError("crash between the writes and the commit")
    assert service.usages_of(v.id) == [open_period]
    assert service.list_customers().total == 1


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
    ).filter(str.strip)
)
def test_any_unicode_contact_survives_the_encrypted_round_trip(
    service: MasterDataService, text: str
) -> None:
    contact = replace(CONTACT, surname=text, city=text, street=text)
    got = service.get_customer(service.register_customer(contact).id)
    assert got.contact == contact
