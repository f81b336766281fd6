"""The CarData customer API v1 (SPEC C2, R1, U1-U3; notice section H): the person's own data,
read by a CarData client the person authorised, in the published API's shapes.

Every answer passes the gate under the right of access (the person's own data, as the
``/v1/me`` routes; decided and audited as such), read as the person the token names:

- :meth:`CustomerApi.mappings`: the vehicles the person uses now: ``PRIMARY`` as owner,
  ``SECONDARY`` as a driver, ``mappedSince`` the start of that period;
- :meth:`basic_data`: a mapped vehicle's general data;
- containers: a person's named sets of descriptors (catalogue signal names) with a purpose in
  the client's words; an unknown descriptor is refused naming it;
- :meth:`telematic_data`: the newest value of each descriptor of a container for a mapped
  vehicle, with its unit and time; descriptors without a value are listed as such.

A vehicle that is not mapped to the person answers as an unknown one (404). Every call needs a
token with ``cardata:api:read``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from carprivacy.domain.cardata import (
    API_READ,
    MAX_CONTAINERS,
    Container,
    container_problems,
    mapping_type,
)
from carprivacy.domain.decision_index import ACCESS_PURPOSE
from carprivacy.domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.access.telemetry import TelemetryQuery, TelemetryReads
from carprivacy.services.access.views import VEHICLE, View
from carprivacy.services.cardata.authorisation import CarDataCaller
from carprivacy.services.cardata.ports import ContainerRepository
from carprivacy.services.cardata.shared_api import SharedApi
from carprivacy.services.master import reads
from carprivacy.services.master.views import VEHICLE_RECORD, record, vehicle_data
from carprivacy.services.ports.clock import Clock

MAPPING = View(
    "vehicle_general",
    {"vin": "vin"},
    refs={"vehicle_id": VEHICLE, "customer_id": "customer"},
    bookkeeping=frozenset({"mappedSince", "mappingType"}),
    key="vehicle_id",
)
CONTAINER_CATEGORY = "account"  # a container is the person's own setting of their account
BRANDS = ("MINI", "BMW", "BMWi", "Rolls-Royce")
NO_SCOPE = (
    f"scope.{API_READ} (Art. 5(1)(f) GDPR; notice H): this token was not granted {API_READ}",
)


@dataclass(frozen=True)
class TelematicData:
    values: dict[str, dict[str, str | None]]
    missing: tuple[str, ...]  # descriptors with no value stored (yet) for the vehicle


@dataclass
class CustomerApi:
    gate: Gate[Any]
    telemetry: TelemetryReads
    containers: ContainerRepository
    catalogue: SignalCatalogue
    clock: Clock
    # a third party's token reads its shares only (services/cardata/shared_api.py)
    shared: SharedApi | None = None

    def _shared(self, reader: CarDataCaller) -> SharedApi | None:
        return self.shared if self.shared is not None and self.shared.reads(reader) else None

    # -- vehicles ----------------------------------------------------------------------------

    def mappings(self, reader: CarDataCaller, action: str) -> list[dict[str, object]]:
        if (shared := self._shared(reader)) is not None:
            return shared.mappings(reader, action)
        reading, subject = self._reading(reader, action)
        now = self.clock()

        def load(session: Any) -> Iterable[Record]:
            found = []
            for usage in reads.usages_of_customer(session, subject):
                kind = mapping_type(usage.kind.value)
                if kind is None or not usage.covers(now):
                    continue
                vehicle = reads.vehicle(session, usage.vehicle_id)
                data: dict[str, object] = {
                    "vehicle_id": vehicle.id,
                    "customer_id": subject,
                    "vin": vehicle.vin,
                    "mappedSince": _iso(usage.start),
                    "mappingType": kind.value,
                }
                found.append(Record(data, subject, vehicle.id))
            return found

        released = self.gate.of(reading, MAPPING, load, subject_id=subject)
        return [
            {k: item[k] for k in ("vin", "mappedSince", "mappingType")}
            for item in released
            if "vin" in item
        ]

    def basic_data(self, reader: CarDataCaller, action: str, vin: str) -> dict[str, object]:
        if (shared := self._shared(reader)) is not None:
            return shared.basic_data(reader, action, vin)
        reading, subject = self._reading(reader, action)
        item = self._vehicle(reading, subject, vin)[1]
        equipment = item.get("equipment") or []
        model = str(item.get("model") or "")
        answer: dict[str, object] = {
            "vin": item.get("vin"),
            "modelName": model,
            "colourCode": item.get("colour"),
            "fullSAList": ",".join(str(e) for e in equipment)
            if isinstance(equipment, list)
            else "",
            "isTelematicsCapable": True,
        }
        brand = model.split(" ", 1)[0]
        if brand in BRANDS:
            answer["brand"] = brand
        return {k: v for k, v in answer.items() if v is not None}

    # -- containers --------------------------------------------------------------------------

    def list_containers(self, reader: CarDataCaller, action: str) -> list[Container]:
        self._permit(reader, action)
        return [c for c in self.containers.containers_of(reader.caller.id) if not c.deleted]

    def create_container(
        self, reader: CarDataCaller, action: str, name: object, purpose: object, descriptors: object
    ) -> Container:
        self._permit(reader, action)
        problems = container_problems(name, purpose, descriptors, self._descriptors())
        if problems:
            raise InvalidInputError(problems)
        live = self.list_containers(reader, action)
        if len(live) >= MAX_CONTAINERS:
            raise ConflictError(f"at most {MAX_CONTAINERS} containers: delete one first")
        container = Container(
            id=uuid.uuid4().hex,
            owner_id=reader.caller.id,
            name=str(name).strip(),
            purpose=str(purpose).strip(),
            descriptors=tuple(descriptors),  # type: ignore[arg-type]
            created_at=self.clock(),
        )
        self.containers.add_container(container)
        return container

    def get_container(self, reader: CarDataCaller, action: str, container_id: str) -> Container:
        self._permit(reader, action)
        return self._own(reader, container_id)

    def delete_container(self, reader: CarDataCaller, action: str, container_id: str) -> None:
        self._permit(reader, action)
        self._own(reader, container_id)
        self.containers.delete_container(container_id)

    # -- telematic data ----------------------------------------------------------------------

    def telematic_data(
        self, reader: CarDataCaller, action: str, vin: str, container_id: str
    ) -> TelematicData:
        if (shared := self._shared(reader)) is not None:
            own = self._own(reader, container_id)
            found, absent = shared.telematic_data(reader, action, vin, own.descriptors)
            return TelematicData(found, absent)
        reading, subject = self._reading(reader, action)
        container = self._own(reader, container_id)
        vehicle_id, _ = self._vehicle(reading, subject, vin)
        query = TelemetryQuery(
            vehicle_id=vehicle_id, subject_id=subject, signals=container.descriptors
        )
        values: dict[str, dict[str, str | None]] = {}
        for item in self.telemetry.latest(reading, query):
            signal = str(item.get("signal"))
            when = item.get("ts") or item.get("timestamp") or item.get("read_date")
            values[signal] = {
                "value": _text(item.get("value")),
                "unit": None if item.get("unit") is None else str(item.get("unit")),
                "timestamp": _iso(when) if isinstance(when, datetime) else _text(when),
            }
        missing = tuple(d for d in container.descriptors if d not in values)
        return TelematicData(values, missing)

    # -- parts -------------------------------------------------------------------------------

    def _reading(self, reader: CarDataCaller, action: str) -> tuple[Reading, str]:
        if API_READ not in reader.scopes:
            raise AccessDeniedError("this token may not read the CarData API", NO_SCOPE)
        return Reading(reader.caller, ACCESS_PURPOSE, action=action), str(reader.caller.subject_id)

    def _permit(self, reader: CarDataCaller, action: str) -> None:
        if self._shared(reader) is not None:
            # a third party's own containers: its names for descriptors, no personal data
            if API_READ not in reader.scopes:
                raise AccessDeniedError("this token may not read the CarData API", NO_SCOPE)
            return
        reading, subject = self._reading(reader, action)
        self.gate.permit(reading, (CONTAINER_CATEGORY,), subject_id=subject)

    def _own(self, reader: CarDataCaller, container_id: str) -> Container:
        found = self.containers.container(container_id)
        if found is None or found.owner_id != reader.caller.id or found.deleted:
            raise NotFoundError("container", container_id)
        return found

    def _vehicle(self, reading: Reading, subject: str, vin: str) -> tuple[str, dict[str, object]]:
        """A vehicle mapped to the person now, through the gate: (its id, its released data);
        an unknown VIN and another person's answer alike."""
        now = self.clock()
        seen: list[str] = []

        def load(session: Any) -> Record:
            vehicle = session.vehicles.get_by_vin(vin)
            mapped = vehicle is not None and any(
                u.vehicle_id == vehicle.id and mapping_type(u.kind.value) and u.covers(now)
                for u in reads.usages_of_customer(session, subject)
            )
            if not mapped:
                raise NotFoundError("vehicle", "vin")
            seen.append(vehicle.id)
            return record(VEHICLE_RECORD, vehicle_data(vehicle), subject)

        released = self.gate.one(reading, VEHICLE_RECORD, load, subject_id=subject)
        return seen[0], released

    def _descriptors(self) -> frozenset[str]:
        return self.telemetry.readable_signals()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: object) -> str | None:
    """A value as the published API gives it: a string (numbers and flags as JSON writes them)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)
