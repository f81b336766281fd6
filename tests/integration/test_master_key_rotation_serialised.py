"""Master-key rotations serialised in the database (SPEC I3), on SQLite and
PostgreSQL, from the second review: rotations with different key files (two ``--new-key-file``
paths, or two hosts with their own copy of the key file) ran at once, the last writer won, and
both reported success while every data key ended under one of two new keys. Now the later one
waits for the database's rotation lock, then stops without changing anything; a pass moves a key
only if it is still under the id it read, and counts only keys really moved."""

from __future__ import annotations

import base64
import os
import shutil
import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from tests.integration.test_master_key_rotation_online import (
    assert_opens,
    cipher_for,
    seal,
    wrapping_ids,
)

from carprivacy.adapters.crypto.envelope import EnvelopeCipher, wrap_key
from carprivacy.adapters.crypto.master_key import (
    key_id,
    load_master_key,
    new_master_key,
    next_key_file,
)
from carprivacy.adapters.crypto.rotation import Rotation, rotate_master_key
from carprivacy.adapters.db.repositories.data_keys import SqlDataKeyRepository
from carprivacy.adapters.db.tables.telemetry import data_keys
from carprivacy.config import Settings, load_settings
from carprivacy.domain.errors import UnknownMasterKeyError

OWNERS = [f"subject:{i:04d}" for i in range(120)]


def race(engine: Engine, first: dict, second: dict) -> tuple[dict, dict, bool]:
    """``first`` rotates and pauses in its pass; ``second`` starts then. Returns the results,
    the failures, and whether ``second`` was still waiting while ``first`` was paused."""
    in_pass, go = threading.Event(), threading.Event()
    results: dict[str, Rotation] = {}
    failures: dict[str, BaseException] = {}
    waited: list[bool] = []

    def pause(done: int, total: int) -> None:
        if not in_pass.is_set():
            in_pass.set()
            go.wait(timeout=60)

    def run(name: str, **kwargs) -> threading.Thread:
        def target() -> None:
            try:
                results[name] = rotate_master_key(SqlDataKeyRepository(engine), **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                failures[name] = exc

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    a = run("A", progress=pause, chunk_size=10, **first)
    assert in_pass.wait(timeout=60)
    b = run("B", waiting=lambda: waited.append(True), chunk_size=10, **second)
    b.join(timeout=1)
    b_waited = b.is_alive() and waited == [True]
    go.set()
    for thread in (a, b):
        thread.join(timeout=120)
    return results, failures, b_waited


def test_environment_key_rotations_with_two_new_key_files_run_one_after_the_other(
    engine: Engine, db_url: str, tmp_path: Path
):
    env = base64.urlsafe_b64encode(new_master_key()).decode()
    settings = load_settings(data_dir=tmp_path, database_url=db_url, master_key=env)
    sealed = seal(cipher_for(engine, settings), OWNERS)

    results, failures, b_waited = race(
        engine,
        {"settings": settings, "new_key_file": tmp_path / "a.key"},
        {"settings": settings, "new_key_file": tmp_path / "b.key"},
    )

    assert b_waited  # the database lock, not only `<new key file>.lock`
    winner = results.pop("A")
    assert not results  # B did not report success
    lost = failures.pop("B")
    assert isinstance(lost, UnknownMasterKeyError) and not failures, failures
    assert lost.master_key_id == winner.new_id  # the key B's ring lacks: A's
    assert not (tmp_path / "b.key").exists()  # B stopped before writing a key
    assert wrapping_ids(engine) == {winner.new_id}
    new_env = (tmp_path / "a.key").read_text().strip()  # what the operator sets next
    after = load_settings(data_dir=tmp_path, database_url=db_url, master_key=new_env)
    assert_opens(cipher_for(engine, after), sealed)


def test_file_key_rotations_on_two_hosts_sharing_the_database_run_one_after_the_other(
    engine: Engine, db_url: str, tmp_path: Path
):
    host_a = load_settings(data_dir=tmp_path / "a", database_url=db_url)
    sealed = seal(cipher_for(engine, host_a), OWNERS)
    (tmp_path / "b").mkdir()
    shutil.copy2(host_a.resolved_master_key_file, tmp_path / "b" / "master.key")  # a copy
    host_b = load_settings(data_dir=tmp_path / "b", database_url=db_url)
    b_key_before = host_b.resolved_master_key_file.read_bytes()

    results, failures, b_waited = race(engine, {"settings": host_a}, {"settings": host_b})

    assert b_waited
    winner = results.pop("A")
    assert not results
    lost = failures.pop("B")
    assert isinstance(lost, UnknownMasterKeyError) and not failures, failures
    assert lost.master_key_id == winner.new_id
    assert host_b.resolved_master_key_file.read_bytes() == b_key_before  # left as it was
    assert not next_key_file(host_b.resolved_master_key_file).exists()
    assert wrapping_ids(engine) == {winner.new_id} == {load_master_key(host_a).current_id}
    assert_opens(cipher_for(engine, host_a), sealed)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, database_url=db_url)


def test_keys_destroyed_during_a_pass_stay_destroyed_and_are_not_counted(engine, settings):
    seal(cipher_for(engine, settings), OWNERS)
    keys = SqlDataKeyRepository(engine)
    # in the page being re-wrapped (read, not yet written), and in a later page
    destroyed = OWNERS[15:20] + OWNERS[100:105]

    def destroy(done: int, total: int) -> None:
        if done == 12:
            for owner in destroyed:
                keys.destroy(owner, datetime.now(UTC))

    done = rotate_master_key(keys, settings, progress=destroy, chunk_size=50)

    assert done.rewrapped == len(OWNERS) - len(destroyed)
    with engine.connect() as conn:
        rows = conn.execute(
            select(data_keys.c.wrapped_key, data_keys.c.master_key_id).where(
                data_keys.c.owner.in_(destroyed)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(None, None)] * len(destroyed)
    assert wrapping_ids(engine) == {done.new_id}


def test_a_key_moved_by_another_writer_during_a_pass_is_not_overwritten_nor_ignored(
    engine, settings
):
    """Something that ignores the locks moves one key to a key this rotation lacks: the pass
    leaves it (compare-and-set), and the rotation does not report success while a live key is
    under another id than the new one (it used to count only retired ids)."""
    seal(cipher_for(engine, settings), OWNERS)
    stranger = new_master_key()
    owner = OWNERS[30]  # in the page being re-wrapped when the callback runs

    def move(done: int, total: int) -> None:
        if done == 25:
            with engine.begin() as conn:
                conn.execute(
                    update(data_keys)
                    .where(data_keys.c.owner == owner)
                    .values(
                        wrapped_key=wrap_key(stranger, owner, os.urandom(32)),
                        master_key_id=key_id(stranger),
                    )
                )

    with pytest.raises(UnknownMasterKeyError) as raised:
        rotate_master_key(SqlDataKeyRepository(engine), settings, progress=move, chunk_size=50)

    assert raised.value.master_key_id == key_id(stranger)
    with engine.connect() as conn:
        query = select(data_keys.c.master_key_id).where(data_keys.c.owner == owner)
        assert conn.execute(query).scalar_one() == key_id(stranger)  # not overwritten
    waiting = load_master_key(settings).newest_id
    assert wrapping_ids(engine) == {waiting, key_id(stranger)}


def test_a_pass_reads_one_page_at_a_time(engine, settings):
    seal(cipher_for(engine, settings), OWNERS)
    keys = SqlDataKeyRepository(engine)
    pages: list[int] = []
    page = keys.live_page

    def counting(after: str | None, limit: int, not_under: str):
        found = page(after, limit, not_under)
        pages.append(len(found))
        return found

    keys.live_page = counting  # type: ignore[method-assign]
    done = rotate_master_key(keys, settings, chunk_size=50)
    assert pages == [50, 50, 20, 0] and done.rewrapped == len(OWNERS)
    assert_opens(
        EnvelopeCipher(SqlDataKeyRepository(engine), partial(load_master_key, settings)),
        {o: b for o, b in seal(cipher_for(engine, settings), ["subject:x"]).items()},
    )
