"""The rules a policy must keep (SPEC P7): a policy that contradicts itself is rejected.

:func:`validate` is pure: a :class:`Policy` in, every :class:`Problem` out (never only the first).
Each problem names the YAML path of the offending entry (collections keep file order, so
``policy.purposes[7]`` is ``purposes[7]`` in the file) and a stable rule id.

The rule ids and what each protects are in :data:`RULES` (and docs/policy-format.md).

Decision on empty ``allowed_fields`` (documented in the policy file): an empty list means "all
fields of the purpose's categories *in the purpose's form*". For a pseudonymised or
aggregated-anonymous purpose the form itself strips or pseudonymises every direct identifier, so an
empty list is fine; only an explicit list naming a direct identifier is a contradiction.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from carprivacy.domain.consent_ledger import Channel
from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import (
    ConsentKind,
    Form,
    LegalBasis,
    Policy,
    RecipientKind,
    Right,
    TransferMechanism,
)

RULES: dict[str, str] = {
    "duplicate_id": "one id, one entry: a second entry with the same id would shadow the first",
    "reference.unknown_category": "a purpose, retention rule or controller names no category",
    "reference.unknown_purpose": "a retention rule names no declared purpose",
    "reference.unknown_recipient": "a purpose names no declared recipient",
    "reference.unknown_controller": "a purpose or recipient names no declared controller",
    "reference.unknown_consent_topic": "a purpose names no declared consent topic",
    "reference.unknown_data_subject": "a purpose names no declared category of data subjects",
    "reference.unknown_field": "a recipient's allowed field is a field of no category",
    "reference.unknown_section": "an entry cites a notice section that is not declared",
    "section.purpose_letter": "purposes sit in the notice's sections A-H",
    "consent.topic_required": "Art. 6(1)(a): a consent purpose names its consent topic",
    "consent.opt_in_needs_consent_basis": "an opt-in topic only governs a consent purpose",
    "consent.opt_out_is_not_consent": "Art. 4(11), 7: consent is never opt-out",
    "consent.topic_unused": "a topic people consent to governs at least one purpose",
    "consent.version_date": "a consent text version is valid from an ISO date",
    "portability.basis": "Art. 20(1)(a): portability only on consent or contract",
    "retention.missing": "P4: every category has at least one retention rule",
    "retention.purpose_does_not_use_category": "a purpose rule keeps a category the purpose uses",
    "transfer.mechanism_missing": "Art. 44-46: a third-country recipient has adequacy or SCC",
    "transfer.eea_outside_eea": "'eea' is declared only for countries in the EU/EEA",
    "recipient.gatekeeper": "Data Act Art. 5(3): no third party or independent controller "
    "belongs to an undertaking the policy lists as a DMA gatekeeper",
    "minimisation.direct_identifier": "P6: pseudonymised, anonymous and vehicle-linked purposes "
    "send no direct identifier of the person",
    "minimisation.no_field_for_purpose": "a recipient's field list shares a field with the purpose",
    "objection.marketing_override": "Art. 21(3): an objection to direct marketing is absolute",
    "recipient.controller_required": "internal and joint-controller staff name their controller",
    "controller.account_owner_unique": "one controller owns the group login account",
    "category.unused": "Art. 5(1)(b): every declared category serves at least one purpose",
    "recipient.unused": "every recipient the notice names receives data for at least one purpose",
    "rights.missing": "the notice offers Art. 15-18, 21 and 77 (and 20, 7(3) when needed)",
    "section.basis_without_purpose": "a heading names only legal bases its purposes use",
    "section.bases_outside_purpose_section": "only the purpose sections A-H name legal bases",
    "consent.unknown_channel": "a topic is recorded only through channels the ledger knows",
    "restriction.ground_conflict": "Art. 18(2): a legal-claims purpose uses restricted data "
    "for legal claims, not on another ground",
}

# The channels a consent ledger entry comes through.
LEDGER_CHANNELS = frozenset(c.value for c in Channel)

PURPOSE_SECTIONS = frozenset("ABCDEFGH")
ALWAYS_OFFERED = (
    Right.ACCESS,
    Right.RECTIFICATION,
    Right.ERASURE,
    Right.RESTRICTION,
    Right.OBJECTION,
    Right.COMPLAINT,
)


class _Report:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, rule: str, message: str) -> None:
        assert rule in RULES, rule  # every rule is documented (docs/policy-format.md)
        self.problems.append(Problem(path=path, rule=rule, message=message))


def validate(policy: Policy) -> list[Problem]:
    """Every problem of ``policy``; an empty list means it is consistent."""
    report = _Report()
    for check in CHECKS:
        check(policy, report)
    return report.problems


def _duplicates(
    report: _Report, collection: str, ids: Iterable[str], kind: str = "id", field: str = "id"
) -> None:
    seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident in seen:
            report.add(
                f"{collection}[{i}].{field}",
                "duplicate_id",
                f"{kind} {ident!r} is already declared at {collection}[{seen[ident]}]",
            )
        else:
            seen[ident] = i


def check_duplicates(policy: Policy, report: _Report) -> None:
    _duplicates(report, "controllers", (c.id for c in policy.controllers), "controller")
    _duplicates(report, "categories", (c.id for c in policy.categories), "category")
    _duplicates(report, "purposes", (p.id for p in policy.purposes), "purpose")
    _duplicates(report, "recipients", (r.id for r in policy.recipients), "recipient")
    _duplicates(report, "retention", (r.id for r in policy.retention), "retention rule")
    _duplicates(report, "consent_topics", (t.id for t in policy.consent_topics), "consent topic")
    _duplicates(report, "data_subjects", (s.id for s in policy.data_subjects), "data subject")
    _duplicates(report, "sections", (s.id for s in policy.sections), "section")
    _duplicates(report, "rights", (r.right.value for r in policy.rights), "right", "right")
    for i, cat in enumerate(policy.categories):
        _duplicates(
            report, f"categories[{i}].fields", (f.name for f in cat.fields), "field", "name"
        )
    for i, topic in enumerate(policy.consent_topics):
        _duplicates(
            report,
            f"consent_topics[{i}].versions",
            (v.version for v in topic.versions),
            "version",
            "version",
        )


def _unknown(report: _Report, path: str, kind: str, ident: str, known: Iterable[str]) -> None:
    if ident not in known:
        report.add(path, f"reference.unknown_{kind}", f"unknown {kind} {ident!r}")


def check_references(policy: Policy, report: _Report) -> None:
    cats = policy.categories_by_id
    recipients = policy.recipients_by_id
    controllers = policy.controllers_by_id
    topics = policy.consent_topics_by_id
    subjects = policy.data_subjects_by_id
    purposes = policy.purposes_by_id
    all_fields = {f.name for c in policy.categories for f in c.fields}
    for i, p in enumerate(policy.purposes):
        for j, c in enumerate(p.categories):
            _unknown(report, f"purposes[{i}].categories[{j}]", "category", c, cats)
        for j, r in enumerate(p.recipients):
            _unknown(report, f"purposes[{i}].recipients[{j}]", "recipient", r, recipients)
        for j, c in enumerate(p.controllers):
            _unknown(report, f"purposes[{i}].controllers[{j}]", "controller", c, controllers)
        for j, s in enumerate(p.data_subjects):
            _unknown(report, f"purposes[{i}].data_subjects[{j}]", "data_subject", s, subjects)
        if p.consent_topic is not None:
            _unknown(
                report, f"purposes[{i}].consent_topic", "consent_topic", p.consent_topic, topics
            )
    for i, rule in enumerate(policy.retention):
        _unknown(report, f"retention[{i}].category", "category", rule.category, cats)
        if rule.purpose is not None:
            _unknown(report, f"retention[{i}].purpose", "purpose", rule.purpose, purposes)
    for i, ctl in enumerate(policy.controllers):
        for j, c in enumerate(ctl.holds):
            _unknown(report, f"controllers[{i}].holds[{j}]", "category", c, cats)
    for i, rec in enumerate(policy.recipients):
        if rec.controller is not None:
            _unknown(
                report, f"recipients[{i}].controller", "controller", rec.controller, controllers
            )
        for j, f in enumerate(rec.allowed_fields):
            _unknown(report, f"recipients[{i}].allowed_fields[{j}]", "field", f, all_fields)
    if policy.sections:
        _check_sections(policy, report)


def _check_sections(policy: Policy, report: _Report) -> None:
    known = policy.sections_by_id
    groups: list[tuple[str, Iterable[str]]] = [
        ("controllers", (c.section for c in policy.controllers)),
        ("categories", (c.section for c in policy.categories)),
        ("purposes", (p.section for p in policy.purposes)),
        ("recipients", (r.section for r in policy.recipients)),
        ("retention", (r.section for r in policy.retention)),
        ("consent_topics", (t.section for t in policy.consent_topics)),
        ("data_subjects", (s.section for s in policy.data_subjects)),
    ]
    for collection, sections in groups:
        for i, section in enumerate(sections):
            _unknown(report, f"{collection}[{i}].section", "section", section, known)


def check_purpose_sections(policy: Policy, report: _Report) -> None:
    for i, p in enumerate(policy.purposes):
        if p.section not in PURPOSE_SECTIONS:
            report.add(
                f"purposes[{i}].section",
                "section.purpose_letter",
                f"purpose {p.id!r} must sit in a notice section A-H, not {p.section!r}",
            )


def check_section_bases(policy: Policy, report: _Report) -> None:
    for i, sec in enumerate(policy.sections):
        if sec.legal_bases is None:
            continue
        if sec.id not in PURPOSE_SECTIONS:
            report.add(
                f"sections[{i}].legal_bases",
                "section.bases_outside_purpose_section",
                f"section {sec.id!r} is no purpose section A-H and names no legal basis",
            )
            continue
        used = {p.legal_basis for p in policy.purposes if p.section == sec.id}
        for j, basis in enumerate(sec.legal_bases):
            if basis not in used:
                report.add(
                    f"sections[{i}].legal_bases[{j}]",
                    "section.basis_without_purpose",
                    f"section {sec.id} names {basis.value} ({basis.article}) but none of its "
                    "purposes has that legal basis",
                )


def check_restriction_grounds(policy: Policy, report: _Report) -> None:
    for i, p in enumerate(policy.purposes):
        g = p.restriction_ground
        if p.legal_claims and g is not None and g.value != "legal_claims":
            report.add(
                f"purposes[{i}].restriction_ground",
                "restriction.ground_conflict",
                f"purpose {p.id!r} serves legal claims; its Art. 18(2) ground is legal_claims, "
                f"not {g.value}",
            )


def check_consent(policy: Policy, report: _Report) -> None:
    topics = policy.consent_topics_by_id
    used: set[str] = set()
    for i, p in enumerate(policy.purposes):
        if p.consent_topic is not None:
            used.add(p.consent_topic)
        if p.legal_basis is LegalBasis.CONSENT and p.consent_topic is None:
            report.add(
                f"purposes[{i}].consent_topic",
                "consent.topic_required",
                f"purpose {p.id!r} is based on consent (Art. 6(1)(a) GDPR) but names no consent "
                "topic",
            )
        topic = topics.get(p.consent_topic) if p.consent_topic else None
        if topic is None:
            continue
        if topic.kind is ConsentKind.OPT_IN and p.legal_basis is not LegalBasis.CONSENT:
            report.add(
                f"purposes[{i}].consent_topic",
                "consent.opt_in_needs_consent_basis",
                f"purpose {p.id!r} names opt-in topic {topic.id!r} but its legal basis is "
                f"{p.legal_basis.value}, not consent",
            )
        if topic.kind is ConsentKind.OPT_OUT and p.legal_basis is LegalBasis.CONSENT:
            report.add(
                f"purposes[{i}].consent_topic",
                "consent.opt_out_is_not_consent",
                f"purpose {p.id!r} is based on consent but topic {topic.id!r} is opt-out; "
                "consent must be given actively (Art. 4(11), 7 GDPR)",
            )
    for i, t in enumerate(policy.consent_topics):
        for j, via in enumerate(t.recorded_via):
            if via not in LEDGER_CHANNELS:
                report.add(
                    f"consent_topics[{i}].recorded_via[{j}]",
                    "consent.unknown_channel",
                    f"{via!r} is no channel; use one of {', '.join(sorted(LEDGER_CHANNELS))}",
                )
        if t.id not in used:
            report.add(
                f"consent_topics[{i}]",
                "consent.topic_unused",
                f"consent topic {t.id!r} governs no purpose",
            )
        for j, v in enumerate(t.versions):
            try:
                date.fromisoformat(v.valid_from)
            except ValueError:
                report.add(
                    f"consent_topics[{i}].versions[{j}].valid_from",
                    "consent.version_date",
                    f"{v.valid_from!r} is not an ISO date (YYYY-MM-DD)",
                )


def check_portability(policy: Policy, report: _Report) -> None:
    for i, p in enumerate(policy.purposes):
        if p.offers_portability and not p.legal_basis.allows_portability:
            report.add(
                f"purposes[{i}].offers_portability",
                "portability.basis",
                f"purpose {p.id!r} offers portability on basis {p.legal_basis.value} "
                f"({p.legal_basis.article}); Art. 20(1)(a) GDPR allows it only for consent or "
                "contract",
            )


def check_retention(policy: Policy, report: _Report) -> None:
    covered = {r.category for r in policy.retention}
    for i, cat in enumerate(policy.categories):
        if cat.id not in covered:
            report.add(
                f"categories[{i}]",
                "retention.missing",
                f"category {cat.id!r} has no retention rule (P4)",
            )
    purposes = policy.purposes_by_id
    for i, rule in enumerate(policy.retention):
        purpose = purposes.get(rule.purpose) if rule.purpose else None
        if purpose is not None and rule.category not in purpose.categories:
            report.add(
                f"retention[{i}].purpose",
                "retention.purpose_does_not_use_category",
                f"rule {rule.id!r} keeps {rule.category!r} for purpose {purpose.id!r}, "
                "which does not use that category",
            )


def check_transfers(policy: Policy, report: _Report) -> None:
    for i, rec in enumerate(policy.recipients):
        if rec.in_eea:
            continue
        if rec.transfer_mechanism is TransferMechanism.NONE:
            report.add(
                f"recipients[{i}].transfer_mechanism",
                "transfer.mechanism_missing",
                f"recipient {rec.id!r} is in third country {rec.country} without a transfer "
                "mechanism (adequacy decision, Art. 45, or standard contractual clauses, Art. 46)",
            )
        elif rec.transfer_mechanism is TransferMechanism.EEA:
            report.add(
                f"recipients[{i}].transfer_mechanism",
                "transfer.eea_outside_eea",
                f"recipient {rec.id!r} declares 'eea' but {rec.country} is outside the EU/EEA",
            )


def check_gatekeepers(policy: Policy, report: _Report) -> None:
    eligible = (RecipientKind.THIRD_PARTY, RecipientKind.CONTROLLER)
    for i, rec in enumerate(policy.recipients):
        if rec.kind in eligible and rec.undertaking in policy.gatekeeper_ids:
            report.add(
                f"recipients[{i}].undertaking",
                "recipient.gatekeeper",
                f"recipient {rec.id!r} belongs to {rec.undertaking}, designated as a gatekeeper "
                "under the Digital Markets Act: not an eligible third party (Art. 5(3) "
                "Regulation (EU) 2023/2854)",
            )


def check_minimisation(policy: Policy, report: _Report) -> None:
    cats = policy.categories_by_id
    recipients = policy.recipients_by_id
    for i, p in enumerate(policy.purposes):
        fields = [f for c in p.categories if c in cats for f in cats[c].fields]
        purpose_fields = {f.name for f in fields}
        if p.form in (Form.PSEUDONYMISED, Form.AGGREGATED_ANONYMOUS, Form.CATALOGUE):
            forbidden = {f.name for f in fields if f.direct_identifier}
        elif p.form is Form.VEHICLE_LINKED:
            forbidden = {f.name for f in fields if f.direct_identifier and not f.links_vehicle}
        else:
            forbidden = set()
        for j, rid in enumerate(p.recipients):
            rec = recipients.get(rid)
            if rec is None or not rec.allowed_fields:
                continue
            leaked = sorted(forbidden.intersection(rec.allowed_fields))
            if leaked:
                report.add(
                    f"purposes[{i}].recipients[{j}]",
                    "minimisation.direct_identifier",
                    f"purpose {p.id!r} may only use the {p.form.value} form, but recipient "
                    f"{rid!r} is allowed direct identifier field(s) {', '.join(leaked)}",
                )
            if purpose_fields and not purpose_fields.intersection(rec.allowed_fields):
                report.add(
                    f"purposes[{i}].recipients[{j}]",
                    "minimisation.no_field_for_purpose",
                    f"recipient {rid!r} may receive none of the fields of purpose {p.id!r}",
                )


def check_objection(policy: Policy, report: _Report) -> None:
    for i, p in enumerate(policy.purposes):
        if p.is_marketing and p.objection_override_allowed:
            report.add(
                f"purposes[{i}].objection_override_allowed",
                "objection.marketing_override",
                f"marketing purpose {p.id!r} allows overriding an objection; Art. 21(3) GDPR: "
                "an objection to direct marketing is always honoured",
            )


def check_recipients_and_controllers(policy: Policy, report: _Report) -> None:
    for i, rec in enumerate(policy.recipients):
        internal = rec.kind in (RecipientKind.INTERNAL, RecipientKind.JOINT_CONTROLLER)
        if internal and rec.controller is None:
            report.add(
                f"recipients[{i}].controller",
                "recipient.controller_required",
                f"{rec.kind.value} recipient {rec.id!r} must name the controller it works for",
            )
    owners = [i for i, c in enumerate(policy.controllers) if c.account_owner]
    for i in owners[1:]:
        report.add(
            f"controllers[{i}].account_owner",
            "controller.account_owner_unique",
            f"controllers[{owners[0]}] already owns the group login account",
        )


def check_unused(policy: Policy, report: _Report) -> None:
    used_categories = {c for p in policy.purposes for c in p.categories}
    for i, cat in enumerate(policy.categories):
        if cat.id not in used_categories:
            report.add(
                f"categories[{i}]",
                "category.unused",
                f"category {cat.id!r} is used by no purpose (purpose limitation, Art. 5(1)(b))",
            )
    used_recipients = {r for p in policy.purposes for r in p.recipients}
    for i, rec in enumerate(policy.recipients):
        if rec.id not in used_recipients:
            report.add(
                f"recipients[{i}]",
                "recipient.unused",
                f"recipient {rec.id!r} receives data for no purpose",
            )


def check_rights(policy: Policy, report: _Report) -> None:
    offered = {r.right for r in policy.rights}
    needed = set(ALWAYS_OFFERED)
    if any(p.offers_portability for p in policy.purposes):
        needed.add(Right.PORTABILITY)
    if any(p.legal_basis is LegalBasis.CONSENT for p in policy.purposes):
        needed.add(Right.WITHDRAW_CONSENT)
    for right in sorted(needed - offered, key=list(Right).index):
        report.add(
            "rights",
            "rights.missing",
            f"the notice must offer the right {right.value} ({right.article})",
        )


CHECKS: tuple[Callable[[Policy, _Report], None], ...] = (
    check_duplicates,
    check_references,
    check_purpose_sections,
    check_section_bases,
    check_restriction_grounds,
    check_consent,
    check_portability,
    check_retention,
    check_transfers,
    check_gatekeepers,
    check_minimisation,
    check_objection,
    check_recipients_and_controllers,
    check_unused,
    check_rights,
)
