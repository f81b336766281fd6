"""Retention by whole time partitions on PostgreSQL (SPEC L1, L2; adapters/db/partitions.py).

A week of telemetry whose rows have all expired at the run's moment, none under an active legal
hold, is found with three statements on that partition alone (one probe of the expiry index for
a live row, one for a held row, one grouped count of what the rules depend on); the retention
service decides each group's rule, and when every group's rule deletes, the week is dropped in
one transaction that also records the run's counts. The drop locks ``telemetry`` first (as
``DROP TABLE`` of a partition would), then checks again that no row came in since the count (a
higher id), none is live and none held, so a late row is never dropped with the week.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, column, exists, select, table, text

from carprivacy.adapters.db import partitions
from carprivacy.adapters.db.repositories.sealing import to_db_time
from carprivacy.adapters.db.tables.retention import legal_holds
from carprivacy.services.retention.ports import ExpiredGroup, ExpiredPartition


def _part(name: str) -> Any:
    return table(name, column("subject_id"), column("vehicle_id"), column("category"))


def _held_row(conn: Connection, name: str) -> bool:
    """Whether an active hold covers a row of the partition."""
    h, t = legal_holds.c, _part(name).c
    held = exists().where(
        h.released_at.is_(None),
        (h.subject_id.is_(None)) | (h.subject_id == t.subject_id),
        (h.vehicle_id.is_(None)) | (h.vehicle_id == t.vehicle_id),
        (h.category.is_(None)) | (h.category == t.category),
    )
    return (
        conn.execute(select(text("1")).select_from(_part(name)).where(held).limit(1)).first()
        is not None
    )


def _live_row(conn: Connection, name: str, now: datetime) -> bool:
    found = conn.execute(
        text(f"SELECT 1 FROM {name} WHERE expires_at IS NULL OR expires_at > :now LIMIT 1"),
        {"now": to_db_time(now)},
    ).first()
    return found is not None


def expired(conn: Connection, now: datetime, holds: bool) -> list[ExpiredPartition]:
    """The weeks ended by ``now`` whose rows have all expired, none held (``holds``: whether
    any hold is active), oldest first, with their rows grouped by what the rules need."""
    if not partitions.partitioned(conn):
        return []
    found: list[ExpiredPartition] = []
    for week in partitions.weeks(conn):
        if week.ends > now:
            break
        name = week.name
        if _live_row(conn, name, now) or (holds and _held_row(conn, name)):
            continue
        groups = conn.execute(
            text(
                "SELECT category, purposes, "
                "round(extract(epoch FROM expires_at - ts) * 1000)::bigint, "
                f"value_ciphertext IS NOT NULL, count(*), max(id) FROM {name} GROUP BY 1, 2, 3, 4"
            )
        ).all()
        found.append(
            ExpiredPartition(
                name,
                sum(int(g[4]) for g in groups),
                tuple(
                    ExpiredGroup(
                        g[0],
                        tuple(json.loads(g[1])),
                        timedelta(milliseconds=int(g[2])),
                        bool(g[3]),
                        int(g[4]),
                    )
                    for g in groups
                ),
                max((int(g[5]) for g in groups), default=0),
            )
        )
    return found


def drop(conn: Connection, partition: ExpiredPartition, now: datetime) -> bool:
    """Within the caller's transaction: drop the partition if it still holds only what was
    counted (no higher id, nothing live, nothing held); False, nothing dropped, otherwise."""
    conn.execute(text(f"LOCK TABLE {partitions.PARENT} IN ACCESS EXCLUSIVE MODE"))
    name = partition.name
    later = conn.execute(
        text(f"SELECT 1 FROM {name} WHERE id > :last LIMIT 1"), {"last": partition.last_id}
    ).first()
    if later is not None or _live_row(conn, name, now) or _held_row(conn, name):
        return False
    conn.execute(text(f"DROP TABLE {name}"))
    return True
