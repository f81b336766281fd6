"""OBFCM refusal at collection on the real stores, SQLite and PostgreSQL (SPEC
C3, I2): the container's ingestion reads the subject's consents from the database; a refused
OBFCM value from the car is answered ``consent.refused`` and kept nowhere."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select
from tests.integration.test_ingest_store import NOW, T0, VIN, container, ids_of

from carprivacy.adapters.db.tables.telemetry import telemetry, telemetry_quarantine

__all__ = ["container"]

OBFCM = "Private.CarPrivacy.OBFCM.FuelConsumedLifetime"


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(telemetry)).scalar_one(),
            conn.execute(select(func.count()).select_from(telemetry_quarantine)).scalar_one(),
        )


def test_a_refused_obfcm_value_from_the_car_is_kept_nowhere(container, engine):
    ids = ids_of(container)
    container.subject_state.give(
        ids["alice"],
        "obfcm_refusal",
        at=T0 - timedelta(days=1),
        by="desk",
        channel="workshop",
        vehicle_id=ids["vehicle"],
    )
    ts = T0.isoformat()  # alice's time (bob owns the car from T0 + 30 s)
    later = (T0 + timedelta(seconds=59)).isoformat()  # bob's
    records = [
        {"signal": OBFCM, "value": 812.5, "ts": ts},
        {"signal": "Vehicle.TraveledDistance", "value": 1000, "ts": ts},
        {"signal": OBFCM, "value": 3.5, "ts": later},
    ]
    result = container.ingest.ingest(records, source="mqtt", vehicle_vin=VIN, received_at=NOW)
    assert [s.status for s in result.statuses] == ["rejected", "accepted", "accepted"]
    assert result.statuses[0].errors[0].rule == "consent.refused"
    assert counts(engine) == (2, 0)  # alice's OBFCM value: not stored, not quarantined
    bobs = [r for r in container.telemetry.rows_for_vehicle(ids["vehicle"]) if r.signal == OBFCM]
    assert [r.subject_id for r in bobs] == [ids["bob"]]  # bob did not refuse
