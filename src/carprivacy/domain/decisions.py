"""The decision engine: may this caller use these categories for this purpose now? (SPEC U1, U2).

``decide(policy, request, facts)`` is pure: the policy, the request (caller, purpose, categories,
the time ``at``) and a :class:`~carprivacy.domain.subject_state.SubjectFacts` snapshot in, a
:class:`~carprivacy.domain.access.Decision` with its reasons out. The rules, in the order they are
checked (the first that fails decides; every reason names rule id, GDPR article and notice section):

1. ``purpose.unknown``: the purpose exists in the policy.
2. ``category.not_allowed``: every requested category is one the purpose may use (Art. 5(1)(b),(c)).
3. ``caller.not_recipient`` / ``caller.role``: the caller's organisation is a recipient of the
   purpose, or the caller is staff of one of the purpose's controllers (a controller id, or a
   recipient that is ``internal`` or names its ``controller``) with a role that
   :data:`DEFAULT_ROLE_PURPOSES` allows for the purpose; customers only for their own data.
   ``fleet.not_member``: a fleet manager only for a vehicle in its fleet at ``at`` (SPEC B2);
   ``subject.unknown``: a subject id that master data does not know.
4. ``transfer.no_mechanism``: a recipient outside the EEA needs an adequacy decision or SCC (Ch. V);
   ``recipient.service_country``: a recipient with service countries gets only data of subjects
   living there (when the subject's country is known).
5. ``retention.expired``: data whose ``expires_at`` (``request.extra``) has passed is never
   returned.
6. ``objection.marketing``: a marketing objection stops every marketing purpose (Art. 21(3)).
7. ``consent.required`` / ``consent.withdrawn`` / ``consent.refused``: opt-in topics need a consent
   given and not withdrawn at ``at``; opt-out topics (OBFCM) stop while refused. For a
   vehicle-only topic a consent counts only for its vehicle, and a refusal of the subject counts
   for a request that names no vehicle (the conservative reading both ways).
8. ``contract.required``: contract purposes need a contract covering subject and vehicle at ``at``.
9. ``objection.art21``: legitimate-interest purposes stop for a subject who objected, unless an
   active override with recorded compelling grounds or legal claims exists (never for marketing).
10. ``restriction.art18``: restricted data is used only by a purpose that declares an Art. 18(2)
    ground (``restriction_ground``: storage, legal claims, the protection of the rights of another
    person, important public interest; ``legal_claims: true`` is the legal-claims ground) or by a
    consent purpose the subject consented to; such an allow carries the reason
    ``restriction.art18_ground`` or ``restriction.art18_consent`` (Art. 18(2)).

Allowed: the purpose's form and, per category, the fields the caller may receive (the recipient's
``allowed_fields``, minus the identifiers the form hides). For speed the policy is compiled once
(:func:`compile_policy`, ``domain/decision_index.py``) into indexes; the caller-independent part
of a decision is cached per (purpose, organisation, role, categories).

Standard library only; no clock reads.
"""

from __future__ import annotations

import gc
from datetime import datetime

from carprivacy.domain.access import Decision, DecisionRequest, Outcome, Reason, Role
from carprivacy.domain.decision_index import (
    BASIS_CONSENT,
    BASIS_CONTRACT,
    BASIS_LI,
    DEFAULT_ROLE_PURPOSES,
    CompiledPolicy,
    compile_policy,
    released_fields,
)
from carprivacy.domain.policy import Form, Policy
from carprivacy.domain.subject_state import ConsentChoice, ConsentRecord, SubjectFacts

__all__ = [
    "DEFAULT_ROLE_PURPOSES",
    "CompiledPolicy",
    "compile_policy",
    "decide",
    "decide_many",
    "deny",
    "released_fields",
    "screen",
]

_GIVEN = ConsentChoice.GIVEN
_REFUSED = ConsentChoice.REFUSED
_CUSTOMER = Role.CUSTOMER
_FLEET = Role.FLEET_MANAGER
_ALLOW = Outcome.ALLOW
_DENY = Outcome.DENY

_new = object.__new__
_set = object.__setattr__
_FAST = "__slots__" not in Decision.__dict__ and not hasattr(Decision, "__post_init__")


def _decision(
    outcome: Outcome,
    request: DecisionRequest,
    reasons: tuple[Reason, ...],
    form: Form | None,
    fields: dict[str, tuple[str, ...]] | None,
    subject: str | None = None,
) -> Decision:
    """A Decision built without the frozen-dataclass ``__init__`` (a third of a decision's cost).

    Equal to ``Decision(outcome, purpose, categories, reasons, form, fields, at, subject)``;
    falls back to the constructor if Decision ever gets slots or a ``__post_init__``.
    """
    if not _FAST:
        return Decision(
            outcome, request.purpose, request.categories, reasons, form, fields, request.at, subject
        )
    d: Decision = _new(Decision)
    _set(
        d,
        "__dict__",
        {
            "outcome": outcome,
            "purpose": request.purpose,
            "categories": request.categories,
            "reasons": reasons,
            "form": form,
            "fields": fields,
            "at": request.at,
            "subject_id": subject,
        },
    )
    return d


def _deny(request: DecisionRequest, reason: Reason, subject: str | None = None) -> Decision:
    return _decision(_DENY, request, (reason,), None, None, subject or request.subject_id)


def _expired(request: DecisionRequest) -> bool:
    raw = request.extra.get("expires_at") if request.extra else None
    if not raw:
        return False
    try:
        expires = datetime.fromisoformat(raw)
    except ValueError:
        return True  # an unreadable expiry is treated as expired: never release by mistake
    if expires.tzinfo is None or request.at.tzinfo is None:
        return True
    return expires <= request.at


def decide(
    policy: Policy | CompiledPolicy, request: DecisionRequest, facts: SubjectFacts
) -> Decision:
    """Decide one request; pure and deterministic (see the module docstring for the rules).

    Written for speed: the caller-independent part comes from the compiled policy's cache; the
    per-subject rules are inlined loops over the (few) records of one subject.
    """
    cp = policy if type(policy) is CompiledPolicy else compile_policy(policy)  # type: ignore[arg-type]
    caller = request.caller
    static = cp.static(request.purpose, caller, request.categories)
    if isinstance(static, Reason):
        return _deny(request, static)
    idx = static.idx
    at = request.at
    vehicle = request.vehicle_id
    if caller.role is _FLEET and (
        vehicle is None
        or caller.fleet_id is None
        or not facts.in_fleet(vehicle, caller.fleet_id, at)
    ):
        return _deny(request, cp.fleet_not_member)

    subject = request.subject_id or facts.subject_id
    if subject is None and vehicle is not None:
        subject = facts.user_at(vehicle, at)

    if caller.role is _CUSTOMER and (subject is None or subject != caller.subject_id):
        return _deny(request, cp.not_own_data, subject)
    if not facts.known:
        return _deny(request, idx.deny_no_subject, subject)
    if (
        static.service_countries
        and facts.country is not None
        and facts.country not in static.service_countries
    ):
        return _deny(request, idx.service_country_reason, subject)
    if request.extra and _expired(request):
        return _deny(request, idx.deny_expired, subject)

    if idx.marketing and subject is not None:
        for o in facts.objections:
            if (
                o.marketing
                and o.subject_id == subject
                and o.made_at <= at
                and (o.withdrawn_at is None or at < o.withdrawn_at)
            ):
                return _deny(request, idx.deny_marketing_objection, subject)

    consented = False
    withheld: frozenset[str] | None = None  # a share's fields outside its descriptors
    topic_id = idx.topic_id
    basis = idx.basis
    if topic_id is not None:
        if idx.opt_in:
            if subject is None:
                return _deny(request, idx.deny_no_subject, subject)
            withdrawn = False
            for rec in facts.consents:
                if (
                    rec.topic != topic_id
                    or rec.subject_id != subject
                    or rec.choice is not _GIVEN
                    or (idx.vehicle_only and rec.vehicle_id != vehicle)
                    or (idx.per_party and not _chosen_party(rec, request, idx.recipients))
                    or at < rec.given_at
                ):
                    continue
                if rec.withdrawn_at is None or at < rec.withdrawn_at:
                    consented = True
                    if rec.scope is None:
                        withheld = None
                        break
                    # of several shares that cover the read, each releases its own fields
                    withheld = rec.withheld if withheld is None else withheld & rec.withheld
                    continue
                withdrawn = True
            if not consented:
                return _deny(
                    request,
                    idx.deny_consent_withdrawn if withdrawn else idx.deny_consent_required,
                    subject,
                )
        elif subject is not None:
            for rec in facts.consents:
                if (
                    rec.topic == topic_id
                    and rec.subject_id == subject
                    and rec.choice is _REFUSED
                    and (not idx.vehicle_only or vehicle is None or rec.vehicle_id == vehicle)
                    and rec.given_at <= at
                    and (rec.withdrawn_at is None or at < rec.withdrawn_at)
                ):
                    return _deny(request, idx.deny_consent_refused, subject)
    elif basis == BASIS_CONSENT:
        return _deny(request, idx.deny_consent_required, subject)

    extra_reasons: tuple[Reason, ...] = ()
    if basis == BASIS_CONTRACT:
        if subject is None:
            return _deny(request, idx.deny_no_subject, subject)
        for c in facts.contracts:
            if (
                c.subject_id == subject
                and c.start <= at
                and (c.end is None or at < c.end)
                and (vehicle is None or c.vehicle_id is None or c.vehicle_id == vehicle)
            ):
                break
        else:
            return _deny(request, idx.deny_contract, subject)
    elif basis == BASIS_LI and subject is not None and facts.objections:
        pid = request.purpose
        for o in facts.objections:
            if (
                not o.marketing
                and o.subject_id == subject
                and (o.purpose is None or o.purpose == pid)
                and o.made_at <= at
                and (o.withdrawn_at is None or at < o.withdrawn_at)
            ):
                if not idx.override_allowed or not any(
                    v.subject_id == subject and v.purpose == pid and v.active(at)
                    for v in facts.overrides
                ):
                    return _deny(request, idx.deny_objection, subject)
                extra_reasons = (idx.override_reason,)
                break

    if subject is not None and facts.restrictions:
        for r in facts.restrictions:
            if (
                r.subject_id == subject
                and r.active(at)
                and any(r.restricts(c) for c in static.restrictable)
            ):
                # Art. 18(2): storage, legal claims, the protection of others, important public
                # interest (the purpose's declared ground), or with the subject's consent.
                if idx.restriction_ground is not None:
                    extra_reasons = (*extra_reasons, idx.restriction_ground_reason)
                elif basis == BASIS_CONSENT and consented:
                    extra_reasons = (*extra_reasons, idx.restriction_consent_reason)
                else:
                    return _deny(request, idx.deny_restriction, subject)
                break

    reasons = static.reasons + extra_reasons if extra_reasons else static.reasons
    fields = dict(static.fields)
    if withheld:
        fields = {
            c: tuple(f for f in names if f"{c}.{f}" not in withheld) for c, names in fields.items()
        }
    return _decision(_ALLOW, request, reasons, static.form, fields, subject)


def _chosen_party(
    rec: ConsentRecord, request: DecisionRequest, file_recipients: frozenset[str]
) -> bool:
    """Whether a consent of a per-party topic counts for this request: a CarData share
    (``rec.scope`` set) only for the one organisation it names, its purpose, its vehicle and
    the categories of its scope (Data Act Art. 5(1); never every organisation of a recipient
    kind); a consent naming a caller id only for that caller, and only for a caller of a
    recipient of the policy file (a registered third party reads through shares only)."""
    if rec.scope is None:
        return rec.party == request.caller.id and request.caller.organisation in file_recipients
    return (
        rec.party == request.caller.organisation
        and rec.purpose == request.purpose
        and request.vehicle_id is not None
        and rec.vehicle_id == request.vehicle_id
        and all(c in rec.scope for c in request.categories)
    )


def screen(policy: Policy | CompiledPolicy, request: DecisionRequest) -> Reason | None:
    """The refusal that does not depend on whether the subject exists, or None.

    Purpose, categories, organisation, role and transfer (the static part), and for a customer a
    request naming another subject. A route asks this before looking the subject up, so that a
    caller who may not read at all learns nothing about which ids exist. Fleet membership needs
    the vehicle's fleet periods: :func:`decide` checks it (an unknown vehicle has none).
    """
    cp = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    caller = request.caller
    static = cp.static(request.purpose, caller, request.categories)
    if isinstance(static, Reason):
        return static
    if caller.role is _CUSTOMER and (
        request.subject_id is not None and request.subject_id != caller.subject_id
    ):
        return cp.not_own_data
    if caller.role is _FLEET and caller.fleet_id is None:
        return cp.fleet_not_member
    return None


def deny(request: DecisionRequest, reason: Reason) -> Decision:
    """A refusal of ``request`` for ``reason`` (for :func:`screen` and list remainders)."""
    return _deny(request, reason)


def decide_many(
    policy: Policy | CompiledPolicy, requests: list[tuple[DecisionRequest, SubjectFacts]]
) -> list[Decision]:
    cp = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    # A batch creates many small objects that all stay alive: the cyclic collector would scan
    # them again and again (a fifth of the batch's time) while none of them can form a cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return [decide(cp, r, f) for r, f in requests]
    finally:
        if collecting:
            gc.enable()
