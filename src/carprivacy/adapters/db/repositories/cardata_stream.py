"""SQL repository of the CarData stream's credentials (``StreamCredentialRepository``): one row
per account, replaced by the newest token issued (one upsert statement)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from carprivacy.adapters.db.tables.cardata_stream import cardata_stream_credentials as table
from carprivacy.domain.cardata_stream import StreamCredential


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlStreamCredentialRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_credential(self, credential: StreamCredential) -> None:
        values = {
            "gcid": credential.gcid,
            "owner_id": credential.owner_id,
            "client_id": credential.client_id,
            "grant_id": credential.grant_id,
            "expires_at": _utc(credential.expires_at),
            "issued_at": _utc(credential.issued_at),
        }
        changed = {k: v for k, v in values.items() if k != "gcid"}
        dialect = self.engine.dialect.name
        with self.engine.begin() as conn:
            if dialect in ("sqlite", "postgresql"):
                insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
                stmt = insert(table).values(**values)
                conn.execute(stmt.on_conflict_do_update(index_elements=["gcid"], set_=changed))
            else:  # pragma: no cover - the two supported stores have upserts
                done = conn.execute(
                    update(table).where(table.c.gcid == credential.gcid).values(**changed)
                )
                if not done.rowcount:
                    conn.execute(table.insert().values(**values))

    def credentials(self) -> list[StreamCredential]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.gcid)).all()
        return [
            StreamCredential(
                r.gcid, r.owner_id, r.client_id, r.grant_id, _utc(r.expires_at), _utc(r.issued_at)
            )
            for r in rows
        ]
