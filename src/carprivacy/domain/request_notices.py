"""What a person is told about their request (SPEC R7, R8; Art. 12(3), 12(4), 19, 77 GDPR), pure.

Every notice is a subject line and a body in Dutch or English. A refusal or partial refusal
names its reason and the route to the supervisory authority (the policy's
``complaint_authority``: the Autoriteit Persoonsgegevens) and to a court (Art. 79), as
Art. 12(4) requires; an extension names its reason and the new due date (Art. 12(3)); a
completed request says what was done. The texts never name a field's old value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from carprivacy.domain.policy import Policy
from carprivacy.domain.request_workflow import RequestKind

LANGUAGES = ("nl", "en")

KIND_NAMES = {
    "nl": {
        RequestKind.ACCESS: "inzage (art. 15 AVG)",
        RequestKind.RECTIFICATION: "rectificatie (art. 16 AVG)",
        RequestKind.ERASURE: "wissing (art. 17 AVG)",
        RequestKind.RESTRICTION: "beperking van de verwerking (art. 18 AVG)",
        RequestKind.PORTABILITY: "overdraagbaarheid van gegevens (art. 20 AVG)",
        RequestKind.OBJECTION: "bezwaar (art. 21 AVG)",
    },
    "en": {
        RequestKind.ACCESS: "access (Art. 15 GDPR)",
        RequestKind.RECTIFICATION: "rectification (Art. 16 GDPR)",
        RequestKind.ERASURE: "erasure (Art. 17 GDPR)",
        RequestKind.RESTRICTION: "restriction of processing (Art. 18 GDPR)",
        RequestKind.PORTABILITY: "data portability (Art. 20 GDPR)",
        RequestKind.OBJECTION: "objection (Art. 21 GDPR)",
    },
}


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else "nl"


def complaint_route(policy: Policy, lang: str) -> str:
    """The right to complain to the supervisory authority (Art. 77) and to go to court (Art. 79),
    with the authority's name and address from the policy."""
    a = policy.complaint_authority
    where = ", ".join(x for x in (*a.address, a.website or "", a.phone or "") if x)
    if _lang(lang) == "en":
        return (
            f"If you do not agree, you may lodge a complaint with the supervisory authority, the "
            f"{a.name} ({where}; Art. 77 GDPR), and you may go to court (Art. 79 GDPR)."
        )
    return (
        f"Bent u het hier niet mee eens, dan kunt u een klacht indienen bij de toezichthouder, "
        f"de {a.name} ({where}; art. 77 AVG), en u kunt naar de rechter stappen (art. 79 AVG)."
    )


def received(kind: RequestKind, reference: str, due: date, lang: str) -> Notice:
    lang = _lang(lang)
    name = KIND_NAMES[lang][kind]
    if lang == "en":
        return Notice(
            "We received your request",
            f"We received your request for {name} (reference {reference}). We answer it by "
            f"{due.isoformat()} at the latest (Art. 12(3) GDPR).",
        )
    return Notice(
        "Wij hebben uw verzoek ontvangen",
        f"Wij hebben uw verzoek om {name} ontvangen (kenmerk {reference}). Wij beantwoorden het "
        f"uiterlijk op {due.isoformat()} (art. 12 lid 3 AVG).",
    )


def verification_code(code: str, minutes: int, lang: str) -> Notice:
    if _lang(lang) == "en":
        return Notice(
            "Confirm your request",
            f"Your code to confirm your request is {code}. It is valid for {minutes} minutes. "
            "Give it only to our staff handling your request.",
        )
    return Notice(
        "Bevestig uw verzoek",
        f"Uw code om uw verzoek te bevestigen is {code}. De code is {minutes} minuten geldig. "
        "Geef hem alleen aan onze medewerker die uw verzoek behandelt.",
    )


def extended(
    kind: RequestKind, reference: str, months: int, due: date, reason: str, lang: str
) -> Notice:
    lang = _lang(lang)
    name = KIND_NAMES[lang][kind]
    if lang == "en":
        return Notice(
            "More time for your request",
            f"We need more time for your request for {name} (reference {reference}): the period "
            f"is extended by {months} month(s), to {due.isoformat()} (Art. 12(3) GDPR). "
            f"Reason: {reason}",
        )
    return Notice(
        "Meer tijd voor uw verzoek",
        f"Wij hebben meer tijd nodig voor uw verzoek om {name} (kenmerk {reference}): de termijn "
        f"wordt met {months} maand(en) verlengd, tot {due.isoformat()} (art. 12 lid 3 AVG). "
        f"Reden: {reason}",
    )


def completed(kind: RequestKind, reference: str, done: Sequence[str], lang: str) -> Notice:
    """``done``: lines that say what was done (in ``lang``)."""
    lang = _lang(lang)
    name = KIND_NAMES[lang][kind]
    lines = "\n".join(f"- {d}" for d in done)
    if lang == "en":
        return Notice(
            "Your request has been handled",
            f"We handled your request for {name} (reference {reference}).\n{lines}".rstrip(),
        )
    return Notice(
        "Uw verzoek is afgehandeld",
        f"Wij hebben uw verzoek om {name} afgehandeld (kenmerk {reference}).\n{lines}".rstrip(),
    )


def refused(
    policy: Policy,
    kind: RequestKind,
    reference: str,
    reason: str,
    *,
    partial: bool,
    done: Sequence[str],
    lang: str,
) -> Notice:
    """A refusal (or partial refusal) with its reason and the complaint route (Art. 12(4))."""
    lang = _lang(lang)
    name = KIND_NAMES[lang][kind]
    lines = "".join(f"\n- {d}" for d in done)
    route = complaint_route(policy, lang)
    if lang == "en":
        what = "partly refused" if partial else "refused"
        return Notice(
            f"Your request has been {what}",
            f"We have {what} your request for {name} (reference {reference}) (Art. 12(4) GDPR)."
            f"{lines}\nReason: {reason}\n{route}",
        )
    what = "gedeeltelijk afgewezen" if partial else "afgewezen"
    return Notice(
        f"Uw verzoek is {what}",
        f"Wij hebben uw verzoek om {name} {what} (kenmerk {reference}) (art. 12 lid 4 AVG)."
        f"{lines}\nReden: {reason}\n{route}",
    )
