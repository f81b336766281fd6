"""An operation on a crypto-shredded subject answers 410 Gone, never a 500 (Art. 17, SPEC R3)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from carprivacy.domain.errors import KeyDestroyedError
from carprivacy.entrypoints.api.errors import register_error_handlers


def test_key_destroyed_maps_to_410_without_details() -> None:
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise KeyDestroyedError("subject:1234 key destroyed")

    answer = TestClient(app).get("/boom")
    assert answer.status_code == 410
    assert "1234" not in answer.text  # no identifiers in the answer
