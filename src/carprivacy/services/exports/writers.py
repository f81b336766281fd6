"""Streamed encodings of an export: one JSON document, or a ZIP archive of CSV files.

Both take a head (a JSON-ready dict: the report, the copy's number and fee, the scope) and the
sections, and yield bytes a chunk at a time (about :data:`CHUNK` bytes): each section's rows are
read as they are written, so memory stays flat however many rows there are.

- JSON: ``{"export": <head>, "sections": {"<name>": [<row>, ...], ...}}``, keys in that order.
- CSV: a ZIP (streamed: sizes follow each member, ZIP64 where needed) of ``README.txt`` (what
  each file holds), ``export.json`` (the head) and ``<name>.csv`` per section: one header line of
  the section's columns, then a line per row; nested values (lists, objects) as JSON text, times
  in ISO 8601, absent values empty.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from carprivacy.services.exports.sections import Section

CHUNK = 256 * 1024


def default(value: Any) -> Any:
    """JSON for what ``json`` does not know: times, decimals, bytes, enums, tuples and sets."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=default, separators=(",", ":"))
encode = _ENCODER.encode


def json_document(head: dict[str, object], sections: Sequence[Section]) -> Iterator[bytes]:
    """The export as one JSON document, streamed."""
    parts: list[str] = ['{"export":', encode(head), ',"sections":{']
    size = 0
    for n, section in enumerate(sections):
        parts.append(("," if n else "") + encode(section.name) + ":[")
        first = True
        for row in section.rows():
            text = encode(row)
            parts.append(text if first else "," + text)
            first = False
            size += len(text)
            if size >= CHUNK:
                yield "".join(parts).encode()
                parts, size = [], 0
        parts.append("]")
    parts.append("}}\n")
    yield "".join(parts).encode()


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return encode(value)


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes the archive's generator takes out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.parts.append(data)
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts, self.size = [], 0
        return out


def csv_lines(columns: Sequence[str], rows: Iterable[dict[str, object]]) -> Iterator[str]:
    """A CSV file of ``rows`` (header first), a batch of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow([cell(row.get(c)) for c in columns])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_archive(
    head: dict[str, object], sections: Sequence[Section], readme: str
) -> Iterator[bytes]:
    """The export as a ZIP of CSV files (see the module docstring), streamed."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        archive.writestr("export.json", json.dumps(head, default=default, indent=2) + "\n")
        yield sink.take()
        for section in sections:
            with archive.open(f"{section.name}.csv", "w", force_zip64=True) as member:
                for text in csv_lines(section.columns, section.rows()):
                    member.write(text.encode())
                    if sink.size >= CHUNK:
                        yield sink.take()
            yield sink.take()
    yield sink.take()


def readme(sections: Sequence[Section], lang: str) -> str:
    """What each file of a CSV archive holds."""
    nl = lang == "nl"
    lines = [
        "Uw gegevens, een CSV-bestand per onderdeel." if nl else "Your data, one CSV file a part.",
        "",
        "export.json: "
        + (
            "het overzicht (doeleinden, ontvangers, bewaartermijnen, rechten)."
            if nl
            else "the report (purposes, recipients, retention, rights)."
        ),
    ]
    for s in sections:
        title = s.title.nl if nl else s.title.en
        lines.append(f"{s.name}.csv: {title} ({', '.join(s.columns)})")
    lines += [
        "",
        "Tijden in ISO 8601 (UTC); lijsten en objecten als JSON-tekst; lege cel: geen waarde."
        if nl
        else "Times in ISO 8601 (UTC); lists and objects as JSON text; an empty cell: no value.",
    ]
    return "\n".join(lines) + "\n"
