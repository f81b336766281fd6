"""Direct transmission of a portability export to another controller (Art. 20(2); SPEC R6).

:class:`HttpsTransmitter` POSTs the export, streamed (chunked), to an ``https://`` endpoint with
the certificate verified against the system's trust store or ``ca_file``; redirects are not
followed (the person named this endpoint). The errors of the HTTP library and of TLS become a
:class:`~carprivacy.services.exports.ports.TransmissionAnswer` without a status, saying what kind
of failure it was, never the data.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from carprivacy.services.exports.ports import TransmissionAnswer

ANSWER_BYTES = 2000


class HttpsTransmitter:
    def __init__(self, ca_file: Path | None = None, timeout_seconds: float = 30.0) -> None:
        self._ca_file = ca_file
        self._context: ssl.SSLContext | None = None  # made on first use: start-up reads no file
        self._timeout = timeout_seconds

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            ca = self._ca_file
            self._context = ssl.create_default_context(cafile=str(ca) if ca else None)
        return self._context

    def post(self, endpoint: str, body: Iterable[bytes], content_type: str) -> TransmissionAnswer:
        if urlsplit(endpoint).scheme != "https":
            return TransmissionAnswer(None, b"", "only https:// endpoints are sent to")
        try:
            context = self.context()
        except OSError:
            return TransmissionAnswer(
                None, b"", "the configured CA file (transmission_ca) is unreadable"
            )
        try:
            with (
                httpx.Client(verify=context, timeout=self._timeout) as client,
                client.stream(
                    "POST",
                    endpoint,
                    content=iter(body),
                    headers={"content-type": content_type},
                ) as answer,
            ):
                taken = b""
                for chunk in answer.iter_bytes():
                    taken += chunk
                    if len(taken) >= ANSWER_BYTES:
                        break
                return TransmissionAnswer(answer.status_code, taken[:ANSWER_BYTES])
        except httpx.ConnectError as exc:
            why = (
                "TLS verification failed" if "CERTIFICATE" in str(exc).upper() else "no connection"
            )
            return TransmissionAnswer(None, b"", why)
        except httpx.TimeoutException:
            return TransmissionAnswer(None, b"", "timed out")
        except httpx.HTTPError as exc:
            return TransmissionAnswer(None, b"", f"HTTP error: {type(exc).__name__}")
