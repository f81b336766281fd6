"""The catalogue: which descriptors carprivacy can provide, with their units and descriptions,
and never a value (SPEC C2; notice H, "basisinformatie over de gegevens die uw voertuig kan
bijhouden"; Data Act Art. 3(2), 4(1): the metadata needed to read the data).

- :meth:`Catalogue.descriptors`: every readable signal (catalogue name, unit, VSS datatype,
  category, description in Dutch and English from the policy's field labels): the same list
  for everyone, before any grant;
- :meth:`Catalogue.for_vehicle`: a third party's eligibility check for one vehicle (by VIN),
  through the gate under the policy's catalogue purpose (``form: catalogue``: the engine
  allows it, the gate never releases a record in that form); it answers the descriptors the
  vehicle can provide and nothing of the vehicle itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carprivacy.domain.errors import AccessDeniedError, NotFoundError
from carprivacy.domain.policy import Form, Policy
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.services.access.gate import Gate, Reading
from carprivacy.services.access.views import View

VEHICLE_CATEGORY = "vehicle_general"


@dataclass(frozen=True)
class Descriptor:
    name: str
    unit: str | None
    datatype: str
    category: str
    description_nl: str
    description_en: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "unit": self.unit,
            "datatype": self.datatype,
            "category": self.category,
            "description": {"nl": self.description_nl, "en": self.description_en},
        }


@dataclass
class Catalogue:
    policy: Policy
    catalogue: SignalCatalogue
    readable: frozenset[str]  # signals whose values can be released at all
    gate: Gate[Any]

    def descriptors(self) -> list[Descriptor]:
        out = []
        for signal in self.catalogue.signals:
            if signal.name not in self.readable:
                continue
            category = self.policy.categories_by_id[signal.category]
            label = next((f.label for f in category.fields if f.vss_signal == signal.name), None)
            out.append(
                Descriptor(
                    signal.name,
                    signal.unit,
                    signal.type.value,
                    category.id,
                    label.nl if label else category.name.nl,
                    label.en if label else category.name.en,
                )
            )
        return out

    def purpose(self) -> str | None:
        """The policy's eligibility purpose: the one whose form is ``catalogue``."""
        return next((p.id for p in self.policy.purposes if p.form is Form.CATALOGUE), None)

    def for_vehicle(self, reading_caller: Any, vin: str, action: str) -> list[Descriptor]:
        """The descriptors one vehicle can provide, for a third party's eligibility check; an
        unknown VIN answers 404 only to a caller who may check eligibility at all."""
        purpose = self.purpose()
        if purpose is None:
            raise AccessDeniedError(
                "the policy declares no eligibility purpose", ("purpose.unknown",)
            )
        reading = Reading(reading_caller, purpose, action=action)
        view = View(VEHICLE_CATEGORY, {})
        self.gate.screen(reading, view)  # refused before anything is looked up
        with self.gate.session() as session:
            vehicle = session.vehicles.get_by_vin(vin) if isinstance(vin, str) else None
        if vehicle is None:
            raise NotFoundError("vehicle", "vin")
        self.gate.permit(reading, (VEHICLE_CATEGORY,), vehicle_id=vehicle.id, form=Form.CATALOGUE)
        return self.descriptors()
