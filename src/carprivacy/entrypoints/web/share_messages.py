"""The portal's texts of the CarData pages (clients, shares, a third party's request), Dutch
and English; merged into ``messages.MESSAGES``."""

from __future__ import annotations

SHARE_MESSAGES: dict[str, tuple[str, str]] = {
    "clients_intro": (
        "Een CarData-client (bijvoorbeeld Home Assistant) leest met uw toestemming uw "
        "voertuiggegevens. Maak hier een client-id, kies wat de client mag, en geef de id aan de "
        "client. Verwijderen stopt elke sleutel van die client meteen.",
        "A CarData client (for example Home Assistant) reads your vehicle data with your "
        "permission. Create a client id here, choose what the client may do, and give the id to "
        "the client. Deleting it stops every token of that client at once.",
    ),
    "client_name": ("Naam van de client", "Name of the client"),
    "client_id": ("Client-id", "Client id"),
    "client_scopes": ("Mag", "May"),
    "scope_api": ("gegevens lezen via de API", "read data through the API"),
    "scope_stream": ("de live stroom ontvangen", "receive the live stream"),
    "create_client": ("Client-id maken", "Create client id"),
    "client_made": ("Client-id gemaakt", "Client id created"),
    "delete": ("Verwijderen", "Delete"),
    "deleted": ("Verwijderd.", "Deleted."),
    "no_clients": ("U heeft nog geen CarData-clients.", "You have no CarData clients yet."),
    "created": ("Gemaakt", "Created"),
    "shares_intro": (
        "Deel de gegevens van één voertuig met één externe partij die u kiest, voor een doel "
        "en een periode. De partij mag de gegevens alleen voor dat doel gebruiken en niet "
        "doorgeven. Delen is gratis en u kunt het altijd intrekken.",
        "Share the data of one vehicle with one external party you choose, for a purpose and a "
        "period. The party may use the data only for that purpose and may not pass it on. "
        "Sharing is free of charge and you can revoke it at any time.",
    ),
    "new_share": ("Nieuw delen", "New share"),
    "vehicle": ("Voertuig", "Vehicle"),
    "party": ("Externe partij", "External party"),
    "agreed_purpose": ("Afgesproken doel", "Agreed purpose"),
    "descriptors": ("Gegevens", "Data"),
    "valid_until": ("Tot en met", "Until"),
    "share_button": ("Delen", "Share"),
    "no_shares": ("U deelt nog niets.", "You share nothing yet."),
    "no_parties": (
        "Er zijn nog geen externe partijen geregistreerd.",
        "No external parties are registered yet.",
    ),
    "share_state": ("Status", "State"),
    "state_pending": ("wacht op begin", "pending"),
    "state_active": ("actief", "active"),
    "state_revoked": ("ingetrokken", "revoked"),
    "state_expired": ("verlopen", "expired"),
    "share_period": ("Periode", "Period"),
    "terms": ("Voorwaarden", "Terms"),
    "share_history": ("Geschiedenis", "History"),
    "share_why": ("Waarom", "Why"),
    "revoke": ("Intrekken", "Revoke"),
    "revoked_note": (
        "Ingetrokken: de partij ontvangt vanaf nu niets meer.",
        "Revoked: the party receives nothing more from now on.",
    ),
    "shared_note": ("Gedeeld.", "Shared."),
    "details": ("Details", "Details"),
    "back_to_shares": ("Terug naar delen", "Back to sharing"),
    "reason_customer_created": ("door u gemaakt", "made by you"),
    "reason_customer_approved_request": (
        "verzoek van de partij door u goedgekeurd",
        "the party's request approved by you",
    ),
    "reason_period_began": ("periode begonnen", "period began"),
    "reason_customer_revoked": ("door u ingetrokken", "revoked by you"),
    "reason_period_ended": ("periode afgelopen", "period ended"),
    "actor_you": ("u", "you"),
    "actor_system": ("het systeem", "the system"),
    "share_request": ("Verzoek om te delen", "Request to share"),
    "share_request_intro": (
        "Deze externe partij vraagt u de volgende gegevens van één voertuig te delen. Kies het "
        "voertuig en keur goed, of weiger.",
        "This external party asks you to share the following data of one vehicle. Choose the "
        "vehicle and approve, or deny.",
    ),
    "days": ("dagen", "days"),
    "no_vehicles_to_share": (
        "U heeft nu geen voertuig dat u kunt delen.",
        "You have no vehicle you can share now.",
    ),
}
