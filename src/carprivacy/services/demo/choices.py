"""The demo's consents, objection and restriction, recorded through the consent ledger (SPEC C1,
C4, R4, R6): so that the engine's consent, objection and restriction rules can be seen at once.

Some customers consent to e-mail marketing in the app (one withdraws it again), one asks MINI to
share CarData with one chosen insurer (customer 6, whose car sends telemetry), one gives and
withdraws the profiling consent, a workshop
records one OBFCM refusal, one customer objects to after-sales use of their vehicle data, and one
contests the accuracy of their data (a restriction, Art. 18(1)(a)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.services.consent.ledger import ConsentLedgerService

DEMO_STAFF = Caller("demo-desk", CallerKind.PERSON, Role.CUSTOMER_SERVICE, "mini_nl")
DEMO_INSURER = "demo_insurer"  # the chosen CarData party: a caller id of cardata_third_parties


def _person(subject_id: str) -> Caller:
    return Caller(
        f"customer:{subject_id}", CallerKind.PERSON, Role.CUSTOMER, "mini_nl", subject_id=subject_id
    )


@dataclass
class ChoicesSummary:
    consents: int = 0
    withdrawals: int = 0
    objections: int = 0
    restrictions: int = 0
    notes: list[str] = field(default_factory=list)


def load_choices(
    ledger: ConsentLedgerService,
    customers: Sequence[str],
    vehicle_of: Callable[[str], str | None],
) -> ChoicesSummary:
    """Record the demo's choices for ``customers`` (ids in demo order, at least 8)."""
    s = ChoicesSummary()
    for subject in customers[:6]:
        ledger.give(_person(subject), subject, "marketing_email", channel="app")
        s.consents += 1
    ledger.withdraw(_person(customers[1]), customers[1], "marketing_email", channel="portal")
    s.withdrawals += 1
    ledger.give(
        _person(customers[5]), customers[5], "cardata_sharing", channel="app", party=DEMO_INSURER
    )
    ledger.give(_person(customers[2]), customers[2], "profiling", channel="portal", language="en")
    ledger.withdraw(_person(customers[2]), customers[2], "profiling", channel="portal")
    s.consents += 2
    s.withdrawals += 1
    ledger.give(DEMO_STAFF, customers[3], "marketing_post", channel="call_centre")
    s.consents += 1
    vehicle = vehicle_of(customers[4])
    if vehicle is not None:
        ledger.give(
            DEMO_STAFF, customers[4], "obfcm_refusal", channel="workshop", vehicle_id=vehicle
        )
        s.consents += 1
    ledger.object(
        _person(customers[6]), customers[6], channel="portal", purpose="after_sales_service"
    )
    s.objections += 1
    ledger.restrict(_person(customers[7]), customers[7], "accuracy_contested", channel="portal")
    s.restrictions += 1
    s.notes.append(
        f"consents: customers 1-6 e-mail marketing (customer 2 withdrew), customer 6 CarData to "
        f"{DEMO_INSURER}, customer 3 profiling (withdrawn), customer 5 OBFCM refusal; "
        "customer 7 objects to after_sales_service; customer 8 restricted (accuracy contested)"
    )
    return s
