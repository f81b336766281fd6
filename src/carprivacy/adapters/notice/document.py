"""A tiny document model (headings, paragraphs, lists, tables) rendered to Markdown or HTML.

The notice and the register are built once as blocks and rendered to either format, so the two
formats cannot say different things. HTML output escapes every text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str | None = None


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | BulletList | Table


@dataclass
class Document:
    title: str
    lang: str
    blocks: list[Block] = field(default_factory=list)

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        self.blocks.append(Heading(level, text, anchor))

    def para(self, text: str | None) -> None:
        if text:
            self.blocks.append(Paragraph(text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(BulletList(tuple(items)))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(Table(tuple(header), tuple(tuple(r) for r in rows)))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Document) -> str:
    out: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, BulletList):
            out.append("\n".join(f"- {item}" for item in block.items))
        else:
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.header) + " |",
                "|" + "|".join("---" for _ in block.header) + "|",
            ]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def to_html(doc: Document) -> str:
    e = html.escape
    body: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            anchor = f' id="{e(block.anchor)}"' if block.anchor else ""
            body.append(f"<h{block.level}{anchor}>{e(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{e(block.text)}</p>")
        elif isinstance(block, BulletList):
            items = "".join(f"<li>{e(i)}</li>" for i in block.items)
            body.append(f"<ul>{items}</ul>")
        else:
            head = "".join(f"<th>{e(h)}</th>" for h in block.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.5}table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{e(doc.lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(doc.title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render(doc: Document, fmt: str) -> str:
    if fmt == "html":
        return to_html(doc)
    if fmt == "md":
        return to_markdown(doc)
    raise ValueError(f"unknown format {fmt!r}: use md or html")
