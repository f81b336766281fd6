"""``carprivacy serve --workers N``: N server processes on one port, each with a listening socket
of its own (SPEC I1; docs/scaling.md).

With one listening socket shared by N processes, every process waits on it and the first one
awake takes every connection waiting at that moment: long-lived (keep-alive) connections opened
together, as cars and benchmarks open them, may all land on one process while the others idle
(measured: 32 of 32). Here each process listens on a socket of its own bound with
``SO_REUSEPORT``, and the kernel spreads new connections over the N sockets by a hash of their
addresses and ports, so each process gets about 1/N of them whatever the others are doing.

The parent binds the N sockets (so a port in use is an error before any process starts),
keeps them open, and starts process ``i`` on socket ``i``; a process that exits is started
again on the same socket, so connections that arrive meanwhile wait in its queue instead of
being refused. A process that fails while starting (uvicorn's exit code 3, e.g. the app cannot
be built) stops them all. SIGINT or SIGTERM stops every process (each finishes its requests) and
then the parent. The kernel only joins sockets of one user into a group, so another user cannot
take a share of the connections.

Where ``SO_REUSEPORT`` does not exist, uvicorn's own supervisor with one shared socket is used.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from typing import Any

APP = "carprivacy.entrypoints.api.app:create_served_app"
STARTUP_FAILURE = 3  # uvicorn's exit code for a process that could not start serving
BACKLOG = 2048


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port) that other sockets of this user may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        # accepted connections inherit it; without it, an answer written as head and body
        # waits for the client's delayed ACK (~40 ms a request: asyncio does not set it on a
        # socket handed to the server process)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_one(sock: socket.socket, options: dict[str, Any]) -> None:
    """One server process: the app built by ``create_served_app``, served on ``sock``."""
    import uvicorn

    config = uvicorn.Config(APP, factory=True, log_level="warning", **options)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """The parent of ``workers`` server processes, one socket each."""

    def __init__(self, sockets: list[socket.socket], options: dict[str, Any]) -> None:
        self.sockets = sockets
        self.options = options
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[Any] = [None] * len(sockets)
        self.stopping = False
        self.failed = False

    def start(self, index: int) -> None:
        process = self.context.Process(
            target=serve_one,
            args=(self.sockets[index], self.options),
            name=f"carprivacy-serve-{index}",
        )
        process.start()
        self.processes[index] = process

    def stop(self, *_: object) -> None:
        self.stopping = True

    def run(self) -> int:
        """Start every process and keep them running until a signal; the exit status."""
        previous = {s: signal.signal(s, self.stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for index in range(len(self.sockets)):
                self.start(index)
            while not self.stopping:
                wait([p.sentinel for p in self.processes], timeout=0.5)
                for index, process in enumerate(self.processes):
                    if self.stopping or process.is_alive():
                        continue
                    process.join()
                    if process.exitcode == STARTUP_FAILURE:
                        print(
                            f"error: server process {index} could not start; stopping",
                            file=sys.stderr,
                        )
                        self.failed = self.stopping = True
                        break
                    print(
                        f"server process {index} exited ({process.exitcode}); starting it again",
                        file=sys.stderr,
                    )
                    time.sleep(0.5)  # no busy loop if it keeps failing
                    self.start(index)
        finally:
            self.shutdown()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 1 if self.failed else 0

    def shutdown(self) -> None:
        live = [p for p in self.processes if p is not None and p.is_alive()]
        for process in live:
            process.terminate()  # SIGTERM: uvicorn finishes the requests it has
        deadline = time.monotonic() + 30
        for process in live:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sock in self.sockets:
            sock.close()


def serve_processes(workers: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Serve the app on (host, port) with ``workers`` processes; the exit status."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(workers):
            sockets.append(bind(host, port))
            port = sockets[0].getsockname()[1]  # port 0: the one the first socket was given
    except OSError as exc:
        for sock in sockets:
            sock.close()
        print(f"error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return Supervisor(sockets, options).run()
