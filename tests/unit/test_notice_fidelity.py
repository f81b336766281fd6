"""The shipped policy and the generated notice say what the notice says (SPEC P3, P5, P6, P7).

Each check quotes the notice (tests/data/privacy-notice-mini-connected-nl.txt, read at test time):
a phrase is first found in the notice, then in the policy, the generated notice (nl) and
docs/notice-nl.md. Whitespace is normalised (the notice's text breaks lines mid-sentence).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from carprivacy.adapters.notice.notice import render_notice
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.access import Caller, CallerKind, DecisionRequest, Outcome, Role
from carprivacy.domain.decisions import decide
from carprivacy.domain.policy import (
    EEA_COUNTRIES,
    ConsentKind,
    LegalBasis,
    Policy,
)
from carprivacy.domain.subject_state import Objection, Override, OverrideGround, SubjectFacts

ROOT = Path(__file__).resolve().parents[2]
SEED_PATH = ROOT / "tests" / "data" / "privacy-notice-mini-connected-nl.txt"
POLICY_PATH = ROOT / "policies" / "mini-connected-nl.yaml"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
AT = datetime(2025, 3, 1, tzinfo=UTC)


def norm(text: str) -> str:
    return " ".join(text.split())


@cache
def seed() -> str:
    return norm(SEED_PATH.read_text(encoding="utf-8"))


@cache
def policy() -> Policy:
    return load_policy_file(POLICY_PATH)


@cache
def generated(lang: str = "nl") -> str:
    return render_notice(policy(), lang, "md")


@cache
def shipped_doc(lang: str = "nl") -> str:
    return (ROOT / "docs" / f"notice-{lang}.md").read_text(encoding="utf-8")


def quote(phrase: str) -> str:
    """``phrase`` as the notice has it (the test fails if the notice does not say it)."""
    assert norm(phrase) in seed(), f"the notice does not say {phrase!r}"
    return norm(phrase)


def in_texts(phrase: str) -> None:
    assert phrase in norm(generated("nl")), f"the generated notice lacks {phrase!r}"
    assert phrase in norm(shipped_doc("nl")), f"docs/notice-nl.md lacks {phrase!r}"


def line_of(doc: str, start: str) -> str:
    lines = [x for x in doc.splitlines() if x.startswith(start)]
    assert len(lines) == 1, (start, lines)
    return lines[0]


# -- OBFCM: a refusal at authorised workshops and BMW branches, under a legal obligation ------


def test_obfcm_is_refused_at_workshops_and_branches_under_a_legal_obligation() -> None:
    where = quote("bij geautoriseerde werkplaatsen en vestigingen van BMW")
    quote(
        "U kunt het verzamelen en doorgeven van gegevens voor dit doel bij geautoriseerde "
        "werkplaatsen en vestigingen van BMW weigeren."
    )
    quote("In het kader van wettelijke verplichtingen worden bepaalde verbruiksgegevens")
    p = policy()
    purpose = p.purpose("obfcm_reporting")
    assert purpose.legal_basis is LegalBasis.LEGAL_OBLIGATION and purpose.section == "G"
    topic = p.consent_topics_by_id[purpose.consent_topic or ""]
    assert topic.kind is ConsentKind.OPT_OUT and topic.is_refusal
    assert topic.recorded_via == ("workshop",)
    assert topic.where is not None and topic.where.nl == where
    for doc in (generated("nl"), shipped_doc("nl")):
        row = line_of(doc, f"| {topic.name.nl} |")
        assert where in row
        # the settings table says where the refusal is made, never "only in the vehicle", and
        # does not call it a consent
        assert "alleen in het voertuig" not in row and "geen toestemming" in row
        assert "alleen met uw toestemming" not in row
        bullet = line_of(doc, f"- Weigeren: {topic.name.nl}")
        assert where in bullet
        assert f"- Toestemming: {topic.name.nl}" not in doc


def test_the_ledger_takes_the_obfcm_refusal_only_from_the_workshop() -> None:
    from carprivacy.domain.errors import InvalidInputError
    from carprivacy.services.consent.subject_state import SubjectStateService
    from carprivacy.testing.subject_state import InMemorySubjectStateRepository

    service = SubjectStateService(policy(), InMemorySubjectStateRepository())
    with pytest.raises(InvalidInputError) as err:
        service.give("s1", "obfcm_refusal", at=T0, by="s1", channel="app", vehicle_id="v1")
    assert [(x.path, x.rule) for x in err.value.problems] == [("channel", "not_allowed")]
    made = service.give(
        "s1", "obfcm_refusal", at=T0, by="desk", channel="workshop", vehicle_id="v1"
    )
    assert made.channel == "workshop"


# -- nothing invented -------------------------------------------------------------------------


def test_canada_and_switzerland_are_only_examples_of_adequacy() -> None:
    example = quote(
        "Sommige landen buiten de EU, zoals Canada en Zwitserland, zijn door de EU al officieel "
        "aangemerkt als landen die een adequaat, vergelijkbaar niveau van gegevensbescherming "
        "bieden."
    )
    assert example.count("Canada") == 1 and seed().count("Canada") == 1
    assert seed().count("Zwitserland") == 1
    p = policy()
    assert {r.country for r in p.recipients} & {"CA", "CH"} == set()
    # the only recipient outside the EU/EEA is the one the notice names: Google (geocoding)
    quote("sturen wij uitsluitend straat, huisnummer, postcode en land naar Google Inc.")
    outside = {r.id for r in p.recipients if r.country not in EEA_COUNTRIES and r.country != "EU"}
    assert outside == {"google_geocoding"}
    for doc in (generated("nl"), shipped_doc("nl")):
        assert doc.count("Canada") == 1 and doc.count("Zwitserland") == 1  # the statement only
        assert "Canada en Zwitserland" in doc


def test_energy_tariffs_name_no_countries_the_notice_does_not_name() -> None:
    selected = quote("(Deze service is alleen beschikbaar in geselecteerde landen.)")
    assert not re.search(r"geselecteerde landen[^.]*\b(Nederland|Duitsland|Oostenrijk)", seed())
    p = policy()
    assert p.recipient("energy_tariff_partners").service_countries == ()
    description = norm(p.purpose("energy_tariffs").description.nl)
    assert selected.strip("()") in description
    for doc in (generated("nl"), shipped_doc("nl")):
        assert "Alleen in:" not in doc  # no list of service countries anywhere


def test_customer_service_consent_gives_no_example_the_notice_does_not_give() -> None:
    sentence = quote(
        "Waar nodig zullen wij eerst om toestemming vragen voordat wij bepaalde verwerkingen "
        "uitvoeren."
    )
    assert "gesprek" not in seed()  # the notice never mentions recording calls
    p = policy()
    assert norm(p.purpose("customer_service_consent").description.nl) == sentence
    for doc in (generated("nl"), shipped_doc("nl")):
        assert "gesprek" not in doc
    assert "recording calls" not in generated("en") and "recording" not in shipped_doc("en")


# -- market research stays distinct from direct marketing -------------------------------------


def test_market_research_on_legitimate_interest_is_not_direct_marketing() -> None:
    sentence = quote(
        "Indien mogelijk binnen de kaders van de AVG verwerken wij uw contactgegevens op basis van "
        "ons gerechtvaardigde belang om bepaald marktonderzoek of klanttevredenheidsonderzoek uit "
        "te voeren."
    )
    p = policy()
    mr = p.purpose("market_research")
    assert mr.legal_basis is LegalBasis.LEGITIMATE_INTEREST and not mr.is_marketing
    assert norm(mr.description.nl) == sentence
    assert all(x.is_marketing for x in p.purposes if x.id.startswith("marketing_"))
    # the engine: an objection to direct marketing (Art. 21(3)) does not reach market research;
    # an objection to market research itself (Art. 21(1)) stops it, and no override is recorded
    crm = Caller("crm", CallerKind.MACHINE, Role.SERVICE, "mini_nl")
    req = DecisionRequest(crm, "market_research", ("contact",), AT, "s1")
    marketing = Objection("o1", "s1", T0, "s1", marketing=True)
    assert decide(p, req, SubjectFacts("s1", objections=(marketing,))).outcome is Outcome.ALLOW
    mail = DecisionRequest(crm, "marketing_email", ("contact",), AT, "s1")
    assert decide(p, mail, SubjectFacts("s1", objections=(marketing,))).rule == (
        "objection.marketing"
    )
    own = Objection("o2", "s1", T0, "s1", purpose="market_research")
    override = Override(
        "x", "s1", "market_research", OverrideGround.COMPELLING_GROUNDS, "g", "dpo", T0
    )
    facts = SubjectFacts("s1", objections=(own,), overrides=(override,))
    refused = decide(p, req, facts)
    assert refused.rule == "objection.art21" and refused.reasons[0].article == "Art. 21(1) GDPR"
    # the generated text: "you can object", not "(direct marketing)"
    section = norm(generated("nl").split("#### Marktonderzoek en klanttevredenheidsonderzoek")[1])
    first = section.split("####")[0]
    assert "u kunt bezwaar maken (Art. 21 AVG)" in first and "direct marketing" not in first


def test_the_f_consent_text_keeps_market_research() -> None:
    phrase = quote("zoals voor promotiedoeleinden en/of marktonderzoek")
    p = policy()
    consent_purposes = [x for x in p.purposes if x.section == "F" and x.consent_topic]
    assert len(consent_purposes) >= 4
    for x in consent_purposes:
        if x.id.startswith("marketing_"):
            assert phrase in norm(x.description.nl), x.id
    in_texts(phrase)
    assert "promotional purposes and/or market research" in norm(generated("en"))


# -- headings show the legal bases the notice gives them --------------------------------------


def seed_heading(letter: str, title: str) -> str:
    """The notice's heading of section ``letter`` (title and, if it has one, its bases)."""
    m = re.search(
        re.escape(f"{letter}. {title}")
        + r"(?: \((Art\. 6 lid 1 onder [a-f](?:(?:, | en )[a-f])* AVG)\))?",
        seed(),
    )
    assert m, f"the notice has no heading {letter}. {title}"
    return m.group(0)


@pytest.mark.parametrize("letter", list("ABCDEFGH"))
def test_section_headings_show_the_notices_legal_bases(letter: str) -> None:
    title = policy().sections_by_id[letter].title.nl
    expected = seed_heading(letter, norm(title))
    for doc in (generated("nl"), shipped_doc("nl")):
        assert line_of(doc, f"### {letter}. ") == f"### {expected}"


def test_the_notices_headings_are_read_right() -> None:
    """The heading parser finds what a reader sees (so the parametrised test cannot pass empty)."""
    assert (
        seed_heading("E", "Klantenservice")
        == "E. Klantenservice (Art. 6 lid 1 onder a, b en f AVG)"
    )
    d = seed_heading("D", norm(policy().sections_by_id["D"].title.nl))
    assert d.endswith("(Art. 6 lid 1 onder f AVG)")
    assert seed_heading("H", "Gegevensoverdracht aan geselecteerde derde partijen").endswith(
        "partijen"
    )
    assert line_of(generated("en"), "### E. ").endswith("(Art. 6(1)(a), (b) and (f) GDPR)")
    assert (
        line_of(generated("en"), "### H. ") == "### H. Transfer of data to selected third parties"
    )


def test_without_declared_bases_a_heading_names_its_purposes_bases() -> None:
    """Another policy may leave `legal_bases` out: the heading then lists its purposes' bases."""
    p = policy()
    sections = tuple(replace(s, legal_bases=None) for s in p.sections)
    text = render_notice(replace(p, sections=sections), "nl", "md")
    assert line_of(text, "### D. ").endswith("(Art. 6 lid 1 onder c en f AVG)")
    assert line_of(text, "### H. ").endswith("(Art. 6 lid 1 onder a, b en f AVG)")


# -- solar forecast: "locaties van de klanten", narrowed to the home location (documented) -----


def test_solar_forecast_says_what_the_notice_says_and_documents_the_narrowing() -> None:
    phrase = quote("de GPS coördinaten van de locaties van de klanten")
    p = policy()
    description = norm(p.purpose("solar_forecast").description.nl)
    assert phrase in description and "thuislocatie" in description
    in_texts(phrase)
    assert set(p.recipient("solar_forecast_partners").allowed_fields) == {
        "home_latitude",
        "home_longitude",
    }
    assert p.purpose("solar_forecast").categories == ("contact",)  # no section B positions
    adr = norm((ROOT / "docs" / "adr" / "solar-forecast-home-location.md").read_text("utf-8"))
    assert phrase in adr and "home_latitude" in adr
    doc = (ROOT / "docs" / "policy-format.md").read_text(encoding="utf-8")
    assert "solar-forecast-home-location.md" in doc
