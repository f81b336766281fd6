"""Scan files for the plaintext of sensitive values (SPEC I3: stored encrypted only; no personal
data in logs or files).

Text values (names, e-mail addresses, postal addresses, phone numbers, payment details, VINs) are
looked for as UTF-8, as UTF-16 (little and big endian) and as lowercase hex (how a PostgreSQL
dump writes ``bytea``); coordinates as decimal text (not part of a longer number or a time of
day) and as IEEE-754 doubles and float32, little and big endian, at every byte offset.

Text search runs in GNU ``grep -F`` (Aho-Corasick: one pass whatever the number of values);
UTF-16 is found by searching the file's even and odd bytes and checking the zero bytes between.
Binary numbers are found from their two most significant bytes (few distinct ones for
coordinates of one region) and compared whole.

A float32 holds 4 bytes, so among millions of 4-byte windows of ciphertext one equals a given
float32 now and then by chance; a value stored in clear is stored once per record, and the suite
stores each of its float32-checked coordinates ``FLOAT32_REPEATS`` times: a float32 counts as
found when it occurs at least ``FLOAT32_FOUND`` times, and single occurrences are reported as
chance matches with the number expected by chance.
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MIN_TEXT = 5  # shorter texts match ciphertext by chance; see Needles.add_text
FLOAT32_REPEATS = 6
FLOAT32_FOUND = 3
BEFORE_NUMBER = b"0123456789:.-"  # a coordinate is not the tail of a number or time of day
AFTER_NUMBER = b"0123456789"


@dataclass(frozen=True)
class Hit:
    path: Path
    kind: str  # surname, email, coordinate, ...
    encoding: str  # utf-8, utf-16-le, utf-16-be, hex, decimal, double-le, ..., float32-be
    offset: int
    label: str  # the value, shortened


@dataclass
class Needles:
    """The sensitive values, by kind."""

    texts: dict[bytes, str] = field(default_factory=dict)  # utf-8 -> kind
    coordinates: dict[float, str] = field(default_factory=dict)  # value -> kind
    float32: set[float] = field(default_factory=set)  # coordinates also checked as float32
    skipped_short: set[str] = field(default_factory=set)

    def add_text(self, kind: str, value: str | None) -> None:
        if not value or not value.strip():
            return
        raw = value.encode("utf-8")
        if len(raw) < MIN_TEXT:
            self.skipped_short.add(value)
            return
        self.texts.setdefault(raw, kind)

    def add_coordinate(self, kind: str, value: float, as_float32: bool = False) -> None:
        self.coordinates.setdefault(float(value), kind)
        if as_float32:
            self.float32.add(float(value))

    def counts(self) -> Counter[str]:
        kinds = Counter(self.texts.values())
        kinds.update(self.coordinates.values())
        return kinds


def _decimal_forms(value: float) -> set[str]:
    """How a program writes a coordinate: the shortest repr (json, Python), and fixed 6-7 and
    15 decimals (printf-style, PostgreSQL's float8 text before 12 digits, numeric)."""
    forms = {repr(value)}
    forms.update(f"{value:.{n}f}".rstrip("0") for n in (6, 7, 15))
    return {f for f in forms if len(f.split(".")[-1]) >= 4}


class Scanner:
    def __init__(self, needles: Needles) -> None:
        self.needles = needles
        self.patterns: dict[bytes, tuple[str, str, str]] = {}  # pattern -> kind, encoding, label
        for raw, kind in needles.texts.items():
            label = _label(raw.decode())
            self.patterns[raw] = (kind, "utf-8", label)
            self.patterns.setdefault(raw.hex().encode(), (kind, "hex", label))
        for value, kind in needles.coordinates.items():
            for form in _decimal_forms(value):
                self.patterns.setdefault(form.encode(), (kind, "decimal", form))
        self.binary: dict[str, dict[bytes, tuple[str, str]]] = {}  # encoding -> bytes -> kind
        for value, kind in needles.coordinates.items():
            for enc, fmt in (("double-le", "<d"), ("double-be", ">d")):
                self.binary.setdefault(enc, {})[struct.pack(fmt, value)] = (kind, repr(value))
        for value in needles.float32:
            kind = needles.coordinates[value]
            for enc, fmt in (("float32-le", "<f"), ("float32-be", ">f")):
                self.binary.setdefault(enc, {})[struct.pack(fmt, value)] = (kind, repr(value))
        self.chance_float32: list[Hit] = []
        self.scanned: list[tuple[Path, int]] = []

    def scan(self, paths: Iterable[Path]) -> list[Hit]:
        files = [p for p in sorted(set(paths)) if p.is_file() and not p.is_symlink()]
        hits: list[Hit] = []
        with tempfile.TemporaryDirectory() as tmp:
            halves: dict[Path, tuple[Path, int]] = {}
            for n, path in enumerate(list(files)):
                try:
                    data = path.read_bytes()
                except FileNotFoundError:  # a temporary file of a running program
                    files.remove(path)
                    continue
                self.scanned.append((path, len(data)))
                hits.extend(self._binary_hits(path, data))
                for parity in (0, 1):
                    half = Path(tmp) / f"{n}-{parity}"
                    half.write_bytes(data[parity::2])
                    halves[half] = (path, parity)
            by_file = _grep(self.patterns, files)
            for path in files:
                found = by_file.get(path, [])
                if found:
                    hits.extend(self._text_hits(path, path.read_bytes(), found))
            for half, found in _grep(self.patterns, list(halves)).items():
                path, parity = halves[half]
                hits.extend(self._utf16_hits(path, path.read_bytes(), parity, found))
        return hits

    def scan_tree(self, *roots: Path) -> list[Hit]:
        return self.scan(p for root in roots for p in root.rglob("*"))

    @property
    def bytes_scanned(self) -> int:
        return sum(n for _, n in self.scanned)

    def expected_float32_chance(self) -> float:
        """Occurrences of the float32 values expected by chance in the bytes scanned."""
        return 2 * len(self.needles.float32) * self.bytes_scanned / 2**32

    # -- text ------------------------------------------------------------------------------

    def _text_hits(self, path: Path, data: bytes, found: list[tuple[int, bytes]]) -> list[Hit]:
        hits: list[Hit] = []
        for offset, match in found:
            kind, encoding, label = self.patterns[match]
            if encoding == "decimal" and not _isolated(data, offset, len(match)):
                continue
            hits.append(Hit(path, kind, encoding, offset, label))
        return hits

    def _utf16_hits(
        self, path: Path, data: bytes, parity: int, found: list[tuple[int, bytes]]
    ) -> list[Hit]:
        """Matches in the even (parity 0) or odd bytes: UTF-16 when the bytes between are 0."""
        hits: list[Hit] = []
        for offset, match in found:
            kind, encoding, label = self.patterns[match]
            if encoding != "utf-8":
                continue
            start = parity + 2 * offset
            le = match.decode().encode("utf-16-le")
            be = match.decode().encode("utf-16-be")
            if data[start : start + len(le)] == le:
                hits.append(Hit(path, kind, "utf-16-le", start, label))
            if start >= 1 and data[start - 1 : start - 1 + len(be)] == be:
                hits.append(Hit(path, kind, "utf-16-be", start - 1, label))
        return hits

    # -- binary numbers ------------------------------------------------------------------

    def _binary_hits(self, path: Path, data: bytes) -> list[Hit]:
        hits: list[Hit] = []
        float32_seen: dict[bytes, list[Hit]] = {}
        for encoding, table in self.binary.items():
            width = len(next(iter(table)))
            big = encoding.endswith("-be")
            anchors = {(v[:2] if big else v[-2:]) for v in table}
            for anchor in anchors:
                at = data.find(anchor)
                while at >= 0:
                    start = at if big else at - (width - 2)
                    at = data.find(anchor, at + 1)
                    if start < 0:
                        continue
                    window = data[start : start + width]
                    if window in table:
                        kind, label = table[window]
                        hit = Hit(path, kind, encoding, start, label)
                        if encoding.startswith("float32"):
                            float32_seen.setdefault(window, []).append(hit)
                        else:
                            hits.append(hit)
        for found in float32_seen.values():
            if len(found) >= FLOAT32_FOUND:
                hits.extend(found)
            else:
                self.chance_float32.extend(found)
        return hits


def _label(value: str) -> str:
    return value if len(value) <= 6 else value[:3] + "..." + value[-2:]


def _isolated(data: bytes, offset: int, length: int) -> bool:
    before = data[offset - 1] if offset > 0 else None
    after = data[offset + length] if offset + length < len(data) else None
    return (before is None or before not in BEFORE_NUMBER) and (
        after is None or after not in AFTER_NUMBER
    )


def _grep(patterns: dict[bytes, object], files: list[Path]) -> dict[Path, list[tuple[int, bytes]]]:
    """Every (offset, pattern) of ``patterns`` in each of ``files``, in one GNU ``grep -F`` run
    (Aho-Corasick); where patterns overlap grep reports the leftmost longest, enough to tell a
    leak."""
    out: dict[Path, list[tuple[int, bytes]]] = {}
    files = [f for f in files if f.stat().st_size > 0]
    if not files or not patterns:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        pattern_file = Path(tmp) / "patterns"
        pattern_file.write_bytes(b"\n".join(p for p in patterns if b"\n" not in p))
        done = subprocess.run(
            ["grep", "-a", "-o", "-b", "-H", "-Z", "-F", "-f", str(pattern_file)]
            + [str(f) for f in files],
            capture_output=True,
            env={"LC_ALL": "C"},
            timeout=900,
        )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"grep failed: {done.stderr!r}")
    for line in done.stdout.split(b"\n"):
        name, sep, rest = line.partition(b"\0")
        if not sep:
            continue
        offset, _, match = rest.partition(b":")
        if match in patterns:
            out.setdefault(Path(name.decode()), []).append((int(offset), match))
    return out
