"""A small CarData client written against the published BMW CarData description only (the
device-code flow under ``/gcdm/oauth/``, the customer API v1 under ``/customers/`` with
``x-version: v1``): what an existing client does, pointed at carprivacy's URLs instead of
``customer.bmwgroup.com`` and ``api-cardata.bmwgroup.com``. It knows nothing of carprivacy."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

SCOPE = "authenticate_user openid cardata:api:read cardata:streaming:read"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class CarDataClient:
    http: httpx.Client
    client_id: str
    auth_base: str = ""  # e.g. https://customer.bmwgroup.com
    api_base: str = ""  # e.g. https://api-cardata.bmwgroup.com
    sleep: Callable[[float], None] = time.sleep
    tokens: dict[str, Any] = field(default_factory=dict)
    verifier: str = ""

    # -- authorisation -----------------------------------------------------------------------
    def request_device_code(self) -> dict[str, Any]:
        self.verifier = secrets.token_urlsafe(64)[:86]
        digest = hashlib.sha256(self.verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        r = self.http.post(
            f"{self.auth_base}/gcdm/oauth/device/code",
            data={
                "client_id": self.client_id,
                "response_type": "device_code",
                "scope": SCOPE,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            headers={"Accept": "application/json"},
        )
        r.raise_for_status()
        return dict(r.json())

    def poll_for_token(self, device: dict[str, Any], max_polls: int = 20) -> dict[str, Any]:
        """Poll as RFC 8628 says: wait ``interval``, add 5 s on slow_down, stop on the rest."""
        interval = float(device["interval"])
        for _ in range(max_polls):
            self.sleep(interval)
            r = self.http.post(
                f"{self.auth_base}/gcdm/oauth/token",
                data={
                    "grant_type": DEVICE_GRANT,
                    "device_code": device["device_code"],
                    "client_id": self.client_id,
                    "code_verifier": self.verifier,
                },
            )
            body = r.json()
            if r.status_code == 200:
                self.tokens = body
                return dict(body)
            if body.get("error") == "authorization_pending":
                continue
            if body.get("error") == "slow_down":
                interval += 5
                continue
            raise RuntimeError(f"device flow failed: {body.get('error')}")
        raise RuntimeError("device flow: no answer in time")

    def refresh(self) -> dict[str, Any]:
        r = self.http.post(
            f"{self.auth_base}/gcdm/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.tokens["refresh_token"],
                "client_id": self.client_id,
            },
        )
        r.raise_for_status()
        self.tokens = r.json()
        return dict(self.tokens)

    # -- the customer API v1 -----------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "x-version": "v1",
            "Accept": "application/json",
        }

    def mappings(self) -> list[dict[str, Any]]:
        r = self.http.get(f"{self.api_base}/customers/vehicles/mappings", headers=self._headers())
        r.raise_for_status()
        return list(r.json())

    def basic_data(self, vin: str) -> dict[str, Any]:
        r = self.http.get(
            f"{self.api_base}/customers/vehicles/{vin}/basicData", headers=self._headers()
        )
        r.raise_for_status()
        return dict(r.json())

    def create_container(self, name: str, purpose: str, descriptors: list[str]) -> str:
        r = self.http.post(
            f"{self.api_base}/customers/containers",
            json={"name": name, "purpose": purpose, "technicalDescriptors": descriptors},
            headers=self._headers(),
        )
        r.raise_for_status()
        return str(r.json()["containerId"])

    def containers(self) -> list[dict[str, Any]]:
        r = self.http.get(f"{self.api_base}/customers/containers", headers=self._headers())
        r.raise_for_status()
        return list(r.json()["containers"])

    def telematic_data(self, vin: str, container_id: str) -> dict[str, Any]:
        r = self.http.get(
            f"{self.api_base}/customers/vehicles/{vin}/telematicData",
            params={"containerId": container_id},
            headers=self._headers(),
        )
        r.raise_for_status()
        return dict(r.json()["telematicData"])
