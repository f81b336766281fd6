"""Generated texts (SPEC P7): nothing of the policy is missing, docs are fresh."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carprivacy.adapters.notice.notice import render_notice
from carprivacy.adapters.notice.register import COLUMNS, register_rows, render_register
from carprivacy.adapters.notice.vocabulary import gdpr, period_text
from carprivacy.adapters.policy.loader import load_policy_file
from carprivacy.domain.policy import Policy, Text
from carprivacy.domain.retention import stated_rules
from carprivacy.testing.decision_policy import with_adequacy_suppliers

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "policies" / "mini-connected-nl.yaml"
LANGS = ("nl", "en")


@cache
def policy() -> Policy:
    return load_policy_file(POLICY_PATH)


@cache
def notice(lang: str, fmt: str = "md") -> str:
    return render_notice(policy(), lang, fmt)


def texts_of_the_policy(p: Policy, lang: str) -> list[tuple[str, str]]:
    """Walk the policy: (what, text) for everything the notice must state."""
    t: list[tuple[str, str]] = [("title", p.title.get(lang)), ("intro", p.intro.get(lang))]

    def add(what: str, text: Text | str | None) -> None:
        if text is None:
            return
        t.append((what, text if isinstance(text, str) else text.get(lang)))

    for c in p.controllers:
        add(f"controller {c.id}", c.name)
        add(f"controller {c.id} role", c.role)
        for line in c.address:
            add(f"controller {c.id} address", line)
        add(f"controller {c.id} registration", c.registration)
        add(f"controller {c.id} email", c.contact.email)
        add(f"controller {c.id} phone", c.contact.phone)
        if c.dpo:
            add(f"controller {c.id} dpo", c.dpo.name)
            for line in c.dpo.address:
                add(f"controller {c.id} dpo address", line)
    for s in p.sections:
        add(f"section {s.id}", s.title)
        add(f"section {s.id} text", s.text)
    for cat in p.categories:
        add(f"category {cat.id}", cat.name)
        add(f"category {cat.id} source", cat.source)
        for f in cat.fields:
            add(f"field {cat.id}.{f.name}", f.label)
    for pu in p.purposes:
        add(f"purpose {pu.id}", pu.name)
        add(f"purpose {pu.id} description", pu.description)
        add(f"purpose {pu.id} basis", gdpr(pu.legal_basis.article, lang))
    for s in p.data_subjects:
        add(f"data subject {s.id}", s.name)
    for r in p.recipients:
        add(f"recipient {r.id}", r.name)
        for country in r.service_countries:
            add(f"recipient {r.id} service country", country)
    for rule in p.retention:
        add(f"retention {rule.id}", period_text(rule, lang))
        add(f"retention {rule.id} reason", rule.reason)
    for topic in p.consent_topics:
        add(f"topic {topic.id}", topic.name)
        add(f"topic {topic.id} text", topic.current_version.text)
    for offer in p.rights:
        add(f"right {offer.right}", offer.description)
        add(f"right {offer.right} article", gdpr(offer.right.article, lang))
        add(f"right {offer.right} limits", offer.limits)
    add("deadline", p.deadline.description)
    add("contact", p.contact.name)
    add("contact email", p.contact.email)
    add("contact phone", p.contact.phone)
    add("contact hours", p.contact.hours)
    add("authority", p.complaint_authority.name)
    for line in p.complaint_authority.address:
        add("authority address", line)
    for m in p.security_measures:
        add("security measure", m)
    for what in (
        "automated_processing",
        "transfers_statement",
        "settings_statement",
        "retention_statement",
        "request_limits",
        "security_statement",
    ):
        add(what, getattr(p, what))
    return t


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_of_the_policy_is_missing_from_the_notice(lang: str) -> None:
    text = notice(lang)
    missing = [what for what, s in texts_of_the_policy(policy(), lang) if s not in text]
    assert missing == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_html_notice_says_the_same_escaped(lang: str) -> None:
    import html

    page = notice(lang, "html")
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    missing = [
        what for what, s in texts_of_the_policy(policy(), lang) if html.escape(s) not in page
    ]
    assert missing == []


def test_the_notice_states_the_deadline_and_the_authority() -> None:
    assert "1 maand" in notice("nl") and "2 maanden" in notice("nl")
    assert "1 month" in notice("en") and "2 further months" in notice("en")
    assert "Autoriteit Persoonsgegevens" in notice("en")


def test_a_change_in_the_policy_changes_the_notice() -> None:
    """The text is generated: a new purpose name shows up, nothing is hard-coded."""
    p = policy()
    renamed = replace(p.purposes[0], name=Text("Nieuw doel X", "New purpose X"))
    changed = replace(p, purposes=(renamed, *p.purposes[1:]))
    assert "New purpose X" in render_notice(changed, "en")
    assert "New purpose X" not in notice("en")


def test_html_escapes_markup() -> None:
    p = policy()
    evil = replace(p.purposes[0], name=Text("<script>x</script>", "<script>x</script>"))
    page = render_notice(replace(p, purposes=(evil, *p.purposes[1:])), "en", "html")
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_unknown_language_or_format() -> None:
    with pytest.raises(ValueError):
        render_notice(policy(), "de")
    with pytest.raises(ValueError):
        render_notice(policy(), "en", "pdf")
    with pytest.raises(ValueError):
        render_register(policy(), "xml")


# ---- the Art. 30(1) register


@pytest.mark.parametrize("lang", LANGS)
def test_register_has_one_row_per_purpose_with_every_art30_item(lang: str) -> None:
    p = policy()
    rows = register_rows(p, lang)
    assert [r["purpose_id"] for r in rows] == [x.id for x in p.purposes]
    for row, purpose in zip(rows, p.purposes, strict=True):
        assert set(row) == {k for k, _ in COLUMNS}
        assert purpose.name.get(lang) in row["purpose"]
        for c in purpose.categories:
            assert p.category(c).name.get(lang) in row["personal_data"]
        for r in purpose.recipients:
            assert any(p.recipient(r).name.get(lang) in x for x in row["recipients"])
        for s in purpose.data_subjects:
            assert p.data_subjects_by_id[s].name.get(lang) in row["data_subjects"]
        assert row["data_subjects"], purpose.id
        assert row["retention"], f"{purpose.id}: no time limit for erasure"
        assert len(row["security"]) == len(p.security_measures)
        assert any("BMW Nederland" in x for x in row["joint_controllers"])
        assert any("Bayerische Motoren Werke" in x for x in row["joint_controllers"])
        if "mini_nl" in purpose.controllers:
            assert any("Data Privacy Protection Officer" in x for x in row["dpo"])
        third = [r for r in purpose.recipients if not p.recipient(r).in_eea]
        assert len(row["transfers"]) == len(third)


def test_register_transfers_name_their_safeguard() -> None:
    rows = {r["purpose_id"]: r for r in register_rows(policy())}
    assert rows["geocoding"]["transfers"] == [
        "Google Inc. (Google Maps geocoding): US, standard contractual clauses (Art. 46(2)(c) GDPR)"
    ]
    assert rows["it_security"]["transfers"] == []  # the notice names no supplier outside the EU
    assert rows["recall"]["transfers"] == []
    # a policy with a Canadian IT supplier (the test fixture) records its adequacy decision
    fixture = {r["purpose_id"]: r for r in register_rows(with_adequacy_suppliers(policy()))}
    assert fixture["it_security"]["transfers"] == [
        "Selected supplier (IT services) in Canada: CA, adequacy decision (Art. 45 GDPR)"
    ]


def test_register_csv_and_json_and_md() -> None:
    p = policy()
    parsed = list(csv.DictReader(io.StringIO(render_register(p, "csv"))))
    assert len(parsed) == len(p.purposes)
    assert parsed[0]["purpose_id"] == p.purposes[0].id and parsed[0]["security"]
    data = json.loads(render_register(p, "json"))
    assert data["article"] == "Art. 30(1) GDPR" and len(data["rows"]) == len(p.purposes)
    md = render_register(p, "md")
    for purpose in p.purposes:
        assert f"| {purpose.id} | {purpose.name.en} |" in md
    for c in p.controllers:
        assert c.name in md
    for m in p.security_measures:
        assert m.en in md
    for r in p.recipients:
        if any(r.id in x.recipients for x in p.purposes):
            assert r.name.en in md


# ---- the committed docs are what the policy renders today


@pytest.mark.parametrize(
    ("path", "render"),
    [
        ("docs/notice-nl.md", lambda p: render_notice(p, "nl", "md")),
        ("docs/notice-en.md", lambda p: render_notice(p, "en", "md")),
        ("docs/register.md", lambda p: render_register(p, "md", "en")),
    ],
)
def test_committed_docs_are_not_stale(path: str, render: object) -> None:
    assert callable(render)
    committed = (ROOT / path).read_text(encoding="utf-8")
    assert committed == render(policy()), f"{path} is stale: run `make docs`"


@pytest.mark.parametrize("lang", LANGS)
def test_every_retention_rule_and_topic_is_in_the_register(lang: str) -> None:
    """Every stated rule (a category's "as long as the purpose requires" beside its dated
    term is not stated: test_retention_statement.py) and every consent topic."""
    p = policy()
    rows = register_rows(p, lang)
    retention = {line for row in rows for line in row["retention"]}
    stated = [s.rule for s in stated_rules(p.retention)]
    assert {r.id for r in p.retention} - {r.id for r in stated} == {
        "contract_purpose_end",
        "financial_transactions_purpose_end",
    }
    for rule in stated:
        line = f"{p.category(rule.category).name.get(lang)}: {period_text(rule, lang)}"
        assert line in retention, rule.id
    topics = {row["consent_topic"] for row in rows}
    for topic in p.consent_topics:
        assert topic.name.get(lang) in topics, topic.id


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1
    ).filter(lambda s: s.strip() == s and s.strip())
)
def test_any_text_is_rendered_verbatim_in_md_and_escaped_in_html(name: str) -> None:
    """Whatever a policy author writes shows up: markup is escaped in HTML, pipes in tables."""
    import html

    p = policy()
    renamed = replace(p.categories[0], name=Text(name, name))
    changed = replace(p, categories=(renamed, *p.categories[1:]))
    md = render_notice(changed, "en", "md")
    assert name.replace("|", "\\|") in md
    page = render_notice(changed, "en", "html")
    assert html.escape(name) in page
    if "<" in name:
        # the raw text appears no more often than the markup itself has it (a name like "<" is
        # part of every tag): a page with a neutral name is the baseline
        neutral = replace(p, categories=(replace(renamed, name=Text("x", "x")), *p.categories[1:]))
        baseline = render_notice(neutral, "en", "html").split("<body>", 1)[1]
        body = page.split("<body>", 1)[1].replace(html.escape(name), "")
        assert body.count(name) <= baseline.count(name)
