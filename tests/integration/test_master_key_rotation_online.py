"""Online master-key rotation (SPEC I3), on SQLite and PostgreSQL: processes that
loaded the old key keep encrypting and decrypting through a rotation, no data key is left wrapped
by a retired key, an interrupted rotation finishes when run again, and the real CLI rotates while
ingestion runs in another thread."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, insert, select

from carprivacy.adapters.crypto.envelope import REWRAP_CHUNK, EnvelopeCipher, wrap_key
from carprivacy.adapters.crypto.master_key import (
    key_id,
    load_master_key,
    new_master_key,
    next_key_file,
    write_key_file,
)
from carprivacy.adapters.crypto.rotation import rotate_master_key
from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
from carprivacy.adapters.db.tables.telemetry import data_keys
from carprivacy.bootstrap import bootstrap
from carprivacy.config import Settings, load_settings
from carprivacy.domain.errors import RotationError
from carprivacy.domain.master import ContactDetails, UsageKind
from carprivacy.domain.telemetry import aad_for, decode_value


class Crash(Exception):
    """The rotating process dies here."""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, database_url=db_url)


def cipher_for(engine: Engine, settings: Settings) -> EnvelopeCipher:
    """What ``serve``/``ingest`` build: a ring loader, here with no cache so every value is read
    through the data_keys table (the worst case for a rotation)."""
    return EnvelopeCipher(
        SqlDataKeyRepository(engine), partial(load_master_key, settings), cache_seconds=0
    )


def wrapping_ids(engine: Engine) -> set[str | None]:
    with engine.connect() as conn:
        query = select(data_keys.c.master_key_id).where(data_keys.c.wrapped_key.is_not(None))
        return set(conn.execute(query).scalars())


def seal(cipher: EnvelopeCipher, owners: list[str]) -> dict[str, bytes]:
    return {o: cipher.encrypt(o, o.encode(), b"place") for o in owners}


def assert_opens(cipher: EnvelopeCipher, sealed: dict[str, bytes]) -> None:
    for owner, blob in sealed.items():
        assert cipher.decrypt(owner, blob, b"place") == owner.encode()


def test_a_cipher_built_before_the_rotation_keeps_working_through_it(engine, settings):
    old = cipher_for(engine, settings)
    sealed = seal(old, ["subject:a", "vehicle:b"])
    old_id = load_master_key(settings).current_id
    assert wrapping_ids(engine) == {old_id}

    done = rotate_master_key(SqlDataKeyRepository(engine), settings)

    assert done.rewrapped == 2 and done.new_id != old_id
    assert load_master_key(settings).current_id == done.new_id
    assert not next_key_file(settings.resolved_master_key_file).exists()
    assert_opens(old, sealed)  # reloads the ring on the unknown id, once
    sealed |= seal(old, ["subject:c"])  # a new key: wrapped by the new master key
    assert wrapping_ids(engine) == {done.new_id}
    assert_opens(cipher_for(engine, settings), sealed)
    again = rotate_master_key(SqlDataKeyRepository(engine), settings)
    assert again.rewrapped == 3 and wrapping_ids(engine) == {again.new_id}
    assert_opens(old, sealed)


def test_keys_created_by_old_processes_during_the_rotation_are_readable_after_it(engine, settings):
    old = cipher_for(engine, settings)  # holds only the old key: loaded before `.next` existed
    sealed = seal(old, [f"subject:{i}" for i in range(5)])
    old_key = load_master_key(settings).current
    keys = SqlDataKeyRepository(engine)
    created: list[str] = []

    def meanwhile(done: int, total: int) -> None:
        if len(created) < 2:  # twice, during the first pass
            owner = f"vehicle:during-{len(created)}"
            created.append(owner)
            # the old process creates a key: refused under the retired key, wrapped under .next
            sealed.update(seal(old, [owner]))
            # an insert that checked the retirement just before it was committed, of an owner
            # that sorts before the page being read: only the next pass finds it
            late = f"subject:-late-{len(created)}"
            with engine.begin() as conn:
                conn.execute(
                    insert(data_keys).values(
                        owner=late,
                        wrapped_key=wrap_key(old_key, late, os.urandom(32)),
                        master_key_id=key_id(old_key),
                        created_at=datetime.now(UTC),
                    )
                )

    done = rotate_master_key(keys, settings, progress=meanwhile)

    assert done.passes >= 2  # the late keys needed another pass
    assert wrapping_ids(engine) == {done.new_id}
    assert keys.live_not_under(done.new_id) == 0
    assert_opens(old, sealed)
    assert_opens(cipher_for(engine, settings), sealed)


def test_a_rotation_interrupted_after_writing_next_finishes_when_run_again(engine, settings):
    old = cipher_for(engine, settings)
    sealed = seal(old, ["subject:a"])
    waiting = new_master_key()
    write_key_file(next_key_file(settings.resolved_master_key_file), waiting)  # then: crash
    sealed |= seal(old, ["subject:b"])  # old ring, old key not retired yet
    during = cipher_for(engine, settings)  # started during the rotation: wraps under `.next`
    sealed |= seal(during, ["subject:c"])
    assert wrapping_ids(engine) == {load_master_key(settings).current_id, key_id(waiting)}

    done = rotate_master_key(SqlDataKeyRepository(engine), settings)

    assert done.new_id == key_id(waiting) and done.rewrapped == 2
    assert load_master_key(settings).current == waiting
    assert wrapping_ids(engine) == {done.new_id}
    for cipher in (old, during, cipher_for(engine, settings)):
        assert_opens(cipher, sealed)


def test_a_rotation_interrupted_after_retiring_the_old_key_finishes_when_run_again(
    engine, settings
):
    old = cipher_for(engine, settings)
    sealed = seal(old, [f"subject:{i}" for i in range(4)])
    old_id = load_master_key(settings).current_id
    keys = SqlDataKeyRepository(engine)

    def crash(done: int, total: int) -> None:
        raise Crash  # mid-pass: nothing of the pass is committed

    with pytest.raises(Crash):
        rotate_master_key(keys, settings, progress=crash)
    assert keys.retired_master_keys() == {old_id}
    assert wrapping_ids(engine) == {old_id}
    waiting = load_master_key(settings).others
    sealed |= seal(old, ["subject:new"])  # retired key refused: wrapped under `.next`
    assert_opens(old, sealed)

    done = rotate_master_key(keys, settings)

    assert (done.new_id,) == tuple(key_id(k) for k in waiting)
    assert wrapping_ids(engine) == {done.new_id}
    assert_opens(old, sealed)
    assert_opens(cipher_for(engine, settings), sealed)


def test_the_cli_rotates_while_ingestion_runs(db_url: str, engine: Engine, settings, tmp_path):
    container = bootstrap(settings, engine=engine)
    vins = []
    for i in range(12):
        customer = container.master.register_customer(
            ContactDetails("Visser", f"Eva{i}", "Laan", str(i + 1), "2511 AA", "Den Haag", "NL")
        )
        vin = f"WMWCL1000000{i:05d}"
        vehicle = container.master.register_vehicle(vin, "MINI Clubman", "blue")
        since = datetime.now(UTC) - timedelta(days=3)
        container.master.add_usage(vehicle.id, UsageKind.OWNER, since, customer_id=customer.id)
        vins.append(vin)
    # many data keys under the old master key, so that the re-wrapping takes a while
    old_key = load_master_key(settings).current
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(data_keys),
            [
                {"owner": f"vehicle:bulk-{i}", "master_key_id": key_id(old_key),
                 "wrapped_key": wrap_key(old_key, f"vehicle:bulk-{i}", os.urandom(32)),
                 "created_at": now}
                for i in range(10_000)
            ],
        )  # fmt: skip

    rotation_over = threading.Event()
    failures: list[BaseException] = []
    accepted: dict[str, int] = {}
    sealed: dict[str, bytes] = {}
    next_file = next_key_file(settings.resolved_master_key_file)
    during = 0  # rounds that ran while the new key waited in `.next`

    def ingest() -> None:
        nonlocal during
        try:
            rounds = after = 0
            while after < 3:  # and three rounds once the rotation is over
                after += rotation_over.is_set()
                vin = vins[rounds % len(vins)]
                at = datetime.now(UTC)
                records = [
                    {"signal": "Vehicle.CurrentLocation.Latitude", "value": 51.9 + rounds / 1000,
                     "ts": (at - timedelta(milliseconds=j)).isoformat()}
                    for j in range(5)
                ]  # fmt: skip
                result = container.ingest.ingest(
                    records, source="http", vehicle_vin=vin, received_at=at
                )
                accepted[vin] = accepted.get(vin, 0) + result.accepted
                owner = f"vehicle:new-{rounds}"  # a new data key on every round
                sealed[owner] = container.cipher.encrypt(owner, owner.encode(), b"place")
                during += next_file.exists()
                rounds += 1
                time.sleep(0.005)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    worker = threading.Thread(target=ingest)
    worker.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARPRIVACY_")}
    env |= {"CARPRIVACY_DATABASE_URL": db_url, "CARPRIVACY_DATA_DIR": str(tmp_path)}
    try:
        cli = subprocess.run(
            [sys.executable, "-m", "carprivacy.entrypoints.cli.main", "keys", "rotate-master"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        rotation_over.set()
        worker.join(timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert not failures, failures
    new_id = load_master_key(settings).current_id
    assert f"master key {new_id} now in" in cli.stdout
    assert wrapping_ids(engine) == {new_id}

    fresh = bootstrap(settings, engine=engine)  # loads only the new key
    for vin in vins:
        vehicle = fresh.master.find_vehicle_by_vin(vin)
        assert vehicle is not None
        rows = fresh.telemetry.rows_for_vehicle(vehicle.id)
        opened = [
            decode_value(
                fresh.cipher.decrypt(
                    r.key_owner, r.value_ciphertext, aad_for(r.vehicle_id, r.signal, r.ts, r.source)
                )
            )
            for r in rows
            if r.value_ciphertext is not None
        ]
        assert len(opened) == len(rows) == accepted[vin] > 0
    assert len(sealed) > len(vins) and during > 0
    assert_opens(fresh.cipher, sealed)


def test_two_rotations_started_together_run_one_after_the_other(engine, settings):
    old = cipher_for(engine, settings)
    sealed = seal(old, [f"subject:{i}" for i in range(50)])
    start = threading.Barrier(2)
    failures: list[BaseException] = []
    done: list[str] = []
    waited: list[bool] = []

    def rotate() -> None:
        start.wait()
        try:
            keys = SqlDataKeyRepository(engine)
            done.append(
                rotate_master_key(keys, settings, waiting=lambda: waited.append(True)).new_id
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures  # no "run it again": the later one waits for the lock
    assert len(set(done)) == 2 and done[-1] == load_master_key(settings).current_id
    assert not next_key_file(settings.resolved_master_key_file).exists()
    assert wrapping_ids(engine) == {done[-1]}
    assert_opens(old, sealed)


def test_a_rotation_never_moves_another_rotations_next_onto_the_key_file(engine, settings):
    """The review's sequence: B is in its pass; A (which B had joined) finishes; C starts and
    dies in its first pass; B finishes. Without the lock B moved C's `.next` onto the key file,
    and the key every data key was wrapped by was on disk nowhere."""
    old = cipher_for(engine, settings)
    sealed = seal(old, [f"subject:{i}" for i in range(50)])
    b_in_pass, go_b = threading.Event(), threading.Event()
    failures: dict[str, BaseException] = {}

    def pause_b(done: int, total: int) -> None:
        if not b_in_pass.is_set():
            b_in_pass.set()
            go_b.wait(timeout=60)

    def crash(done: int, total: int) -> None:
        raise Crash

    def run(name: str, **kwargs) -> threading.Thread:
        def target() -> None:
            try:
                rotate_master_key(SqlDataKeyRepository(engine), settings, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                failures[name] = exc

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    b = run("B", progress=pause_b)
    assert b_in_pass.wait(timeout=60)
    a = run("A")
    a.join(timeout=1)  # the old code: A joined B's key and finished here
    c = run("C", progress=crash)
    c.join(timeout=1)  # the old code: C wrote a third key to `.next` and died
    a_and_c_waited = a.is_alive() and c.is_alive()
    go_b.set()
    for thread in (a, b, c):
        thread.join(timeout=120)

    ring = load_master_key(settings)
    assert all(ring.by_id(i or "") is not None for i in wrapping_ids(engine))
    assert_opens(cipher_for(engine, settings), sealed)
    assert_opens(old, sealed)
    assert isinstance(failures.pop("C"), Crash) and not failures, failures
    assert a_and_c_waited  # B held the rotation lock for its whole run


def test_the_waiting_key_is_checked_before_it_replaces_the_key_file(engine, settings, tmp_path):
    seal(cipher_for(engine, settings), ["subject:a"])
    key_file = settings.resolved_master_key_file
    before = key_file.read_bytes()
    stranger = new_master_key()

    def swap(done: int, total: int) -> None:  # written by something that ignores the lock
        write_key_file(next_key_file(key_file), stranger)

    with pytest.raises(RotationError, match=f"holds master key {key_id(stranger)}"):
        rotate_master_key(SqlDataKeyRepository(engine), settings, progress=swap)
    assert key_file.read_bytes() == before
    assert load_master_key(settings).others == (stranger,)

    # a retired key never comes back as the new one (environment key: --new-key-file)
    keys = SqlDataKeyRepository(engine)
    retired = load_master_key(settings).current
    assert key_id(retired) in keys.retired_master_keys()
    target = tmp_path / "new.key"
    write_key_file(target, retired)
    in_env = load_settings(
        data_dir=tmp_path, database_url=settings.database_url,
        master_key=base64.b64encode(stranger).decode(),
    )  # fmt: skip
    with pytest.raises(RotationError, match=f"master key {key_id(retired)} is retired"):
        rotate_master_key(keys, in_env, new_key_file=target)
    assert (tmp_path / "new.key.lock").exists()


def test_a_pass_commits_in_chunks_so_sqlite_writers_are_not_locked_out(engine, settings):
    old_key = load_master_key(settings).current
    with engine.begin() as conn:
        conn.execute(
            insert(data_keys),
            [
                {"owner": f"vehicle:bulk-{i}", "master_key_id": key_id(old_key),
                 "wrapped_key": wrap_key(old_key, f"vehicle:bulk-{i}", os.urandom(32)),
                 "created_at": datetime.now(UTC)}
                for i in range(2 * REWRAP_CHUNK + 500)
            ],
        )  # fmt: skip
    pending: list[int] = []
    committed: list[int] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE DATA_KEYS"):
            pending.append(len(parameters) if executemany else 1)

    def on_commit(conn) -> None:
        if pending:
            committed.append(sum(pending))
            pending.clear()

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        done = rotate_master_key(SqlDataKeyRepository(engine), settings)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
    assert committed == [REWRAP_CHUNK, REWRAP_CHUNK, 500]
    assert done.rewrapped == 2 * REWRAP_CHUNK + 500 and wrapping_ids(engine) == {done.new_id}
