"""My vehicles, a vehicle's recent data (tables and charts) and its download (SPEC C2, R1).

Every read is the person's own, through ``OwnData`` (``/v1/me/vehicles`` and
``/v1/me/telemetry``'s service): decided and audited under the right of access, released only
where attributed to the person. A vehicle is named in the URL by its place in the person's own
list, never by its id or VIN; periods are whole days (dates, no personal data)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.errors import InvalidInputError, NotFoundError, Problem
from carprivacy.entrypoints.api.release import encoded
from carprivacy.entrypoints.api.resource_routes import released
from carprivacy.entrypoints.api.routes.telemetry_reads import Format, streamed
from carprivacy.entrypoints.api.schemas.master import VEHICLE
from carprivacy.entrypoints.web.charts import map_chart, time_chart
from carprivacy.entrypoints.web.context import Customer, language, render, services_of, signed_in
from carprivacy.entrypoints.web.messages import message
from carprivacy.entrypoints.web.vehicle_data import (
    CHARGE,
    MILEAGE,
    SERVICE_KM,
    SERVICE_S,
    SIGNALS,
    VOLTAGE,
    shape,
)
from carprivacy.services.access.gate import Record
from carprivacy.services.access.own_data import OwnData
from carprivacy.services.access.telemetry import TelemetryQuery
from carprivacy.services.master import reads
from carprivacy.services.master.ports import MasterDataUnitOfWork

router = APIRouter()
DEFAULT_DAYS = 8  # the demo's week, whole days
MAX_DAYS = 93


def own_data(request: Request) -> OwnData:
    s = services_of(request)
    return OwnData(s.gate, s.telemetry_reads, s.consent_ledger, s.master)


def _vehicles(s: MasterDataUnitOfWork, subject: str) -> Iterable[Record]:
    """Every vehicle the person owned or drove, as ``/v1/me/vehicles`` loads them."""
    usages = reads.usages_of_customer(s, subject)
    ids = dict.fromkeys(u.vehicle_id for u in usages)
    return (released(VEHICLE, reads.vehicle(s, v), subject) for v in ids)


def my_vehicles(own: OwnData, customer: Customer) -> list[dict[str, object]]:
    return own.of(customer.caller, "GET /portal/vehicles", VEHICLE.view, _vehicles)


def _vehicle(own: OwnData, customer: Customer, number: int) -> dict[str, object]:
    vehicles = my_vehicles(own, customer)
    if not 1 <= number <= len(vehicles):
        raise NotFoundError("vehicle", str(number))
    return vehicles[number - 1]


def _period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """[start, end] as whole days: default the last week; at most ``MAX_DAYS``."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInputError([Problem("from", "before_to", "must not be after to")])
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInputError([Problem("to", "max_days", f"at most {MAX_DAYS} days")])
    return start, end


def _query(vehicle_id: str, start: date, end: date, signals: tuple[str, ...]) -> TelemetryQuery:
    return TelemetryQuery(
        vehicle_id=vehicle_id,
        start=datetime.combine(start, time(), UTC),
        end=datetime.combine(end + timedelta(days=1), time(), UTC),
        signals=signals,
    )


@router.get("/vehicles")
def vehicles(request: Request, customer: Customer = Depends(signed_in)) -> Response:
    own = own_data(request)
    return render(request, "vehicles.html", vehicles=my_vehicles(own, customer))


FROM = Query(None, alias="from")
TO = Query(None, alias="to")


@router.get("/vehicles/{number}")
def vehicle(
    request: Request,
    number: int,
    start: date | None = FROM,
    end: date | None = TO,
    customer: Customer = Depends(signed_in),
) -> Response:
    own = own_data(request)
    car = _vehicle(own, customer, number)
    first, last = _period(start, end, own.gate.clock().date())
    query = _query(str(car["id"]), first, last, SIGNALS)
    values = own.telemetry_stream(customer.caller, "GET /portal/vehicles/{n}", query)
    data = shape(values)
    lang = language(request)

    def t(key: str) -> str:
        return message(key, lang)

    charts: list[tuple[str, str]] = []
    if data.series.get(MILEAGE):
        charts.append(
            ("mileage", time_chart(t("mileage"), {"km": data.points(MILEAGE, 0.001)}, "km"))
        )
    if data.series.get(VOLTAGE):
        charts.append(("battery", time_chart(t("battery"), {"V": data.points(VOLTAGE)}, "V")))
    if data.series.get(SERVICE_KM):
        days = {t("service_days"): data.points(SERVICE_S, 1 / 86_400)}
        service = time_chart(t("service"), {t("service_km"): data.points(SERVICE_KM)}, "", days)
        charts.append(("service", service))
    if data.series.get(CHARGE):
        charts.append(("charge", time_chart(t("charge"), {"%": data.points(CHARGE)}, "%")))
    if data.trips:
        charts.append(("positions", map_chart(t("positions"), data.trips)))
    return render(
        request,
        "vehicle.html",
        number=number,
        vehicle=car,
        start=first.isoformat(),
        end=last.isoformat(),
        data=data,
        charts=charts,
    )


@router.get("/vehicles/{number}/download")
async def download(
    request: Request,
    number: int,
    format: Literal["csv", "json"] = Query("csv"),
    start: date | None = FROM,
    end: date | None = TO,
    customer: Customer = Depends(signed_in),
) -> Response:
    """Every value of the period attributed to the person (the own-data telemetry stream)."""
    own = own_data(request)
    car = await run_in_threadpool(_vehicle, own, customer, number)
    first, last = _period(start, end, own.gate.clock().date())
    query = _query(str(car["id"]), first, last, ())
    action = "GET /portal/vehicles/{n}/download"
    values = await run_in_threadpool(own.telemetry_stream, customer.caller, action, query)
    name = f"vehicle-{number}-{first.isoformat()}-{last.isoformat()}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        answer = streamed(values, Format.CSV)
        answer.headers.update(disposition)
        return answer
    period = {"from": first.isoformat(), "to": last.isoformat()}
    return StreamingResponse(
        _json(values, period), media_type="application/json", headers=disposition
    )


def _json(
    values: Iterator[dict[str, Any]], period: dict[str, str], batch: int = 500
) -> Iterator[bytes]:
    """``{"period": ..., "items": [...]}``, written a batch at a time (flat memory)."""
    yield b'{"period":' + json.dumps(period).encode() + b',"items":['
    lines: list[bytes] = []
    first = True
    for item in values:
        lines.append(encoded(item))
        if len(lines) >= batch:
            yield (b"" if first else b",") + b",".join(lines)
            first, lines = False, []
    if lines:
        yield (b"" if first else b",") + b",".join(lines)
    yield b"]}"
