"""The GDPR Art. 30(1) record of processing activities, generated from the policy (SPEC P7).

One row per purpose, with every item of Art. 30(1):

(a) name and contact details of the controller, the joint controller and the DPO;
(b) the purpose; (c) categories of data subjects and of personal data; (d) categories of
recipients, including those in third countries; (e) transfers to third countries and their
safeguards; (f) envisaged time limits for erasure; (g) a general description of the technical and
organisational security measures. The legal basis, the form and the consent topic are added
because the engine enforces them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from carprivacy.adapters.notice.document import Document, to_html, to_markdown
from carprivacy.adapters.notice.vocabulary import (
    FORM,
    LANGS,
    MECHANISM,
    RECIPIENT_KIND,
    basis_text,
    period_text,
)
from carprivacy.domain.policy import Contact, Policy, Purpose, Text
from carprivacy.domain.retention import stated_for

COLUMNS: tuple[tuple[str, Text], ...] = (
    ("purpose_id", Text("Doel-id", "Purpose id")),
    ("purpose", Text("Doel (b)", "Purpose (b)")),
    ("section", Text("Paragraaf", "Notice section")),
    ("controllers", Text("Verwerkingsverantwoordelijken (a)", "Controllers (a)")),
    ("joint_controllers", Text("Gezamenlijk verantwoordelijken (a)", "Joint controllers (a)")),
    ("dpo", Text("Functionaris gegevensbescherming (a)", "Data protection officer (a)")),
    ("legal_basis", Text("Rechtsgrond", "Legal basis")),
    ("data_subjects", Text("Categorieën betrokkenen (c)", "Categories of data subjects (c)")),
    ("personal_data", Text("Categorieën persoonsgegevens (c)", "Categories of personal data (c)")),
    ("form", Text("Vorm", "Form")),
    ("recipients", Text("Categorieën ontvangers (d)", "Categories of recipients (d)")),
    ("transfers", Text("Doorgifte derde landen en waarborgen (e)", "Third-country transfers (e)")),
    ("retention", Text("Termijnen voor wissing (f)", "Time limits for erasure (f)")),
    ("security", Text("Beveiligingsmaatregelen (g)", "Security measures (g)")),
    ("consent_topic", Text("Toestemming", "Consent topic")),
)


def _contact(c: Contact) -> str:
    parts = [c.name, *c.address]
    parts += [x for x in (c.email, c.phone) if x]
    return ", ".join(parts)


def _retention(policy: Policy, p: Purpose, lang: str) -> list[str]:
    out = []
    for cat in p.categories:
        rules = stated_for(policy.retention, cat, p.id)
        name = (
            policy.categories_by_id[cat].name.get(lang) if cat in policy.categories_by_id else cat
        )
        out += [f"{name}: {period_text(r, lang)}" for r in rules]
    return out


def register_rows(policy: Policy, lang: str = "en") -> list[dict[str, Any]]:
    """One structured row per purpose (lists stay lists; see :func:`render_register`)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use nl or en")
    ctl = policy.controllers_by_id
    recs = policy.recipients_by_id
    cats = policy.categories_by_id
    subjects = policy.data_subjects_by_id
    topics = policy.consent_topics_by_id
    security = [m.get(lang) for m in policy.security_measures]
    rows = []
    for p in policy.purposes:
        controllers = [ctl[c] for c in p.controllers if c in ctl]
        recipients = [recs[r] for r in p.recipients if r in recs]
        topic = topics.get(p.consent_topic) if p.consent_topic else None
        rows.append(
            {
                "purpose_id": p.id,
                "purpose": f"{p.name.get(lang)}: {p.description.get(lang)}",
                "section": p.section,
                "controllers": [
                    f"{c.name} ({c.short_name}), {_contact(c.contact)}" for c in controllers
                ],
                "joint_controllers": [
                    f"{c.name}, {', '.join(c.address)}"
                    + (f", {c.registration}" if c.registration else "")
                    for c in policy.controllers
                ],
                "dpo": [f"{c.short_name}: {_contact(c.dpo)}" for c in controllers if c.dpo],
                "legal_basis": basis_text(p.legal_basis, lang),
                "data_subjects": [
                    subjects[s].name.get(lang) if s in subjects else s for s in p.data_subjects
                ],
                "personal_data": [cats[c].name.get(lang) if c in cats else c for c in p.categories],
                "form": FORM[p.form].get(lang),
                "recipients": [
                    f"{r.name.get(lang)} ({RECIPIENT_KIND[r.kind].get(lang)}, {r.country})"
                    for r in recipients
                ],
                "transfers": [
                    f"{r.name.get(lang)}: {r.country}, {MECHANISM[r.transfer_mechanism].get(lang)}"
                    for r in recipients
                    if not r.in_eea
                ],
                "retention": _retention(policy, p, lang),
                "security": security,
                "consent_topic": topic.name.get(lang) if topic else "",
            }
        )
    return rows


def _flat(value: Any) -> str:
    return "; ".join(value) if isinstance(value, list) else str(value)


def _document(policy: Policy, rows: list[dict[str, Any]], lang: str) -> Document:
    title = Text(
        "Register van verwerkingsactiviteiten (Art. 30 lid 1 AVG)",
        "Record of processing activities (Art. 30(1) GDPR)",
    )
    doc = Document(title=title.get(lang), lang=lang)
    doc.heading(1, title.get(lang))
    doc.para(f"{policy.title.get(lang)} ({policy.id}, {policy.version})")
    doc.heading(2, Text("Verwerkingsverantwoordelijken", "Controllers").get(lang))
    doc.bullets(
        [
            f"{c.name} ({c.short_name}), {', '.join(c.address)}, {c.country}"
            + (f", {c.registration}" if c.registration else "")
            + f"; {_contact(c.contact)}"
            + (f"; DPO: {_contact(c.dpo)}" if c.dpo else "")
            for c in policy.controllers
        ]
    )
    doc.heading(2, Text("Beveiligingsmaatregelen (g)", "Security measures (g)").get(lang))
    doc.bullets([m.get(lang) for m in policy.security_measures])
    doc.heading(2, Text("Verwerkingen", "Processing activities").get(lang))
    doc.para(
        Text(
            "Eén rij per doel; contactgegevens van verantwoordelijken en functionaris: zie boven.",
            "One row per purpose; contact details of the controllers and the DPO are above.",
        ).get(lang)
    )
    shown = [k for k, _ in COLUMNS if k not in ("joint_controllers", "security", "dpo")]
    labels = dict(COLUMNS)
    purposes = policy.purposes_by_id
    ctl = policy.controllers_by_id
    table = []
    for row in rows:
        compact = dict(row)
        p = purposes[row["purpose_id"]]
        compact["purpose"] = p.name.get(lang)
        compact["controllers"] = [ctl[c].short_name for c in p.controllers if c in ctl]
        table.append([_flat(compact[k]) for k in shown])
    doc.table([labels[k].get(lang) for k in shown], table)
    return doc


def render_register(policy: Policy, fmt: str = "md", lang: str = "en") -> str:
    """The Art. 30(1) record as ``fmt`` (csv, json, md, html)."""
    rows = register_rows(policy, lang)
    if fmt == "json":
        payload = {
            "policy": {"id": policy.id, "version": policy.version},
            "article": "Art. 30(1) GDPR",
            "rows": rows,
        }
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([k for k, _ in COLUMNS])
        for row in rows:
            writer.writerow([_flat(row[k]) for k, _ in COLUMNS])
        return buf.getvalue()
    if fmt == "md":
        return to_markdown(_document(policy, rows, lang))
    if fmt == "html":
        return to_html(_document(policy, rows, lang))
    raise ValueError(f"unknown format {fmt!r}: use csv, json, md or html")
