"""``carprivacy serve`` runs the retention job on its schedule (SPEC L1, L2): with one process
and with worker processes (one schedule in the parent), recorded as runs that
``carprivacy retention runs`` lists."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.e2e.processes import free_port

CARPRIVACY = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_retention_on_its_schedule(tmp_path: Path, workers: int) -> None:
    env = {
        **os.environ,
        "CARPRIVACY_DATA_DIR": str(tmp_path / "var"),
        "CARPRIVACY_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "CARPRIVACY_RETENTION_INTERVAL_SECONDS": "1",
    }
    env.pop("CARPRIVACY_ADMIN_TOKEN", None)
    subprocess.run([*CARPRIVACY, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [*CARPRIVACY, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        listed = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            listed = subprocess.run(
                [*CARPRIVACY, "retention", "runs"], env=env, capture_output=True, text=True
            ).stdout
            if listed.count("completed") >= 2:
                break
            time.sleep(0.5)
        assert listed.count("completed") >= 2, listed
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
