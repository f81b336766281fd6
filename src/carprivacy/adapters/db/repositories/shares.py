"""SQL repository of CarData sharing (the ``ShareRepository`` port): third parties, share
requests, shares and their append-only history. A state change is one conditional update and
its history entry, in one transaction: of two concurrent revocations one is recorded.

:func:`share_consents` reads the shares of some subjects inside a decision-facts transaction
(``repositories/decision_facts.py``), as the engine sees them (``domain.shares.as_consent``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.id_sets import among
from carprivacy.adapters.db.tables.shares import (
    cardata_share_events,
    cardata_shares,
    share_requests,
    third_parties,
)
from carprivacy.domain.errors import ConflictError
from carprivacy.domain.policy import TransferMechanism
from carprivacy.domain.shares import (
    Share,
    ShareEvent,
    ShareReason,
    ShareRequest,
    ShareState,
    ShareVia,
    ThirdParty,
    as_consent,
)
from carprivacy.domain.subject_state import ConsentRecord


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _maybe(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _share(row: Row[Any]) -> Share:
    return Share(
        id=row.id,
        subject_id=row.subject_id,
        vehicle_id=row.vehicle_id,
        party=row.party,
        purpose=row.purpose,
        topic=row.topic,
        agreed_purpose=row.agreed_purpose,
        descriptors=tuple(json.loads(row.descriptors)),
        categories=tuple(json.loads(row.categories)),
        withheld=tuple(json.loads(row.withheld)),
        valid_from=_utc(row.valid_from),
        valid_until=_utc(row.valid_until),
        created_at=_utc(row.created_at),
        created_by=row.created_by,
        via=ShareVia(row.via),
        state=ShareState(row.state),
        revoked_at=_maybe(row.revoked_at),
        grant_id=row.grant_id,
        terms_version=row.terms_version,
        purpose_bound=bool(row.purpose_bound),
        onward_transfer=bool(row.onward_transfer),
    )


def _event(row: Row[Any]) -> ShareEvent:
    return ShareEvent(
        row.share_id,
        int(row.seq),
        _utc(row.at),
        ShareState(row.state),
        row.actor,
        ShareReason(row.reason),
    )


def share_consents(
    conn: Connection, subject_ids: Collection[str]
) -> dict[str, list[ConsentRecord]]:
    """The shares of ``subject_ids`` as consent records, per subject (one query)."""
    if not subject_ids:
        return {}
    s = cardata_shares.c
    rows = conn.execute(
        select(cardata_shares)
        .where(among(conn.dialect.name, s.subject_id, subject_ids))
        .order_by(s.created_at, s.id)
    )
    out: dict[str, list[ConsentRecord]] = {}
    for row in rows:
        out.setdefault(row.subject_id, []).append(as_consent(_share(row)))
    return out


class SqlShareRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- third parties -----------------------------------------------------------------------

    def add_party(self, party: ThirdParty) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(third_parties).values(
                        id=party.id,
                        name=party.name,
                        member_of=party.member_of,
                        country=party.country,
                        transfer_mechanism=party.transfer_mechanism.value,
                        undertaking=party.undertaking,
                        registered_at=_utc(party.registered_at),
                        registered_by=party.registered_by,
                    )
                )
        except IntegrityError as exc:
            raise ConflictError("a third party with this id exists") from exc

    @staticmethod
    def _party(row: Row[Any]) -> ThirdParty:
        return ThirdParty(
            row.id,
            row.name,
            row.member_of,
            row.country,
            TransferMechanism(row.transfer_mechanism),
            row.undertaking,
            _utc(row.registered_at),
            row.registered_by,
        )

    def party(self, party_id: str) -> ThirdParty | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(third_parties).where(third_parties.c.id == party_id)).first()
        return None if row is None else self._party(row)

    def parties(self) -> list[ThirdParty]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(third_parties).order_by(third_parties.c.id)).all()
        return [self._party(r) for r in rows]

    # -- share requests ----------------------------------------------------------------------

    def add_request(self, request: ShareRequest) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(share_requests).values(
                    client_id=request.client_id,
                    party=request.party,
                    purpose=request.purpose,
                    agreed_purpose=request.agreed_purpose,
                    descriptors=json.dumps(list(request.descriptors)),
                    days=request.days,
                )
            )

    def request_of(self, client_id: str) -> ShareRequest | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(share_requests).where(share_requests.c.client_id == client_id)
            ).first()
        if row is None:
            return None
        return ShareRequest(
            row.client_id,
            row.party,
            row.purpose,
            row.agreed_purpose,
            tuple(json.loads(row.descriptors)),
            int(row.days),
        )

    # -- shares ------------------------------------------------------------------------------

    def add_share(self, share: Share, event: ShareEvent) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(cardata_shares).values(
                    id=share.id,
                    subject_id=share.subject_id,
                    vehicle_id=share.vehicle_id,
                    party=share.party,
                    purpose=share.purpose,
                    topic=share.topic,
                    agreed_purpose=share.agreed_purpose,
                    descriptors=json.dumps(list(share.descriptors)),
                    categories=json.dumps(list(share.categories)),
                    withheld=json.dumps(list(share.withheld)),
                    valid_from=_utc(share.valid_from),
                    valid_until=_utc(share.valid_until),
                    created_at=_utc(share.created_at),
                    created_by=share.created_by,
                    via=share.via.value,
                    state=share.state.value,
                    revoked_at=_maybe(share.revoked_at),
                    grant_id=share.grant_id,
                    terms_version=share.terms_version,
                    purpose_bound=share.purpose_bound,
                    onward_transfer=share.onward_transfer,
                )
            )
            self._append(conn, event)

    @staticmethod
    def _append(conn: Connection, event: ShareEvent) -> None:
        conn.execute(
            insert(cardata_share_events).values(
                share_id=event.share_id,
                seq=event.seq,
                at=_utc(event.at),
                state=event.state.value,
                actor=event.actor,
                reason=event.reason.value,
                recorded_at=datetime.now(UTC),
            )
        )

    def share(self, share_id: str) -> Share | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cardata_shares).where(cardata_shares.c.id == share_id)
            ).first()
        return None if row is None else _share(row)

    def shares(
        self,
        *,
        subject_id: str | None = None,
        party: str | None = None,
        vehicle_id: str | None = None,
        grant_id: str | None = None,
    ) -> list[Share]:
        s = cardata_shares.c
        query = select(cardata_shares).order_by(s.created_at, s.id)
        if subject_id is not None:
            query = query.where(s.subject_id == subject_id)
        if party is not None:
            query = query.where(s.party == party)
        if vehicle_id is not None:
            query = query.where(s.vehicle_id == vehicle_id)
        if grant_id is not None:
            query = query.where(s.grant_id == grant_id)
        with self.engine.connect() as conn:
            return [_share(r) for r in conn.execute(query)]

    def move(
        self,
        share_id: str,
        expected: ShareState,
        event: ShareEvent,
        revoked_at: datetime | None = None,
    ) -> bool:
        s = cardata_shares.c
        values: dict[str, Any] = {"state": event.state.value}
        if revoked_at is not None:
            values["revoked_at"] = _utc(revoked_at)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(cardata_shares)
                .where(s.id == share_id, s.state == expected.value)
                .values(**values)
            )
            if done.rowcount != 1:
                return False
            e = cardata_share_events.c
            last = conn.execute(
                select(func.max(e.seq)).where(e.share_id == share_id)
            ).scalar_one_or_none()
            self._append(conn, ShareEvent(
                share_id, int(last or 0) + 1, event.at, event.state, event.actor, event.reason
            ))  # fmt: skip
        return True

    def events(self, share_id: str) -> list[ShareEvent]:
        e = cardata_share_events.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cardata_share_events).where(e.share_id == share_id).order_by(e.seq)
            ).all()
        return [_event(r) for r in rows]

    def events_since(self, after: datetime, state: ShareState) -> list[ShareEvent]:
        e = cardata_share_events.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cardata_share_events)
                .where(e.recorded_at > _utc(after), e.state == state.value)
                .order_by(e.recorded_at, e.share_id, e.seq)
            ).all()
        return [_event(r) for r in rows]
