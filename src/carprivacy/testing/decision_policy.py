"""A small policy built straight from the dataclasses, shaped like the MINI Connected notice.

Tests and the decision benchmark use it when they need a policy whose every detail they control
(``third_country_recipient`` makes a recipient outside the EEA without safeguards, for instance).
Purpose and recipient ids follow policies/mini-connected-nl.yaml.
"""

from __future__ import annotations

from dataclasses import replace

from carprivacy.domain.policy import (
    Coarsening,
    ConsentKind,
    ConsentTextVersion,
    ConsentTopic,
    Contact,
    Controller,
    DataCategory,
    DataField,
    DeadlineRule,
    Form,
    LegalBasis,
    Policy,
    Purpose,
    Recipient,
    RecipientKind,
    RestrictionGround,
    RetentionAnchor,
    RetentionRule,
    Sensitivity,
    Text,
    TransferMechanism,
)

VIN_SIGNAL = "Vehicle.VehicleIdentification.VIN"


def _t(s: str) -> Text:
    return Text(nl=s, en=s)


def _f(name: str, ident: bool = False, vss: str | None = None) -> DataField:
    return DataField(name=name, label=_t(name), direct_identifier=ident, vss_signal=vss)


def _cat(
    cid: str, fields: tuple[DataField, ...], vehicle: bool, section: str = "B"
) -> DataCategory:
    return DataCategory(
        id=cid,
        name=_t(cid),
        fields=fields,
        sensitivity=Sensitivity.NORMAL,
        fides_category="user",
        vehicle_data=vehicle,
        provided_by_subject=not vehicle,
        section=section,
    )


CATEGORIES = (
    _cat(
        "contact_data",
        (
            _f("customer_id", True),
            _f("surname", True),
            _f("first_name", True),
            _f("email", True),
            _f("street"),
            _f("house_number"),
            _f("postal_code"),
            _f("city"),
            _f("country"),
        ),
        vehicle=False,
        section="A",
    ),
    _cat(
        "vehicle_status",
        (_f("vin", True, VIN_SIGNAL), _f("mileage"), _f("battery_voltage"), _f("door_state")),
        vehicle=True,
    ),
    _cat(
        "position",
        (
            _f("vin", True, VIN_SIGNAL),
            _f("time"),
            _f("latitude"),
            _f("longitude"),
            _f("speed"),
        ),
        vehicle=True,
    ),
    _cat(
        "maintenance",
        (
            _f("vin", True, VIN_SIGNAL),
            _f("customer_id", True),
            _f("next_service"),
            _f("oil_level"),
            _f("brake_wear"),
        ),
        vehicle=True,
        section="D",
    ),
    _cat(
        "obfcm",
        (_f("vin", True, VIN_SIGNAL), _f("fuel_consumption"), _f("mileage")),
        vehicle=True,
        section="G",
    ),
)


def _purpose(
    pid: str,
    section: str,
    basis: LegalBasis,
    categories: tuple[str, ...],
    form: Form,
    recipients: tuple[str, ...],
    **kw: object,
) -> Purpose:
    return Purpose(
        id=pid,
        section=section,
        name=_t(pid),
        description=_t(pid),
        legal_basis=basis,
        categories=categories,
        form=form,
        recipients=recipients,
        controllers=("bmw_nl", "bmw_ag"),
        fides_data_use="essential",
        **kw,  # type: ignore[arg-type]
    )


VEHICLE_CATS = ("vehicle_status", "position", "maintenance")

PURPOSES = (
    _purpose(
        "contract_performance",
        "B",
        LegalBasis.CONTRACT,
        ("contact_data", *VEHICLE_CATS),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
    ),
    _purpose(
        "product_development",
        "C",
        LegalBasis.LEGITIMATE_INTEREST,
        VEHICLE_CATS,
        Form.PSEUDONYMISED,
        ("catena_x_partners", "mini_ag_staff"),
        coarsening=Coarsening(time_seconds=3600, position_decimals=2),
    ),
    _purpose(
        "after_sales_service",
        "D",
        LegalBasis.LEGITIMATE_INTEREST,
        ("vehicle_status", "maintenance"),
        Form.VEHICLE_LINKED,
        ("dealers",),
    ),
    _purpose(
        "dealer_reports",
        "D",
        LegalBasis.LEGITIMATE_INTEREST,
        ("vehicle_status",),
        Form.AGGREGATED_ANONYMOUS,
        ("dealers",),
    ),
    _purpose(
        "customer_service",
        "E",
        LegalBasis.LEGITIMATE_INTEREST,
        ("contact_data", "vehicle_status"),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
    ),
    _purpose(
        "marketing_email",
        "F",
        LegalBasis.CONSENT,
        ("contact_data",),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
        consent_topic="marketing_email",
        is_marketing=True,
        objection_override_allowed=False,
    ),
    _purpose(
        "market_research",
        "F",
        LegalBasis.LEGITIMATE_INTEREST,
        ("contact_data",),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
        is_marketing=True,
        objection_override_allowed=False,
    ),
    _purpose(
        "legal_claims",
        "G",
        LegalBasis.LEGITIMATE_INTEREST,
        ("contact_data", *VEHICLE_CATS),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
        legal_claims=True,
    ),
    # Art. 18(2) grounds other than legal claims, so that the restriction rule is tried on each
    _purpose(
        "backup",
        "G",
        LegalBasis.LEGAL_OBLIGATION,
        ("contact_data", *VEHICLE_CATS),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
        restriction_ground=RestrictionGround.STORAGE,
    ),
    _purpose(
        "third_party_rights",
        "G",
        LegalBasis.LEGITIMATE_INTEREST,
        ("contact_data", "position"),
        Form.IDENTIFIED,
        ("mini_nl_staff",),
        restriction_ground=RestrictionGround.PROTECTION_OF_OTHERS,
    ),
    _purpose(
        "obfcm_reporting",
        "G",
        LegalBasis.LEGAL_OBLIGATION,
        ("obfcm",),
        Form.PSEUDONYMISED,
        ("eu_commission",),
        consent_topic="obfcm_refusal",
    ),
    _purpose(
        "geocoding",
        "B",
        LegalBasis.CONTRACT,
        ("contact_data",),
        Form.IDENTIFIED,
        ("google_geocoding",),
    ),
    _purpose(
        "energy_tariff",
        "H",
        LegalBasis.CONSENT,
        ("contact_data",),
        Form.IDENTIFIED,
        ("energy_partner",),
        consent_topic="cardata_sharing",
    ),
    _purpose(
        "fleet_operation",
        "H",
        LegalBasis.CONTRACT,
        ("vehicle_status", "position", "maintenance"),
        Form.VEHICLE_LINKED,
        ("fleet_operators",),
    ),
)


def _recipient(
    rid: str,
    kind: RecipientKind,
    country: str = "NL",
    mechanism: TransferMechanism = TransferMechanism.EEA,
    **kw: object,
) -> Recipient:
    return Recipient(
        id=rid,
        name=_t(rid),
        kind=kind,
        country=country,
        transfer_mechanism=mechanism,
        section="H",
        **kw,  # type: ignore[arg-type]
    )


RECIPIENTS = (
    _recipient("mini_nl_staff", RecipientKind.INTERNAL, controller="bmw_nl"),
    _recipient("mini_ag_staff", RecipientKind.INTERNAL, "DE", controller="bmw_ag"),
    _recipient("dealers", RecipientKind.CONTROLLER),
    _recipient("catena_x_partners", RecipientKind.THIRD_PARTY, "DE"),
    _recipient("fleet_operators", RecipientKind.CONTROLLER),
    _recipient("eu_commission", RecipientKind.AUTHORITY, "EU"),
    _recipient(
        "google_geocoding",
        RecipientKind.PROCESSOR,
        "US",
        TransferMechanism.SCC,
        allowed_fields=("street", "house_number", "postal_code", "country"),
    ),
    _recipient(
        "energy_partner",
        RecipientKind.THIRD_PARTY,
        "DE",
        allowed_fields=("street", "house_number", "postal_code", "city"),
        service_countries=("DE", "NL"),
    ),
)


def _topic(tid: str, kind: ConsentKind, vehicle_only: bool = False) -> ConsentTopic:
    return ConsentTopic(
        id=tid,
        name=_t(tid),
        kind=kind,
        versions=(ConsentTextVersion("1", "2024-01-01", _t(tid)),),
        vehicle_only=vehicle_only,
        section="F",
    )


TOPICS = (
    _topic("marketing_email", ConsentKind.OPT_IN),
    _topic("cardata_sharing", ConsentKind.OPT_IN),
    _topic("obfcm_refusal", ConsentKind.OPT_OUT, vehicle_only=True),
)

RETENTION = tuple(
    RetentionRule(
        id=f"r_{c.id}", category=c.id, purpose=None, anchor=RetentionAnchor.COLLECTED, years=1
    )
    for c in CATEGORIES
)


def _controller(cid: str, country: str) -> Controller:
    return Controller(
        id=cid,
        name=cid,
        short_name=cid,
        role=_t("controller"),
        address=(),
        country=country,
        registration=None,
        contact=Contact(name=cid),
        dpo=None,
        holds=(),
    )


def sample_policy() -> Policy:
    return Policy(
        id="sample",
        version="1",
        title=_t("sample"),
        intro=_t("sample"),
        controllers=(_controller("bmw_nl", "NL"), _controller("bmw_ag", "DE")),
        categories=CATEGORIES,
        purposes=PURPOSES,
        recipients=RECIPIENTS,
        retention=RETENTION,
        consent_topics=TOPICS,
        rights=(),
        deadline=DeadlineRule(),
        contact=Contact(name="contact"),
        complaint_authority=Contact(name="Autoriteit Persoonsgegevens"),
        security_measures=(),
    )


def third_country_recipient(policy: Policy, recipient_id: str, country: str = "US") -> Policy:
    """``policy`` with ``recipient_id`` moved to ``country`` without any transfer mechanism."""
    recipients = tuple(
        replace(r, country=country, transfer_mechanism=TransferMechanism.NONE)
        if r.id == recipient_id
        else r
        for r in policy.recipients
    )
    return replace(policy, recipients=recipients)


# -- what tests need that the notice does not hold ------------------------------------------------
# The shipped policy declares only what the notice says (it names Canada and Switzerland only as
# examples of adequacy, and no energy-tariff countries). Tests of third-country transfers and
# service countries add these to a copy of it.

CANADA_IT_SUPPLIER = Recipient(
    id="it_service_provider_canada",
    name=Text(
        nl="Geselecteerde leverancier (IT-diensten) in Canada",
        en="Selected supplier (IT services) in Canada",
    ),
    kind=RecipientKind.PROCESSOR,
    country="CA",
    transfer_mechanism=TransferMechanism.ADEQUACY,
    section="recipients",
)
SWISS_SERVICE_CENTRE = Recipient(
    id="customer_service_switzerland",
    name=Text(
        nl="Klantenservicecentrum in Zwitserland (testgegeven)",
        en="Customer service centre in Switzerland (test fixture)",
    ),
    kind=RecipientKind.PROCESSOR,
    country="CH",
    transfer_mechanism=TransferMechanism.ADEQUACY,
    section="recipients",
)


def with_recipient(policy: Policy, recipient: Recipient, *purpose_ids: str) -> Policy:
    """``policy`` with ``recipient`` declared and added to the recipients of ``purpose_ids``."""
    purposes = tuple(
        replace(p, recipients=(*p.recipients, recipient.id)) if p.id in purpose_ids else p
        for p in policy.purposes
    )
    return replace(policy, recipients=(*policy.recipients, recipient), purposes=purposes)


def with_adequacy_suppliers(policy: Policy) -> Policy:
    """The shipped policy's shape plus a Canadian IT supplier (contract performance, IT
    security) and a Swiss service centre (customer service), both under an adequacy decision."""
    out = with_recipient(policy, CANADA_IT_SUPPLIER, "contract_performance", "it_security")
    return with_recipient(out, SWISS_SERVICE_CENTRE, "customer_service")


def with_service_countries(policy: Policy, recipient_id: str, *countries: str) -> Policy:
    """``policy`` with ``recipient_id`` serving only ``countries``."""
    recipients = tuple(
        replace(r, service_countries=countries) if r.id == recipient_id else r
        for r in policy.recipients
    )
    return replace(policy, recipients=recipients)
