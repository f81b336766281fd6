"""The typed schema of a policy YAML file (pydantic), and its translation into the domain model.

The schema checks shapes and types (every unknown key is an error: a typo must not silently drop a
promise); :func:`carprivacy.domain.policy_rules.validate` checks what the entries say about each
other. Field names are those of :mod:`carprivacy.domain.policy`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from carprivacy.domain import policy as d

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Country = Annotated[str, StringConstraints(pattern=r"^([A-Z]{2})$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# A COVESA VSS name, or a name under the private branch where VSS has no node.
VssName = Annotated[
    str, StringConstraints(pattern=r"^(Vehicle|Private\.CarPrivacy)(\.[A-Za-z0-9]+)+$")
]
IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TextModel(Model):
    nl: NonEmpty
    en: NonEmpty

    def to_domain(self) -> d.Text:
        return d.Text(nl=self.nl, en=self.en)


def _text(t: TextModel | None) -> d.Text | None:
    return t.to_domain() if t is not None else None


class ContactModel(Model):
    name: NonEmpty
    address: list[NonEmpty] = []
    email: NonEmpty | None = None
    phone: NonEmpty | None = None
    hours: TextModel | None = None
    website: NonEmpty | None = None

    def to_domain(self) -> d.Contact:
        return d.Contact(
            name=self.name,
            address=tuple(self.address),
            email=self.email,
            phone=self.phone,
            hours=_text(self.hours),
            website=self.website,
        )


class ControllerModel(Model):
    id: Id
    name: NonEmpty
    short_name: NonEmpty
    role: TextModel
    address: list[NonEmpty]
    country: Country
    registration: NonEmpty | None = None
    contact: ContactModel
    dpo: ContactModel | None = None
    holds: list[Id] = []
    account_owner: bool = False
    section: NonEmpty

    def to_domain(self) -> d.Controller:
        return d.Controller(
            id=self.id,
            name=self.name,
            short_name=self.short_name,
            role=self.role.to_domain(),
            address=tuple(self.address),
            country=self.country,
            registration=self.registration,
            contact=self.contact.to_domain(),
            dpo=self.dpo.to_domain() if self.dpo else None,
            holds=tuple(self.holds),
            account_owner=self.account_owner,
            section=self.section,
        )


class DataFieldModel(Model):
    name: Id
    label: TextModel
    direct_identifier: bool = False
    vss_signal: VssName | None = None
    links_vehicle: bool = False

    def to_domain(self) -> d.DataField:
        return d.DataField(
            name=self.name,
            label=self.label.to_domain(),
            direct_identifier=self.direct_identifier,
            vss_signal=self.vss_signal,
            links_vehicle=self.links_vehicle,
        )


class DataCategoryModel(Model):
    id: Id
    name: TextModel
    fields: list[DataFieldModel] = Field(min_length=1)
    sensitivity: d.Sensitivity
    fides_category: NonEmpty
    vehicle_data: bool
    provided_by_subject: bool
    section: NonEmpty
    source: TextModel | None = None

    def to_domain(self) -> d.DataCategory:
        return d.DataCategory(
            id=self.id,
            name=self.name.to_domain(),
            fields=tuple(f.to_domain() for f in self.fields),
            sensitivity=self.sensitivity,
            fides_category=self.fides_category,
            vehicle_data=self.vehicle_data,
            provided_by_subject=self.provided_by_subject,
            section=self.section,
            source=_text(self.source),
        )


class CoarseningModel(Model):
    time_seconds: Annotated[int, Field(ge=0)] = 0
    position_decimals: Annotated[int, Field(ge=0, le=8)] | None = None

    def to_domain(self) -> d.Coarsening:
        return d.Coarsening(
            time_seconds=self.time_seconds, position_decimals=self.position_decimals
        )


class PurposeModel(Model):
    id: Id
    section: NonEmpty
    name: TextModel
    description: TextModel
    legal_basis: d.LegalBasis
    categories: list[Id] = Field(min_length=1)
    form: d.Form
    recipients: list[Id] = []
    controllers: list[Id] = Field(min_length=1)
    fides_data_use: NonEmpty
    consent_topic: Id | None = None
    offers_portability: bool = False
    objection_override_allowed: bool = True
    is_marketing: bool = False
    legal_claims: bool = False
    restriction_ground: d.RestrictionGround | None = None
    coarsening: CoarseningModel = CoarseningModel()
    data_subjects: list[Id] = []

    def to_domain(self) -> d.Purpose:
        return d.Purpose(
            id=self.id,
            section=self.section,
            name=self.name.to_domain(),
            description=self.description.to_domain(),
            legal_basis=self.legal_basis,
            categories=tuple(self.categories),
            form=self.form,
            recipients=tuple(self.recipients),
            controllers=tuple(self.controllers),
            fides_data_use=self.fides_data_use,
            consent_topic=self.consent_topic,
            offers_portability=self.offers_portability,
            objection_override_allowed=self.objection_override_allowed,
            is_marketing=self.is_marketing,
            legal_claims=self.legal_claims,
            restriction_ground=self.restriction_ground,
            coarsening=self.coarsening.to_domain(),
            data_subjects=tuple(self.data_subjects),
        )


PeriodInt = Annotated[int, Field(ge=0, le=100_000)]


class RetentionRuleModel(Model):
    id: Id
    category: Id
    purpose: Id | None = None
    anchor: d.RetentionAnchor
    years: PeriodInt = 0
    months: PeriodInt = 0
    weeks: PeriodInt = 0
    days: PeriodInt = 0
    action: d.ExpiryAction
    section: NonEmpty
    reason: TextModel | None = None

    def to_domain(self) -> d.RetentionRule:
        return d.RetentionRule(
            id=self.id,
            category=self.category,
            purpose=self.purpose,
            anchor=self.anchor,
            years=self.years,
            months=self.months,
            weeks=self.weeks,
            days=self.days,
            action=self.action,
            section=self.section,
            reason=_text(self.reason),
        )


class RecipientModel(Model):
    id: Id
    name: TextModel
    kind: d.RecipientKind
    country: Annotated[str, StringConstraints(pattern=r"^([A-Z]{2})$")]
    # Optional in the file so that a missing mechanism is reported by the rules (P5), not as a
    # shape error: inside the EEA it defaults to ``eea``; outside it becomes ``none``.
    transfer_mechanism: d.TransferMechanism | None = None
    allowed_fields: list[Id] = []
    service_countries: list[Country] = []
    controller: Id | None = None
    section: NonEmpty
    undertaking: Id | None = None

    def to_domain(self) -> d.Recipient:
        mechanism = self.transfer_mechanism
        if mechanism is None:
            in_eea = self.country in d.EEA_COUNTRIES or self.country == "EU"
            mechanism = d.TransferMechanism.EEA if in_eea else d.TransferMechanism.NONE
        return d.Recipient(
            id=self.id,
            name=self.name.to_domain(),
            kind=self.kind,
            country=self.country,
            transfer_mechanism=mechanism,
            allowed_fields=tuple(self.allowed_fields),
            service_countries=tuple(self.service_countries),
            controller=self.controller,
            section=self.section,
            undertaking=self.undertaking,
        )


class GatekeeperModel(Model):
    id: Id
    name: NonEmpty

    def to_domain(self) -> d.Gatekeeper:
        return d.Gatekeeper(self.id, self.name)


class ConsentTextVersionModel(Model):
    version: NonEmpty
    valid_from: IsoDate
    text: TextModel

    def to_domain(self) -> d.ConsentTextVersion:
        return d.ConsentTextVersion(
            version=self.version, valid_from=self.valid_from, text=self.text.to_domain()
        )


class ConsentTopicModel(Model):
    id: Id
    name: TextModel
    kind: d.ConsentKind
    versions: list[ConsentTextVersionModel] = Field(min_length=1)
    channel: Id | None = None
    vehicle_only: bool = False
    section: NonEmpty
    recorded_via: list[Id] = []
    where: TextModel | None = None

    def to_domain(self) -> d.ConsentTopic:
        return d.ConsentTopic(
            id=self.id,
            name=self.name.to_domain(),
            kind=self.kind,
            versions=tuple(v.to_domain() for v in self.versions),
            channel=self.channel,
            vehicle_only=self.vehicle_only,
            section=self.section,
            recorded_via=tuple(self.recorded_via),
            where=_text(self.where),
        )


class RightOfferModel(Model):
    right: d.Right
    description: TextModel
    limits: TextModel | None = None

    def to_domain(self) -> d.RightOffer:
        return d.RightOffer(
            right=self.right, description=self.description.to_domain(), limits=_text(self.limits)
        )


class DeadlineRuleModel(Model):
    months: Annotated[int, Field(ge=1, le=1)] = 1  # Art. 12(3): one month
    extension_months: Annotated[int, Field(ge=0, le=2)] = 2  # at most two further months
    description: TextModel | None = None

    def to_domain(self) -> d.DeadlineRule:
        return d.DeadlineRule(
            months=self.months,
            extension_months=self.extension_months,
            description=_text(self.description),
        )


class NoticeSectionModel(Model):
    id: Annotated[str, StringConstraints(pattern=r"^([A-H]|[a-z][a-z0-9_]*)$")]
    title: TextModel
    text: TextModel | None = None
    legal_bases: list[d.LegalBasis] | None = None

    def to_domain(self) -> d.NoticeSection:
        return d.NoticeSection(
            id=self.id,
            title=self.title.to_domain(),
            text=_text(self.text),
            legal_bases=None if self.legal_bases is None else tuple(self.legal_bases),
        )


class DataSubjectCategoryModel(Model):
    id: Id
    name: TextModel
    fides_subject: NonEmpty
    section: NonEmpty

    def to_domain(self) -> d.DataSubjectCategory:
        return d.DataSubjectCategory(
            id=self.id,
            name=self.name.to_domain(),
            fides_subject=self.fides_subject,
            section=self.section,
        )


class PolicyModel(Model):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
    version: NonEmpty
    title: TextModel
    intro: TextModel
    sections: list[NoticeSectionModel] = []
    controllers: list[ControllerModel] = Field(min_length=1)
    data_subjects: list[DataSubjectCategoryModel] = []
    categories: list[DataCategoryModel] = Field(min_length=1)
    purposes: list[PurposeModel] = Field(min_length=1)
    recipients: list[RecipientModel] = []
    retention: list[RetentionRuleModel] = []
    retention_statement: TextModel | None = None
    consent_topics: list[ConsentTopicModel] = []
    rights: list[RightOfferModel] = Field(min_length=1)
    deadline: DeadlineRuleModel = DeadlineRuleModel()
    request_limits: TextModel | None = None
    contact: ContactModel
    complaint_authority: ContactModel
    security_statement: TextModel | None = None
    security_measures: list[TextModel] = Field(min_length=1)
    automated_processing: TextModel | None = None
    transfers_statement: TextModel | None = None
    settings_statement: TextModel | None = None
    gatekeepers: list[GatekeeperModel] = []

    def to_domain(self) -> d.Policy:
        return d.Policy(
            id=self.id,
            version=self.version,
            title=self.title.to_domain(),
            intro=self.intro.to_domain(),
            controllers=tuple(c.to_domain() for c in self.controllers),
            categories=tuple(c.to_domain() for c in self.categories),
            purposes=tuple(p.to_domain() for p in self.purposes),
            recipients=tuple(r.to_domain() for r in self.recipients),
            retention=tuple(r.to_domain() for r in self.retention),
            consent_topics=tuple(t.to_domain() for t in self.consent_topics),
            rights=tuple(r.to_domain() for r in self.rights),
            deadline=self.deadline.to_domain(),
            contact=self.contact.to_domain(),
            complaint_authority=self.complaint_authority.to_domain(),
            security_measures=tuple(m.to_domain() for m in self.security_measures),
            automated_processing=_text(self.automated_processing),
            transfers_statement=_text(self.transfers_statement),
            settings_statement=_text(self.settings_statement),
            sections=tuple(s.to_domain() for s in self.sections),
            data_subjects=tuple(s.to_domain() for s in self.data_subjects),
            retention_statement=_text(self.retention_statement),
            request_limits=_text(self.request_limits),
            security_statement=_text(self.security_statement),
            gatekeepers=tuple(g.to_domain() for g in self.gatekeepers),
        )
