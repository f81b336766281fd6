"""POST /v1/telemetry edge cases (SPEC I1), on SQLite
and PostgreSQL: a record VIN that is not a VIN, content encodings, a malformed NDJSON line."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.e2e.test_telemetry_http import VIN, setup

from carprivacy.config import Settings

__all__ = ["setup"]  # the fixture, shared with test_telemetry_http


def record(seconds: int, **extra: object) -> dict[str, object]:
    ts = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()
    return {"signal": "Vehicle.Speed", "value": float(seconds), "ts": ts, **extra}


def post(client: TestClient, token: str, body: bytes, ctype: str = "application/json", **headers):
    return client.post(
        "/v1/telemetry",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": ctype, **headers},
    )


def errors_of(body: dict, index: int) -> list[tuple[str, str]]:
    [status] = [r for r in body["records"] if r["index"] == index]
    return [(e["field"], e["rule"]) for e in status["errors"]]


def test_a_record_vin_that_is_not_a_vin_is_named_as_such(setup):
    client, container, token = setup
    records = [record(3), record(2, vin="NOTAVIN"), record(1, vin="WMWHT000000000002")]
    response = post(client, token, json.dumps(records).encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert errors_of(body, 1) == [("records[1].vin", "vin")]
    assert "NOTAVIN" not in response.text
    # a well-formed VIN of another vehicle is still a mismatch with the credential
    assert errors_of(body, 2) == [("records[2].vin", "vin_mismatch")]
    assert container.telemetry.count() == 1
    # quarantine keeps the reasons the answer gives
    rows = sorted(container.telemetry.quarantine(), key=lambda r: r.record_index or 0)
    assert [[(p.path, p.rule) for p in r.reasons] for r in rows] == [
        [("records[1].vin", "vin")],
        [("records[2].vin", "vin_mismatch")],
    ]


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate", "identity, gzip", "x-unknown"])
def test_a_compressed_body_is_415_naming_the_header(setup, encoding):
    client, container, token = setup
    body = gzip.compress(json.dumps([record(1)]).encode())
    response = post(client, token, body, **{"Content-Encoding": encoding})
    assert response.status_code == 415
    assert response.json()["header"] == "Content-Encoding"
    assert response.json()["accepted"] == ["identity"]
    assert "Content-Encoding" in response.json()["detail"]
    assert response.headers["accept-encoding"] == "identity"
    assert container.telemetry.count() == 0


@pytest.mark.parametrize("encoding", ["identity", "IDENTITY", ""])
def test_identity_encoding_is_the_plain_body(setup, encoding):
    client, container, token = setup
    response = post(
        client, token, json.dumps([record(1)]).encode(), **{"Content-Encoding": encoding}
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1


NDJSON = "application/x-ndjson"


def test_a_malformed_ndjson_line_is_one_refused_record_and_the_good_lines_are_stored(setup):
    client, container, token = setup
    lines = [
        json.dumps(record(4)),
        '{"signal": "Vehicle.Speed", "value": ',  # line 2: cut off
        "",  # blank lines are skipped, not numbered as records
        json.dumps(record(3)),
        "[" * 3000,  # line 5: nested too deep for the parser
        json.dumps(record(2)) + "\r",
    ]
    response = post(client, token, "\n".join(lines).encode(), NDJSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["errors"]) == (3, 2, True)
    assert [r["status"] for r in body["records"]] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "accepted",
    ]
    [cut] = body["records"][1]["errors"]
    assert (cut["field"], cut["rule"]) == ("records[1]", "json")
    assert cut["message"].startswith("malformed JSON at line 2 column 38")
    [deep] = body["records"][3]["errors"]
    assert (deep["field"], deep["rule"]) == ("records[3]", "json") and "line 5" in deep["message"]
    assert "Vehicle.Speed" not in response.text
    assert container.telemetry.count() == 3
    # quarantined like any refused record, numbered as the answer numbers it, sealed
    rows = sorted(container.telemetry.quarantine(), key=lambda r: r.record_index or 0)
    assert [(r.source, r.record_index) for r in rows] == [("http", 1), ("http", 3)]
    assert [[(p.path, p.rule) for p in r.reasons] for r in rows] == [
        [("records[1]", "json")],
        [("records[3]", "json")],
    ]
    assert rows[0].reasons[0].message == cut["message"]
    assert all(b"Vehicle.Speed" not in r.payload_ciphertext for r in rows)


def test_nothing_good_is_lost_to_a_bad_line(setup):
    client, container, token = setup

    @given(st.lists(st.booleans(), min_size=1, max_size=12))
    @settings(max_examples=15, deadline=None)
    def check(good_or_bad: list[bool]) -> None:
        before = container.telemetry.count()
        lines = [
            json.dumps(record(1 + i, vin=VIN)) if good else '{"signal": "Vehicle.Speed"'
            for i, good in enumerate(good_or_bad)
        ]
        response = post(client, token, "\n".join(lines).encode(), NDJSON)
        assert response.status_code == 200
        statuses = [r["status"] for r in response.json()["records"]]
        assert [s != "rejected" for s in statuses] == good_or_bad
        rules = {e["rule"] for r in response.json()["records"] for e in r["errors"]}
        assert rules <= {"json"}
        assert container.telemetry.count() - before == statuses.count("accepted")

    check()


def test_a_json_array_that_does_not_parse_is_still_400(setup):
    client, container, token = setup
    for payload in (b'[{"signal": "Vehicle.Speed"', b"[" * 3000):
        response = post(client, token, payload)
        assert response.status_code == 400 and "malformed JSON" in response.json()["detail"]
    assert container.telemetry.count() == 0 and container.telemetry.quarantine() == []


def test_usage_md_shows_the_answers_the_route_gives(setup):
    """docs/usage.md §5 quotes the 413 of the default limit and the 422 of a single object."""
    client, _, token = setup
    usage = (Path(__file__).parents[2] / "docs" / "usage.md").read_text(encoding="utf-8")
    default = Settings.model_fields["max_payload_bytes"].default
    too_large = {"detail": f"payload larger than the limit of {default} bytes"}
    quoted = json.dumps({**too_large, "limit_bytes": default}, separators=(",", ":"))
    assert quoted in usage and "CARPRIVACY_MAX_PAYLOAD_BYTES" in usage
    single = post(client, token, json.dumps(record(1)).encode())
    assert single.status_code == 422
    [error] = single.json()["errors"]
    assert f'(`{error["field"]}` / `{error["rule"]}`, "{error["message"]}")' in usage


def test_an_ndjson_line_that_is_not_utf8_is_one_refused_record(setup):
    client, container, token = setup
    lines = [
        json.dumps(record(3)).encode(),
        b'{"signal": "Vehicle.Speed", "value": 1.0, "ts": "\xff\xfe"}',
        json.dumps(record(1)).encode(),
    ]
    response = post(client, token, b"\n".join(lines), NDJSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["records"]] == ["accepted", "rejected", "accepted"]
    [error] = body["records"][1]["errors"]
    assert (error["field"], error["rule"]) == ("records[1]", "encoding")
    assert error["message"].startswith("line 2 is not UTF-8")
    assert container.telemetry.count() == 2
    [q] = container.telemetry.quarantine()
    assert [(p.path, p.rule) for p in q.reasons] == [("records[1]", "encoding")]


def test_a_number_too_long_to_read_is_a_refused_line_or_a_400_never_a_500(setup):
    client, container, token = setup
    container.settings = container.settings.model_copy(update={"max_payload_bytes": 1 << 20})
    huge = "9" * 5000  # json.loads refuses integers of more than 4,300 digits
    line = '{"signal": "Vehicle.Speed", "value": ' + huge + ', "ts": "2026-01-01T00:00:00Z"}'
    ndjson = post(client, token, (json.dumps(record(1)) + "\n" + line).encode(), NDJSON)
    assert ndjson.status_code == 200, ndjson.text
    assert [r["status"] for r in ndjson.json()["records"]] == ["accepted", "rejected"]
    assert ndjson.json()["records"][1]["errors"][0]["rule"] == "json"
    array = post(client, token, ("[" + line + "]").encode())
    assert array.status_code == 400 and "too long" in array.json()["detail"]
