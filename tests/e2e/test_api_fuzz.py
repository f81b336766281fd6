"""The API keeps its own published contract under fuzzing (SPEC I1, I4, U1): schemathesis
generates requests from the OpenAPI document for every operation, sent with the credentials of
each role (and none), and every answer must be a documented status with a body of the documented
schema and media type, never a server error.

The CI run is a few thousand cases (``CARPRIVACY_FUZZ_EXAMPLES`` per operation and role, default
4); the long run (``make fuzz``) sets it so that it makes at least 20,000. The figures of both are
in docs/reliability.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import test_route_walk as walk
from authz_world import cardata_token
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app

EXAMPLES = int(os.environ.get("CARPRIVACY_FUZZ_EXAMPLES", "4"))
ROLES = (
    "anonymous",
    "admin",
    "privacy_officer",
    "customer_service",
    "rnd",
    "dealer",
    "customer",
    "service",
    "cardata",  # a CarData client of the customer: the /customers/... API
)
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The app on a SQLite file with the route walk's sentinel customer, vehicle and callers."""
    data = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(
        data_dir=data,
        database_url=f"sqlite:///{Path(data) / 'fuzz.db'}",
        admin_token=SecretStr(walk.ADMIN),
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    from sqlalchemy import create_engine

    from carprivacy.adapters.db.base import load_all_tables

    engine = create_engine(settings_.database_url or "")
    load_all_tables().create_all(engine)
    container = bootstrap(settings_, engine=engine)
    ids = walk._seed(container)
    app = create_app(container)
    with TestClient(app) as client:
        tokens = walk._callers(client, ids)
        tokens["cardata"] = cardata_token(client, tokens["customer"])
        yield app, tokens
    engine.dispose()


def test_every_operation_keeps_its_contract(fuzzed: tuple[FastAPI, dict[str, str]]) -> None:
    """Each generated request is sent once per role; every operation is fuzzed, and every
    operation that broke its contract is named (with hypothesis' smallest failing example)."""
    app, tokens = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: dict[str, int] = dict.fromkeys(ROLES, 0)
    broken: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            for role in ROLES:
                headers = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
                case.call_and_validate(headers=headers, checks=CHECKS)
                sent[role] += 1

        try:
            fuzz()
        except Exception as failure:  # noqa: BLE001 - every operation's failure is reported
            broken[operation.label] = f"{type(failure).__name__}: {failure}"[:2000]
    total = sum(sent.values())
    print(f"\nschemathesis: {len(operations)} operations, {total} requests; per role: {sent}")
    assert not broken, "\n\n".join(f"{label}\n{why}" for label, why in broken.items())
    assert len(operations) > 50 and all(n >= len(operations) for n in sent.values())
