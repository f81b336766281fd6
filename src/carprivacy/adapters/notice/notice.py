"""The human-readable privacy notice, generated from the policy (SPEC P7).

Everything the notice says comes from the policy file; nothing here is a promise of its own, only
headings and the words for enum values (:mod:`vocabulary`). The order follows the original notice.
"""

from __future__ import annotations

from carprivacy.adapters.notice.document import Document, render
from carprivacy.adapters.notice.vocabulary import (
    CHANNEL,
    CHOICE_LABEL,
    CONSENT_KIND,
    FORM,
    LANGS,
    MECHANISM,
    RECIPIENT_KIND,
    RESTRICTION_GROUND,
    RIGHT,
    SENSITIVITY,
    YES_NO,
    bases_heading,
    basis_text,
    gdpr,
    period_text,
)
from carprivacy.domain.policy import (
    ConsentTopic,
    Contact,
    LegalBasis,
    NoticeSection,
    Policy,
    Purpose,
    Text,
)
from carprivacy.domain.retention import stated_rules

PURPOSE_SECTIONS = "ABCDEFGH"

UI: dict[str, Text] = {
    "address": Text("Adres", "Address"),
    "registration": Text("Registratie", "Registration"),
    "contact": Text("Contact", "Contact"),
    "dpo": Text("Functionaris gegevensbescherming", "Data protection officer"),
    "holds": Text("Houdt de volgende gegevens bij", "Holds the following data"),
    "account_owner": Text(
        "Beheert het BMW Group gebruikersaccount; het verwijderen daarvan verwijdert geen gegevens "
        "bij de andere verwerkingsverantwoordelijke.",
        "Owns the BMW Group user account; deleting it does not delete data held by the other "
        "controller.",
    ),
    "category": Text("Categorie", "Category"),
    "fields": Text("Gegevens", "Data"),
    "sensitivity": Text("Gevoeligheid", "Sensitivity"),
    "source": Text("Bron", "Source"),
    "from_you": Text("van u", "from you"),
    "basis": Text("Rechtsgrond", "Legal basis"),
    "categories": Text("Categorieën persoonsgegevens", "Categories of personal data"),
    "form": Text("Vorm", "Form"),
    "data_subjects": Text("Betrokkenen", "Data subjects"),
    "recipients": Text("Ontvangers", "Recipients"),
    "controllers": Text("Verwerkingsverantwoordelijken", "Controllers"),
    "consent_topic": Text("Toestemming", "Consent"),
    "portability": Text("Dataportabiliteit", "Data portability"),
    "objection": Text("Bezwaar", "Objection"),
    "objection_marketing": Text(
        "bezwaar wordt altijd gehonoreerd (direct marketing)",
        "an objection is always honoured (direct marketing)",
    ),
    "objection_li": Text("u kunt bezwaar maken (Art. 21 AVG)", "you can object (Art. 21 GDPR)"),
    "legal_claims": Text(
        "Ook voor juridische claims (instellen, uitoefenen, verdedigen)",
        "Also for legal claims (establishment, exercise, defence)",
    ),
    "retention": Text("Bewaartermijn", "Retention"),
    "restriction": Text(
        "Bij beperking van de verwerking (Art. 18 lid 2 AVG) nog gebruikt voor",
        "Under a restriction of processing (Art. 18(2) GDPR) still used for",
    ),
    "purpose": Text("Doel", "Purpose"),
    "all_purposes": Text("alle doelen", "all purposes"),
    "other_purposes": Text("overige doelen", "other purposes"),
    "period": Text("Termijn", "Period"),
    "reason": Text("Toelichting", "Explanation"),
    "recipient": Text("Ontvanger", "Recipient"),
    "kind": Text("Soort", "Kind"),
    "country": Text("Land", "Country"),
    "mechanism": Text("Doorgifte", "Transfer"),
    "allowed_fields": Text("Alleen deze gegevens", "Only these data"),
    "all_fields": Text("gegevens van het doel", "the purpose's data"),
    "service_countries": Text("Alleen in", "Only in"),
    "topic": Text("Instelling", "Setting"),
    "topic_kind": Text("Verwerking", "Processing"),
    "text": Text("Tekst", "Text"),
    "version": Text("versie", "version"),
    "vehicle_only": Text("per voertuig", "per vehicle"),
    "where": Text("Waar", "Where"),
    "anywhere": Text("zoals hierboven beschreven", "as described above"),
    "email": Text("E-mail", "E-mail"),
    "phone": Text("Telefoon", "Phone"),
    "hours": Text("Bereikbaar", "Hours"),
    "website": Text("Website", "Website"),
    "deadline": Text(
        "Termijn: {m} maand na ontvangst van uw verzoek; met opgave van redenen ten hoogste {x} "
        "maanden verlengbaar (Art. 12 lid 3 AVG).",
        "Deadline: {m} month after we receive your request; extendable by at most {x} further "
        "months with reasons (Art. 12(3) GDPR).",
    ),
    "limits": Text("Beperkingen", "Limits"),
    "footer": Text(
        "Gegenereerd uit het beleidsbestand {id}, versie {v}. Gegevenscategorieën en doelen zijn "
        "gekoppeld aan de fideslang-taxonomie (Ethyca, CC BY 4.0); voertuigsignalen aan COVESA "
        "VSS.",
        "Generated from the policy file {id}, version {v}. Data categories and purposes map to the "
        "fideslang taxonomy (Ethyca, CC BY 4.0); vehicle signals to COVESA VSS.",
    ),
    "fides": Text("fideslang", "fideslang"),
}


def _ui(key: str, lang: str) -> str:
    return UI[key].get(lang)


def _contact_lines(c: Contact, lang: str) -> list[str]:
    lines = [c.name]
    if c.address:
        lines.append(f"{_ui('address', lang)}: {', '.join(c.address)}")
    if c.email:
        lines.append(f"{_ui('email', lang)}: {c.email}")
    if c.phone:
        lines.append(f"{_ui('phone', lang)}: {c.phone}")
    if c.hours:
        lines.append(f"{_ui('hours', lang)}: {c.hours.get(lang)}")
    if c.website:
        lines.append(f"{_ui('website', lang)}: {c.website}")
    return lines


def _section(policy: Policy, ident: str) -> NoticeSection | None:
    return policy.sections_by_id.get(ident)


def _heading_of(policy: Policy, ident: str, lang: str, fallback: str) -> str:
    sec = _section(policy, ident)
    return sec.title.get(lang) if sec else fallback


def _section_text(doc: Document, policy: Policy, ident: str, lang: str) -> None:
    sec = _section(policy, ident)
    if sec and sec.text:
        doc.para(sec.text.get(lang))


def _controllers(doc: Document, policy: Policy, lang: str) -> None:
    doc.heading(2, _heading_of(policy, "controllers", lang, "Controllers"), "controllers")
    cats = policy.categories_by_id
    for c in policy.controllers:
        doc.heading(3, f"{c.name} ({c.short_name})")
        doc.para(c.role.get(lang))
        items = [f"{_ui('address', lang)}: {', '.join(c.address)} ({c.country})"]
        if c.registration:
            items.append(f"{_ui('registration', lang)}: {c.registration}")
        items.append(f"{_ui('contact', lang)}: {'; '.join(_contact_lines(c.contact, lang))}")
        if c.dpo:
            items.append(f"{_ui('dpo', lang)}: {'; '.join(_contact_lines(c.dpo, lang))}")
        held = [cats[h].name.get(lang) if h in cats else h for h in c.holds]
        items.append(f"{_ui('holds', lang)}: {', '.join(held)}")
        if c.account_owner:
            items.append(_ui("account_owner", lang))
        doc.bullets(items)


def _categories(doc: Document, policy: Policy, lang: str) -> None:
    doc.heading(2, _heading_of(policy, "categories", lang, "Data"), "categories")
    _section_text(doc, policy, "categories", lang)
    rows = []
    for c in policy.categories:
        fields = ", ".join(f.label.get(lang) for f in c.fields)
        source = c.source.get(lang) if c.source else _ui("from_you", lang)
        rows.append([c.name.get(lang), fields, SENSITIVITY[c.sensitivity].get(lang), source])
    doc.table(
        [_ui(k, lang) for k in ("category", "fields", "sensitivity", "source")],
        rows,
    )


def _purpose(doc: Document, policy: Policy, p: Purpose, lang: str) -> None:
    cats = policy.categories_by_id
    recs = policy.recipients_by_id
    ctls = policy.controllers_by_id
    doc.heading(4, p.name.get(lang), f"purpose-{p.id}")
    doc.para(p.description.get(lang))
    items = [
        f"{_ui('basis', lang)}: {basis_text(p.legal_basis, lang)}",
        f"{_ui('categories', lang)}: "
        + ", ".join(cats[c].name.get(lang) if c in cats else c for c in p.categories),
        f"{_ui('form', lang)}: {FORM[p.form].get(lang)}",
    ]
    subjects = policy.data_subjects_by_id
    if p.data_subjects:
        items.append(
            f"{_ui('data_subjects', lang)}: "
            + ", ".join(subjects[s].name.get(lang) if s in subjects else s for s in p.data_subjects)
        )
    if p.recipients:
        items.append(
            f"{_ui('recipients', lang)}: "
            + ", ".join(recs[r].name.get(lang) if r in recs else r for r in p.recipients)
        )
    items.append(
        f"{_ui('controllers', lang)}: "
        + ", ".join(ctls[c].short_name if c in ctls else c for c in p.controllers)
    )
    topic = policy.consent_topics_by_id.get(p.consent_topic) if p.consent_topic else None
    if topic:
        # an opt-out topic records a refusal: it is never presented as a consent
        line = (
            f"{CHOICE_LABEL[topic.kind].get(lang)}: {topic.name.get(lang)} "
            f"({CONSENT_KIND[topic.kind].get(lang)})"
        )
        if topic.where or topic.recorded_via:
            line += f", {_where(topic, lang)}"
        items.append(line)
    items.append(f"{_ui('portability', lang)}: {YES_NO[p.offers_portability].get(lang)}")
    if p.is_marketing and not p.objection_override_allowed:
        items.append(f"{_ui('objection', lang)}: {_ui('objection_marketing', lang)}")
    elif p.legal_basis is LegalBasis.LEGITIMATE_INTEREST:
        items.append(f"{_ui('objection', lang)}: {_ui('objection_li', lang)}")
    if p.legal_claims:
        items.append(_ui("legal_claims", lang))
    elif p.restriction_ground is not None:
        items.append(
            f"{_ui('restriction', lang)}: {RESTRICTION_GROUND[p.restriction_ground].get(lang)}"
        )
    for rule in policy.retention:
        if rule.purpose == p.id:
            name = cats[rule.category].name.get(lang) if rule.category in cats else rule.category
            items.append(f"{_ui('retention', lang)} ({name}): {period_text(rule, lang)}")
    doc.bullets(items)


def _purposes(doc: Document, policy: Policy, lang: str) -> None:
    for letter in PURPOSE_SECTIONS:
        purposes = [p for p in policy.purposes if p.section == letter]
        if not purposes:
            continue
        sec = _section(policy, letter)
        declared = sec.legal_bases if sec is not None else None
        bases = declared if declared is not None else tuple(p.legal_basis for p in purposes)
        articles = bases_heading(bases, lang)
        title = _heading_of(policy, letter, lang, letter)
        heading = f"{letter}. {title} ({articles})" if articles else f"{letter}. {title}"
        doc.heading(3, heading, f"section-{letter}")
        _section_text(doc, policy, letter, lang)
        for p in purposes:
            _purpose(doc, policy, p, lang)
        if letter == "B" and _section(policy, "account"):
            doc.heading(3, _heading_of(policy, "account", lang, "Account"), "account")
            _section_text(doc, policy, "account", lang)


def _retention(doc: Document, policy: Policy, lang: str) -> None:
    doc.heading(2, _heading_of(policy, "retention", lang, "Retention"), "retention")
    if policy.retention_statement:
        doc.para(policy.retention_statement.get(lang))
    cats = policy.categories_by_id
    purposes = policy.purposes_by_id
    rows = []
    for stated in stated_rules(policy.retention):  # one line per category and purpose
        r = stated.rule
        cat = cats[r.category].name.get(lang) if r.category in cats else r.category
        if r.purpose is None:
            purpose = _ui("other_purposes" if stated.other_purposes else "all_purposes", lang)
        else:
            p = purposes.get(r.purpose)
            purpose = p.name.get(lang) if p else r.purpose
        reason = r.reason.get(lang) if r.reason else ""
        rows.append([cat, purpose, period_text(r, lang), reason])
    doc.table([_ui(k, lang) for k in ("category", "purpose", "period", "reason")], rows)


def _recipients(doc: Document, policy: Policy, lang: str) -> None:
    doc.heading(2, _heading_of(policy, "recipients", lang, "Recipients"), "recipients")
    if policy.transfers_statement:
        doc.para(policy.transfers_statement.get(lang))
    labels = {f.name: f.label.get(lang) for c in policy.categories for f in c.fields}
    rows = []
    for r in policy.recipients:
        fields = ", ".join(labels.get(f, f) for f in r.allowed_fields) or _ui("all_fields", lang)
        if r.service_countries:
            fields += f"; {_ui('service_countries', lang)}: {', '.join(r.service_countries)}"
        rows.append(
            [
                r.name.get(lang),
                RECIPIENT_KIND[r.kind].get(lang),
                r.country,
                MECHANISM[r.transfer_mechanism].get(lang),
                fields,
            ]
        )
    doc.table(
        [_ui(k, lang) for k in ("recipient", "kind", "country", "mechanism", "allowed_fields")],
        rows,
    )


def _settings(doc: Document, policy: Policy, lang: str) -> None:
    doc.heading(2, _heading_of(policy, "settings", lang, "Settings"), "settings")
    if policy.settings_statement:
        doc.para(policy.settings_statement.get(lang))
    rows = []
    for t in policy.consent_topics:
        v = t.current_version
        kind = CONSENT_KIND[t.kind].get(lang)
        if t.vehicle_only:
            kind += f" ({_ui('vehicle_only', lang)})"
        rows.append(
            [
                t.name.get(lang),
                kind,
                _where(t, lang),
                f"{v.text.get(lang)} ({_ui('version', lang)} {v.version})",
            ]
        )
    doc.table([_ui(k, lang) for k in ("topic", "topic_kind", "where", "text")], rows)


def _where(topic: ConsentTopic, lang: str) -> str:
    """Where the choice is made: the policy's wording, else its channels, else the accounts."""
    if topic.where:
        return topic.where.get(lang)
    if topic.recorded_via:
        return ", ".join(CHANNEL[c].get(lang) if c in CHANNEL else c for c in topic.recorded_via)
    return _ui("anywhere", lang)


def _contact_and_rights(doc: Document, policy: Policy, lang: str) -> None:
    doc.heading(2, _heading_of(policy, "contact", lang, "Contact"), "contact")
    doc.bullets(_contact_lines(policy.contact, lang))
    for c in policy.controllers:
        if c.dpo:
            doc.para(f"{_ui('dpo', lang)} ({c.short_name}):")
            doc.bullets(_contact_lines(c.dpo, lang))
    doc.heading(2, _heading_of(policy, "rights", lang, "Rights"), "rights")
    for offer in policy.rights:
        doc.heading(3, f"{RIGHT[offer.right].get(lang)} ({gdpr(offer.right.article, lang)})")
        doc.para(offer.description.get(lang))
        if offer.limits:
            doc.para(f"{_ui('limits', lang)}: {offer.limits.get(lang)}")
    doc.heading(2, _heading_of(policy, "deadline", lang, "Deadline"), "deadline")
    if policy.deadline.description:
        doc.para(policy.deadline.description.get(lang))
    doc.para(
        _ui("deadline", lang).format(m=policy.deadline.months, x=policy.deadline.extension_months)
    )
    if policy.request_limits:
        doc.heading(2, _heading_of(policy, "request_limits", lang, "Limits"), "request-limits")
        doc.para(policy.request_limits.get(lang))
    doc.heading(2, _heading_of(policy, "complaints", lang, "Complaints"), "complaints")
    doc.bullets(_contact_lines(policy.complaint_authority, lang))


def build_notice(policy: Policy, lang: str) -> Document:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use nl or en")
    doc = Document(title=policy.title.get(lang), lang=lang)
    doc.heading(1, policy.title.get(lang))
    doc.para(policy.intro.get(lang))
    _controllers(doc, policy, lang)
    _categories(doc, policy, lang)
    _purposes(doc, policy, lang)
    if policy.automated_processing:
        doc.heading(2, _heading_of(policy, "ai", lang, "AI"), "ai")
        doc.para(policy.automated_processing.get(lang))
    _retention(doc, policy, lang)
    doc.heading(2, _heading_of(policy, "security", lang, "Security"), "security")
    if policy.security_statement:
        doc.para(policy.security_statement.get(lang))
    doc.bullets([m.get(lang) for m in policy.security_measures])
    _recipients(doc, policy, lang)
    _settings(doc, policy, lang)
    _contact_and_rights(doc, policy, lang)
    doc.para(_ui("footer", lang).format(id=policy.id, v=policy.version))
    return doc


def render_notice(policy: Policy, lang: str = "nl", fmt: str = "md") -> str:
    """The notice in ``lang`` (nl, en) as ``fmt`` (md, html)."""
    return render(build_notice(policy, lang), fmt)
