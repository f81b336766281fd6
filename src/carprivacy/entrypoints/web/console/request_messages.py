"""The console's texts of one request's page in Dutch and English (key: (nl, en))."""

from __future__ import annotations

REQUEST_MESSAGES: dict[str, tuple[str, str]] = {
    "request_channel": ("Kanaal", "Channel"),
    "request_verification": ("Identiteit bevestigd door", "Identity verified by"),
    "request_sealed_erased": (
        "De sleutel van de betrokkene is vernietigd: wat het verzoek vroeg en de redenen zijn "
        "onleesbaar.",
        "The subject's key is destroyed: what the request asked and the reasons are unreadable.",
    ),
    "request_asks": ("Wat het verzoek vraagt", "What the request asks"),
    "request_no_details": ("Geen nadere gegevens.", "No further details."),
    "request_outcome": ("Wat er is gedaan", "What was done"),
    "request_history": ("Geschiedenis", "History"),
    "request_change": ("Wijziging", "Change"),
    "request_by": ("Door", "By"),
    "request_told": ("Aan de betrokkene gemeld", "Told to the person"),
    "request_actions": ("Afhandelen", "Handle"),
    "request_verify": ("Identiteit bevestigen", "Verify the identity"),
    "request_evidence": ("Gecontroleerd bewijs", "Evidence checked"),
    "request_verify_evidence": ("Bevestigen met bewijs", "Verify with evidence"),
    "request_send_code": ("E-mailcode sturen", "Send an e-mail code"),
    "request_code": ("Code van de betrokkene", "The person's code"),
    "request_verify_code": ("Bevestigen met code", "Verify with the code"),
    "request_complete": ("Uitvoeren", "Carry out"),
    "request_partial_reason": (
        "Reden van gedeeltelijke weigering (leeg: volledig uitgevoerd)",
        "Reason for a partial refusal (empty: carried out in full)",
    ),
    "request_complete_button": ("Uitvoeren en afronden", "Carry out and complete"),
    "request_extend": (
        "Termijn verlengen (art. 12 lid 3 AVG)",
        "Extend the deadline (Art. 12(3) GDPR)",
    ),
    "request_months": ("Maanden", "Months"),
    "request_extend_reason": ("Reden van verlenging", "Reason for the extension"),
    "request_extend_button": ("Verlengen", "Extend"),
    "request_refuse": ("Weigeren (art. 12 lid 4 AVG)", "Refuse (Art. 12(4) GDPR)"),
    "request_refuse_reason": ("Reden van weigering", "Reason for the refusal"),
    "request_refuse_button": ("Weigeren", "Refuse"),
    "request_done_verified": ("De identiteit is bevestigd.", "The identity is verified."),
    "request_done_code_sent": (
        "De code is naar het bekende e-mailadres gestuurd.",
        "The code is sent to the e-mail address held.",
    ),
    "request_done_extended": (
        "De termijn is verlengd; de betrokkene is ingelicht.",
        "The deadline is extended; the person is told.",
    ),
    "request_done_completed": (
        "Het verzoek is uitgevoerd; de betrokkene is ingelicht.",
        "The request is carried out; the person is told.",
    ),
    "request_done_refused": (
        "Het verzoek is geweigerd; de betrokkene is ingelicht, met de klachtroute.",
        "The request is refused; the person is told, with the complaint route.",
    ),
}
