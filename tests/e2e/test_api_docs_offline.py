"""The API docs page works offline (SPEC U3): /docs references only the platform's own URLs,
and the Swagger UI assets it names are served by the platform itself."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from carprivacy.config import Settings
from carprivacy.entrypoints.api.app import create_app
from carprivacy.testing import bootstrap_in_memory


def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(bootstrap_in_memory(Settings(data_dir=tmp_path))))


def test_docs_reference_only_local_urls_and_the_assets_are_served(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        html = page.text
        assert "swagger-ui" in html.lower()
        urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        urls += re.findall(r"""url\s*:\s*["']([^"']+)["']""", html)
        assert urls, html
        for url in urls:
            assert url.startswith("/"), url
            assert not url.startswith("//"), url
        assert "http://" not in html and "https://" not in html
        for url in urls:
            answer = c.get(url)
            assert answer.status_code == 200, url
            assert answer.content, url
        js = c.get("/docs/assets/swagger-ui-bundle.js")
        assert "javascript" in js.headers["content-type"]
        assert c.get("/docs/oauth2-redirect").status_code == 200
        assert c.get("/redoc").status_code == 404  # ReDoc would need a CDN: not offered
