"""The policy model: everything a privacy notice declares, typed and immutable (SPEC P1-P7).

A :class:`Policy` is built by a loader (``carprivacy.adapters.policy``) from a YAML file and checked
by :func:`carprivacy.domain.policy_rules.validate`. Collections are tuples in file order, so that a
problem found in ``policy.purposes[3]`` can be reported at the YAML path ``purposes[3]``.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class LegalBasis(StrEnum):
    """Art. 6(1) GDPR bases the notice uses."""

    CONSENT = "consent"  # Art. 6(1)(a)
    CONTRACT = "contract"  # Art. 6(1)(b)
    LEGAL_OBLIGATION = "legal_obligation"  # Art. 6(1)(c)
    LEGITIMATE_INTEREST = "legitimate_interest"  # Art. 6(1)(f)

    @property
    def article(self) -> str:
        letter = {
            LegalBasis.CONSENT: "a",
            LegalBasis.CONTRACT: "b",
            LegalBasis.LEGAL_OBLIGATION: "c",
            LegalBasis.LEGITIMATE_INTEREST: "f",
        }[self]
        return f"Art. 6(1)({letter}) GDPR"

    @property
    def allows_portability(self) -> bool:
        """Art. 20(1)(a): portability only for consent or contract."""
        return self in (LegalBasis.CONSENT, LegalBasis.CONTRACT)

    @property
    def allows_objection(self) -> bool:
        """Art. 21(1): objection against legitimate-interest processing (and marketing)."""
        return self is LegalBasis.LEGITIMATE_INTEREST


class Form(StrEnum):
    """The form in which a purpose may use data, most identifying first."""

    IDENTIFIED = "identified"
    VEHICLE_LINKED = "vehicle_linked"
    PSEUDONYMISED = "pseudonymised"
    AGGREGATED_ANONYMOUS = "aggregated_anonymous"
    # which data exist (the catalogue: names, units, descriptions), never a value (Data Act
    # Art. 3(2); notice H, the eligibility check)
    CATALOGUE = "catalogue"

    @property
    def rank(self) -> int:
        """0 = most identifying. A purpose allowed rank r may use any form of rank >= r."""
        return list(Form).index(self)

    @property
    def exposes_direct_identifiers(self) -> bool:
        return self is Form.IDENTIFIED


class Sensitivity(StrEnum):
    NORMAL = "normal"
    SENSITIVE = "sensitive"  # stored only encrypted (I3)


class RetentionAnchor(StrEnum):
    """The moment a retention period starts."""

    COLLECTED = "collected"
    CONTRACT_END = "contract_end"
    TRANSACTION_DATE = "transaction_date"
    VEHICLE_END_OF_LIFE = "vehicle_end_of_life"
    PURPOSE_END = "purpose_end"  # "as long as the purpose needs": ends when the purpose ends


class ExpiryAction(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


class RecipientKind(StrEnum):
    INTERNAL = "internal"  # staff of a controller
    JOINT_CONTROLLER = "joint_controller"
    PROCESSOR = "processor"
    CONTROLLER = "controller"  # an independent controller (dealer, fleet operator, insurer)
    THIRD_PARTY = "third_party"
    AUTHORITY = "authority"


class TransferMechanism(StrEnum):
    """Chapter V GDPR."""

    EEA = "eea"  # no transfer: inside the EU/EEA
    ADEQUACY = "adequacy"  # Art. 45 adequacy decision
    SCC = "scc"  # Art. 46(2)(c) standard contractual clauses
    NONE = "none"  # no mechanism: a transfer must be refused

    @property
    def article(self) -> str:
        return {
            TransferMechanism.EEA: "Art. 44 GDPR (no third-country transfer)",
            TransferMechanism.ADEQUACY: "Art. 45 GDPR (adequacy decision)",
            TransferMechanism.SCC: "Art. 46(2)(c) GDPR (standard contractual clauses)",
            TransferMechanism.NONE: "Art. 44 GDPR (no transfer mechanism)",
        }[self]


class ConsentKind(StrEnum):
    OPT_IN = "opt_in"  # processing only with consent (marketing, profiling, CarData sharing)
    OPT_OUT = "opt_out"  # processing unless refused (OBFCM collection at the workshop)


class RestrictionGround(StrEnum):
    """Art. 18(2): what restricted data may still be used for (besides storage and consent)."""

    STORAGE = "storage"  # keeping the data, nothing more (backup and restore)
    LEGAL_CLAIMS = "legal_claims"  # establishment, exercise or defence of legal claims
    PROTECTION_OF_OTHERS = "protection_of_others"  # rights of another natural or legal person
    PUBLIC_INTEREST = "public_interest"  # important public interest of the Union or a member state


class Right(StrEnum):
    ACCESS = "access"  # Art. 15
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    RESTRICTION = "restriction"  # Art. 18
    PORTABILITY = "portability"  # Art. 20
    OBJECTION = "objection"  # Art. 21
    WITHDRAW_CONSENT = "withdraw_consent"  # Art. 7(3)
    COMPLAINT = "complaint"  # Art. 77

    @property
    def article(self) -> str:
        return {
            Right.ACCESS: "Art. 15 GDPR",
            Right.RECTIFICATION: "Art. 16 GDPR",
            Right.ERASURE: "Art. 17 GDPR",
            Right.RESTRICTION: "Art. 18 GDPR",
            Right.PORTABILITY: "Art. 20 GDPR",
            Right.OBJECTION: "Art. 21 GDPR",
            Right.WITHDRAW_CONSENT: "Art. 7(3) GDPR",
            Right.COMPLAINT: "Art. 77 GDPR",
        }[self]


EEA_COUNTRIES: frozenset[str] = frozenset(
    ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT")
    + ("LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO")
)


@dataclass(frozen=True)
class Text:
    """A text in the notice's two languages."""

    nl: str
    en: str

    def get(self, lang: str) -> str:
        return self.nl if lang == "nl" else self.en


@dataclass(frozen=True)
class Contact:
    name: str
    address: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    hours: Text | None = None
    website: str | None = None


@dataclass(frozen=True)
class Controller:
    """P1: a (joint) controller, its role and what it holds."""

    id: str
    name: str
    short_name: str
    role: Text
    address: tuple[str, ...]
    country: str
    registration: str | None
    contact: Contact
    dpo: Contact | None
    holds: tuple[str, ...]  # data category ids this controller keeps its own copy of
    account_owner: bool = False  # owns the group login account (deleting it leaves others' data)
    section: str = "controllers"


@dataclass(frozen=True)
class DataField:
    name: str
    label: Text
    direct_identifier: bool = False  # VIN, customer id, name, contact data: replaced by pseudonyms
    vss_signal: str | None = None  # COVESA VSS name; else a Private.CarPrivacy.* name
    # The field identifies the vehicle (VIN), not the person: the ``vehicle_linked`` form keeps it
    # and strips every other direct identifier (section D: "in relatie tot een specifiek voertuig").
    links_vehicle: bool = False


@dataclass(frozen=True)
class DataCategory:
    """P2: a data category with its fields."""

    id: str
    name: Text
    fields: tuple[DataField, ...]
    sensitivity: Sensitivity
    fides_category: str  # fideslang data-category id
    vehicle_data: bool  # generated by the vehicle (telemetry) rather than given by the person
    provided_by_subject: bool  # given by the person (counts for portability, Art. 20)
    section: str
    source: Text | None = None  # where it comes from when not from the person (Art. 14/15(1)(g))

    @cached_property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    @cached_property
    def direct_identifier_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.direct_identifier)


@dataclass(frozen=True)
class DataSubjectCategory:
    """Art. 30(1)(c): a category of data subjects (customers, prospects, drivers of fleet cars)."""

    id: str
    name: Text
    fides_subject: str  # fideslang data-subject id
    section: str = ""


@dataclass(frozen=True)
class NoticeSection:
    """A section of the notice: a purpose section A-H or a heading, with its own wording."""

    id: str  # "A".."H", or a heading id such as "retention"
    title: Text
    text: Text | None = None
    # The legal bases the heading names, in the notice's own words (A-H only). None: the bases of
    # the section's purposes; empty: the heading names none (the seed's section H).
    legal_bases: tuple[LegalBasis, ...] | None = None


@dataclass(frozen=True)
class Coarsening:
    """How a pseudonymised form coarsens time and position."""

    time_seconds: int = 0  # timestamps truncated to this many seconds (0: unchanged)
    position_decimals: int | None = None  # latitude/longitude rounded to this many decimals


@dataclass(frozen=True)
class Purpose:
    """P3: a purpose of processing (notice sections A-H)."""

    id: str
    section: str  # A-H
    name: Text
    description: Text
    legal_basis: LegalBasis
    categories: tuple[str, ...]
    form: Form  # the most identifying form allowed
    recipients: tuple[str, ...]
    controllers: tuple[str, ...]
    fides_data_use: str
    consent_topic: str | None = None
    offers_portability: bool = False
    objection_override_allowed: bool = True  # False for marketing: Art. 21(3)
    is_marketing: bool = False
    legal_claims: bool = False  # establishment, exercise or defence of legal claims (Art. 18(2))
    # Art. 18(2): the ground on which this purpose may use restricted data; None: it may not
    # (unless the subject consented to it). ``legal_claims: true`` implies LEGAL_CLAIMS.
    restriction_ground: RestrictionGround | None = None
    coarsening: Coarsening = field(default_factory=Coarsening)
    data_subjects: tuple[str, ...] = ()  # DataSubjectCategory ids (Art. 30(1)(c))

    @property
    def art18_ground(self) -> RestrictionGround | None:
        """The Art. 18(2) ground on which this purpose uses restricted data, or None."""
        if self.restriction_ground is not None:
            return self.restriction_ground
        return RestrictionGround.LEGAL_CLAIMS if self.legal_claims else None


@dataclass(frozen=True)
class RetentionRule:
    """P4: how long a category is kept for a purpose, from which anchor, and what expiry does."""

    id: str
    category: str
    purpose: str | None  # None: the rule applies to the category whatever the purpose
    anchor: RetentionAnchor
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    action: ExpiryAction = ExpiryAction.DELETE
    section: str = ""
    reason: Text | None = None

    @property
    def is_open_ended(self) -> bool:
        """Anchored on an event (vehicle end of life, purpose end) with no period after it."""
        return not (self.years or self.months or self.weeks or self.days)


@dataclass(frozen=True)
class Recipient:
    """P5/P6: who receives data, where, under which transfer mechanism, and which fields."""

    id: str
    name: Text
    kind: RecipientKind
    country: str  # ISO 3166-1 alpha-2, or "EU" for EU bodies
    transfer_mechanism: TransferMechanism
    allowed_fields: tuple[str, ...] = ()  # minimisation: empty means all fields of the purpose
    service_countries: tuple[str, ...] = ()  # countries where the service is offered; empty: all
    controller: str | None = None  # for internal recipients: the controller they work for
    section: str = ""
    undertaking: str | None = None  # the group it belongs to (a DMA gatekeeper is refused)

    @property
    def in_eea(self) -> bool:
        return self.country in EEA_COUNTRIES or self.country == "EU"


@dataclass(frozen=True)
class ConsentTextVersion:
    version: str
    valid_from: str  # ISO date
    text: Text


@dataclass(frozen=True)
class ConsentTopic:
    id: str
    name: Text
    kind: ConsentKind
    versions: tuple[ConsentTextVersion, ...]
    channel: str | None = None  # post, email, phone, messaging for marketing topics
    vehicle_only: bool = False  # a setting of the vehicle rather than of the person
    section: str = ""
    # Where the choice is made: ledger channels (portal, app, vehicle, call_centre, workshop);
    # empty: any. The ledger refuses a choice through another channel; ``where`` is the notice's
    # wording for the settings table (OBFCM: "bij geautoriseerde werkplaatsen en vestigingen").
    recorded_via: tuple[str, ...] = ()
    where: Text | None = None

    @property
    def is_refusal(self) -> bool:
        """An opt-out topic records a refusal, not a consent (OBFCM)."""
        return self.kind is ConsentKind.OPT_OUT

    @property
    def current_version(self) -> ConsentTextVersion:
        return max(self.versions, key=lambda v: v.valid_from)


@dataclass(frozen=True)
class RightOffer:
    right: Right
    description: Text
    limits: Text | None = None  # e.g. erasure exceptions, portability only for (a)/(b)


@dataclass(frozen=True)
class DeadlineRule:
    """Art. 12(3): one month, extendable by two further months with a reason."""

    months: int = 1
    extension_months: int = 2
    description: Text | None = None


@dataclass(frozen=True)
class Gatekeeper:
    """An undertaking designated as a gatekeeper under Art. 3 of the Digital Markets Act
    (Regulation (EU) 2022/1925): never an eligible third party of a user's request to share
    (Data Act, Regulation (EU) 2023/2854, Art. 5(3))."""

    id: str
    name: str


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    title: Text
    intro: Text
    controllers: tuple[Controller, ...]
    categories: tuple[DataCategory, ...]
    purposes: tuple[Purpose, ...]
    recipients: tuple[Recipient, ...]
    retention: tuple[RetentionRule, ...]
    consent_topics: tuple[ConsentTopic, ...]
    rights: tuple[RightOffer, ...]
    deadline: DeadlineRule
    contact: Contact
    complaint_authority: Contact
    security_measures: tuple[Text, ...]
    automated_processing: Text | None = None
    transfers_statement: Text | None = None
    settings_statement: Text | None = None
    sections: tuple[NoticeSection, ...] = ()
    data_subjects: tuple[DataSubjectCategory, ...] = ()
    retention_statement: Text | None = None  # "Hoelang bewaren wij uw gegevens?"
    request_limits: Text | None = None  # "Informatiebeperking voor de vervulling van rechten"
    security_statement: Text | None = None  # the heading's introduction to the measures
    gatekeepers: tuple[Gatekeeper, ...] = ()  # DMA gatekeepers: refused as recipients

    @cached_property
    def gatekeeper_ids(self) -> frozenset[str]:
        return frozenset(g.id for g in self.gatekeepers)

    @cached_property
    def sections_by_id(self) -> dict[str, NoticeSection]:
        return {s.id: s for s in self.sections}

    @cached_property
    def data_subjects_by_id(self) -> dict[str, DataSubjectCategory]:
        return {d.id: d for d in self.data_subjects}

    @cached_property
    def categories_by_id(self) -> dict[str, DataCategory]:
        return {c.id: c for c in self.categories}

    @cached_property
    def purposes_by_id(self) -> dict[str, Purpose]:
        return {p.id: p for p in self.purposes}

    @cached_property
    def recipients_by_id(self) -> dict[str, Recipient]:
        return {r.id: r for r in self.recipients}

    @cached_property
    def controllers_by_id(self) -> dict[str, Controller]:
        return {c.id: c for c in self.controllers}

    @cached_property
    def consent_topics_by_id(self) -> dict[str, ConsentTopic]:
        return {t.id: t for t in self.consent_topics}

    def category(self, category_id: str) -> DataCategory:
        return self.categories_by_id[category_id]

    def purpose(self, purpose_id: str) -> Purpose:
        return self.purposes_by_id[purpose_id]

    def recipient(self, recipient_id: str) -> Recipient:
        return self.recipients_by_id[recipient_id]

    def retention_rules_for(self, category_id: str) -> tuple[RetentionRule, ...]:
        return tuple(r for r in self.retention if r.category == category_id)

    def purposes_using(self, category_id: str) -> tuple[Purpose, ...]:
        return tuple(p for p in self.purposes if category_id in p.categories)
