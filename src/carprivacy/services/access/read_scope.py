"""Whether a caller may ask for the records of a named vehicle or subject at all, decided
before anything is read (SPEC U2, U3; Art. 5(1)(f) GDPR).

A read of records attributed at their own time (telemetry read back) decides each record on
whom it was attributed to. Were that the only check, the answer would tell which ids exist and
when they have data: a customer asking for someone else's vehicle would be refused in a period
with values and given an empty list in one without, and an unknown vehicle would answer like a
known empty one. So the scope of a read is settled first, on facts the caller is entitled to
(their own usage and fleet periods, the purpose's form), and an unknown id answers exactly as a
forbidden one:

- a customer names a vehicle they never owned or drove: ``caller.not_own_data``;
- a fleet manager names a vehicle that was never in their fleet: ``caller.fleet_not_member``;
- a purpose that releases vehicle-linked data only is used through a named person:
  ``form.vehicle_linked`` (vehicle-linked data is released per vehicle).

Within that scope, the records of another person's or fleet's time are left out of the answer,
never refused one by one (see ``Gate.attributed``): they are not the caller's, whether or not
there are any.

Standard library, domain and services only.
"""

from __future__ import annotations

from collections.abc import Collection

from carprivacy.domain.access import Caller, Reason, Role
from carprivacy.domain.decision_facts import FactsSnapshot
from carprivacy.domain.policy import Form, Policy

VEHICLE_LINKED_VIA_SUBJECT = Reason(
    "form.vehicle_linked",
    "Art. 5(1)(c) GDPR",
    "D",
    "vehicle-linked data is released per vehicle, never looked up through a customer",
)


def needs_vehicle_facts(caller: Caller, subject_id: str | None, vehicle_id: str | None) -> bool:
    """Whether :func:`out_of_scope` needs the vehicle's usage and fleet periods."""
    return (
        vehicle_id is not None
        and subject_id is None
        and caller.role in (Role.CUSTOMER, Role.FLEET_MANAGER)
    )


def out_of_scope(
    policy: Policy,
    caller: Caller,
    purpose: str,
    *,
    subject_id: str | None,
    vehicle_id: str | None,
    own_reason: Reason,
    fleet_reason: Reason,
    facts: FactsSnapshot | None = None,
) -> Reason | None:
    """The refusal of a read outside the caller's scope, else None. ``facts``: the vehicle's
    periods, when :func:`needs_vehicle_facts` says they are needed."""
    if subject_id is not None:
        known = policy.purposes_by_id.get(purpose)
        if known is not None and known.form is Form.VEHICLE_LINKED:
            return VEHICLE_LINKED_VIA_SUBJECT
        return None
    if vehicle_id is None or not needs_vehicle_facts(caller, subject_id, vehicle_id):
        return None
    assert facts is not None, "needs_vehicle_facts: the vehicle's periods are needed"
    if caller.role is Role.CUSTOMER:
        users: Collection[str] = {p.subject_id for p in facts.usage.get(vehicle_id, ())}
        return None if caller.subject_id in users else own_reason
    fleets = {p.fleet_id for p in facts.fleets.get(vehicle_id, ())}
    return None if caller.fleet_id is not None and caller.fleet_id in fleets else fleet_reason
