"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL: ``CARPRIVACY_TEST_POSTGRES_URL`` (``.ci/run`` sets it). With ``CI=true`` PostgreSQL and
Mosquitto must be reachable: an unreachable service fails the test, it never skips.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import Engine, text

from carprivacy.adapters.db.base import load_all_tables
from carprivacy.adapters.db.engine import make_engine, normalise_url
from carprivacy.config import REPO_DIR
from carprivacy.testing.mosquitto import CI_CONFIG, MosquittoProcess, mosquitto_binary
from carprivacy.testing.stream_broker import CI_DIR as STREAM_CI_DIR
from carprivacy.testing.stream_broker import StreamBrokerInfo, StreamBrokerProcess
from carprivacy.testing.stream_broker import reachable as stream_reachable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
POLICY_PATH = REPO_DIR / "policies" / "mini-connected-nl.yaml"


def postgres_url() -> str | None:
    url = os.environ.get("CARPRIVACY_TEST_POSTGRES_URL") or (DEFAULT_PG if IN_CI else None)
    return normalise_url(url) if url else None


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is not reachable and CI=true: storage/broker tests must not skip")
    pytest.skip(f"{what} not configured")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = postgres_url()
    if url is None:
        _unavailable("PostgreSQL (CARPRIVACY_TEST_POSTGRES_URL)")
        return
    parsed = urlparse(url.replace("postgresql+psycopg", "postgresql"))
    if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 5432):
        _unavailable(f"PostgreSQL at {parsed.hostname}:{parsed.port}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def empty_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """A database with every table (from the models; migrations are checked against them)."""
    load_all_tables().create_all(empty_engine)
    return empty_engine


@dataclass(frozen=True)
class ProjectBroker:
    """A Mosquitto running the project's configuration (deploy/mosquitto/ci.conf)."""

    host: str
    port: int
    process: MosquittoProcess | None  # None: .ci/run's instance, whose log the test cannot read


@pytest.fixture
def project_broker(tmp_path: Path) -> Iterator[ProjectBroker]:
    """``.ci/run``'s second Mosquitto (``CARPRIVACY_TEST_MQTT_PROJECT_PORT``, started from
    deploy/mosquitto/ci.conf), else one started for this test from the same file. Under CI=true a
    test that needs it fails, never skips, when neither runs."""
    port = os.environ.get("CARPRIVACY_TEST_MQTT_PROJECT_PORT")
    if port:
        if not _reachable("127.0.0.1", int(port)):
            _unavailable(f"the project's Mosquitto (deploy/mosquitto/ci.conf) at 127.0.0.1:{port}")
        yield ProjectBroker("127.0.0.1", int(port), None)
        return
    if mosquitto_binary() is None:
        _unavailable("mosquitto (to run deploy/mosquitto/ci.conf)")
    broker = MosquittoProcess(tmp_path / "project-broker", CI_CONFIG)
    broker.start()
    try:
        yield ProjectBroker(*broker.address, broker)
    finally:
        broker.stop()


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    host = os.environ.get("CARPRIVACY_TEST_MQTT_HOST", "127.0.0.1")
    port = int(os.environ.get("CARPRIVACY_TEST_MQTT_PORT", "1883"))
    if not _reachable(host, port):
        _unavailable(f"MQTT broker at {host}:{port}")
    return host, port


@pytest.fixture(scope="session")
def stream_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamBrokerInfo]:
    """The CarData stream's broker (deploy/mosquitto/stream-ci.conf: TLS, dynamic security):
    ``.ci/run``'s (``CARPRIVACY_TEST_MQTT_STREAM_PORT``, its files in
    ``CARPRIVACY_TEST_MQTT_STREAM_DIR``), else one started for the session from the same file.
    Under CI=true a test that needs it fails, never skips, when it is not there."""
    port = os.environ.get("CARPRIVACY_TEST_MQTT_STREAM_PORT")
    directory = Path(os.environ.get("CARPRIVACY_TEST_MQTT_STREAM_DIR", str(STREAM_CI_DIR)))
    if port or IN_CI:
        what = f"the CarData stream broker (deploy/mosquitto/stream-ci.conf) at port {port}"
        if not port or not (directory / "accounts.json").exists():
            _unavailable(what)
        info = StreamBrokerInfo.read(directory, int(str(port)))
        if not stream_reachable(info.host, info.port, info.ca):
            _unavailable(what)
        yield info
        return
    if mosquitto_binary() is None:
        _unavailable("mosquitto (to run deploy/mosquitto/stream-ci.conf)")
    broker = StreamBrokerProcess(tmp_path_factory.mktemp("stream-broker"))
    try:
        yield broker.start()
    finally:
        broker.stop()
