"""One error tree: every exception of carprivacy derives from CarPrivacyError, and every one an
HTTP request can meet has its answer in entrypoints/api/errors.py (or is deliberately internal)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import carprivacy
from carprivacy.domain import errors as tree
from carprivacy.domain.errors import CarPrivacyError, Problem
from carprivacy.entrypoints.api.errors import HTTP_STATUS, INTERNAL, register_error_handlers

SKIP = ("carprivacy.adapters.db.migrations",)  # Alembic scripts run on import


def all_modules() -> list[ModuleType]:
    found = [carprivacy]
    for info in pkgutil.walk_packages(carprivacy.__path__, "carprivacy."):
        if not info.name.startswith(SKIP):
            found.append(importlib.import_module(info.name))
    return found


def foreign_exceptions(module: ModuleType) -> list[str]:
    """Exception classes defined in ``module`` that are not CarPrivacyErrors or not named *Error."""
    return [
        f"{module.__name__}.{name}"
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
        and not (issubclass(obj, CarPrivacyError) and name.endswith("Error"))
    ]


def test_every_exception_class_derives_from_carprivacy_error() -> None:
    modules = all_modules()
    assert len(modules) > 100
    bad = [name for module in modules for name in foreign_exceptions(module)]
    assert not bad, "derive from CarPrivacyError (domain/errors.py), name it *Error:\n" + "\n".join(
        bad
    )


def test_the_walk_itself_catches_a_foreign_exception(tmp_path: Path) -> None:
    source = tmp_path / "stray.py"
    source.write_text(
        "from carprivacy.domain.errors import CarPrivacyError, ConflictError\n"
        "class PayloadError(Exception): ...\n"
        "class ShapeError(ValueError): ...\n"
        "class Fine(ConflictError): ...\n"
        "class FineError(CarPrivacyError): ...\n"
        "FineAlias = ConflictError\n",
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("stray", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["stray"] = module
    try:
        spec.loader.exec_module(module)
        assert foreign_exceptions(module) == [
            "stray.PayloadError",
            "stray.ShapeError",
            "stray.Fine",
        ]
    finally:
        del sys.modules["stray"]


def subclasses(cls: type) -> set[type]:
    return {c for s in cls.__subclasses__() for c in {s, *subclasses(s)}}


def the_tree() -> list[type[CarPrivacyError]]:
    all_modules()  # every error class is loaded
    found = {c for c in subclasses(CarPrivacyError) if c.__module__.startswith("carprivacy.")}
    return sorted(found, key=lambda c: c.__name__)


def test_the_tree_is_drawn_in_the_errors_docstring() -> None:
    doc = tree.__doc__ or ""
    missing = [
        c.__name__ for c in the_tree() if c.__module__ == tree.__name__ and c.__name__ not in doc
    ]
    assert not missing


# one instance of each error an HTTP request can meet, with the answer it must get
EXAMPLES: dict[type[CarPrivacyError], CarPrivacyError] = {
    tree.InvalidInputError: tree.InvalidInputError([Problem("f", "r", "m")]),
    tree.MalformedPayloadError: tree.MalformedPayloadError("malformed JSON: x", line=1, column=2),
    tree.PayloadTooLargeError: tree.PayloadTooLargeError("larger than 10 bytes", 10),
    tree.UnsupportedMediaTypeError: tree.UnsupportedMediaTypeError("no", accepted=["a/b"]),
    tree.PolicyError: tree.PolicyError([Problem("p", "r", "m")]),
    tree.NotFoundError: tree.NotFoundError("caller", "x"),
    tree.ConflictError: tree.ConflictError("taken"),
    tree.AuthenticationError: tree.AuthenticationError("no"),
    tree.AccessDeniedError: tree.AccessDeniedError("no", ("consent.required",)),
    tree.KeyDestroyedError: tree.KeyDestroyedError(),
    tree.StoreUnavailableError: tree.StoreUnavailableError(),
    tree.RateLimitedError: tree.RateLimitedError("too many calls", 30, 100),
    tree.OAuthGrantError: tree.OAuthGrantError("invalid_grant", "the device code is not valid"),
    tree.IngestBusyError: tree.IngestBusyError(4000, 3),
}


def expected_status(cls: type) -> int | None:
    return next((HTTP_STATUS[c] for c in cls.__mro__ if c in HTTP_STATUS), None)


@pytest.mark.parametrize("cls", the_tree(), ids=lambda c: c.__name__)
def test_every_error_has_an_http_answer_or_is_internal(cls: type[CarPrivacyError]) -> None:
    if cls in INTERNAL:
        return
    assert expected_status(cls) is not None, f"{cls.__name__}: no HTTP answer and not INTERNAL"
    app = FastAPI()
    register_error_handlers(app)
    assert any(c in app.exception_handlers for c in cls.__mro__ if c is not CarPrivacyError)


@pytest.mark.parametrize(
    "cls", sorted(EXAMPLES, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_each_answer_has_the_status_of_the_table(cls: type[CarPrivacyError]) -> None:
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/raise")
    def _raise() -> None:
        raise EXAMPLES[cls]

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/raise")
    assert response.status_code == expected_status(cls)
    body = response.json()
    # OAuth requests are answered as RFC 6749 section 5.2 says; every other error names itself
    assert "error_description" in body if cls is tree.OAuthGrantError else "detail" in body


def test_a_rate_limit_says_when_to_retry_and_an_unknown_client_is_401() -> None:
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/limited")
    def _limited() -> None:
        raise tree.RateLimitedError("too many calls", 30, 100)

    @app.get("/client")
    def _client() -> None:
        raise tree.OAuthGrantError("invalid_client", "the client id is unknown")

    with TestClient(app) as client:
        limited, unknown = client.get("/limited"), client.get("/client")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert unknown.headers["Cache-Control"] == "no-store"


def test_the_cardata_api_answers_every_error_in_its_published_body() -> None:
    """SPEC C2: /customers/... answers exveErrorId (CU-<status>), exveErrorMsg, exveErrorRef
    and exveNote; what other routes answer 422 is the published 400."""
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/customers/invalid")
    def _invalid() -> None:
        raise tree.InvalidInputError([Problem("technicalDescriptors.0", "unknown_descriptor", "m")])

    @app.get("/customers/refused")
    def _refused() -> None:
        raise tree.AccessDeniedError("no", ("scope.cardata:api:read",))

    @app.get("/customers/limited")
    def _limited() -> None:
        raise tree.RateLimitedError("too many calls", 7, 100)

    @app.get("/v1/invalid")
    def _plain() -> None:
        raise tree.InvalidInputError([Problem("f", "r", "m")])

    with TestClient(app) as client:
        invalid = client.get("/customers/invalid")
        refused = client.get("/customers/refused")
        limited = client.get("/customers/limited")
        plain = client.get("/v1/invalid")
    assert invalid.status_code == 400
    assert invalid.json()["exveErrorId"] == "CU-400"
    assert "technicalDescriptors.0: unknown_descriptor" in invalid.json()["exveNote"]
    assert refused.status_code == 403 and "scope.cardata" in refused.json()["exveNote"]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["exveErrorId"] == "CU-429" and limited.json()["exveErrorRef"]
    assert plain.status_code == 422 and "detail" in plain.json()  # other routes unchanged


def test_every_mapped_error_has_an_example() -> None:
    mapped = [c for c in the_tree() if c not in INTERNAL and c in HTTP_STATUS]
    assert set(mapped) <= set(EXAMPLES)


def test_internal_errors_are_really_internal() -> None:
    app = FastAPI()
    register_error_handlers(app)
    assert not [c.__name__ for c in INTERNAL if c in app.exception_handlers]
    assert not [c.__name__ for c in INTERNAL if c in HTTP_STATUS]


def test_payload_answers_keep_their_bodies_and_headers() -> None:
    app = FastAPI()
    register_error_handlers(app)
    raised = {
        "/encoding": tree.UnsupportedMediaTypeError(
            "unsupported Content-Encoding: send the body uncompressed",
            header="Content-Encoding",
            accepted=["identity"],
        ),
        "/large": tree.PayloadTooLargeError("payload larger than the limit of 5 bytes", 5),
        "/utf8": tree.MalformedPayloadError("body is not UTF-8", position=3),
    }

    def raiser(error: CarPrivacyError) -> Callable[[], None]:
        def route() -> None:
            raise error

        return route

    for path, error in raised.items():
        app.get(path)(raiser(error))
    with TestClient(app) as client:
        encoding = client.get("/encoding")
        assert encoding.status_code == 415 and encoding.headers["accept-encoding"] == "identity"
        assert encoding.json() == {
            "detail": "unsupported Content-Encoding: send the body uncompressed",
            "header": "Content-Encoding",
            "accepted": ["identity"],
        }
        large = client.get("/large")
        assert large.json() == {
            "detail": "payload larger than the limit of 5 bytes",
            "limit_bytes": 5,
        }
        assert client.get("/utf8").json() == {"detail": "body is not UTF-8", "position": 3}
