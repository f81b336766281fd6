"""The words the generated texts use for the policy's enums, in Dutch and English."""

from __future__ import annotations

from carprivacy.domain.policy import (
    ConsentKind,
    ExpiryAction,
    Form,
    LegalBasis,
    RecipientKind,
    RestrictionGround,
    RetentionAnchor,
    RetentionRule,
    Right,
    Sensitivity,
    Text,
    TransferMechanism,
)

LANGS = ("nl", "en")


def _t(nl: str, en: str) -> Text:
    return Text(nl=nl, en=en)


BASIS: dict[LegalBasis, Text] = {
    LegalBasis.CONSENT: _t("toestemming", "consent"),
    LegalBasis.CONTRACT: _t("uitvoering van een overeenkomst", "performance of a contract"),
    LegalBasis.LEGAL_OBLIGATION: _t("wettelijke verplichting", "legal obligation"),
    LegalBasis.LEGITIMATE_INTEREST: _t("gerechtvaardigd belang", "legitimate interest"),
}

FORM: dict[Form, Text] = {
    Form.IDENTIFIED: _t("herleidbaar tot u", "identified"),
    Form.VEHICLE_LINKED: _t(
        "alleen gekoppeld aan het voertuig, niet aan u als klant",
        "linked to the vehicle only, not to you as a customer",
    ),
    Form.PSEUDONYMISED: _t(
        "gepseudonimiseerd: niet direct herleidbaar tot klant of voertuig",
        "pseudonymised: not directly traceable to a customer or vehicle",
    ),
    Form.AGGREGATED_ANONYMOUS: _t(
        "alleen geaggregeerd en geanonimiseerd", "aggregated and anonymised only"
    ),
    Form.CATALOGUE: _t(
        "alleen welke gegevens het voertuig kan leveren (namen, eenheden, beschrijvingen), nooit"
        " een waarde",
        "only which data the vehicle can provide (names, units, descriptions), never a value",
    ),
}

SENSITIVITY: dict[Sensitivity, Text] = {
    Sensitivity.NORMAL: _t("normaal", "normal"),
    Sensitivity.SENSITIVE: _t(
        "gevoelig (alleen versleuteld opgeslagen)", "sensitive (stored encrypted only)"
    ),
}

ANCHOR: dict[RetentionAnchor, Text] = {
    RetentionAnchor.COLLECTED: _t("na het verzamelen", "after collection"),
    RetentionAnchor.CONTRACT_END: _t("na afloop van het contract", "after the contract ends"),
    RetentionAnchor.TRANSACTION_DATE: _t("na de transactiedatum", "after the transaction date"),
    RetentionAnchor.VEHICLE_END_OF_LIFE: _t(
        "tot het eind van de levenscyclus van het voertuig", "until the end of the vehicle's life"
    ),
    RetentionAnchor.PURPOSE_END: _t(
        "zolang het doel dit vereist", "as long as the purpose requires"
    ),
}

ACTION: dict[ExpiryAction, Text] = {
    ExpiryAction.DELETE: _t("daarna verwijderd", "then deleted"),
    ExpiryAction.ANONYMISE: _t(
        "daarna geanonimiseerd (niet meer herleidbaar)", "then anonymised (no longer identifying)"
    ),
}

RECIPIENT_KIND: dict[RecipientKind, Text] = {
    RecipientKind.INTERNAL: _t("interne medewerkers", "internal staff"),
    RecipientKind.JOINT_CONTROLLER: _t(
        "gezamenlijk verwerkingsverantwoordelijke", "joint controller"
    ),
    RecipientKind.PROCESSOR: _t("verwerker", "processor"),
    RecipientKind.CONTROLLER: _t(
        "zelfstandig verwerkingsverantwoordelijke", "independent controller"
    ),
    RecipientKind.THIRD_PARTY: _t("derde partij", "third party"),
    RecipientKind.AUTHORITY: _t("overheidsinstantie", "public authority"),
}

MECHANISM: dict[TransferMechanism, Text] = {
    TransferMechanism.EEA: _t("binnen de EU/EER", "inside the EU/EEA"),
    TransferMechanism.ADEQUACY: _t(
        "adequaatheidsbesluit (Art. 45 AVG)", "adequacy decision (Art. 45 GDPR)"
    ),
    TransferMechanism.SCC: _t(
        "standaard EU contracten (Art. 46 lid 2 onder c AVG)",
        "standard contractual clauses (Art. 46(2)(c) GDPR)",
    ),
    TransferMechanism.NONE: _t("geen: doorgifte geweigerd", "none: transfer refused"),
}

CONSENT_KIND: dict[ConsentKind, Text] = {
    ConsentKind.OPT_IN: _t("alleen met uw toestemming", "only with your consent"),
    ConsentKind.OPT_OUT: _t(
        "verwerking tenzij u weigert; geen toestemming", "processing unless you refuse; no consent"
    ),
}
# What a topic records: a consent (opt-in), or a refusal (opt-out), which is no consent.
CHOICE_LABEL: dict[ConsentKind, Text] = {
    ConsentKind.OPT_IN: _t("Toestemming", "Consent"),
    ConsentKind.OPT_OUT: _t("Weigeren", "Refusal"),
}
CHANNEL: dict[str, Text] = {
    "portal": _t("in het online account", "in the online account"),
    "app": _t("in de MINI App", "in the MINI App"),
    "vehicle": _t("in het voertuig", "in the vehicle"),
    "call_centre": _t("via MINI Klantenservice", "through MINI Customer Service"),
    "workshop": _t("in de werkplaats", "at the workshop"),
}

RESTRICTION_GROUND: dict[RestrictionGround, Text] = {
    RestrictionGround.STORAGE: _t("opslag", "storage"),
    RestrictionGround.LEGAL_CLAIMS: _t(
        "de instelling, uitoefening of onderbouwing van een rechtsvordering",
        "the establishment, exercise or defence of legal claims",
    ),
    RestrictionGround.PROTECTION_OF_OTHERS: _t(
        "de bescherming van de rechten van een andere natuurlijke persoon of rechtspersoon",
        "the protection of the rights of another natural or legal person",
    ),
    RestrictionGround.PUBLIC_INTEREST: _t(
        "gewichtige redenen van algemeen belang voor de Unie of voor een lidstaat",
        "important public interest of the Union or of a Member State",
    ),
}

RIGHT: dict[Right, Text] = {
    Right.ACCESS: _t("Recht op inzage", "Right of access"),
    Right.RECTIFICATION: _t("Recht op rectificatie", "Right to rectification"),
    Right.ERASURE: _t("Recht op wissing", "Right to erasure"),
    Right.RESTRICTION: _t("Recht op beperking van de verwerking", "Right to restriction"),
    Right.PORTABILITY: _t("Recht op dataportabiliteit", "Right to data portability"),
    Right.OBJECTION: _t("Recht van bezwaar", "Right to object"),
    Right.WITHDRAW_CONSENT: _t("Toestemming intrekken", "Withdrawing consent"),
    Right.COMPLAINT: _t("Recht om een klacht in te dienen", "Right to lodge a complaint"),
}


def gdpr(article: str, lang: str) -> str:
    """'Art. 6(1)(b) GDPR' -> 'Art. 6 lid 1 onder b AVG' in Dutch."""
    if lang != "nl":
        return article
    out = article.replace(" GDPR", " AVG")
    for a, b in (("(1)(", " lid 1 onder "), ("(2)(", " lid 2 onder "), ("(3)", " lid 3")):
        out = out.replace(a, b)
    return out.replace(") AVG", " AVG")


def bases_heading(bases: tuple[LegalBasis, ...], lang: str) -> str:
    """The bases as the notice's headings name them: 'Art. 6 lid 1 onder a, b en f AVG' /
    'Art. 6(1)(a), (b) and (f) GDPR' (in the order of Art. 6(1)); empty for none."""
    ordered = sorted(set(bases), key=list(LegalBasis).index)
    letters = [b.article.removeprefix("Art. 6(1)(").removesuffix(") GDPR") for b in ordered]
    if not letters:
        return ""
    if lang == "nl":
        joined = letters[0] if len(letters) == 1 else f"{', '.join(letters[:-1])} en {letters[-1]}"
        return f"Art. 6 lid 1 onder {joined} AVG"
    parts = [f"({x})" for x in letters]
    joined = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"Art. 6(1){joined} GDPR"


def basis_text(basis: LegalBasis, lang: str) -> str:
    return f"{BASIS[basis].get(lang)} ({gdpr(basis.article, lang)})"


def period_text(rule: RetentionRule, lang: str) -> str:
    units = (
        (rule.years, ("jaar", "jaar"), ("year", "years")),
        (rule.months, ("maand", "maanden"), ("month", "months")),
        (rule.weeks, ("week", "weken"), ("week", "weeks")),
        (rule.days, ("dag", "dagen"), ("day", "days")),
    )
    parts = []
    for n, nl_words, en_words in units:
        if n:
            words = nl_words if lang == "nl" else en_words
            parts.append(f"{n} {words[0] if n == 1 else words[1]}")
    anchor = ANCHOR[rule.anchor].get(lang)
    action = ACTION[rule.action].get(lang)
    period = " ".join(parts)
    return f"{period} {anchor}, {action}" if period else f"{anchor}, {action}"


YES_NO = {True: _t("ja", "yes"), False: _t("nee", "no")}
