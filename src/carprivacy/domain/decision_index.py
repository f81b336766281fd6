"""The compiled form of a policy that the decision engine reads (SPEC U1, P3, P5, P6).

:class:`CompiledPolicy` indexes one policy once: per purpose its categories, recipients,
controllers, consent topic, basis and every Reason pre-built; and it caches the
caller-independent part of a decision (purpose, categories, organisation, role, transfer, form and
fields) per (purpose, organisation, role, categories). :data:`DEFAULT_ROLE_PURPOSES` is the staff
role map. ``domain/decisions.py`` adds the per-subject rules.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from carprivacy.domain.access import Caller, Reason, Role
from carprivacy.domain.exports import portability_scope
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
    RestrictionGround,
    Right,
    Text,
    TransferMechanism,
)

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

BASIS_CONSENT, BASIS_CONTRACT, BASIS_LEGAL, BASIS_LI = 0, 1, 2, 3
BASIS = {
    LegalBasis.CONSENT: BASIS_CONSENT,
    LegalBasis.CONTRACT: BASIS_CONTRACT,
    LegalBasis.LEGAL_OBLIGATION: BASIS_LEGAL,
    LegalBasis.LEGITIMATE_INTEREST: BASIS_LI,
}
_ART_5B = "Art. 5(1)(b) GDPR"
_ART_5E = "Art. 5(1)(e) GDPR"
# Notice sections (ids of the policy's ``sections``) for reasons that no purpose section (A-H)
# fits (SPEC U1: every reason names one): the list of purposes and categories, the rights.
SECTION_PURPOSES: Final = "categories"
SECTION_RIGHTS: Final = "rights"
SECTION_TRANSFER: Final = "H"  # fleet operators and other third parties receive data under H
# The right of access (Art. 15, SPEC R1): the use of a person's own data when they read it
# themselves. Not a processing purpose of the notice (sections A-H) but the right its "rights"
# section offers; compiled like a purpose so that every such read is decided and audited under it.
ACCESS_PURPOSE: Final = "subject_access"
# The right to data portability (Art. 20): compiled like the access right, over the categories
# it covers (``exports.portability_scope``: provided or generated, on consent or a contract).
PORTABILITY_PURPOSE: Final = "subject_portability"
# Staff who answer a person's request under these rights, for any subject: a privacy officer or
# an internal system of a controller (the request workflow), never other staff or recipients.
RIGHTS_STAFF: Final = frozenset({Role.PRIVACY_OFFICER, Role.SERVICE})
_CACHE_LIMIT = 50_000
# The words of Art. 18(2) for each ground a purpose may declare (the reasons quote them).
_ART18_GROUND_WORDS: Final[dict[RestrictionGround, str]] = {
    RestrictionGround.STORAGE: "storage",
    RestrictionGround.LEGAL_CLAIMS: "the establishment, exercise or defence of legal claims",
    RestrictionGround.PROTECTION_OF_OTHERS: (
        "the protection of the rights of another natural or legal person"
    ),
    RestrictionGround.PUBLIC_INTEREST: (
        "reasons of important public interest of the Union or of a Member State"
    ),
}


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
    identifier; ``aggregated_anonymous`` drops all direct identifiers; ``catalogue`` releases no
    field at all.
    """
    if form is Form.CATALOGUE:
        return ()  # which data exist, never a field of a record
    out: list[str] = []
    for f in category.fields:
        if allowed is not None and f.name not in allowed:
            continue
        if f.direct_identifier:
            if form in (Form.AGGREGATED_ANONYMOUS, Form.CATALOGUE):
                continue
            if form is Form.VEHICLE_LINKED and not is_vehicle_identifier(category, f.name):
                continue
        out.append(f.name)
    return tuple(out)


def _is_staff(recipient: Recipient) -> bool:
    """People of a controller: an ``internal`` recipient, or one that names its controller."""
    return recipient.kind is RecipientKind.INTERNAL or recipient.controller is not None


@dataclass(frozen=True, slots=True)
class Grant:
    """The caller-independent part of an allow: form, fields and the reasons for the grant."""

    form: Form
    fields: dict[str, tuple[str, ...]]
    reasons: tuple[Reason, ...]
    restrictable: tuple[str, ...]  # the requested categories (for the Art. 18 check)
    idx: PurposeIndex
    service_countries: frozenset[str]  # of the caller's recipient organisation; empty: all


@dataclass(frozen=True, slots=True)
class PurposeIndex:
    purpose: Purpose
    categories: frozenset[str]
    recipients: frozenset[str]
    controllers: frozenset[str]
    topic: ConsentTopic | None
    topic_id: str | None
    opt_in: bool
    vehicle_only: bool
    basis: int  # BASIS_CONSENT, BASIS_CONTRACT, BASIS_LEGAL, BASIS_LI
    marketing: bool
    override_allowed: bool
    legal_claims: bool
    restriction_ground: RestrictionGround | None  # Art. 18(2): may use restricted data
    restriction_ground_reason: Reason  # the allow under a restriction, on that ground
    restriction_consent_reason: Reason  # the allow under a restriction, with the consent
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
    per_party: bool = False  # a consent counts only for the party it names (chosen_party_topics)


def chosen_party_topics(policy: Policy) -> frozenset[str]:
    """Consent topics given to a party the person chooses: the topics of purposes whose every
    recipient is a third party (MINI CarData: "aan de door mij gekozen externe partij"). A consent
    to one such party (an insurer's client id) is no consent to another."""
    out: set[str] = set()
    for p in policy.purposes:
        if not p.consent_topic or not p.recipients:
            continue
        kinds = {
            policy.recipients_by_id[r].kind for r in p.recipients if r in policy.recipients_by_id
        }
        if kinds == {RecipientKind.THIRD_PARTY}:
            out.add(p.consent_topic)
    return frozenset(out)


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
        self.gatekeeper_ids = policy.gatekeeper_ids
        self.purposes = {p.id: self._index(p) for p in policy.purposes}
        if any(r.right is Right.ACCESS for r in policy.rights):
            self.purposes[ACCESS_PURPOSE] = self._index(access_purpose(policy))
        if any(r.right is Right.PORTABILITY for r in policy.rights):
            self.purposes[PORTABILITY_PURPOSE] = self._index(portability_purpose(policy))
        self._static: dict[tuple[str, str, int, tuple[str, ...]], Grant | Reason] = {}
        # organisations registered at run time as members of a recipient of the policy (CarData
        # third parties): org id -> (the recipient it is, the policy recipient it belongs to)
        self.members: Callable[[str], tuple[Recipient, str] | None] = _no_members
        self.not_own_data = Reason(
            "caller.not_own_data",
            "Art. 15 GDPR",
            SECTION_RIGHTS,
            "customers see only their own data",
        )
        self.unknown_purpose = Reason(
            "purpose.unknown",
            _ART_5B,
            SECTION_PURPOSES,
            "the purpose is not declared in the policy",
        )
        self.fleet_not_member = Reason(
            "fleet.not_member",
            "Art. 5(1)(b),(c) GDPR",
            SECTION_TRANSFER,
            "a fleet manager sees only data of vehicles in its fleet at that time",
        )

    def use_members(self, members: Callable[[str], tuple[Recipient, str] | None]) -> None:
        """Resolve organisations that are no recipient of the policy file through ``members``
        (registered third parties); forgets what was decided before."""
        self.members = members
        self._static.clear()

    def forget(self, organisation: str) -> None:
        """Forget the cached static decisions of one organisation (registered, changed)."""
        for key in [k for k in self._static if k[1] == organisation]:
            self._static.pop(key, None)

    def gatekeeper_reason(self, recipient: Recipient, section: str) -> Reason | None:
        """Data Act Art. 5(3): an undertaking designated as a gatekeeper under the DMA is not
        an eligible third party; refused as a recipient (a third party or an independent
        controller; a processor acts for the controller and receives nothing in its own name)."""
        if recipient.undertaking is None or recipient.undertaking not in self.gatekeeper_ids:
            return None
        if recipient.kind not in (RecipientKind.THIRD_PARTY, RecipientKind.CONTROLLER):
            return None
        return Reason(
            "recipient.gatekeeper",
            "Art. 5(3) Regulation (EU) 2023/2854 (Data Act)",
            section,
            f"recipient {recipient.id} belongs to {recipient.undertaking}, designated as a "
            "gatekeeper under Art. 3 of Regulation (EU) 2022/1925 (DMA): not an eligible "
            "third party",
        )

    def reach_reason(self, caller: Caller) -> Reason:
        """Why a list read leaves out rows the caller can never see (customers: others' data;
        fleet managers: vehicles outside their fleet)."""
        return self.fleet_not_member if caller.role is Role.FLEET_MANAGER else self.not_own_data

    def _index(self, p: Purpose) -> PurposeIndex:
        s = p.section
        topic = self.policy.consent_topics_by_id.get(p.consent_topic) if p.consent_topic else None
        art21 = "Art. 21(3) GDPR" if p.is_marketing else "Art. 21(1) GDPR"
        return PurposeIndex(
            purpose=p,
            categories=frozenset(p.categories),
            recipients=frozenset(p.recipients),
            controllers=frozenset(p.controllers),
            topic=topic,
            topic_id=topic.id if topic else None,
            opt_in=topic is not None and topic.kind is ConsentKind.OPT_IN,
            vehicle_only=topic is not None and topic.vehicle_only,
            per_party=topic is not None and topic.id in chosen_party_topics(self.policy),
            basis=BASIS[p.legal_basis],
            marketing=p.is_marketing,
            override_allowed=p.objection_override_allowed and not p.is_marketing,
            legal_claims=p.legal_claims,
            restriction_ground=p.art18_ground,
            restriction_ground_reason=Reason(
                "restriction.art18_ground",
                "Art. 18(2) GDPR",
                s,
                f"processing is restricted; purpose {p.id} uses the data only for "
                f"{_ART18_GROUND_WORDS[p.art18_ground] if p.art18_ground else 'none'}",
            ),
            restriction_consent_reason=Reason(
                "restriction.art18_consent",
                "Art. 18(2) GDPR",
                s,
                f"processing is restricted; purpose {p.id} runs with the subject's consent",
            ),
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
                "processing of this data is restricted: only storage, legal claims, the protection "
                "of another person's rights, important public interest or with consent",
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

    def static(self, purpose: str, caller: Caller, categories: tuple[str, ...]) -> Grant | Reason:
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
    ) -> Grant | Reason:
        idx = self.purposes.get(purpose_id)
        if idx is None:
            return self.unknown_purpose
        p = idx.purpose
        if not categories:
            return Reason("category.none", _ART_5B, p.section, "the request names no category")
        if purpose_id in (ACCESS_PURPOSE, PORTABILITY_PURPOSE):
            return self._access_static(idx, caller, categories)
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
        if recipient is None and org not in self.recipients and org not in self.controller_ids:
            member = self.members(org)
            if member is not None and member[1] in idx.recipients:
                recipient = member[0]
        if recipient is not None:
            gatekeeper = self.gatekeeper_reason(recipient, p.section)
            if gatekeeper is not None:
                return gatekeeper
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
        own = self.recipients.get(org) or recipient
        countries = frozenset(own.service_countries) if own is not None else frozenset()
        return Grant(p.form, fields, tuple(reasons), categories, idx, countries)

    def _access_static(
        self, idx: PurposeIndex, caller: Caller, categories: tuple[str, ...]
    ) -> Grant | Reason:
        """The right of access (and of portability, over its categories): the data subject
        themselves (a customer login), or staff answering their request (a privacy officer or an
        internal system of a controller, :data:`RIGHTS_STAFF`); every category the right covers,
        identified and whole; no contract, consent or objection is needed (a former customer
        keeps it), and a restriction does not stop it (Art. 18 restricts use by the controllers,
        not the person's own access)."""
        p = idx.purpose
        right = "portability" if p.id == PORTABILITY_PURPOSE else "access"
        article = "Art. 20(1) GDPR" if right == "portability" else "Art. 15(1) GDPR"
        for c in categories:
            if c not in idx.categories:
                return Reason(
                    "category.not_allowed",
                    article,
                    SECTION_RIGHTS,
                    f"category {c} is not covered by the right of {right}",
                )
        if caller.role is Role.CUSTOMER and caller.subject_id is not None:
            allowed = Reason(
                f"right.{right}",
                "Art. 20(1) GDPR" if right == "portability" else "Art. 15(1),(3) GDPR",
                SECTION_RIGHTS,
                f"the data subject reads their own data (right of {right})",
            )
        elif caller.role in RIGHTS_STAFF and self._controller_staff(caller.organisation):
            allowed = Reason(
                f"right.{right}_answered",
                f"Art. 12(1),(3) and {article}",
                SECTION_RIGHTS,
                f"role {caller.role.value} answers the data subject's request (right of {right})",
            )
        else:
            return Reason(
                "caller.role",
                article.replace("(1)", ""),
                SECTION_RIGHTS,
                f"role {caller.role.value} may not use {p.id}: the right of {right} is "
                "exercised by the data subject's own login, or answered by a privacy officer",
            )
        fields = {c: released_fields(self.categories[c], Form.IDENTIFIED, None) for c in categories}
        return Grant(Form.IDENTIFIED, fields, (allowed, idx.basis_reason), (), idx, frozenset())

    def _controller_staff(self, organisation: str) -> bool:
        """Whether ``organisation`` is a controller, or a recipient that is a controller's staff."""
        if organisation in self.controller_ids:
            return True
        recipient = self.recipients.get(organisation)
        return recipient is not None and _is_staff(recipient)

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


def access_purpose(policy: Policy) -> Purpose:
    """The right of access as the engine compiles it (see :data:`ACCESS_PURPOSE`): every category
    of the policy, identified, by every controller, on the controllers' legal obligation to
    answer (Art. 6(1)(c) with Art. 15)."""
    return Purpose(
        id=ACCESS_PURPOSE,
        section=SECTION_RIGHTS,
        name=Text("Inzage door de betrokkene", "Access by the data subject"),
        description=Text(
            "U ziet welke gegevens over u worden verwerkt en ontvangt er een kopie van.",
            "You see which data about you are processed and receive a copy of them.",
        ),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        categories=tuple(c.id for c in policy.categories),
        form=Form.IDENTIFIED,
        recipients=(),
        controllers=tuple(c.id for c in policy.controllers),
        fides_data_use="essential.legal",
    )


def portability_purpose(policy: Policy) -> Purpose:
    """The right to data portability as the engine compiles it (see
    :data:`PORTABILITY_PURPOSE`): the categories the person provided or their vehicles generated,
    processed on consent or on a contract (Art. 20(1)(a)), identified, by every controller."""
    included, _ = portability_scope(policy)
    return Purpose(
        id=PORTABILITY_PURPOSE,
        section=SECTION_RIGHTS,
        name=Text("Overdraagbaarheid van gegevens", "Data portability"),
        description=Text(
            "U ontvangt de gegevens die u verstrekte of uw voertuig genereerde, om over te dragen.",
            "You receive the data you provided or your vehicle generated, to take elsewhere.",
        ),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        categories=tuple(c.id for c in included),
        form=Form.IDENTIFIED,
        recipients=(),
        controllers=tuple(c.id for c in policy.controllers),
        fides_data_use="essential.legal",
    )


_COMPILED: dict[int, CompiledPolicy] = {}


def _no_members(_organisation: str) -> tuple[Recipient, str] | None:
    return None


def compile_policy(policy: Policy) -> CompiledPolicy:
    """The compiled indexes of ``policy`` (cached per policy object)."""
    cp = _COMPILED.get(id(policy))
    if cp is None or cp.policy is not policy:
        if len(_COMPILED) > 16:
            _COMPILED.clear()
        cp = _COMPILED[id(policy)] = CompiledPolicy(policy)
    return cp
