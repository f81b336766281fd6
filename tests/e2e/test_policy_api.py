"""GET /v1/policy, /v1/policy/notice, /v1/policy/register (issue 2 item 9; SPEC P7): public."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carprivacy.adapters.db.engine import make_engine
from carprivacy.bootstrap import build_container
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    container = build_container(Settings(data_dir=tmp_path), engine=engine)
    with TestClient(create_app(container)) as c:
        yield c
    engine.dispose()


def test_policy_as_json_without_credentials(client: TestClient) -> None:
    r = client.get("/v1/policy")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "mini-connected-nl"
    purposes = {p["id"]: p for p in body["purposes"]}
    assert purposes["geocoding"]["legal_basis"] == "contract"
    recipients = {x["id"]: x for x in body["recipients"]}
    assert recipients["google_geocoding"]["allowed_fields"] == [
        "street",
        "house_number",
        "postal_code",
        "country",
    ]
    assert recipients["google_geocoding"]["transfer_mechanism"] == "scc"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_notice_markdown_matches_the_committed_docs(client: TestClient, lang: str) -> None:
    r = client.get("/v1/policy/notice", params={"lang": lang})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.text == (ROOT / "docs" / f"notice-{lang}.md").read_text(encoding="utf-8")


def test_notice_html(client: TestClient) -> None:
    r = client.get("/v1/policy/notice", params={"lang": "en", "format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<h2 id="retention">How long do we keep your data?</h2>' in r.text


def test_register_formats(client: TestClient) -> None:
    j = client.get("/v1/policy/register")
    assert j.status_code == 200 and j.json()["article"] == "Art. 30(1) GDPR"
    n = len(j.json()["rows"])
    c = client.get("/v1/policy/register", params={"format": "csv"})
    assert c.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(c.text)))) == n
    m = client.get("/v1/policy/register", params={"format": "md"})
    assert m.text == (ROOT / "docs" / "register.md").read_text(encoding="utf-8")
    h = client.get("/v1/policy/register", params={"format": "html", "lang": "nl"})
    assert h.headers["content-type"].startswith("text/html")
    assert "Register van verwerkingsactiviteiten" in h.text and "<table>" in h.text
    nl = client.get("/v1/policy/register", params={"lang": "nl"})
    assert "uitvoering van een overeenkomst" in nl.json()["rows"][0]["legal_basis"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/policy/notice", {"lang": "de"}, "query.lang"),
        ("/v1/policy/notice", {"format": "pdf"}, "query.format"),
        ("/v1/policy/register", {"format": "xml"}, "query.format"),
    ],
)
def test_bad_parameters_get_422_naming_the_field(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]
