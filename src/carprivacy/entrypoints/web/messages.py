"""The portal's own texts in Dutch and English (the policy's texts come from the policy)."""

from __future__ import annotations

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (nl, en)
    "portal": ("Mijn MINI-gegevens", "My MINI data"),
    "skip": ("Naar de inhoud", "Skip to content"),
    "nav": ("Hoofdmenu", "Main menu"),
    "home": ("Overzicht", "Overview"),
    "vehicles": ("Mijn voertuigen", "My vehicles"),
    "privacy": ("Privacy-instellingen", "Privacy settings"),
    "my_data": ("Mijn gegevens", "My data"),
    "cardata_clients": ("CarData-clients", "CarData clients"),
    "requests": ("Mijn verzoeken", "My requests"),
    "requests_intro": (
        "Vraag inzage, correctie, wissing, beperking, overdracht van uw gegevens of maak "
        "bezwaar. Wij antwoorden binnen een maand (art. 12 lid 3 AVG).",
        "Ask for access to, correction, erasure, restriction or transfer of your data, or "
        "object. We answer within one month (Art. 12(3) GDPR).",
    ),
    "no_requests": ("U heeft nog geen verzoeken gedaan.", "You have made no requests yet."),
    "new_request": ("Nieuw verzoek", "New request"),
    "request_kind": ("Soort verzoek", "Kind of request"),
    "received": ("Ontvangen", "Received"),
    "request_state": ("Status", "State"),
    "due": ("Uiterlijk", "Due"),
    "rectification_what": ("Bij correctie: wat klopt er niet", "For a correction: what is wrong"),
    "field": ("Gegeven", "Field"),
    "new_value": ("Juiste waarde", "Correct value"),
    "restriction_case": ("Bij beperking: waarom", "For a restriction: why"),
    "case_accuracy_contested": ("De juistheid wordt betwist", "The accuracy is contested"),
    "case_unlawful_processing": (
        "Onrechtmatige verwerking, maar niet wissen",
        "Unlawful processing, but do not erase",
    ),
    "case_needed_for_legal_claims": (
        "Ik heb de gegevens nodig voor een rechtsvordering",
        "I need the data for a legal claim",
    ),
    "case_objection_pending": ("Mijn bezwaar wordt beoordeeld", "My objection is being assessed"),
    "objection_to": ("Bij bezwaar: waartegen", "For an objection: against what"),
    "grounds": ("Uw situatie (optioneel)", "Your situation (optional)"),
    "portability_to": (
        "Bij overdracht: rechtstreeks naar (optioneel)",
        "For a transfer: directly to (optional)",
    ),
    "endpoint": ("HTTPS-adres van de andere organisatie", "The other organisation's HTTPS address"),
    "submit_request": ("Verzoek indienen", "Submit request"),
    "request_sent": (
        "Uw verzoek is ontvangen; u krijgt een bevestiging per e-mail.",
        "Your request was received; you get a confirmation by e-mail.",
    ),
    "reference": ("Kenmerk", "Reference"),
    "controller": ("Verwerkingsverantwoordelijke", "Controller"),
    "request_download_intro": (
        "Uw gegevens staan klaar. De eerste kopie is gratis.",
        "Your data is ready. The first copy is free.",
    ),
    "who": ("Door", "By"),
    "request_history": ("Verloop van uw verzoek", "Course of your request"),
    "why": ("Toelichting", "Note"),
    "you": ("u", "you"),
    "staff": ("medewerker", "staff"),
    "state_received": ("ontvangen", "received"),
    "state_verified": ("identiteit bevestigd", "identity verified"),
    "state_in_progress": ("in behandeling", "in progress"),
    "state_completed": ("afgehandeld", "completed"),
    "state_refused": ("afgewezen", "refused"),
    "state_partially_refused": ("gedeeltelijk afgewezen", "partly refused"),
    "standing_on_time": ("op tijd", "on time"),
    "standing_nearly_due": ("bijna verlopen", "nearly due"),
    "standing_overdue": ("te laat", "overdue"),
    "device_approval": ("Apparaat koppelen", "Approve a device"),
    "shares": ("Delen met derden", "Sharing with third parties"),
    "coming": ("binnenkort", "coming soon"),
    "language": ("Taal", "Language"),
    "login": ("Inloggen", "Log in"),
    "logout": ("Uitloggen", "Log out"),
    "login_name": ("Gebruikersnaam of e-mailadres", "Login name or e-mail address"),
    "password": ("Wachtwoord", "Password"),
    "login_intro": (
        "Log in om uw voertuiggegevens, uw privacy-instellingen en de gegevens die wij over u "
        "bewaren te bekijken.",
        "Log in to see your vehicle data, your privacy settings and the data we hold about you.",
    ),
    "logged_out": ("U bent uitgelogd.", "You are logged out."),
    "login_failed": ("Inloggen is mislukt", "Login failed"),
    "customers_only": (
        "Dit portaal is voor klanten. Medewerkers en partners gebruiken de API.",
        "This portal is for customers. Staff and partners use the API.",
    ),
    "welcome": ("Welkom", "Welcome"),
    "home_intro": (
        "Hier ziet u de gegevens van uw voertuigen, kiest u waarvoor wij uw gegevens mogen "
        "gebruiken en ziet u wat wij over u bewaren.",
        "Here you see your vehicles' data, choose what we may use your data for and see what "
        "we hold about you.",
    ),
    "no_vehicles": ("Er zijn geen voertuigen aan u gekoppeld.", "No vehicles are linked to you."),
    "model": ("Model", "Model"),
    "colour": ("Kleur", "Colour"),
    "powertrain": ("Aandrijving", "Powertrain"),
    "vin": ("VIN", "VIN"),
    "view_data": ("Gegevens bekijken", "View data"),
    "recent_data": ("Recente gegevens", "Recent data"),
    "period": ("Periode", "Period"),
    "from": ("Van", "From"),
    "to": ("Tot en met", "To"),
    "show": ("Tonen", "Show"),
    "download": ("Downloaden", "Download"),
    "download_intro": (
        "Alle gegevens van deze periode die aan u zijn toegerekend, gratis en in een gangbaar "
        "formaat.",
        "All data of this period attributed to you, free of charge and in a common format.",
    ),
    "mileage": ("Kilometerstand", "Mileage"),
    "battery": ("Accuspanning (12 V)", "Battery voltage (12 V)"),
    "service": ("Tot de volgende servicebeurt", "Until the next service"),
    "service_km": ("km tot service", "km to service"),
    "service_days": ("dagen tot service", "days to service"),
    "charge": ("Laadtoestand", "State of charge"),
    "positions": ("Ritten en posities", "Trips and positions"),
    "latest": ("Laatste waarden", "Latest values"),
    "signal": ("Signaal", "Signal"),
    "value": ("Waarde", "Value"),
    "unit": ("Eenheid", "Unit"),
    "time": ("Tijd", "Time"),
    "no_data": (
        "Voor deze periode zijn geen gegevens aan u toegerekend.",
        "No data is attributed to you for this period.",
    ),
    "chart_table": ("De waarden van de grafiek", "The chart's values"),
    "consents": ("Toestemmingen", "Consents"),
    "topic": ("Onderwerp", "Topic"),
    "text_shown": ("Tekst", "Text"),
    "state": ("Stand", "State"),
    "given": ("gegeven", "given"),
    "not_given": ("niet gegeven", "not given"),
    "refused": ("geweigerd", "refused"),
    "not_refused": ("niet geweigerd", "not refused"),
    "give": ("Toestemming geven", "Give consent"),
    "withdraw": ("Intrekken", "Withdraw"),
    "elsewhere": ("Alleen te wijzigen", "Can only be changed"),
    "in_shares": (
        "per gekozen partij, onder Delen met derden",
        "per chosen party, under Sharing with third parties",
    ),
    "in_vehicle": ("in het voertuig", "in the vehicle"),
    "parties": ("partijen", "parties"),
    "objections": ("Bezwaar (Art. 21 AVG)", "Objection (Art. 21 GDPR)"),
    "objections_intro": (
        "U kunt bezwaar maken tegen gebruik op grond van ons gerechtvaardigd belang; bezwaar "
        "tegen direct marketing wordt altijd gehonoreerd.",
        "You can object to use based on our legitimate interest; an objection to direct "
        "marketing is always honoured.",
    ),
    "purpose": ("Doel", "Purpose"),
    "object": ("Bezwaar maken", "Object"),
    "objected": ("bezwaar gemaakt", "objected"),
    "no_objection": ("geen bezwaar", "no objection"),
    "withdraw_objection": ("Bezwaar intrekken", "Withdraw objection"),
    "all_marketing": ("Alle direct marketing", "All direct marketing"),
    "saved": ("Uw keuze is vastgelegd.", "Your choice is recorded."),
    "held_intro": (
        "Per categorie: of wij gegevens van u bewaren, waarvoor, op welke grondslag, door wie, "
        "met wie ze worden gedeeld en hoe lang ze worden bewaard (Art. 15 AVG).",
        "Per category: whether we hold data about you, for what, on which legal basis, by whom, "
        "shared with whom and kept how long (Art. 15 GDPR).",
    ),
    "category": ("Categorie", "Category"),
    "held": ("Bewaard", "Held"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "purposes": ("Doelen en grondslagen", "Purposes and legal bases"),
    "recipients": ("Ontvangers", "Recipients"),
    "retention": ("Bewaartermijn", "Retention"),
    "controllers": ("Verwerkingsverantwoordelijken", "Controllers"),
    "until": ("tot", "until"),
    "open_ended": ("zolang het doel het vereist", "as long as the purpose needs"),
    "history": ("Geschiedenis van uw keuzes", "History of your choices"),
    "history_intro": (
        "Elke gegeven of ingetrokken toestemming, elk bezwaar en elke beperking, als bewijs "
        "bewaard.",
        "Every consent given or withdrawn, every objection and restriction, kept as evidence.",
    ),
    "when": ("Wanneer", "When"),
    "what": ("Wat", "What"),
    "channel": ("Kanaal", "Channel"),
    "version": ("Tekstversie", "Text version"),
    "export": ("Exporteren", "Export"),
    "error": ("Er ging iets mis", "Something went wrong"),
    "back": ("Terug naar het overzicht", "Back to the overview"),
    "reasons": ("Redenen", "Reasons"),
    "not_found": ("Deze pagina bestaat niet.", "This page does not exist."),
    "csrf": (
        "Het formulier is verlopen of kwam niet van deze site. Laad de pagina opnieuw en "
        "probeer het nog eens.",
        "The form has expired or did not come from this site. Reload the page and try again.",
    ),
    "device_intro": (
        "Voer de code in die uw CarData-client toont. U ziet daarna welke client toegang vraagt; "
        "keur alleen goed wat u zelf hebt gestart.",
        "Enter the code your CarData client shows. Approve only what you started yourself.",
    ),
    "user_code": ("Code", "Code"),
    "approve": ("Goedkeuren", "Approve"),
    "deny": ("Weigeren", "Deny"),
    "device_approved": ("Goedgekeurd", "Approved"),
    "device_denied": ("Geweigerd", "Denied"),
    "coming_intro": (
        "Deze functie komt binnenkort beschikbaar.",
        "This feature will be available soon.",
    ),
}


def message(key: str, lang: str) -> str:
    nl, en = MESSAGES[key]
    return nl if lang == "nl" else en


def _merge() -> None:
    from carprivacy.entrypoints.web.share_messages import SHARE_MESSAGES

    taken = set(SHARE_MESSAGES) & set(MESSAGES)
    assert not taken, f"message keys given twice: {sorted(taken)}"
    MESSAGES.update(SHARE_MESSAGES)


_merge()
