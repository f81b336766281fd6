"""The CarData customer API read by a third party, limited to its shares (SPEC C2, U1-U3;
notice H; Data Act Art. 5, 6).

A third party's CarData token (its own client, approved by a customer through the device
code) reads the same paths and shapes as a customer's client, but:

- ``mappings`` lists the vehicles the person shares with this third party now (``SECONDARY``:
  the party is not the owner; ``mappedSince`` the start of the share);
- ``basicData`` and ``telematicData`` answer only for such a vehicle, through the gate under
  the share's purpose, as the third party's organisation: the engine counts a share only for
  its one organisation, purpose, vehicle, period and scope, and withholds the fields outside
  its descriptors (``domain/decisions.py``); ``telematicData`` names only the descriptors of
  the container that the share covers (the rest is missing); the share's period is when the
  party may read, and it reads what the vehicle holds then, as the person would;
- a vehicle the person does not share with it answers as an unknown one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from carprivacy.domain.access import Role
from carprivacy.domain.cardata import API_READ
from carprivacy.domain.errors import AccessDeniedError, NotFoundError
from carprivacy.domain.shares import Share
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.gate import Gate, Reading, Record
from carprivacy.services.access.telemetry import TelemetryQuery, TelemetryReads
from carprivacy.services.access.views import VEHICLE, View
from carprivacy.services.cardata.authorisation import CarDataCaller
from carprivacy.services.cardata.shares import ShareService
from carprivacy.services.master import reads
from carprivacy.services.master.views import VEHICLE_RECORD, record, vehicle_data

SHARED_MAPPING = View(
    "vehicle_general",
    {"vin": "vin"},
    refs={"vehicle_id": VEHICLE, "customer_id": "customer"},
    bookkeeping=frozenset({"mappedSince", "mappingType"}),
    key="vehicle_id",
)
NO_SCOPE = (
    f"scope.{API_READ} (Art. 5(1)(f) GDPR; notice H): this token was not granted {API_READ}",
)


@dataclass
class SharedApi:
    gate: Gate[Any]
    telemetry: TelemetryReads
    shares: ShareService
    catalogue: SignalCatalogue

    def reads(self, reader: CarDataCaller) -> bool:
        """Whether this reader is a third party (a partner's CarData client)."""
        return reader.caller.role is Role.PARTNER

    def _active(self, reader: CarDataCaller) -> tuple[str, list[Share]]:
        if API_READ not in reader.scopes:
            raise AccessDeniedError("this token may not read the CarData API", NO_SCOPE)
        subject = self.shares.grant_subject(reader.grant_id)
        if subject is None:
            return "", []
        return subject, self.shares.active_shares_of(reader.caller.organisation, subject)

    def mappings(self, reader: CarDataCaller, action: str) -> list[dict[str, object]]:
        subject, active = self._active(reader)
        first: dict[str, Share] = {}
        for share in active:
            first.setdefault(share.vehicle_id, share)
        out: list[dict[str, object]] = []
        for purpose in sorted({s.purpose for s in first.values()}):
            mine = [s for s in first.values() if s.purpose == purpose]

            def load(session: Any, mine: list[Share] = mine) -> Iterable[Record]:
                found = []
                for share in mine:
                    vehicle = reads.vehicle(session, share.vehicle_id)
                    data: dict[str, object] = {
                        "vehicle_id": vehicle.id,
                        "customer_id": subject,
                        "vin": vehicle.vin,
                        "mappedSince": _iso(share.valid_from),
                        "mappingType": "SECONDARY",
                    }
                    found.append(Record(data, subject, vehicle.id))
                return found

            reading = Reading(reader.caller, purpose, action=action)
            released = self.gate.of(reading, SHARED_MAPPING, load, subject_id=subject)
            out += [
                {k: item[k] for k in ("vin", "mappedSince", "mappingType")}
                for item in released
                if "vin" in item
            ]
        return out

    def basic_data(self, reader: CarDataCaller, action: str, vin: str) -> dict[str, object]:
        subject, active = self._active(reader)
        _, released, _ = self._vehicle(reader, action, subject, active, vin)
        answer: dict[str, object] = {"vin": released.get("vin")}
        if "model" in released:
            answer["modelName"] = released.get("model")
        if "colour" in released:
            answer["colourCode"] = released.get("colour")
        return {k: v for k, v in answer.items() if v is not None}

    def telematic_data(
        self, reader: CarDataCaller, action: str, vin: str, descriptors: tuple[str, ...]
    ) -> tuple[dict[str, dict[str, str | None]], tuple[str, ...]]:
        subject, active = self._active(reader)
        vehicle_id, _, mine = self._vehicle(reader, action, subject, active, vin)
        covered: list[str] = []
        for d in descriptors:
            for share in mine:
                if d in share.descriptors or (
                    not share.descriptors and _category(self.catalogue, d) in share.categories
                ):
                    covered.append(d)
                    break
        values: dict[str, dict[str, str | None]] = {}
        if covered:
            reading = Reading(reader.caller, mine[0].purpose, action=action)
            query = TelemetryQuery(
                vehicle_id=vehicle_id,
                subject_id=subject,
                signals=tuple(covered),
            )
            for item in self.telemetry.latest(reading, query):
                signal = str(item.get("signal"))
                when = item.get("ts") or item.get("timestamp") or item.get("read_date")
                values[signal] = {
                    "value": _text(item.get("value")),
                    "unit": None if item.get("unit") is None else str(item.get("unit")),
                    "timestamp": _iso(when) if isinstance(when, datetime) else _text(when),
                }
        missing = tuple(d for d in descriptors if d not in values)
        return values, missing

    def _vehicle(
        self,
        reader: CarDataCaller,
        action: str,
        subject: str,
        active: list[Share],
        vin: str,
    ) -> tuple[str, dict[str, object], list[Share]]:
        """A vehicle the person shares with this party now, through the gate under the share's
        purpose: (its id, its released data, the shares of it); else as an unknown one."""
        by_vehicle = {s.vehicle_id for s in active}
        seen: list[str] = []

        def load(session: Any) -> Record:
            vehicle = session.vehicles.get_by_vin(vin)
            if vehicle is None or vehicle.id not in by_vehicle:
                raise NotFoundError("vehicle", "vin")
            seen.append(vehicle.id)
            return record(VEHICLE_RECORD, vehicle_data(vehicle), subject)

        if not active:
            raise NotFoundError("vehicle", "vin")
        purpose = active[0].purpose
        reading = Reading(reader.caller, purpose, action=action)
        released = self.gate.one(reading, VEHICLE_RECORD, load, subject_id=subject)
        mine = [s for s in active if s.vehicle_id == seen[0]]
        return seen[0], released, mine


def _category(catalogue: SignalCatalogue, name: str) -> str | None:
    for signal in catalogue.signals:
        if signal.name == name:
            return signal.category
    return None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)
