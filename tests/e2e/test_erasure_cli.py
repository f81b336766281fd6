"""``carprivacy erase``, ``backup`` and ``restore`` as an operator runs them, on SQLite and on
PostgreSQL (SPEC R3; Art. 17): the privacy officer erases the demo owner; the audit chain still
verifies; a backup taken before the erasure, restored, has the shred list replayed: the subject's
key is gone again, the erased rows are gone again, the 10-year records readable; a backup taken
after the erasure restores with the key gone; only the privacy officer may erase; runs killed
(SIGKILL) as soon as each phase is recorded, then run again, end as an uninterrupted one."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.e2e.processes import CARPRIVACY

from carprivacy.adapters.db.engine import make_engine
from carprivacy.adapters.db.tables.erasure import erasures
from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.bootstrap import Services, bootstrap
from carprivacy.config import load_settings


def env_of(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CARPRIVACY_DATABASE_URL": db_url,
        "CARPRIVACY_DATA_DIR": str(tmp_path / "var"),
        "CARPRIVACY_SHRED_LIST_PATH": str(tmp_path / "keys-apart" / "shred-list.jsonl"),
        "CARPRIVACY_ARGON2_TIME_COST": "1",
        "CARPRIVACY_ARGON2_MEMORY_KIB": "8",
    }


def cli(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CARPRIVACY, *args], env=env, capture_output=True, text=True, timeout=600
    )
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def container_of(db_url: str, tmp_path: Path) -> Services:
    return bootstrap(
        load_settings(
            data_dir=tmp_path / "var",
            database_url=db_url,
            shred_list_path=tmp_path / "keys-apart" / "shred-list.jsonl",
        )
    )


def state(db_url: str, tmp_path: Path, subject: str) -> dict[str, object]:
    c = container_of(db_url, tmp_path)
    try:
        with c.database.engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                select(func.count()).select_from(telemetry).where(telemetry.c.subject_id == subject)
            ).scalar_one()
        contact = c.master.get_customer(subject).contact
        return {
            "telemetry": rows,
            "key destroyed": c.cipher.is_destroyed(f"subject:{subject}"),  # type: ignore[attr-defined]
            "email": contact.email if contact else None,
            "surname": contact.surname if contact else None,
            "payment details": [p.method.details for p in c.master.payments_of(subject)],
        }
    finally:
        c.close()


@pytest.fixture
def demo(db_url: str, tmp_path: Path) -> tuple[dict[str, str], str]:
    env = env_of(db_url, tmp_path)
    cli(env, "db", "upgrade")
    cli(env, "demo", "load")
    c = container_of(db_url, tmp_path)
    try:
        subject = c.callers.get("demo-owner").subject_id
    finally:
        c.close()
    assert subject
    return env, subject


def test_erase_backup_restore_replays_the_shred_list(
    demo: tuple[dict[str, str], str], db_url: str, tmp_path: Path
) -> None:
    env, subject = demo
    before = state(db_url, tmp_path, subject)
    assert before["telemetry"] and before["email"] and not before["key destroyed"]
    cli(env, "backup", str(tmp_path / "before.backup"))
    assert stat.S_IMODE((tmp_path / "before.backup").stat().st_mode) == 0o600

    refused = cli(env, "erase", subject, "--as", "demo-desk", "--reason", "R-1", ok=False)
    assert refused.returncode == 1 and "erasure.role" in refused.stderr
    done = cli(env, "erase", subject, "--as", "demo-dpo", "--reason", "request R-1")
    assert "completed" in done.stdout and "key destroyed: yes" in done.stdout
    assert "kept\tpayment_transactions" in done.stdout and "Art. 17(3)(b)" in done.stdout
    assert "erased\ttelemetry" in done.stdout
    assert "ok" in cli(env, "audit", "verify").stdout
    erased = state(db_url, tmp_path, subject)
    assert erased["telemetry"] == 0 and erased["key destroyed"] and erased["email"] is None
    assert erased["surname"] == before["surname"]  # the counterparty of the 10-year records
    assert erased["payment details"] == before["payment details"]
    shred = tmp_path / "keys-apart" / "shred-list.jsonl"
    assert stat.S_IMODE(shred.stat().st_mode) == 0o600 and subject not in shred.read_text()
    cli(env, "backup", str(tmp_path / "after.backup"))

    # the backup from before the erasure: restored, the shred list erases the subject again
    restored = cli(env, "restore", str(tmp_path / "before.backup"), "--yes")
    assert "1 erasure(s) carried out again" in restored.stdout
    assert state(db_url, tmp_path, subject) == erased

    # the backup from after: the key is gone in it already; nothing left to replay
    restored = cli(env, "restore", str(tmp_path / "after.backup"), "--yes")
    assert "0 erasure(s)" in restored.stdout
    assert state(db_url, tmp_path, subject) == erased


def test_erase_at_the_manufacturer_leaves_the_national_company_records(
    demo: tuple[dict[str, str], str], db_url: str, tmp_path: Path
) -> None:
    env, subject = demo
    before = state(db_url, tmp_path, subject)
    done = cli(
        env, "erase", subject, "--as", "demo-dpo", "--reason", "R-2", "--controller", "mini_ag"
    )
    assert "kept\tcustomers\tcontact" in done.stdout and "other_controller" in done.stdout
    after = state(db_url, tmp_path, subject)
    assert after["telemetry"] == 0 and after["email"] == before["email"]
    bad = cli(
        env, "erase", subject, "--as", "demo-dpo", "--reason", "R", "--controller", "x", ok=False
    )
    assert bad.returncode == 1 and "controller: [erasure.controller]" in bad.stderr


def test_an_erasure_killed_anywhere_ends_as_one_that_was_not(
    demo: tuple[dict[str, str], str], db_url: str, tmp_path: Path
) -> None:
    env, subject = demo
    before = state(db_url, tmp_path, subject)
    args = [*CARPRIVACY, "erase", subject, "--as", "demo-dpo", "--reason", "request R-K"]
    killed: list[str] = []
    watch = make_engine(db_url)
    seen = select(erasures.c.state).where(erasures.c.subject_id == subject)
    try:
        for _ in range(6):  # each run is killed as soon as it has recorded a phase
            process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
            phase = None
            while process.poll() is None:
                with watch.connect() as conn:
                    phase = conn.execute(seen).scalar()
                if phase is not None and phase != "completed" and phase not in killed:
                    process.send_signal(signal.SIGKILL)
                    killed.append(phase)
                    break
                time.sleep(0.002)
            process.wait(60)
            if phase == "completed":
                break
    finally:
        watch.dispose()
    done = cli(env, "erase", subject, "--as", "demo-dpo", "--reason", "request R-K")
    assert "completed" in done.stdout and "key destroyed: yes" in done.stdout
    after = state(db_url, tmp_path, subject)
    assert after["telemetry"] == 0 and after["key destroyed"] and after["email"] is None
    assert after["surname"] == before["surname"]
    assert after["payment details"] == before["payment details"]
    assert "ok" in cli(env, "audit", "verify").stdout
    c = container_of(db_url, tmp_path)
    try:
        records = c.erasure.store.of_subject(subject)
    finally:
        c.close()
    assert [r.state.value for r in records] == ["completed"]
    print(f"\nkilled after the phases: {killed}")
    assert killed, "no run was killed during the erasure"
