"""A Mosquitto of one's own, run from a shipped configuration (SPEC I1, I3).

For tests and benchmarks that need the project's broker settings (``deploy/mosquitto/ci.conf``:
queue limits that hold a worker's backlog, persistence) rather than the stock ones of the machine's
broker: the configuration is copied with its listener moved to a free loopback port and its
persistence into a directory of the caller's, so several can run side by side and each may be
stopped, killed and restarted.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from carprivacy.config import REPO_DIR

CI_CONFIG = REPO_DIR / "deploy" / "mosquitto" / "ci.conf"
PRODUCTION_CONFIG = REPO_DIR / "deploy" / "mosquitto" / "production.conf"


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found is not None:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_settings(path: Path) -> dict[str, list[str]]:
    """The settings of a mosquitto.conf: name -> the values it is given, in order."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        settings.setdefault(name, []).append(value.strip())
    return settings


def relocated(source: Path, port: int, directory: Path) -> str:
    """``source`` with its one listener on ``127.0.0.1:port`` and persistence in ``directory``."""
    out: list[str] = []
    listeners = 0
    for line in source.read_text(encoding="utf-8").splitlines():
        name = line.strip().partition(" ")[0]
        if name == "listener":
            listeners += 1
            line = f"listener {port} 127.0.0.1"
        elif name == "persistence_location":
            line = f"persistence_location {directory}/"
        elif name in ("log_dest", "pid_file", "user"):
            continue
        out.append(line)
    if listeners != 1:
        raise ValueError(f"{source}: [listener] exactly one listener to relocate, got {listeners}")
    out.append(f"log_dest file {directory}/mosquitto.log")
    if os.geteuid() == 0:
        out.append("user root")  # as root it would switch to a user who cannot write directory
    return "\n".join(out) + "\n"


class MosquittoProcess:
    """One broker process from ``source`` (default: the CI configuration) in ``directory``."""

    def __init__(self, directory: Path, source: Path = CI_CONFIG, port: int | None = None) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto: [missing] install Debian's mosquitto package")
        self.binary = binary
        self.port = port or free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(relocated(source, self.port, directory), encoding="utf-8")
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def start(self, timeout: float = 10) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(self.address, timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not start; see {self.log}")

    def stop(self) -> None:
        """A clean stop (SIGTERM): Mosquitto writes its persistence file first."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
            self.process = None

    def dropped(self) -> int:
        """How many times the broker logged that it dropped messages for a client."""
        if not self.log.exists():
            return 0
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text.count("Outgoing messages are being dropped")
