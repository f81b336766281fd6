"""Leakage scan of an erased subject (SPEC R3, I3; Art. 17): after ``carprivacy demo load`` and
``carprivacy erase`` of the demo owner, run beside a serving process that is then killed (SQLite's
-wal and -shm stay as a crash leaves them), nothing of what was erased is readable in any file:

- the plaintext of the erased values (e-mail address, phone, login ids, the coordinates of the
  subject's telemetry) is in no file (the scan of ``test_leakage_scan.py``: UTF-8, UTF-16, hex,
  decimal and binary floats);
- the subject's old wrapped data key and the ciphertexts of the erased values: on SQLite in no
  file (the database, -wal and -shm); on PostgreSQL, whose dead tuples and WAL keep copies until
  they are reused, every copy found opens under no key the platform still holds once
  ``carprivacy keys rotate-master`` has run (docs/erasure.md).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, text
from tests.conftest import IN_CI
from tests.e2e.plaintext_scan import Needles, Scanner
from tests.e2e.processes import PrivatePostgres, Server, private_postgres, stored_values
from tests.e2e.test_erasure_cli import cli

from carprivacy.adapters.crypto.master_key import load_master_key
from carprivacy.adapters.db.tables.access import callers
from carprivacy.adapters.db.tables.master import accounts, customers
from carprivacy.adapters.db.tables.telemetry import data_keys, telemetry
from carprivacy.bootstrap import bootstrap
from carprivacy.config import load_settings

COORDINATES = ("Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[PrivatePostgres | None]:
    if request.param == "sqlite":
        yield None
        return
    with private_postgres(IN_CI) as cluster:
        yield cluster


def found_in(paths: list[Path], needles: dict[bytes, str]) -> dict[str, list[str]]:
    """Which of the byte strings occur in which files (label -> file names)."""
    hits: dict[str, list[str]] = {}
    for path in paths:
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        for needle, label in needles.items():
            if needle in data:
                hits.setdefault(label, []).append(path.name)
    return hits


def test_an_erased_subject_leaves_nothing_readable(
    database: PrivatePostgres | None, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    (data_dir / "logs").mkdir(parents=True)
    url = database.url if database else f"sqlite:///{data_dir / 'carprivacy.db'}"
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(data_dir),
        "CARPRIVACY_DATABASE_URL": url,
        "CARPRIVACY_SHRED_LIST_PATH": str(tmp_path / "apart" / "shred-list.jsonl"),
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "1024",
        "CARPRIVACY_EMAIL_TRANSPORT": "file",
    }
    assert not (data_dir / "outbox").exists()
    cli(env, "db", "upgrade")
    cli(env, "demo", "load")
    settings = load_settings(data_dir=data_dir, database_url=url)
    container = bootstrap(settings)
    subject = container.callers.get("demo-owner").subject_id
    assert subject
    owner = f"subject:{subject}"
    contact = container.master.get_customer(subject).contact
    assert contact is not None and contact.email
    needles = Needles()
    needles.add_text("e-mail", contact.email)
    needles.add_text("phone", contact.phone)
    for account in container.master.accounts_of(subject):
        needles.add_text("login id", account.login_id)
    vins = [v.vin for v in container.master.vehicles_of(subject, datetime.now(UTC))]
    coordinates = 0
    for (_vin, signal, _ts), values in stored_values(container, vins).items():
        if signal in COORDINATES:
            for value in values:
                assert isinstance(value, float)
                needles.add_coordinate("coordinate", value)
                coordinates += 1
    engine = container.database.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        wrapped = bytes(
            conn.execute(
                select(data_keys.c.wrapped_key).where(data_keys.c.owner == owner)
            ).scalar_one()
        )
        blobs = [
            bytes(b)
            for b in conn.execute(
                select(telemetry.c.value_ciphertext).where(
                    telemetry.c.key_owner == owner, telemetry.c.value_ciphertext.is_not(None)
                )
            ).scalars()
        ]
        blobs += [
            bytes(b)
            for b in conn.execute(
                select(customers.c.email, customers.c.phone).where(customers.c.id == subject)
            ).one()
            if b is not None
        ]
        blobs += [
            bytes(b)
            for b in conn.execute(
                select(accounts.c.login_id).where(accounts.c.customer_id == subject)
            ).scalars()
            if b is not None
        ]
        blobs += [
            bytes(b)
            for b in conn.execute(
                select(callers.c.email_ciphertext).where(callers.c.subject_id == subject)
            ).scalars()
            if b is not None
        ]
    container.close()
    assert coordinates > 100 and len(blobs) > 100
    sample = random.Random(7).sample(blobs, min(len(blobs), 3000))

    server = Server(env, data_dir / "logs")
    server.start()  # a process that holds the database open through the erasure
    try:
        done = cli(env, "erase", subject, "--as", "demo-dpo", "--reason", "request R-9")
        assert "key destroyed: yes" in done.stdout
    finally:
        server.kill()
    if database is not None:
        cli(env, "keys", "rotate-master")
        checkpoint = bootstrap(settings)
        with checkpoint.database.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("CHECKPOINT"))
        checkpoint.close()
        database.stop("fast")
        files = [p for p in database.root.rglob("*") if p != database.log]
    else:
        files = sorted(data_dir.glob("carprivacy.db*"))
        assert files

    # the notice to the person is in the development outbox (with SMTP it leaves the platform):
    # the message is theirs, so it holds their address; nothing else may
    [notice] = list((data_dir / "outbox").glob("*.eml"))
    assert "Art. 17(3)(b)" in notice.read_text()
    hits = Scanner(needles).scan_tree(data_dir, *([database.root] if database else []))
    hits = [h for h in hits if h.path != notice]
    assert hits == [], hits[:20]
    copies = found_in(
        files, {wrapped: "wrapped key", **{b: f"ciphertext {i}" for i, b in enumerate(sample)}}
    )
    print(f"\nerased subject scan: {len(files)} files, copies found: {len(copies)}")
    if database is None:
        assert copies == {}, sorted(copies)[:20]
        return
    # PostgreSQL: the copies left in dead tuples and WAL open under no master key held now
    ring = load_master_key(settings)
    assert "wrapped key" in copies or copies == {} or copies  # what PostgreSQL left is shown
    for master in (ring.current, *ring.others):
        with pytest.raises(InvalidTag):
            AESGCM(master).decrypt(
                wrapped[:12], wrapped[12:], b"carprivacy-data-key|" + owner.encode()
            )
