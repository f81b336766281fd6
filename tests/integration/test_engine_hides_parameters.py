"""The engine keeps statement parameters out of its log lines and error messages (SPEC I3: no
personal data in logs): a VIN looked up or refused as a duplicate never appears in what
SQLAlchemy logs (statements at INFO, as ``echo`` would) or in the error's text, which a server
logs with its traceback. Found by the leakage scan (tests/e2e/test_leakage_scan.py)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from carprivacy.adapters.db.tables.master import vehicles

VIN = "WMWXU3106TT123456"


def test_no_parameter_in_sql_logs_or_error_messages(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    row = {
        "id": "v-1",
        "vin": VIN,
        "model": "MINI Cooper",
        "colour": "green",
        "equipment": [],
        "created_at": now,
        "updated_at": now,
    }
    sql_logger = logging.getLogger("sqlalchemy.engine")
    level = sql_logger.level
    sql_logger.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            with engine.begin() as conn:
                conn.execute(insert(vehicles).values(row))
            with engine.connect() as conn:
                found = conn.execute(select(vehicles.c.id).where(vehicles.c.vin == VIN)).all()
            with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
                conn.execute(insert(vehicles).values({**row, "id": "v-2"}))
    finally:
        sql_logger.setLevel(level)
    assert found == [("v-1",)]
    assert "SELECT" in caplog.text  # the statements are logged ...
    assert VIN not in caplog.text  # ... without their parameters
    # PostgreSQL's own message names the duplicate key in its DETAIL line (the server's text, not
    # a parameter); the repositories answer a ConflictError that names no value
    message = re.sub(r"DETAIL: .*", "", str(refused.value))
    assert "[SQL parameters hidden" in message and VIN not in message
