"""The copy as one readable HTML page, in Dutch or English, streamed (Art. 15(3), 12(1)).

The report first (categories with purposes and legal bases, sources, recipients declared and
those that received the data, retention, transfers outside the EEA, rights, complaint route), then
a table per section, its rows written as they are read. Self-contained: the style is inline, no
script, nothing loaded from elsewhere; every value is escaped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from html import escape
from typing import Any

from carprivacy.services.exports.sections import Section
from carprivacy.services.exports.writers import CHUNK, cell

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem;color:#111}"
    "table{border-collapse:collapse;margin:0 0 1.5rem;font-size:.85rem}"
    "th,td{border:1px solid #999;padding:.2rem .4rem;text-align:left;vertical-align:top}"
    "th{background:#eee}caption{text-align:left;font-weight:bold;padding:.3rem 0}"
    ".note{background:#fff4d6;padding:.5rem;border-left:4px solid #c90}"
)

WORDS = {
    "title": ("Uw gegevens: inzage en kopie", "Your data: access and copy"),
    "intro": (
        "Dit is wat wij over u verwerken (art. 15 AVG) en een kopie van uw gegevens.",
        "This is what we process about you (Art. 15 GDPR) and a copy of your data.",
    ),
    "categories": ("Soorten gegevens", "Categories of data"),
    "category": ("Soort", "Category"),
    "held": ("Van u aanwezig", "Held about you"),
    "purposes": ("Doeleinden en rechtsgrond", "Purposes and legal basis"),
    "source": ("Bron", "Source"),
    "yourself": ("uzelf", "yourself"),
    "retention": ("Bewaartermijn", "Retention"),
    "recipients": ("Ontvangers", "Recipients"),
    "received": ("Ontvangers die uw gegevens ontvingen", "Recipients that received your data"),
    "reads": ("Keren", "Reads"),
    "transfers": ("Doorgifte buiten de EER", "Transfers outside the EEA"),
    "mechanism": ("Waarborg", "Safeguard"),
    "rights": ("Uw rechten", "Your rights"),
    "complaint": ("Klacht indienen", "Lodging a complaint"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "fee": (
        "Dit is een extra kopie binnen de periode: er kunnen redelijke kosten in rekening worden "
        "gebracht (art. 15 lid 3 AVG).",
        "This is a further copy within the period: a reasonable fee may be charged (Art. 15(3) "
        "GDPR).",
    ),
    "rows": ("rijen", "rows"),
    "none": ("geen", "none"),
}


def _w(key: str, lang: str) -> str:
    nl, en = WORDS[key]
    return escape(nl if lang == "nl" else en)


def _t(text: object, lang: str) -> str:
    """A {nl, en} text of the report in ``lang``, escaped; a plain value escaped."""
    if isinstance(text, dict):
        return escape(str(text.get(lang) or text.get("en") or ""))
    return escape(cell(text))


def _table(caption: str, head: Sequence[str], rows: list[list[str]]) -> str:
    out = [f"<table><caption>{caption}</caption><thead><tr>"]
    out += [f'<th scope="col">{h}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows]
    out.append("</tbody></table>")
    return "".join(out)


def report_html(report: dict[str, Any], lang: str) -> str:
    """The report's part of the page."""

    def w(key: str) -> str:
        return _w(key, lang)

    parts = [f"<h2>{w('categories')}</h2>"]
    rows = []
    for c in report["categories"]:
        purposes = "<br>".join(
            f"{_t(p['name'], lang)} ({escape(p['legal_basis'])}, {escape(p['article'])})"
            for p in c["purposes"]
        )
        retention = "<br>".join(
            escape(f"{r['period'] or r['anchor']} ({r['action']})")
            + (f" &rarr; {_t(r['until'], lang)}" if r["until"] else "")
            for r in c["retention"]
        )
        source = w("yourself") if c["collected_from_you"] else _t(c["source"], lang)
        rows.append(
            [
                _t(c["name"], lang),
                w("yes") if c["held"] else w("no"),
                purposes,
                source,
                escape(", ".join(c["recipients"])) or w("none"),
                retention,
            ]
        )
    head = [w("category"), w("held"), w("purposes"), w("source"), w("recipients"), w("retention")]
    parts.append(_table(w("categories"), head, rows))
    received = [
        [_t(r["name"], lang) or escape(r["id"]), escape(", ".join(r["purposes"])), str(r["reads"])]
        + [escape(r["first"]), escape(r["last"])]
        for r in report["recipients"]["received"]
    ]
    parts.append(
        _table(w("received"), [w("recipients"), w("purposes"), w("reads"), "", ""], received)
    )
    transfers = [
        [_t(t["name"], lang), escape(t["country"]), escape(t["article"])]
        + [escape(", ".join(t["categories"]))]
        for t in report["transfers_outside_eea"]
    ]
    parts.append(
        _table(w("transfers"), [w("recipients"), "", w("mechanism"), w("categories")], transfers)
    )
    parts.append(f"<h2>{w('rights')}</h2><ul>")
    parts += [
        f"<li><strong>{escape(r['article'])}</strong>: {_t(r['description'], lang)}"
        + (f" {_t(r['limits'], lang)}" if r["limits"] else "")
        + "</li>"
        for r in report["rights"]
    ]
    complaint = report["complaint"]
    parts.append(
        f"</ul><h2>{w('complaint')}</h2><p>{escape(complaint['authority'])}, "
        f"{escape(', '.join(complaint['address']))}, "
        f'<a href="{escape(complaint["website"] or "")}">{escape(complaint["website"] or "")}</a>'
        f" ({escape(complaint['article'])})</p>"
    )
    return "".join(parts)


def html_page(
    head: dict[str, Any], sections: Sequence[Section], lang: str = "nl"
) -> Iterator[bytes]:
    """The copy as one HTML page, streamed."""
    lang = "nl" if lang == "nl" else "en"
    report = head["report"]
    copy = head.get("copy") or {}
    parts = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_w('title', lang)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{_w('title', lang)}</h1><p>{_w('intro', lang)}</p>"
    ]
    if copy.get("fee_flagged"):
        parts.append(f'<p class="note">{_w("fee", lang)}</p>')
    parts.append(report_html(report, lang))
    yield "".join(parts).encode()
    for section in sections:
        title = escape(section.title.nl if lang == "nl" else section.title.en)
        buffer = [
            f'<section><h2 id="{escape(section.name)}">{title}</h2><table><thead><tr>',
            *(f'<th scope="col">{escape(c)}</th>' for c in section.columns),
            "</tr></thead><tbody>",
        ]
        size = 0
        for row in section.rows():
            line = "<tr>" + "".join(f"<td>{escape(cell(row.get(c)))}</td>" for c in section.columns)
            buffer.append(line + "</tr>")
            size += len(line)
            if size >= CHUNK:
                yield "".join(buffer).encode()
                buffer, size = [], 0
        buffer.append("</tbody></table></section>")
        yield "".join(buffer).encode()
    yield b"</main></body></html>\n"
