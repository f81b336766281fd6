"""GET /v1/policy, /v1/policy/notice, /v1/policy/register (SPEC P7): public."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from carprivacy.adapters.db.engine import make_engine
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "policy-test-admin-token-kkkkkkkkkk"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    settings = Settings(data_dir=tmp_path, admin_token=SecretStr(TOKEN), max_payload_bytes=200_000)
    container = bootstrap(settings, engine=engine)
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


def test_check_a_policy_text(client: TestClient) -> None:
    text = (ROOT / "policies" / "mini-connected-nl.yaml").read_text(encoding="utf-8")
    ok = client.post("/v1/policy/check", content=text.encode(), headers={**AUTH, **YAML})
    assert ok.status_code == 200 and ok.json() == {"valid": True, "problems": []}
    d = yaml.safe_load(text)
    d["purposes"][0]["offers_portability"] = True
    d["purposes"][2]["offers_portability"] = True  # product_development: legitimate interest
    bad = client.post(
        "/v1/policy/check",
        content=yaml.safe_dump(d, allow_unicode=True).encode(),
        headers={**AUTH, **YAML},
    )
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert bad.json()["problems"] == [
        {
            "path": "purposes[2].offers_portability",
            "rule": "portability.basis",
            "message": bad.json()["problems"][0]["message"],
        }
    ]


def test_check_needs_the_admin_token_a_yaml_body_and_a_size_limit(client: TestClient) -> None:
    assert client.post("/v1/policy/check", content=b"id: x", headers=YAML).status_code == 401
    r = client.post(
        "/v1/policy/check", content=b"{}", headers={**AUTH, "Content-Type": "image/png"}
    )
    assert r.status_code == 415
    r = client.post("/v1/policy/check", content=b"#" * 200_001, headers={**AUTH, **YAML})
    assert r.status_code == 413 and r.json()["limit_bytes"] == 200_000
    r = client.post(
        "/v1/policy/check", content="id: caf\xe9".encode("latin-1"), headers={**AUTH, **YAML}
    )
    assert r.json() == {
        "valid": False,
        "problems": [{"path": "(document)", "rule": "file.encoding", "message": "not UTF-8"}],
    }
    r = client.post("/v1/policy/check", content=b"id: [x", headers={**AUTH, **YAML})
    assert r.json()["problems"][0]["rule"] == "yaml.syntax"
