"""The console's own texts in Dutch and English (the policy's texts come from the policy)."""

from __future__ import annotations

from carprivacy.entrypoints.web.console.request_messages import REQUEST_MESSAGES

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (nl, en)
    "console": ("Console privacyfunctionaris", "Privacy officer's console"),
    "skip": ("Naar de inhoud", "Skip to content"),
    "nav": ("Hoofdmenu", "Main menu"),
    "language": ("Taal", "Language"),
    "home": ("Overzicht", "Overview"),
    "requests": ("Verzoeken", "Requests"),
    "holds": ("Bewaarplichten (legal holds)", "Legal holds"),
    "consents": ("Toestemmingen", "Consents"),
    "retention": ("Bewaartermijnen", "Retention"),
    "audit": ("Auditlog", "Audit log"),
    "register": ("Verwerkingsregister", "Record of processing"),
    "policy_check": ("Beleidscontrole", "Policy validation"),
    "login": ("Inloggen", "Log in"),
    "logout": ("Uitloggen", "Log out"),
    "login_name": ("Gebruikersnaam of e-mailadres", "Login name or e-mail address"),
    "password": ("Wachtwoord", "Password"),
    "login_intro": (
        "Deze console is voor de functionaris gegevensbescherming: verzoeken en hun termijnen, "
        "bewaarplichten, toestemmingen, bewaartermijnen, het auditlog en het register.",
        "This console is for the data protection officer: requests and their deadlines, legal "
        "holds, consents, retention, the audit log and the register.",
    ),
    "logged_out": ("U bent uitgelogd.", "You are logged out."),
    "login_failed": ("Inloggen is mislukt", "Login failed"),
    "officers_only": (
        "De console is alleen voor de functionaris gegevensbescherming (rol privacy_officer); "
        "de rol {role} heeft geen toegang.",
        "The console is for the data protection officer only (role privacy_officer); the role "
        "{role} has no access.",
    ),
    "error": ("Er ging iets mis", "Something went wrong"),
    "reasons": ("Redenen", "Reasons"),
    "back": ("Terug naar het overzicht", "Back to the overview"),
    "not_found": ("niet gevonden", "not found"),
    "csrf": (
        "Het formulier is verlopen of kwam niet van deze site. Laad de pagina opnieuw en "
        "probeer het nog eens.",
        "The form has expired or did not come from this site. Reload the page and try again.",
    ),
    "home_intro": (
        "Wat aandacht vraagt: verzoeken die bijna of te laat zijn, meldingen zonder reactie, "
        "actieve bewaarplichten en de laatste opschoning.",
        "What needs attention: requests nearly due or overdue, alerts not yet acknowledged, "
        "active legal holds and the last retention run.",
    ),
    "open_requests": ("Open verzoeken", "Open requests"),
    "on_time": ("op tijd", "on time"),
    "nearly_due": ("bijna verlopen", "nearly due"),
    "overdue": ("te laat", "overdue"),
    "extended": ("verlengd", "extended"),
    "extension": ("verlenging", "extension"),
    "closed": ("afgerond", "closed"),
    "today": ("nu", "now"),
    "alerts_open": ("Meldingen zonder reactie", "Alerts not acknowledged"),
    "holds_active": ("Actieve bewaarplichten", "Active legal holds"),
    "last_run": ("Laatste opschoning (rijen)", "Last retention run (rows)"),
    "no_runs": ("nog geen opschoning", "no run yet"),
    # requests
    "requests_intro": (
        "Elk verzoek moet binnen een maand na ontvangst zijn afgehandeld, met verlenging met "
        "ten hoogste twee maanden (art. 12 lid 3 AVG). Open verzoeken staan bovenaan, de meest "
        "dringende eerst.",
        "Each request is due one month after receipt, extendable by at most two further months "
        "(Art. 12(3) GDPR). Open requests come first, the most urgent on top.",
    ),
    "requests_timeline": ("Verzoeken: ontvangst tot termijn", "Requests: receipt to deadline"),
    "timeline_caption": (
        "Elke balk loopt van ontvangst tot de termijn (kleur: op tijd, bijna verlopen, te laat, "
        "afgerond) en verder tot de verlengde termijn; de verticale lijn is nu.",
        "Each bar runs from receipt to the deadline (colour: on time, nearly due, overdue, "
        "closed) and on to the extended deadline; the vertical line is now.",
    ),
    "no_requests": ("Er zijn geen verzoeken.", "There are no requests."),
    "request": ("Verzoek", "Request"),
    "kind": ("Soort", "Kind"),
    "state": ("Status", "State"),
    "controller": ("Verwerkingsverantwoordelijke", "Controller"),
    "received": ("Ontvangen", "Received"),
    "due": ("Termijn", "Due"),
    "extended_due": ("Verlengde termijn", "Extended due"),
    "standing": ("Stand", "Standing"),
    "kind_access": ("Inzage", "Access"),
    "kind_rectification": ("Rectificatie", "Rectification"),
    "kind_erasure": ("Wissing", "Erasure"),
    "kind_restriction": ("Beperking", "Restriction"),
    "kind_portability": ("Overdraagbaarheid", "Portability"),
    "kind_objection": ("Bezwaar", "Objection"),
    "state_received": ("ontvangen", "received"),
    "state_verified": ("identiteit geverifieerd", "verified"),
    "state_in_progress": ("in behandeling", "in progress"),
    "state_completed": ("afgehandeld", "completed"),
    "state_refused": ("geweigerd", "refused"),
    "state_partially_refused": ("deels geweigerd", "partially refused"),
    # legal holds
    "holds_intro": (
        "Een bewaarplicht (legal hold) schort de opschoning op voor wat zij dekt: een "
        "betrokkene, een voertuig of beide, eventueel één categorie (art. 17 lid 3 sub e AVG).",
        "A legal hold pauses retention for what it covers: a subject, a vehicle or both, "
        "optionally one category (Art. 17(3)(e) GDPR).",
    ),
    "hold_place": ("Bewaarplicht opleggen", "Place a legal hold"),
    "hold_place_button": ("Opleggen", "Place hold"),
    "hold_placed": ("De bewaarplicht is opgelegd.", "The legal hold is placed."),
    "hold_released": ("De bewaarplicht is opgeheven.", "The legal hold is released."),
    "holds_all": ("Alle bewaarplichten", "Every legal hold"),
    "no_holds": ("Er zijn geen bewaarplichten.", "There are no legal holds."),
    "hold": ("Bewaarplicht", "Hold"),
    "covers": ("Dekt", "Covers"),
    "subject": ("betrokkene", "subject"),
    "vehicle": ("voertuig", "vehicle"),
    "subject_id": ("Betrokkene (id)", "Subject (id)"),
    "vehicle_id": ("Voertuig (id)", "Vehicle (id)"),
    "category": ("Categorie", "Category"),
    "every_category": ("alle categorieën", "every category"),
    "reason": ("Reden", "Reason"),
    "placed": ("Opgelegd", "Placed"),
    "released": ("Opgeheven", "Released"),
    "release": ("Opheffen", "Release"),
    "release_reason": ("Reden van opheffing", "Reason for the release"),
    # consents
    "consents_intro": (
        "Gegeven en ingetrokken toestemmingen per onderwerp en kanaal, uit het "
        "toestemmingsregister: alleen aantallen, geen personen.",
        "Consents given and withdrawn per topic and channel, from the consent ledger: counts "
        "only, no persons.",
    ),
    "consents_overview": ("Toestemmingen per onderwerp", "Consents per topic"),
    "days": ("Periode (dagen)", "Period (days)"),
    "show": ("Tonen", "Show"),
    "since": ("Vanaf", "Since"),
    "topic": ("Onderwerp", "Topic"),
    "given": ("gegeven", "given"),
    "withdrawn": ("ingetrokken", "withdrawn"),
    "per_channel": ("Per kanaal (gegeven / ingetrokken)", "Per channel (given / withdrawn)"),
    "per_day": ("Per dag", "Per day"),
    "no_consents": ("Geen toestemmingen in deze periode.", "No consents in this period."),
    "chart_table": ("De waarden van de grafiek", "The chart's values"),
    "channel_portal": ("portaal", "portal"),
    "channel_app": ("app", "app"),
    "channel_vehicle": ("voertuig", "vehicle"),
    "channel_call_centre": ("klantenservice", "call centre"),
    "channel_workshop": ("werkplaats", "workshop"),
    # retention
    "retention_intro": (
        "Wat de opschoning verwijderde of anonimiseerde, per tabel, categorie, regel en actie. "
        "Een proefrun toont wat een run nu zou doen, zonder iets te veranderen.",
        "What retention deleted or anonymised, per table, category, rule and action. A dry run "
        "shows what a run would do now, changing nothing.",
    ),
    "dry_run": ("Proefrun starten", "Start a dry run"),
    "dry_run_result": ("Proefrun", "Dry run"),
    "dry_run_total": ("Rijen die een run nu zou verwerken", "Rows a run would process now"),
    "dry_run_nothing": (
        "Er is niets veranderd en niets vastgelegd.",
        "Nothing was changed and nothing recorded.",
    ),
    "nothing_expired": ("Niets is verlopen.", "Nothing has expired."),
    "nothing_removed": ("Deze run verwijderde niets.", "This run removed nothing."),
    "runs": ("Runs", "Runs"),
    "as_of": ("beoordeeld op", "judged as of"),
    "policy": ("beleid", "policy"),
    "finished": ("klaar", "finished"),
    "table": ("Tabel", "Table"),
    "rule": ("Regel", "Rule"),
    "action": ("Actie", "Action"),
    "rows": ("rijen", "rows"),
    "action_delete": ("verwijderd", "deleted"),
    "action_anonymise": ("geanonimiseerd", "anonymised"),
    "status_running": ("bezig", "running"),
    "status_completed": ("voltooid", "completed"),
    "status_interrupted": ("onderbroken", "interrupted"),
    # audit
    "integrity": ("Integriteit", "Integrity"),
    "integrity_ok": (
        "Intact: elke regel klopt met de ondertekende controlepunten en de getuige.",
        "Intact: every entry matches the signed checkpoints and the witness.",
    ),
    "integrity_bad": ("GEMANIPULEERD: eerste foute regel", "TAMPERED: first bad entry"),
    "entries_checked": ("regels", "entries"),
    "checkpoints_checked": ("ondertekende controlepunten", "signed checkpoints"),
    "heads_checked": ("koppen van de getuige", "witness heads"),
    "alerts": ("Meldingen van ongebruikelijke toegang", "Unusual access alerts"),
    "acknowledged_now": ("De reactie is vastgelegd.", "The acknowledgement is recorded."),
    "no_alerts": ("Er zijn geen meldingen.", "There are no alerts."),
    "raised": ("Gemeld", "Raised"),
    "caller": ("Wie", "Caller"),
    "what": ("Wat", "What"),
    "acknowledgements": ("Reacties", "Acknowledgements"),
    "note": ("Bevinding", "Note"),
    "acknowledge": ("Reactie vastleggen", "Acknowledge"),
    "recent_entries": ("Laatste regels", "Latest entries"),
    "entries_intro": (
        "Betrokkenen en voertuigen staan er alleen als gepseudonimiseerde verwijzing in.",
        "Subjects and vehicles appear only as pseudonymous references.",
    ),
    "no_entries": ("Het log is leeg.", "The log is empty."),
    "time": ("Tijd", "Time"),
    "purpose": ("Doel", "Purpose"),
    "subject_ref": ("Betrokkene (pseudoniem)", "Subject (pseudonym)"),
    "vehicle_ref": ("Voertuig (pseudoniem)", "Vehicle (pseudonym)"),
    "outcome": ("Uitkomst", "Outcome"),
    # register and policy
    "register_intro": (
        "Eén rij per doel, zoals carprivacy policy register het afdrukt.",
        "One row per purpose, as carprivacy policy register prints it.",
    ),
    "col_purpose": ("Doel (b)", "Purpose (b)"),
    "col_section": ("Paragraaf", "Notice section"),
    "col_legal_basis": ("Rechtsgrond", "Legal basis"),
    "col_data_subjects": ("Betrokkenen (c)", "Data subjects (c)"),
    "col_personal_data": ("Persoonsgegevens (c)", "Personal data (c)"),
    "col_form": ("Vorm", "Form"),
    "col_recipients": ("Ontvangers (d)", "Recipients (d)"),
    "col_transfers": ("Doorgifte (e)", "Transfers (e)"),
    "col_retention": ("Termijnen (f)", "Time limits (f)"),
    "col_consent_topic": ("Toestemming", "Consent topic"),
    "policy_in_force": ("Het beleid dat nu geldt", "The policy in force"),
    "purposes": ("doelen", "purposes"),
    "categories": ("categorieën", "categories"),
    "recipients": ("ontvangers", "recipients"),
    "retention_rules": ("bewaarregels", "retention rules"),
    "policy_file": ("Het beleidsbestand nu", "The policy file now"),
    "policy_valid": (
        "Geldig: de lader vindt geen problemen.",
        "Valid: the loader finds no problems.",
    ),
    "policy_problems": (
        "problemen: dit bestand zou bij een herstart worden geweigerd",
        "problems: this file would be refused at a restart",
    ),
    "path": ("Plaats", "Path"),
    "message": ("Melding", "Message"),
    **REQUEST_MESSAGES,
}


def message(key: str, lang: str) -> str:
    nl, en = MESSAGES[key]
    return nl if lang == "nl" else en
