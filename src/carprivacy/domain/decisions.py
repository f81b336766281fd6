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
10. ``restriction.art18``: restricted data is used only for legal claims or with consent.

Allowed: the purpose's form and, per category, the fields the caller may receive (the recipient's
``allowed_fields``, minus the identifiers the form hides). For speed the policy is compiled once
(:func:`compile_policy`) into indexes; the caller-independent part of a decision is cached per
(purpose, organisation, role, categories).

Standard library only; no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from carprivacy.domain.access import Caller, Decision, DecisionRequest, Outcome, Reason, Role
from carprivacy.domain.policy import (
    ConsentKind,
    ConsentTopic,
    DataCategory,
    Form,
    LegalBasis,
    Policy,
    Purpose,
    Recipient,
    RecipientKind,
    TransferMechanism,
)
from carprivacy.domain.subject_state import ConsentChoice, SubjectFacts

# Which staff roles may use which purposes. An entry is a purpose id, ``section:<letter>`` (every
# purpose of that notice section) or ``*`` (every purpose of the caller's controller). Staff are
# callers whose organisation is a controller id, or a recipient that is ``internal`` or names its
# ``controller`` (e.g. mini_ag_staff, a joint controller's staff).
# Recipient organisations (dealers, partners, fleet operators, third parties) are authorised by
# being a recipient of the purpose; their role is not consulted.
DEFAULT_ROLE_PURPOSES: Final[dict[Role, frozenset[str]]] = {
    Role.CUSTOMER_SERVICE: frozenset({"section:A", "section:B", "section:E"}),
    Role.PRIVACY_OFFICER: frozenset({"section:E", "section:G"}),
    Role.RND_ANALYST: frozenset({"section:C"}),
    Role.AUTHORITY_LIAISON: frozenset({"section:G"}),
    Role.SERVICE: frozenset({"*"}),  # internal systems of a controller
    Role.CUSTOMER: frozenset({"section:A", "section:B", "section:E"}),  # own data only
    Role.ADMINISTRATOR: frozenset(),  # manages the platform, reads no personal data
    Role.DEALER: frozenset(),
    Role.FLEET_MANAGER: frozenset(),
    Role.PARTNER: frozenset(),
    Role.VEHICLE: frozenset(),
}

VEHICLE_IDENTIFIER_FIELDS: Final = frozenset({"vin"})
VIN_SIGNAL: Final = "Vehicle.VehicleIdentification.VIN"

_CONSENT, _CONTRACT, _LEGAL, _LI = 0, 1, 2, 3
_BASIS = {
    LegalBasis.CONSENT: _CONSENT,
    LegalBasis.CONTRACT: _CONTRACT,
    LegalBasis.LEGAL_OBLIGATION: _LEGAL,
    LegalBasis.LEGITIMATE_INTEREST: _LI,
}
_GIVEN = ConsentChoice.GIVEN
_REFUSED = ConsentChoice.REFUSED
_CUSTOMER = Role.CUSTOMER
_ALLOW = Outcome.ALLOW
_DENY = Outcome.DENY
_ART_5B = "Art. 5(1)(b) GDPR"
_ART_5E = "Art. 5(1)(e) GDPR"
_CACHE_LIMIT = 50_000


def is_vehicle_identifier(category: DataCategory, field_name: str) -> bool:
    if field_name in VEHICLE_IDENTIFIER_FIELDS:
        return True
    return any(f.name == field_name and f.vss_signal == VIN_SIGNAL for f in category.fields)


def released_fields(
    category: DataCategory, form: Form, allowed: frozenset[str] | None
) -> tuple[str, ...]:
    """The fields of ``category`` a caller receives in ``form`` (minimised by ``allowed``).

    ``identified`` and ``pseudonymised`` keep identifier fields (the disclosure replaces them by
    pseudonyms in the latter); ``vehicle_linked`` keeps the VIN and drops every other direct
    identifier; ``aggregated_anonymous`` drops all direct identifiers.
    """
    out: list[str] = []
    for f in category.fields:
        if allowed is not None and f.name not in allowed:
            continue
        if f.direct_identifier:
            if form is Form.AGGREGATED_ANONYMOUS:
                continue
            if form is Form.VEHICLE_LINKED and not is_vehicle_identifier(category, f.name):
                continue
        out.append(f.name)
    return tuple(out)


def _is_staff(recipient: Recipient) -> bool:
    """People of a controller: an ``internal`` recipient, or one that names its controller."""
    return recipient.kind is RecipientKind.INTERNAL or recipient.controller is not None


@dataclass(frozen=True, slots=True)
class _Grant:
    """The caller-independent part of an allow: form, fields and the reasons for the grant."""

    form: Form
    fields: dict[str, tuple[str, ...]]
    reasons: tuple[Reason, ...]
    restrictable: tuple[str, ...]  # the requested categories (for the Art. 18 check)
    idx: _PurposeIndex
    service_countries: frozenset[str]  # of the caller's recipient organisation; empty: all


@dataclass(frozen=True, slots=True)
class _PurposeIndex:
    purpose: Purpose
    categories: frozenset[str]
    recipients: frozenset[str]
    controllers: frozenset[str]
    topic: ConsentTopic | None
    topic_id: str | None
    opt_in: bool
    vehicle_only: bool
    basis: int  # _CONSENT, _CONTRACT, _LEGAL, _LI
    marketing: bool
    override_allowed: bool
    legal_claims: bool
    service_country_reason: Reason
    basis_reason: Reason
    deny_consent_required: Reason
    deny_consent_withdrawn: Reason
    deny_consent_refused: Reason
    deny_contract: Reason
    deny_objection: Reason
    deny_marketing_objection: Reason
    deny_restriction: Reason
    deny_expired: Reason
    deny_no_subject: Reason
    override_reason: Reason


class CompiledPolicy:
    """Indexes of one policy, built once; :func:`decide` reads only these."""

    def __init__(
        self, policy: Policy, role_purposes: dict[Role, frozenset[str]] | None = None
    ) -> None:
        self.policy = policy
        self.role_purposes = dict(DEFAULT_ROLE_PURPOSES if role_purposes is None else role_purposes)
        self.categories = policy.categories_by_id
        self.recipients = policy.recipients_by_id
        self.controller_ids = frozenset(policy.controllers_by_id)
        self.purposes = {p.id: self._index(p) for p in policy.purposes}
        self._static: dict[tuple[str, str, int, tuple[str, ...]], _Grant | Reason] = {}
        self.not_own_data = Reason(
            "caller.not_own_data", "Art. 15 GDPR", "", "customers see only their own data"
        )
        self.unknown_purpose = Reason(
            "purpose.unknown", _ART_5B, "", "the purpose is not declared in the policy"
        )

    def _index(self, p: Purpose) -> _PurposeIndex:
        s = p.section
        topic = self.policy.consent_topics_by_id.get(p.consent_topic) if p.consent_topic else None
        art21 = "Art. 21(3) GDPR" if p.is_marketing else "Art. 21(1) GDPR"
        return _PurposeIndex(
            purpose=p,
            categories=frozenset(p.categories),
            recipients=frozenset(p.recipients),
            controllers=frozenset(p.controllers),
            topic=topic,
            topic_id=topic.id if topic else None,
            opt_in=topic is not None and topic.kind is ConsentKind.OPT_IN,
            vehicle_only=topic is not None and topic.vehicle_only,
            basis=_BASIS[p.legal_basis],
            marketing=p.is_marketing,
            override_allowed=p.objection_override_allowed and not p.is_marketing,
            legal_claims=p.legal_claims,
            service_country_reason=Reason(
                "recipient.service_country",
                "Art. 5(1)(c) GDPR",
                s,
                "the recipient serves only some countries, not the subject's",
            ),
            basis_reason=Reason(
                f"basis.{p.legal_basis.value}",
                p.legal_basis.article,
                s,
                f"purpose {p.id} on its legal basis ({p.legal_basis.value})",
            ),
            deny_consent_required=Reason(
                "consent.required",
                "Art. 6(1)(a) GDPR",
                s,
                f"purpose {p.id} needs a consent for topic {p.consent_topic} at that time",
            ),
            deny_consent_withdrawn=Reason(
                "consent.withdrawn",
                "Art. 7(3) GDPR",
                s,
                f"the consent for topic {p.consent_topic} was withdrawn before that time",
            ),
            deny_consent_refused=Reason(
                "consent.refused",
                "Art. 21 GDPR",
                s,
                f"the subject refused topic {p.consent_topic}",
            ),
            deny_contract=Reason(
                "contract.required",
                "Art. 6(1)(b) GDPR",
                s,
                f"purpose {p.id} needs a contract covering the subject and vehicle at that time",
            ),
            deny_objection=Reason(
                "objection.art21",
                art21,
                s,
                f"the subject objected to purpose {p.id} and no override is recorded",
            ),
            deny_marketing_objection=Reason(
                "objection.marketing",
                "Art. 21(3) GDPR",
                s,
                "the subject objected to direct marketing; no override is possible",
            ),
            deny_restriction=Reason(
                "restriction.art18",
                "Art. 18(2) GDPR",
                s,
                "processing of this data is restricted: only storage, legal claims or consent",
            ),
            deny_expired=Reason(
                "retention.expired",
                _ART_5E,
                "retention",
                "the data has passed its retention period and is never returned",
            ),
            deny_no_subject=Reason(
                "subject.unknown",
                p.legal_basis.article,
                s,
                f"purpose {p.id} needs a known subject for its legal basis",
            ),
            override_reason=Reason(
                "objection.overridden",
                "Art. 21(1) GDPR",
                s,
                "an objection is overridden by recorded compelling grounds or legal claims",
            ),
        )

    # -- the static (caller-independent) part ---------------------------------------------

    def static(self, purpose: str, caller: Caller, categories: tuple[str, ...]) -> _Grant | Reason:
        # id(role): enum members are singletons, and Enum.__hash__ is a Python-level call
        key = (purpose, caller.organisation, id(caller.role), categories)
        hit = self._static.get(key)
        if hit is None:
            if len(self._static) >= _CACHE_LIMIT:
                self._static.clear()
            hit = self._static[key] = self._compute_static(purpose, caller, categories)
        return hit

    def _role_allows(self, role: Role, p: Purpose) -> bool:
        allowed = self.role_purposes.get(role, frozenset())
        return "*" in allowed or p.id in allowed or f"section:{p.section}" in allowed

    def _compute_static(
        self, purpose_id: str, caller: Caller, categories: tuple[str, ...]
    ) -> _Grant | Reason:
        idx = self.purposes.get(purpose_id)
        if idx is None:
            return self.unknown_purpose
        p = idx.purpose
        if not categories:
            return Reason("category.none", _ART_5B, p.section, "the request names no category")
        for c in categories:
            if c not in idx.categories:
                return Reason(
                    "category.not_allowed",
                    "Art. 5(1)(b),(c) GDPR",
                    p.section,
                    f"category {c} is not used for purpose {p.id}",
                )
        org = caller.organisation
        recipient = self.recipients.get(org) if org in idx.recipients else None
        staff = False
        if recipient is not None:
            staff = _is_staff(recipient)
        elif org in idx.controllers:
            staff = True
        else:
            internal = self.recipients.get(org)
            if (
                internal is not None
                and _is_staff(internal)
                and internal.controller in idx.controllers
            ):
                staff = True
            else:
                return Reason(
                    "caller.not_recipient",
                    "Art. 13(1)(e) GDPR",
                    p.section,
                    f"organisation {org} is not a recipient of purpose {p.id}",
                )
        if staff and not self._role_allows(caller.role, p):
            return Reason(
                "caller.role",
                "Art. 32(4) GDPR",
                p.section,
                f"role {caller.role.value} may not use purpose {p.id}",
            )
        if recipient is not None:
            refused = self._transfer_refusal(recipient, p)
            if refused is not None:
                return refused
        allowed = (
            frozenset(recipient.allowed_fields)
            if recipient is not None and recipient.allowed_fields
            else None
        )
        fields = {c: released_fields(self.categories[c], p.form, allowed) for c in categories}
        reasons = [
            Reason(
                "purpose.allowed",
                _ART_5B,
                p.section,
                f"organisation {org} may use purpose {p.id} in form {p.form.value}",
            ),
            idx.basis_reason,
        ]
        if recipient is not None and not recipient.in_eea:
            reasons.append(
                Reason(
                    "transfer.safeguarded",
                    recipient.transfer_mechanism.article,
                    recipient.section or p.section,
                    f"recipient {recipient.id} in {recipient.country} under "
                    f"{recipient.transfer_mechanism.value}",
                )
            )
        if allowed is not None:
            reasons.append(
                Reason(
                    "minimisation.fields",
                    "Art. 5(1)(c) GDPR",
                    recipient.section if recipient and recipient.section else p.section,
                    f"recipient {org} receives only its allowed fields",
                )
            )
        own = self.recipients.get(org)
        countries = frozenset(own.service_countries) if own is not None else frozenset()
        return _Grant(p.form, fields, tuple(reasons), categories, idx, countries)

    def _transfer_refusal(self, r: Recipient, p: Purpose) -> Reason | None:
        if r.in_eea:
            return None
        if r.transfer_mechanism in (TransferMechanism.ADEQUACY, TransferMechanism.SCC):
            return None
        return Reason(
            "transfer.no_mechanism",
            "Art. 44 GDPR",
            r.section or p.section,
            f"recipient {r.id} is in {r.country}, outside the EEA, without adequacy or SCC",
        )


_COMPILED: dict[int, CompiledPolicy] = {}


def compile_policy(policy: Policy) -> CompiledPolicy:
    """The compiled indexes of ``policy`` (cached per policy object)."""
    cp = _COMPILED.get(id(policy))
    if cp is None or cp.policy is not policy:
        if len(_COMPILED) > 16:
            _COMPILED.clear()
        cp = _COMPILED[id(policy)] = CompiledPolicy(policy)
    return cp


_new = object.__new__
_set = object.__setattr__
_FAST = "__slots__" not in Decision.__dict__ and not hasattr(Decision, "__post_init__")


def _decision(
    outcome: Outcome,
    request: DecisionRequest,
    reasons: tuple[Reason, ...],
    form: Form | None,
    fields: dict[str, tuple[str, ...]] | None,
) -> Decision:
    """A Decision built without the frozen-dataclass ``__init__`` (a third of a decision's cost).

    Equal to ``Decision(outcome, purpose, categories, reasons, form, fields, at)``; falls back to
    the constructor if Decision ever gets slots or a ``__post_init__``.
    """
    if not _FAST:
        return Decision(
            outcome, request.purpose, request.categories, reasons, form, fields, request.at
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
        },
    )
    return d


def _deny(request: DecisionRequest, reason: Reason) -> Decision:
    return _decision(_DENY, request, (reason,), None, None)


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

    subject = request.subject_id or facts.subject_id
    if subject is None and vehicle is not None:
        subject = facts.user_at(vehicle, at)

    if caller.role is _CUSTOMER and (subject is None or subject != caller.subject_id):
        return _deny(request, cp.not_own_data)
    if (
        static.service_countries
        and facts.country is not None
        and facts.country not in static.service_countries
    ):
        return _deny(request, idx.service_country_reason)
    if request.extra and _expired(request):
        return _deny(request, idx.deny_expired)

    if idx.marketing and subject is not None:
        for o in facts.objections:
            if (
                o.marketing
                and o.subject_id == subject
                and o.made_at <= at
                and (o.withdrawn_at is None or at < o.withdrawn_at)
            ):
                return _deny(request, idx.deny_marketing_objection)

    consented = False
    topic_id = idx.topic_id
    basis = idx.basis
    if topic_id is not None:
        if idx.opt_in:
            if subject is None:
                return _deny(request, idx.deny_no_subject)
            withdrawn = False
            for rec in facts.consents:
                if (
                    rec.topic != topic_id
                    or rec.subject_id != subject
                    or rec.choice is not _GIVEN
                    or (idx.vehicle_only and rec.vehicle_id != vehicle)
                    or at < rec.given_at
                ):
                    continue
                if rec.withdrawn_at is None or at < rec.withdrawn_at:
                    consented = True
                    break
                withdrawn = True
            if not consented:
                return _deny(
                    request, idx.deny_consent_withdrawn if withdrawn else idx.deny_consent_required
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
                    return _deny(request, idx.deny_consent_refused)
    elif basis == _CONSENT:
        return _deny(request, idx.deny_consent_required)

    extra_reasons: tuple[Reason, ...] = ()
    if basis == _CONTRACT:
        if subject is None:
            return _deny(request, idx.deny_no_subject)
        for c in facts.contracts:
            if (
                c.subject_id == subject
                and c.start <= at
                and (c.end is None or at < c.end)
                and (vehicle is None or c.vehicle_id is None or c.vehicle_id == vehicle)
            ):
                break
        else:
            return _deny(request, idx.deny_contract)
    elif basis == _LI and subject is not None and facts.objections:
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
                    return _deny(request, idx.deny_objection)
                extra_reasons = (idx.override_reason,)
                break

    if subject is not None and facts.restrictions and not idx.legal_claims:
        for r in facts.restrictions:
            if (
                r.subject_id == subject
                and r.active(at)
                and any(r.restricts(c) for c in static.restrictable)
                and not (basis == _CONSENT and consented)
            ):
                return _deny(request, idx.deny_restriction)

    reasons = static.reasons + extra_reasons if extra_reasons else static.reasons
    return _decision(_ALLOW, request, reasons, static.form, dict(static.fields))


def decide_many(
    policy: Policy | CompiledPolicy, requests: list[tuple[DecisionRequest, SubjectFacts]]
) -> list[Decision]:
    cp = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    return [decide(cp, r, f) for r, f in requests]
