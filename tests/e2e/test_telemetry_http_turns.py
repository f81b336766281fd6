"""POST /v1/telemetry through the ingestion turns (SPEC I1, U1), on SQLite and PostgreSQL: a full
queue answers 503 with Retry-After at once and stores nothing of that upload while the queued
ones are stored; a caller without a live vehicle credential gets 401 whatever its body; the 503
is documented."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.e2e.test_telemetry_http import setup

from carprivacy.services.ingestion.grouping import GroupedIngest
from carprivacy.services.ingestion.pipeline import IngestResult

__all__ = ["setup"]


def body(first: int, n: int) -> bytes:
    ts = [(datetime.now(UTC) - timedelta(seconds=first + i)).isoformat() for i in range(n)]
    return json.dumps([{"signal": "Vehicle.Speed", "value": 50.0, "ts": t} for t in ts]).encode()


def post(client: Any, token: str, content: bytes, ctype: str = "application/json") -> Any:
    return client.post(
        "/v1/telemetry",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": ctype},
    )


def test_a_full_queue_is_503_with_retry_after_and_stores_nothing_of_that_upload(setup):
    client, container, token = setup
    service = container.ingest
    real = service.ingest
    release, entered = threading.Event(), threading.Event()

    def held(records: Any, **kwargs: Any) -> IngestResult:
        if not entered.is_set():
            entered.set()
            release.wait(20)
        return real(records, **kwargs)

    service.ingest = held  # type: ignore[method-assign]
    grouped = GroupedIngest(service, container.vehicle_credentials, queue_records=2)
    client.app.state.grouped_ingest = grouped
    answers: dict[str, httpx.Response] = {}

    def send(name: str, content: bytes) -> None:
        answers[name] = post(client, token, content)

    first = threading.Thread(target=send, args=("first", body(10, 2)))
    first.start()
    assert entered.wait(20)  # the first upload is in its turn; nothing waits
    second = threading.Thread(target=send, args=("second", body(20, 2)))
    second.start()
    deadline = time.monotonic() + 20
    while len(grouped._pending) < 1:  # noqa: SLF001 - until the second upload waits
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    refused = post(client, token, body(30, 2))
    assert time.monotonic() - started < 5  # answered at once, not after the held turn
    release.set()
    first.join(20)
    second.join(20)

    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["rule"] == "ingest_queue_full"
    assert [answers[n].status_code for n in ("first", "second")] == [200, 200]
    assert [answers[n].json()["accepted"] for n in ("first", "second")] == [2, 2]
    assert container.telemetry.count() == 4  # the refused upload's records: none stored
    documented = client.get("/openapi.json").json()["paths"]["/v1/telemetry"]["post"]
    assert "503" in documented["responses"]
    assert "Retry-After" in documented["responses"]["503"]["headers"]


def test_no_live_vehicle_credential_is_401_whatever_the_body(setup):
    client, container, token = setup
    for content, ctype in [
        (b"{}", "application/json"),  # not an array
        (b"signal=x", "application/x-www-form-urlencoded"),  # not a media type taken
        (b"not json\n", "application/x-ndjson"),
        (body(40, 1), "application/json"),
    ]:
        assert post(client, "cpv_not-a-real-token", content, ctype).status_code == 401
    assert post(client, token, b"{}").status_code == 422  # with a live one, the body's answer
    assert post(client, token, b"x=1", "application/x-www-form-urlencoded").status_code == 415
    assert container.telemetry.count() == 0
