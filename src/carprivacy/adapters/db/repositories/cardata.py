"""SQL repository of CarData: client ids, device grants, refresh tokens, containers and call
counts (the ports of ``services/cardata/ports.py``). Every deciding write is one conditional
statement: a grant answered or used once, a refresh token used once, a call counted once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, and_, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.tables.cardata import (
    cardata_calls,
    cardata_clients,
    cardata_containers,
    cardata_grants,
    cardata_refresh_tokens,
)
from carprivacy.domain.cardata import (
    CarDataClient,
    Container,
    DeviceGrant,
    GrantStatus,
    RefreshToken,
)
from carprivacy.domain.errors import ConflictError


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _maybe(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


class SqlCarDataRepository:
    """Implements ``AuthorisationRepository``, ``ContainerRepository`` and ``CallCounter``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- clients -----------------------------------------------------------------------------

    def add_client(self, client: CarDataClient) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(cardata_clients).values(
                    id=client.id,
                    owner_id=client.owner_id,
                    name=client.name,
                    scopes=" ".join(sorted(client.scopes)),
                    created_at=_utc(client.created_at),
                )
            )

    @staticmethod
    def _client(row: Row[Any]) -> CarDataClient:
        return CarDataClient(
            row.id, row.owner_id, row.name, frozenset(row.scopes.split()), _utc(row.created_at)
        )

    def client(self, client_id: str) -> CarDataClient | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cardata_clients).where(cardata_clients.c.id == client_id)
            ).first()
        return None if row is None else self._client(row)

    def clients_of(self, owner_id: str) -> list[CarDataClient]:
        c = cardata_clients.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cardata_clients).where(c.owner_id == owner_id).order_by(c.created_at, c.id)
            ).all()
        return [self._client(r) for r in rows]

    def delete_client(self, client_id: str) -> bool:
        g = cardata_grants.c
        with self.engine.begin() as conn:
            conn.execute(
                update(cardata_grants)
                .where(g.client_id == client_id)
                .values(status=GrantStatus.REVOKED.value)
            )
            done = conn.execute(delete(cardata_clients).where(cardata_clients.c.id == client_id))
        return done.rowcount == 1

    # -- grants ------------------------------------------------------------------------------

    def add_grant(self, grant: DeviceGrant) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(cardata_grants).values(
                        id=grant.id,
                        client_id=grant.client_id,
                        owner_id=grant.owner_id,
                        device_code_hash=grant.device_code_hash,
                        user_code_hash=grant.user_code_hash,
                        code_challenge=grant.code_challenge,
                        scopes=" ".join(sorted(grant.scopes)),
                        interval=grant.interval,
                        expires_at=_utc(grant.expires_at),
                        created_at=_utc(grant.created_at),
                        status=grant.status.value,
                        last_poll_at=_maybe(grant.last_poll_at),
                        gcid=grant.gcid,
                    )
                )
        except IntegrityError as exc:
            raise ConflictError("a grant with this code exists") from exc

    @staticmethod
    def _grant(row: Row[Any]) -> DeviceGrant:
        return DeviceGrant(
            id=row.id,
            client_id=row.client_id,
            owner_id=row.owner_id,
            device_code_hash=row.device_code_hash,
            user_code_hash=row.user_code_hash,
            code_challenge=row.code_challenge,
            scopes=frozenset(row.scopes.split()),
            interval=int(row.interval),
            expires_at=_utc(row.expires_at),
            created_at=_utc(row.created_at),
            status=GrantStatus(row.status),
            last_poll_at=_maybe(row.last_poll_at),
            gcid=row.gcid,
        )

    def _one_grant(self, where: Any) -> DeviceGrant | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cardata_grants).where(where)).first()
        return None if row is None else self._grant(row)

    def grant(self, grant_id: str) -> DeviceGrant | None:
        return self._one_grant(cardata_grants.c.id == grant_id)

    def grant_by_device_code(self, device_code_hash: str) -> DeviceGrant | None:
        return self._one_grant(cardata_grants.c.device_code_hash == device_code_hash)

    def grant_by_user_code(self, user_code_hash: str) -> DeviceGrant | None:
        return self._one_grant(cardata_grants.c.user_code_hash == user_code_hash)

    def record_poll(self, grant_id: str, at: datetime, interval: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(cardata_grants)
                .where(cardata_grants.c.id == grant_id)
                .values(last_poll_at=_utc(at), interval=interval)
            )

    def set_status(
        self, grant_id: str, expected: GrantStatus, status: GrantStatus, gcid: str | None = None
    ) -> bool:
        g = cardata_grants.c
        values: dict[str, object] = {"status": status.value}
        if gcid is not None:
            values["gcid"] = gcid
        with self.engine.begin() as conn:
            done = conn.execute(
                update(cardata_grants)
                .where(g.id == grant_id, g.status == expected.value)
                .values(**values)
            )
        return done.rowcount == 1

    # -- refresh tokens ----------------------------------------------------------------------

    def add_refresh_token(self, token: RefreshToken) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(cardata_refresh_tokens).values(
                    token_hash=token.token_hash,
                    grant_id=token.grant_id,
                    expires_at=_utc(token.expires_at),
                    created_at=_utc(token.created_at),
                    used=token.used,
                )
            )

    def use_refresh_token(self, token_hash: str) -> RefreshToken | None:
        t = cardata_refresh_tokens.c
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(cardata_refresh_tokens)
                .where(and_(t.token_hash == token_hash, t.used.is_(False)))
                .values(used=True)
            ).rowcount
            row = conn.execute(
                select(cardata_refresh_tokens).where(t.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        return RefreshToken(
            row.token_hash,
            row.grant_id,
            _utc(row.expires_at),
            _utc(row.created_at),
            used=claimed != 1,
        )

    # -- containers --------------------------------------------------------------------------

    def add_container(self, container: Container) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(cardata_containers).values(
                    id=container.id,
                    owner_id=container.owner_id,
                    name=container.name,
                    purpose=container.purpose,
                    descriptors=json.dumps(list(container.descriptors)),
                    created_at=_utc(container.created_at),
                    deleted=container.deleted,
                )
            )

    @staticmethod
    def _container(row: Row[Any]) -> Container:
        return Container(
            row.id,
            row.owner_id,
            row.name,
            row.purpose,
            tuple(json.loads(row.descriptors)),
            _utc(row.created_at),
            bool(row.deleted),
        )

    def container(self, container_id: str) -> Container | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cardata_containers).where(cardata_containers.c.id == container_id)
            ).first()
        return None if row is None else self._container(row)

    def containers_of(self, owner_id: str) -> list[Container]:
        c = cardata_containers.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cardata_containers)
                .where(c.owner_id == owner_id)
                .order_by(c.created_at, c.id)
            ).all()
        return [self._container(r) for r in rows]

    def delete_container(self, container_id: str) -> bool:
        c = cardata_containers.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(cardata_containers)
                .where(c.id == container_id, c.deleted.is_(False))
                .values(deleted=True)
            )
        return done.rowcount == 1

    # -- call counts -------------------------------------------------------------------------

    def count_call(
        self, keys: Sequence[str], window_opened_after: datetime, at: datetime
    ) -> list[tuple[int, datetime]]:
        """One upsert per key in one transaction (the row lock serialises concurrent calls of
        one key in every process); windows that are over are forgotten on the way."""
        c = cardata_calls.c
        over = c.window_start <= _utc(window_opened_after)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        counted = []
        with self.engine.begin() as conn:
            conn.execute(delete(cardata_calls).where(over, c.call_key.not_in(list(keys))))
            for key in keys:
                upsert = dialect.insert(cardata_calls).values(
                    call_key=key, calls=1, window_start=_utc(at)
                )
                upsert = upsert.on_conflict_do_update(
                    index_elements=[c.call_key],
                    set_={
                        "calls": case((over, 1), else_=c.calls + 1),
                        "window_start": case((over, _utc(at)), else_=c.window_start),
                    },
                ).returning(c.calls, c.window_start)
                calls, start = conn.execute(upsert).one()
                counted.append((int(calls), _utc(start)))
        return counted
