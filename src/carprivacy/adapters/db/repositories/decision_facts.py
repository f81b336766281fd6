"""The decision facts of many subjects and vehicles in one read (the DecisionFacts port, U1, U2).

One transaction, a fixed number of queries whatever the number of rows: the usage periods of the
vehicles, then (for the named subjects and every customer of those periods) the customers' country
of residence, their contracts and their consents, objections, overrides and restrictions. Of a
customer's sealed contact data only ``country`` is opened: a decision never needs the rest.

Bound to an engine it opens its own transaction; bound to a connection (``on``) it reads inside
the caller's, so that the gate loads a record and its facts in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Engine, select

from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.repositories.sealing import (
    FieldSealer,
    from_db_time,
    opt_from_db_time,
)
from carprivacy.adapters.db.repositories.shares import share_consents
from carprivacy.adapters.db.repositories.subject_state import SqlSubjectStateRepository
from carprivacy.adapters.db.tables.master import contracts, customers, vehicle_usages
from carprivacy.domain.decision_facts import FactsSnapshot, SubjectRecord, users_of
from carprivacy.domain.errors import KeyDestroyedError
from carprivacy.domain.subject_state import ContractCover, FleetPeriod, UsagePeriod
from carprivacy.domain.vehicle_usage import UsageKind
from carprivacy.services.ports.crypto import FieldCipher


class SqlDecisionFacts:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        self._sealer = FieldSealer(cipher)
        self._state = SqlSubjectStateRepository(engine, cipher)
        self._conn: Connection | None = None

    def on(self, conn: Connection) -> SqlDecisionFacts:
        """The same reader inside the transaction of ``conn``."""
        bound = SqlDecisionFacts(self._engine, self._cipher)
        bound._conn = conn
        return bound

    def snapshot(
        self, subject_ids: Collection[str], vehicle_ids: Collection[str], *, countries: bool = True
    ) -> FactsSnapshot:
        if self._conn is not None:
            return self._read(self._conn, subject_ids, vehicle_ids, countries)
        with self._engine.connect() as conn, conn.begin():
            return self._read(conn, subject_ids, vehicle_ids, countries)

    def _read(
        self,
        conn: Connection,
        subject_ids: Collection[str],
        vehicle_ids: Collection[str],
        with_countries: bool,
    ) -> FactsSnapshot:
        usage: dict[str, list[UsagePeriod]] = {v: [] for v in vehicle_ids}
        fleets: dict[str, list[FleetPeriod]] = {v: [] for v in vehicle_ids}
        dialect = conn.dialect.name
        u = vehicle_usages.c
        if usage:
            query = (
                select(u.vehicle_id, u.customer_id, u.fleet_id, u.kind, u.starts_at, u.ends_at)
                .where(among(dialect, u.vehicle_id, usage))
                .order_by(u.starts_at, u.id)
            )
            for ur in conn.execute(query):
                begins, ends = from_db_time(ur.starts_at), opt_from_db_time(ur.ends_at)
                if ur.customer_id is not None:
                    driver = ur.kind == UsageKind.DRIVER.value
                    period = UsagePeriod(ur.vehicle_id, ur.customer_id, begins, ends, driver)
                    usage[ur.vehicle_id].append(period)
                if ur.kind == UsageKind.FLEET.value and ur.fleet_id is not None:
                    fleets[ur.vehicle_id].append(
                        FleetPeriod(ur.vehicle_id, ur.fleet_id, begins, ends)
                    )
        wanted = set(subject_ids) | users_of(usage)
        countries: dict[str, str | None] = {}
        covers: dict[str, list[ContractCover]] = {}
        if wanted:
            known = among(dialect, customers.c.id, wanted)
            if with_countries:
                rows = conn.execute(select(customers.c.id, customers.c.country).where(known))
                for row in rows:
                    countries[row.id] = self._country(row.id, row.country)
            else:  # known or not; no country opened
                for (found,) in conn.execute(select(customers.c.id).where(known)):
                    countries[found] = None
            k = contracts.c  # only what a cover needs: no services (JSON), no bookkeeping
            query = (
                select(k.id, k.customer_id, k.starts_at, k.ends_at, k.vehicle_id)
                .where(among(dialect, k.customer_id, wanted))
                .order_by(contracts.c.starts_at, contracts.c.id)
            )
            for c in conn.execute(query):
                covers.setdefault(c.customer_id, []).append(
                    ContractCover(
                        c.id,
                        c.customer_id,
                        from_db_time(c.starts_at),
                        opt_from_db_time(c.ends_at),
                        vehicle_id=c.vehicle_id,
                    )
                )
        state = self._state.held_on(conn, countries)
        shared = share_consents(conn, countries)  # CarData shares: consents of one party each
        subjects = {
            s: SubjectRecord(
                country=countries[s],
                consents=(*state[s].consents, *shared.get(s, ())),
                objections=tuple(state[s].objections),
                overrides=tuple(state[s].overrides),
                restrictions=tuple(state[s].restrictions),
                contracts=tuple(covers.get(s, ())),
            )
            for s in countries
        }
        return FactsSnapshot(
            subjects,
            {v: tuple(p) for v, p in usage.items()},
            {v: tuple(p) for v, p in fleets.items()},
        )

    def _country(self, customer_id: str, blob: bytes) -> str | None:
        try:
            country = self._sealer.open(customer_id, "customers", "country", customer_id, blob)
        except KeyDestroyedError:
            return None  # erased: the customer is still known, its country no longer
        return country or None
