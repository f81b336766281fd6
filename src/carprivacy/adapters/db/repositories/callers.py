"""SQL repository of callers, their credentials and e-mail login codes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.tables.access import (
    caller_credentials,
    callers,
    email_codes,
    login_attempts,
)
from carprivacy.domain.access import CallerKind, Role
from carprivacy.domain.errors import ConflictError, KeyDestroyedError
from carprivacy.services.identity.callers import CallerRecord, EmailCode
from carprivacy.services.ports.crypto import FieldCipher


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlCallerRepository:
    """Callers; the login e-mail is stored as a keyed hash (lookup) and encrypted (delivery)."""

    def __init__(self, engine: Engine, cipher: FieldCipher, lookup_key: bytes) -> None:
        self.engine = engine
        self.cipher = cipher
        self._lookup_key = lookup_key

    def email_hash(self, email: str) -> str:
        return hmac.new(self._lookup_key, email.lower().encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _owner(caller_id: str, subject_id: str | None) -> str:
        return f"subject:{subject_id}" if subject_id else f"caller:{caller_id}"

    def _email(self, row: Row[Any]) -> str | None:
        if row.email_ciphertext is None:
            return None
        try:
            plain = self.cipher.decrypt(
                self._owner(row.id, row.subject_id),
                bytes(row.email_ciphertext),
                f"callers/email/{row.id}".encode(),
            )
        except KeyDestroyedError:
            return None  # the subject was erased: the address is gone
        return plain.decode()

    def _record(self, row: Row[Any]) -> CallerRecord:
        return CallerRecord(
            id=row.id,
            name=row.name,
            kind=CallerKind(row.kind),
            role=Role(row.role),
            organisation=row.organisation,
            scopes=frozenset(row.scopes.split()),
            created_at=_utc(row.created_at),
            email=self._email(row),
            subject_id=row.subject_id,
            fleet_id=row.fleet_id,
            disabled=bool(row.disabled),
        )

    def add(self, record: CallerRecord, credentials: Mapping[str, str] | None = None) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(callers).values(
                        id=record.id,
                        name=record.name,
                        kind=record.kind.value,
                        role=record.role.value,
                        organisation=record.organisation,
                        scopes=" ".join(sorted(record.scopes)),
                        email_hash=self.email_hash(record.email) if record.email else None,
                        email_ciphertext=self.cipher.encrypt(
                            self._owner(record.id, record.subject_id),
                            record.email.encode(),
                            f"callers/email/{record.id}".encode(),
                        )
                        if record.email
                        else None,
                        subject_id=record.subject_id,
                        fleet_id=record.fleet_id,
                        disabled=record.disabled,
                        created_at=_utc(record.created_at),
                    )
                )
                if credentials:
                    conn.execute(
                        insert(caller_credentials),
                        [
                            {
                                "caller_id": record.id,
                                "kind": kind,
                                "secret_hash": secret_hash,
                                "created_at": _utc(record.created_at),
                            }
                            for kind, secret_hash in credentials.items()
                        ],
                    )
        except IntegrityError as exc:
            raise ConflictError("a caller with this id or e-mail address exists") from exc

    def get(self, caller_id: str) -> CallerRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(callers).where(callers.c.id == caller_id)).first()
        return None if row is None else self._record(row)

    def by_email(self, email: str) -> CallerRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(callers).where(callers.c.email_hash == self.email_hash(email))
            ).first()
        return None if row is None else self._record(row)

    def list(self) -> list[CallerRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(callers).order_by(callers.c.created_at, callers.c.id))
            return [self._record(r) for r in rows]

    def set_disabled(self, caller_id: str, disabled: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(callers).where(callers.c.id == caller_id).values(disabled=disabled))

    def set_credential(self, caller_id: str, kind: str, secret_hash: str, at: datetime) -> None:
        c = caller_credentials.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(caller_credentials)
                .where(c.caller_id == caller_id, c.kind == kind)
                .values(secret_hash=secret_hash, created_at=_utc(at))
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(caller_credentials).values(
                        caller_id=caller_id, kind=kind, secret_hash=secret_hash, created_at=_utc(at)
                    )
                )

    def credential(self, caller_id: str, kind: str) -> str | None:
        c = caller_credentials.c
        with self.engine.connect() as conn:
            value = conn.execute(
                select(c.secret_hash).where(c.caller_id == caller_id, c.kind == kind)
            ).scalar()
        return None if value is None else str(value)

    def add_email_code(self, code: EmailCode) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(email_codes)
                .where(email_codes.c.caller_id == code.caller_id, email_codes.c.used.is_(False))
                .values(used=True)
            )
            conn.execute(
                insert(email_codes).values(
                    id=code.id,
                    caller_id=code.caller_id,
                    code_hash=code.code_hash,
                    expires_at=_utc(code.expires_at),
                    attempts=code.attempts,
                    used=code.used,
                    created_at=_utc(code.created_at),
                )
            )

    def email_code(self, code_id: str) -> EmailCode | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(email_codes).where(email_codes.c.id == code_id)).first()
        if row is None:
            return None
        return EmailCode(
            id=row.id,
            caller_id=row.caller_id,
            code_hash=row.code_hash,
            expires_at=_utc(row.expires_at),
            created_at=_utc(row.created_at),
            attempts=row.attempts,
            used=bool(row.used),
        )

    def email_codes_since(self, caller_id: str, since: datetime) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(email_codes)
                .where(
                    email_codes.c.caller_id == caller_id, email_codes.c.created_at >= _utc(since)
                )
            ).scalar_one()
        return int(count)

    def claim_email_code_attempt(self, code_id: str, max_attempts: int) -> bool:
        c = email_codes.c
        with self.engine.begin() as conn:
            result = conn.execute(
                update(email_codes)
                .where(c.id == code_id, c.used.is_(False), c.attempts < max_attempts)
                .values(attempts=c.attempts + 1)
            )
        return result.rowcount == 1

    def consume_email_code(self, code_id: str) -> bool:
        c = email_codes.c
        with self.engine.begin() as conn:
            result = conn.execute(
                update(email_codes).where(c.id == code_id, c.used.is_(False)).values(used=True)
            )
        return result.rowcount == 1

    def claim_login_attempt(
        self, login_key: str, limit: int, window_opened_after: datetime, at: datetime
    ) -> bool:
        """One upsert: the row lock serialises concurrent attempts of one name in every process
        (PostgreSQL; SQLite has one writer), so exactly ``limit`` attempts get through."""
        c = login_attempts.c
        over = c.window_start <= _utc(window_opened_after)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(login_attempts).values(
            login_key=login_key, attempts=1, window_start=_utc(at)
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[c.login_key],
            set_={
                "attempts": case((over, 1), else_=c.attempts + 1),
                "window_start": case((over, _utc(at)), else_=c.window_start),
            },
        ).returning(c.attempts)
        with self.engine.begin() as conn:
            conn.execute(delete(login_attempts).where(over, c.login_key != login_key))
            attempts = conn.execute(upsert).scalar_one()
        return int(attempts) <= limit

    def clear_login_attempts(self, login_key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_attempts).where(login_attempts.c.login_key == login_key))
