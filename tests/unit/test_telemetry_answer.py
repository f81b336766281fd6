"""The answer of POST /v1/telemetry (SPEC I1): the fast encoding of an all-accepted upload is byte
for byte the document the answer model describes, and any other upload is encoded in full."""

from __future__ import annotations

import json

from carprivacy.domain.errors import Problem
from carprivacy.entrypoints.api.routes.telemetry import answer, answer_bytes
from carprivacy.services.ingestion.pipeline import IngestResult, RecordStatus


def described(result: IngestResult) -> bytes:
    return json.dumps(answer(result).model_dump(mode="json"), separators=(",", ":")).encode()


def test_every_answer_is_the_document_of_the_answer_model() -> None:
    problem = Problem("records[1].value", "range", "out of range")
    results = [
        IngestResult(n, 0, [RecordStatus(i, "accepted") for i in range(n)]) for n in (0, 1, 3, 1500)
    ]
    results.append(
        IngestResult(
            1,
            1,
            [
                RecordStatus(0, "accepted"),
                RecordStatus(1, "rejected", (problem,)),
                RecordStatus(2, "duplicate"),
            ],
            duplicates=1,
        )
    )
    for result in results:
        assert answer_bytes(result) == described(result)
    assert json.loads(answer_bytes(results[2]))["records"][2] == {
        "index": 2,
        "status": "accepted",
        "errors": [],
    }
