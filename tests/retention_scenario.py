"""A retention scenario for the in-memory and the SQL stores alike (SPEC L1, L2): telemetry of
every kind of category, vehicles before, at and after their end of life, contracts and payments
around their boundaries, legal holds; and the oracle of what a run at ``now`` must leave.

The oracle is written from the notice and the forward functions, not from the retention job's
cutoffs: a stored row goes when its stamp (or, held until the end of life, the expiry ingestion
would stamp now that the end of life is known) is not after ``now``; vehicle status and
maintenance data lose their subject 4 weeks after collection; a contract goes 1 year after its
end, a transaction 10 years after its booking (dateutil's calendar); an active hold keeps what it
covers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from carprivacy.domain.legal_holds import LegalHold
from carprivacy.domain.master import (
    Contract,
    PaymentMethod,
    PaymentMethodKind,
    PaymentTransaction,
    Vehicle,
)
from carprivacy.domain.policy import Policy
from carprivacy.domain.telemetry import TelemetryRow, collection_purposes
from carprivacy.services.ingestion.expiry import Expiries

CATEGORIES = (
    "position_movement",  # sensitive (sealed), 4 weeks
    "vehicle_status",  # 4 weeks identified, then vehicle-linked until the end of life
    "maintenance_service",
    "vehicle_general",  # until the end of life
    "traffic_info",  # 4 weeks
    "obfcm",  # as long as the purpose needs: nothing dated
)
ANONYMISED_AFTER = {"vehicle_status": timedelta(weeks=4), "maintenance_service": timedelta(weeks=4)}
FOUR_WEEKS = timedelta(weeks=4)


class Fate(StrEnum):
    KEPT = "kept"
    ANONYMISED = "anonymised"
    DELETED = "deleted"


@dataclass
class Scenario:
    now: datetime
    vehicles: list[Vehicle] = field(default_factory=list)
    rows: list[TelemetryRow] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    payments: list[PaymentTransaction] = field(default_factory=list)
    holds: list[LegalHold] = field(default_factory=list)

    def eol(self, vehicle_id: str) -> date | None:
        return next(v.end_of_life for v in self.vehicles if v.id == vehicle_id)

    def held(self, subject: str | None, vehicle: str | None, category: str) -> bool:
        return any(h.covers(subject, vehicle, category) for h in self.holds)


def _vehicle(ident: str, end_of_life: date | None, at: datetime) -> Vehicle:
    return Vehicle(ident, f"WMW{ident[-14:]:0>14}", "MINI", "green", (), end_of_life, at, at)


def build(policy: Policy, now: datetime, *, seed: int = 7, rows: int = 400) -> Scenario:
    """Rows spread around every boundary (exactly at it, one microsecond either side, days
    around), stamped as ingestion stamps them with what it knew then."""
    rng = random.Random(seed)
    s = Scenario(now)
    eols: dict[str, date | None] = {
        "veh-live-0000000001": None,
        "veh-dead-0000000002": (now - timedelta(days=40)).date(),
        "veh-today-000000003": now.date(),  # its first moment: reached already
        "veh-later-000000004": (now + timedelta(days=60)).date(),
        "veh-held-0000000005": None,
    }
    created = now - relativedelta(years=12)
    s.vehicles = [_vehicle(v, e, created) for v, e in eols.items()]
    expiries = Expiries(policy, CATEGORIES)
    offsets = [
        timedelta(0),
        timedelta(microseconds=1),
        -timedelta(microseconds=1),
        timedelta(days=1),
        -timedelta(days=1),
        timedelta(days=20),
        -timedelta(days=20),
    ]
    subjects = ["cust-a", "cust-b", "cust-held", None]
    seen: set[tuple[str, str, datetime]] = set()
    while len(s.rows) < rows:
        vehicle = rng.choice(list(eols))
        category = rng.choice(CATEGORIES)
        ts = now - FOUR_WEEKS + rng.choice(offsets) - timedelta(seconds=rng.randrange(0, 3) * 7)
        if (vehicle, category, ts) in seen:
            continue
        seen.add((vehicle, category, ts))
        subject = rng.choice(subjects)
        # what ingestion knew: the end of life, or not yet (set later)
        known = eols[vehicle] if rng.random() < 0.5 else None
        sealed = category == "position_movement"
        owner = f"subject:{subject}" if subject else f"vehicle:{vehicle}"
        s.rows.append(
            TelemetryRow(
                vehicle,
                subject,
                None,
                owner,
                f"Vehicle.Test.{category}.{len(s.rows)}",
                category,
                None,
                None if sealed else "1",
                b"sealed-bytes" if sealed else None,
                ts,
                ts,
                "http",
                collection_purposes(policy, category),
                expiries.expires_at(category, known, ts),
            )
        )
    year_ago = now - relativedelta(years=1)
    for i, end in enumerate(
        [
            None,
            year_ago,
            year_ago + timedelta(microseconds=1),
            year_ago - timedelta(days=1),
            now - timedelta(days=10),
            # ended on a leap day: expired 1 year later, on the last day of February
            *(
                [datetime(2024, 2, 29, 12, tzinfo=UTC), datetime(2024, 2, 29, 13, tzinfo=UTC)]
                if now.date() == date(2025, 2, 28)
                else []
            ),
        ]
    ):
        for customer in ("cust-a", "cust-held"):
            start = (end or now) - timedelta(days=400)
            s.contracts.append(
                Contract(
                    f"ctr-{customer}-{i}",
                    customer,
                    "veh-live-0000000001",
                    start,
                    end,
                    ("teleservices",),
                    start,
                    start,
                )
            )
    ten = now - relativedelta(years=10)
    for i, booked in enumerate(
        [ten, ten + timedelta(microseconds=1), ten - timedelta(days=3), now]
    ):
        for customer in ("cust-a", "cust-held"):
            s.payments.append(
                PaymentTransaction(
                    f"pay-{customer}-{i}",
                    customer,
                    f"ctr-{customer}-1",  # a contract that itself expires: the link is dropped
                    1000,
                    "EUR",
                    booked,
                    PaymentMethod(PaymentMethodKind.CARD, "**** 4242"),
                    booked,
                )
            )
    at = now - timedelta(days=1)
    s.holds = [
        LegalHold("hold-subject", "cust-held", None, None, "legal claims", "dpo", at),
        LegalHold(
            "hold-vehicle", None, "veh-held-0000000005", "vehicle_status", "police", "dpo", at
        ),
        LegalHold(
            "hold-released",
            "cust-b",
            None,
            None,
            "settled",
            "dpo",
            at,
            released_at=at + timedelta(hours=1),
            released_by="dpo",
            release_reason="claim settled",
        ),
    ]
    return s


def oracle(policy: Policy, s: Scenario) -> dict[tuple[str, str], Fate]:
    """The fate of every telemetry row, by (vehicle, signal)."""
    expiries = Expiries(policy, CATEGORIES)
    fates: dict[tuple[str, str], Fate] = {}
    for r in s.rows:
        key = (r.vehicle_id, r.signal)
        if s.held(r.subject_id, r.vehicle_id, r.category):
            fates[key] = Fate.KEPT
            continue
        expiry = r.expires_at
        if expiry is None:  # held until an event: is it known now?
            expiry = expiries.expires_at(r.category, s.eol(r.vehicle_id), r.ts)
        if expiry is not None and expiry <= s.now:
            fates[key] = Fate.DELETED
        elif (
            r.subject_id is not None
            and r.category in ANONYMISED_AFTER
            and r.ts + ANONYMISED_AFTER[r.category] <= s.now
        ):
            fates[key] = Fate.DELETED if r.value_ciphertext is not None else Fate.ANONYMISED
        else:
            fates[key] = Fate.KEPT
    return fates


def kept_contracts(s: Scenario) -> set[str]:
    return {
        c.id
        for c in s.contracts
        if c.end is None
        or c.end + relativedelta(years=1) > s.now
        or s.held(c.customer_id, c.vehicle_id, "contract")
    }


def kept_payments(s: Scenario) -> set[str]:
    return {
        p.id
        for p in s.payments
        if p.booked_at + relativedelta(years=10) > s.now
        or s.held(p.customer_id, "veh-live-0000000001", "financial_transactions")
    }
