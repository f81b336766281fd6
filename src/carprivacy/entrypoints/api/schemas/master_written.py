"""The documented answers of master-data WRITES (SPEC I4).

A write answers with the object's id, its metadata and only the fields the writer sent
(``release.echo``: the writer is not handed personal data it did not send, which a read would
have to decide). So the answer model of a write is the read model with every other field
optional: the OpenAPI schema says what the answer really holds (e.g. a contract created without
``end`` answers without ``end``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from carprivacy.entrypoints.api.schemas.master import (
    AccountOut,
    ContractOut,
    CustomerOut,
    PaymentOut,
    UsageOut,
    VehicleOut,
)
from carprivacy.services.access.views import View
from carprivacy.services.master import views


def written(model: type[BaseModel], view: View) -> type[BaseModel]:
    """``model`` as a write answers it: the id and metadata always, the rest when sent."""
    always = view.bookkeeping | {view.key}
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in always:
            fields[name] = (info.annotation, info)
        else:
            fields[name] = (
                info.annotation,
                Field(default=None, description="present when the request sent it"),
            )
    answer: type[BaseModel] = create_model(
        f"{model.__name__.removesuffix('Out')}Written",
        __doc__=f"The answer to a write of a {model.__name__.removesuffix('Out').lower()}.",
        **fields,
    )
    return answer


CustomerWritten = written(CustomerOut, views.CUSTOMER)
AccountWritten = written(AccountOut, views.ACCOUNT)
VehicleWritten = written(VehicleOut, views.VEHICLE_RECORD)
UsageWritten = written(UsageOut, views.USAGE)
ContractWritten = written(ContractOut, views.CONTRACT)
PaymentWritten = written(PaymentOut, views.PAYMENT)
