"""The fideslang 3.1.4 default taxonomy ids (Ethyca, CC BY 4.0), to check the policy's mappings.

fideslang is the privacy vocabulary of Fides (https://github.com/ethyca/fideslang). Only the ids are
kept here (no dependency: the package pins pydantic below 2.13); a test compares them with
``tests/data/fideslang-3.1.4-taxonomy.csv``.
"""

from __future__ import annotations

from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import Policy

DATA_CATEGORIES: frozenset[str] = frozenset(
    {
        "system",
        "system.authentication",
        "system.operations",
        "user",
        "user.account",
        "user.account.settings",
        "user.account.username",
        "user.authorization",
        "user.authorization.biometric",
        "user.authorization.credentials",
        "user.authorization.password",
        "user.behavior",
        "user.behavior.browsing_history",
        "user.behavior.media_consumption",
        "user.behavior.purchase_history",
        "user.behavior.search_history",
        "user.biometric",
        "user.biometric.fingerprint",
        "user.biometric.health",
        "user.biometric.retinal",
        "user.biometric.voice",
        "user.childrens",
        "user.contact",
        "user.contact.address",
        "user.contact.address.city",
        "user.contact.address.country",
        "user.contact.address.postal_code",
        "user.contact.address.state",
        "user.contact.address.street",
        "user.contact.email",
        "user.contact.fax_number",
        "user.contact.organization",
        "user.contact.phone_number",
        "user.contact.url",
        "user.content",
        "user.content.private",
        "user.content.public",
        "user.content.self_image",
        "user.criminal_history",
        "user.demographic",
        "user.demographic.age_range",
        "user.demographic.date_of_birth",
        "user.demographic.gender",
        "user.demographic.language",
        "user.demographic.marital_status",
        "user.demographic.political_opinion",
        "user.demographic.profile",
        "user.demographic.race_ethnicity",
        "user.demographic.religious_belief",
        "user.demographic.sexual_orientation",
        "user.device",
        "user.device.cookie",
        "user.device.cookie_id",
        "user.device.device_id",
        "user.device.ip_address",
        "user.financial",
        "user.financial.bank_account",
        "user.financial.credit_card",
        "user.government_id",
        "user.government_id.birth_certificate",
        "user.government_id.drivers_license_number",
        "user.government_id.immigration",
        "user.government_id.national_identification_number",
        "user.government_id.passport_number",
        "user.government_id.vehicle_registration",
        "user.health_and_medical",
        "user.health_and_medical.genetic",
        "user.health_and_medical.insurance_beneficiary_id",
        "user.health_and_medical.record_id",
        "user.job_title",
        "user.location",
        "user.location.imprecise",
        "user.location.precise",
        "user.name",
        "user.name.first",
        "user.name.last",
        "user.payment",
        "user.privacy_preferences",
        "user.sensor",
        "user.social",
        "user.telemetry",
        "user.unique_id",
        "user.unique_id.pseudonymous",
        "user.user_sensor",
        "user.workplace",
    }
)

DATA_USES: frozenset[str] = frozenset(
    {
        "analytics",
        "analytics.reporting",
        "analytics.reporting.ad_performance",
        "analytics.reporting.campaign_insights",
        "analytics.reporting.content_performance",
        "analytics.reporting.system",
        "analytics.reporting.system.performance",
        "collect",
        "employment",
        "employment.recruitment",
        "essential",
        "essential.fraud_detection",
        "essential.legal_obligation",
        "essential.service",
        "essential.service.authentication",
        "essential.service.notifications",
        "essential.service.notifications.email",
        "essential.service.notifications.sms",
        "essential.service.operations",
        "essential.service.operations.improve",
        "essential.service.operations.support",
        "essential.service.payment_processing",
        "essential.service.security",
        "essential.service.upgrades",
        "finance",
        "functional",
        "functional.service",
        "functional.service.improve",
        "functional.storage",
        "functional.storage.privacy_preferences",
        "marketing",
        "marketing.advertising",
        "marketing.advertising.first_party",
        "marketing.advertising.first_party.contextual",
        "marketing.advertising.first_party.targeted",
        "marketing.advertising.frequency_capping",
        "marketing.advertising.negative_targeting",
        "marketing.advertising.profiling",
        "marketing.advertising.serving",
        "marketing.advertising.third_party",
        "marketing.advertising.third_party.targeted",
        "marketing.communications",
        "marketing.communications.email",
        "marketing.communications.sms",
        "operations",
        "personalize",
        "personalize.content",
        "personalize.content.limited",
        "personalize.content.profiled",
        "personalize.content.profiling",
        "personalize.profiling",
        "personalize.system",
        "sales",
        "third_party_sharing",
        "third_party_sharing.legal_obligation",
        "train_ai_system",
    }
)

DATA_SUBJECTS: frozenset[str] = frozenset(
    {
        "anonymous_user",
        "citizen_voter",
        "commuter",
        "consultant",
        "customer",
        "employee",
        "job_applicant",
        "next_of_kin",
        "passenger",
        "patient",
        "prospect",
        "shareholder",
        "supplier_vendor",
        "trainee",
        "visitor",
    }
)


def check_fides(policy: Policy) -> list[Problem]:
    """Every fideslang id the policy maps to exists in the taxonomy (rule ``fides.unknown_id``)."""
    problems: list[Problem] = []

    def check(path: str, ident: str, known: frozenset[str], kind: str) -> None:
        if ident not in known:
            problems.append(
                Problem(path, "fides.unknown_id", f"{ident!r} is not a fideslang 3.1.4 {kind} id")
            )

    for i, c in enumerate(policy.categories):
        check(f"categories[{i}].fides_category", c.fides_category, DATA_CATEGORIES, "data category")
    for i, p in enumerate(policy.purposes):
        check(f"purposes[{i}].fides_data_use", p.fides_data_use, DATA_USES, "data use")
    for i, s in enumerate(policy.data_subjects):
        check(f"data_subjects[{i}].fides_subject", s.fides_subject, DATA_SUBJECTS, "data subject")
    return problems
