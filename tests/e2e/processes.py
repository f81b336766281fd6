"""Real processes for the durability, leakage and soak suites (SPEC I1, I3): ``carprivacy serve``
and ``carprivacy ingest mqtt`` as subprocesses that can be killed and started again, a PostgreSQL
of one's own that can be stopped and started (never the shared one), and the stored values read
back through the service layer (decrypted) to compare with what was sent.

``debug=True`` runs a command with the root logger at DEBUG into its log file (uvicorn's own
loggers at debug, the access log included; SQLAlchemy's statements with their parameters), so that
a suite can read everything the process logs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from carprivacy.adapters.db.tables.telemetry import telemetry
from carprivacy.bootstrap import Services
from carprivacy.domain.telemetry import aad_for, decode_value

CARPRIVACY = [sys.executable, "-m", "carprivacy.entrypoints.cli.main"]
# the CLI with every log record at DEBUG (the root logger, and uvicorn's, access log included)
DEBUG_CARPRIVACY = [
    sys.executable,
    "-c",
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,"
    " format='%(asctime)s %(levelname)s %(name)s: %(message)s')\n"
    # SQLAlchemy keeps its loggers at WARNING unless told: its statements and their parameters
    "logging.getLogger('sqlalchemy.engine').setLevel(logging.INFO)\n"
    "import uvicorn\n"
    "_run = uvicorn.run\n"
    "uvicorn.run = lambda *a, **k: _run(*a, **{**k, 'log_level': 'debug', 'access_log': True})\n"
    "from carprivacy.entrypoints.cli.main import app\n"
    "sys.argv[0] = 'carprivacy'\n"
    "app()\n",
]

Key = tuple[str, str, datetime]  # vin, signal, ts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stored(engine: Engine) -> int:
    """How many telemetry rows are stored."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(telemetry)).scalar_one())


def stored_values(container: Services, vins: list[str]) -> dict[Key, list[object]]:
    """Every stored record of ``vins`` as (vin, signal, ts) -> its values, decrypted."""
    out: dict[Key, list[object]] = {}
    for vin in vins:
        vehicle = container.master.find_vehicle_by_vin(vin)
        assert vehicle is not None
        for row in container.telemetry.rows_for_vehicle(vehicle.id):
            if row.value_ciphertext is not None:
                aad = aad_for(row.vehicle_id, row.signal, row.ts, row.source)
                value = decode_value(
                    container.cipher.decrypt(row.key_owner, row.value_ciphertext, aad)
                )
            else:
                value = row.value
            ts = row.ts if row.ts.tzinfo else row.ts.replace(tzinfo=UTC)
            out.setdefault((vin, row.signal, ts.astimezone(UTC)), []).append(value)
    return out


class CliProcess:
    """One ``carprivacy`` command as a subprocess, its output (stdout and stderr) in log files
    ``<log_dir>/<name>-<run>.log``, one per start."""

    def __init__(
        self, name: str, env: dict[str, str], args: list[str], log_dir: Path, debug: bool = False
    ) -> None:
        self.name, self.env, self.args, self.log_dir, self.debug = name, env, args, log_dir, debug
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None

    def start(self) -> None:
        self.runs += 1
        self.log = self.log_dir / f"{self.name}-{self.runs}.log"
        command = DEBUG_CARPRIVACY if self.debug else CARPRIVACY
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, *self.args],
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self, tail: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log else ""

    def kill(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(20)

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def logs(self) -> list[Path]:
        return sorted(self.log_dir.glob(f"{self.name}-*.log"))


class Server(CliProcess):
    """``carprivacy serve`` on a free loopback port (a new one at every start)."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        workers: int = 1,
        debug: bool = False,
        name: str = "server",
    ) -> None:
        super().__init__(name, env, [], log_dir, debug)
        self.workers = workers
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        self.port = free_port()
        self.args = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        super().start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.name} exited: {self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"{self.name} did not answer /health in {timeout} s: {self.output()}")


class Worker(CliProcess):
    """``carprivacy ingest mqtt`` with ``args``; ``wait_subscribed`` reads its log."""

    def __init__(
        self,
        env: dict[str, str],
        args: list[str],
        log_dir: Path,
        debug: bool = False,
        name: str = "worker",
    ) -> None:
        super().__init__(name, env, ["ingest", "mqtt", *args], log_dir, debug)

    def wait_subscribed(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.log is not None and self.process is not None
            if b"subscribed to" in self.log.read_bytes():
                return
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            time.sleep(0.05)
        raise AssertionError(f"the worker did not subscribe: {self.output()}")


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def postgres_available() -> bool:
    return (POSTGRES_BIN / "initdb").exists()


class PrivatePostgres:
    """A PostgreSQL cluster of one's own (initdb in a temp dir, a free port, trust auth on
    loopback): safe to stop, crash and restart, unlike the machine's shared one. As root the
    cluster belongs to the ``postgres`` user (initdb refuses root)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="carprivacy-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(
            [str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"]
            + ["--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: list[str], timeout: float = 120) -> None:
        done = subprocess.run(
            [*self._as, *command], capture_output=True, timeout=timeout, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout!r} {done.stderr!r}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run(
            [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
            + ["-o", options, "-w", "-t", "120", "start"]
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown; ``immediate``: like a crash (recovery at the next start)."""
        self._run(
            [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode]
            + ["-w", "-t", "120", "stop"]
        )

    def running(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def dump(self, target: Path) -> Path:
        """A plain-text ``pg_dump`` of the database (what a backup holds)."""
        done = subprocess.run(
            [str(POSTGRES_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-U", "postgres", "-f", str(target), "postgres"],
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {done.stderr!r}")
        return target

    def close(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres(in_ci: bool) -> Iterator[PrivatePostgres]:
    """A started cluster of one's own, closed afterwards; without the binaries a failure in CI
    (``in_ci``) and a skip elsewhere."""
    import pytest

    if not postgres_available():
        if in_ci:
            pytest.fail("PostgreSQL 15 binaries (initdb) are missing and CI=true")
        pytest.skip("PostgreSQL 15 binaries (initdb) not installed")
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
