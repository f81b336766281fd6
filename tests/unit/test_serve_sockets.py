"""The listening socket each ``serve --workers N`` process is given (SPEC U1; docs/scaling.md)."""

import select
import socket

from carprivacy.entrypoints.api.processes import bind


def test_the_socket_shares_its_port_and_sends_small_answers_at_once() -> None:
    first = bind("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = bind("127.0.0.1", port)  # a second process's socket on the same port
    try:
        for sock in (first, second):
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        client = socket.create_connection(("127.0.0.1", port))
        with client:
            ready, _, _ = select.select([first, second], [], [], 5)
            assert ready, "the connection reached neither socket"
            accepted, _ = ready[0].accept()
            with accepted:  # Linux hands the option on to the accepted connection
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        first.close()
        second.close()
