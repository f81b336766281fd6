"""Telemetry read back through the gate (SPEC U1-U3, R1): a vehicle's or a subject's stored
values over a period, by signal, as a cursor page or a stream, each value in the form the gate
decides for the caller and purpose.

Every stored value carries whom it was attributed to at its own time (ingestion's attribution:
the vehicle's driver, owner or fleet at the record's moment), so an owner change splits a
vehicle's history between old and new owner, and a fleet sees only its own time. The value's
view follows its signal: the policy field whose ``vss_signal`` is the signal, in the signal's
category; a signal with no policy field is never released. Sensitive values are decrypted only
once their release is allowed. Values past their retention are neither read (the window asks for
live values) nor released (the gate checks ``expires_at`` again).

The cursor is opaque: the position (ts, id) of the last value read, so pages neither repeat nor
skip a value, whichever values the caller may not see. Memory stays flat: values are read a
bounded page at a time, and a stream is released chunk by chunk.

Standard library, domain and services only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from carprivacy.domain.access import Decision
from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.policy import Policy
from carprivacy.domain.signals import SignalCatalogue
from carprivacy.domain.telemetry import StoredReading, TelemetryWindow, aad_for, decode_value
from carprivacy.services.access.attributed import RowLayout
from carprivacy.services.access.gate import Gate, Reading
from carprivacy.services.access.ports import TelemetryReader
from carprivacy.services.access.views import View
from carprivacy.services.ports.crypto import FieldCipher

MAX_LIMIT = 1000
STREAM_CHUNK = 5000
CURSOR_PREFIX = "t1|"
TIME_FIELDS = ("timestamp", "read_date")  # the policy field a value's time is, by category
REFS = {"vehicle_id": "vehicle", "subject_id": "customer"}
BOOKKEEPING = frozenset({"signal", "unit", "category"})
COLUMNS = ("ts", "signal", "value", "unit", "category", "vehicle_id", "subject_id")
STORED = StoredReading._fields
# a stored value as the gate sees it: its view is its signal's; opened, the fields a view releases
LAYOUT = RowLayout(
    names=("ts", "signal", "unit", "category", "vehicle_id", "subject_id", "value"),
    selector=STORED.index("signal"),
    subject=STORED.index("subject_id"),
    vehicle=STORED.index("vehicle_id"),
    fleet=STORED.index("fleet_id"),
    expires=STORED.index("expires_at"),
)

__all__ = ["COLUMNS", "MAX_LIMIT", "Decision", "TelemetryPage", "TelemetryQuery", "TelemetryReads"]


@dataclass(frozen=True)
class TelemetryQuery:
    """What a caller asks for: one vehicle's or one subject's values, period [start, end),
    signals (none: every signal of the categories the purpose uses)."""

    vehicle_id: str | None = None
    subject_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class TelemetryPage:
    items: list[dict[str, object]]
    next_cursor: str | None
    limit: int


def encode_cursor(position: tuple[datetime, int]) -> str:
    ts, row_id = position
    text = f"{CURSOR_PREFIX}{ts.astimezone(UTC).isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None or cursor == "":
        return None
    bad = InvalidInputError(
        [Problem("cursor", "format", "not a cursor this API gave (use next_cursor as is)")]
    )
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(CURSOR_PREFIX):
            raise bad
        raw_ts, raw_id = text[len(CURSOR_PREFIX) :].rsplit("|", 1)
        ts = datetime.fromisoformat(raw_ts)
        row_id = int(raw_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if ts.tzinfo is None:
        raise bad
    return ts, row_id


@dataclass
class TelemetryReads:
    gate: Gate[Any]
    reader: TelemetryReader
    cipher: FieldCipher
    policy: Policy
    catalogue: SignalCatalogue
    _views: dict[str, View | None] = field(default_factory=dict, init=False)

    # -- the reads ---------------------------------------------------------------------------

    def page(
        self, reading: Reading, query: TelemetryQuery, cursor: str | None, limit: int
    ) -> TelemetryPage:
        """Up to ``limit`` released values after ``cursor``; ``next_cursor`` None at the end."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInputError(
                [Problem("limit", "range", f"must be between 1 and {MAX_LIMIT}")]
            )
        after = decode_cursor(cursor)
        window, views, explicit = self._window(reading, query)
        released = self.gate.attributed(
            reading,
            views,
            self._pages(window, after, limit),
            LAYOUT,
            self._view_for,
            self._open,
            subject_id=query.subject_id,
            vehicle_id=query.vehicle_id,
            every_view=explicit,
            refuse_empty=after is None,
            required="value",  # a value whose policy field this caller does not receive: none
        )
        items: list[dict[str, object]] = []
        last: tuple[datetime, int] | None = None
        for row, item in released:
            items.append(item)
            last = (row.ts, row.id)
            if len(items) >= limit:
                break
        next_cursor = encode_cursor(last) if last is not None and len(items) >= limit else None
        return TelemetryPage(items, next_cursor, limit)

    def stream(
        self, reading: Reading, query: TelemetryQuery, cursor: str | None = None
    ) -> Iterator[dict[str, object]]:
        """Every released value of the query after ``cursor``, read and released in chunks.
        Refusals come before the first value (the first value is found before this returns)."""
        after = decode_cursor(cursor)
        window, views, explicit = self._window(reading, query)
        released = self.gate.attributed(
            reading,
            views,
            self._pages(window, after, STREAM_CHUNK),
            LAYOUT,
            self._view_for,
            self._open,
            subject_id=query.subject_id,
            vehicle_id=query.vehicle_id,
            every_view=explicit,
            refuse_empty=after is None,
            required="value",
        )
        values = map(itemgetter(1), released)
        first = next(values, None)
        return iter(()) if first is None else chain((first,), values)

    def readable_signals(self) -> frozenset[str]:
        """The catalogue's signals whose values can be released at all (each is a field of a
        policy category); the others are never read back."""
        return frozenset(s.name for s in self.catalogue.signals if self._view_for(s.name))

    def latest(self, reading: Reading, query: TelemetryQuery) -> list[dict[str, object]]:
        """The newest live value of each of ``query.signals`` (one read of one row per signal,
        newest first), released through the gate as :meth:`page` releases values; a signal
        with no value (or none the caller receives) is absent."""
        if not query.signals:
            raise InvalidInputError([Problem("signals", "required", "name the signals")])
        window, views, explicit = self._window(reading, query)

        def newest() -> Iterator[list[StoredReading]]:
            # one page: the newest row of each signal (a read of one row per signal)
            yield [
                row
                for signal in query.signals
                for row in self.reader.window(
                    replace(window, signals=(signal,), newest_first=True), None, 1
                )
            ]

        released = self.gate.attributed(
            reading,
            views,
            newest(),
            LAYOUT,
            self._view_for,
            self._open,
            subject_id=query.subject_id,
            vehicle_id=query.vehicle_id,
            every_view=explicit,
            refuse_empty=False,
            required="value",
        )
        return [item for _, item in released]

    # -- parts -------------------------------------------------------------------------------

    def _window(
        self, reading: Reading, query: TelemetryQuery
    ) -> tuple[TelemetryWindow, list[View], bool]:
        problems: list[Problem] = []
        for name, value in (("from", query.start), ("to", query.end)):
            if value is not None and value.tzinfo is None:
                problems.append(Problem(name, "timezone", "must name its offset, e.g. Z"))
        if not problems and query.start and query.end and not query.start < query.end:
            problems.append(Problem("to", "after_from", "must be after from"))
        unknown = [s for s in query.signals if self._view_for(s) is None]
        if unknown:
            problems.append(
                Problem(
                    "signals",
                    "known_signal",
                    f"{len(unknown)} signal(s) are not signals of the catalogue with a policy "
                    "field (VSS names, e.g. Vehicle.Speed)",
                )
            )
        if problems:
            raise InvalidInputError(problems)
        explicit = bool(query.signals)
        if explicit:
            categories = tuple(dict.fromkeys(self.catalogue.get(s).category for s in query.signals))  # type: ignore[union-attr]
        else:
            # the compiled purposes: the policy's, and the right of access (every category)
            purpose = self.gate.decisions.policy.purposes.get(reading.purpose)
            telemetry = self.catalogue.categories
            used = [c for c in (purpose.purpose.categories if purpose else ()) if c in telemetry]
            categories = tuple(used) or tuple(sorted(telemetry))[:1]
        views = [View(c, {}) for c in categories]
        window = TelemetryWindow(
            vehicle_id=query.vehicle_id,
            subject_id=query.subject_id,
            start=query.start,
            end=query.end,
            signals=query.signals,
            categories=() if explicit else categories,
            live_at=self.gate.clock(),
        )
        return window, views, explicit

    def _pages(
        self, window: TelemetryWindow, after: tuple[datetime, int] | None, size: int
    ) -> Iterator[list[StoredReading]]:
        """The window's values, a page of ``size`` at a time (keyset: nothing held open)."""
        while True:
            rows = self.reader.window(window, after, size)
            if rows:
                yield rows
            if len(rows) < size:
                return
            last = rows[-1]
            after = (last.ts, last.id)

    def _view_for(self, signal: str) -> View | None:
        """The view of a signal's values: the policy field it is, in its category."""
        if signal in self._views:
            return self._views[signal]
        view: View | None = None
        known = self.catalogue.get(signal)
        category = self.policy.categories_by_id.get(known.category) if known else None
        if category is not None:
            names = {f.name for f in category.fields}
            value_field = next((f.name for f in category.fields if f.vss_signal == signal), None)
            if value_field is not None:
                time_field = next((t for t in TIME_FIELDS if t in names), None)
                fields = {"value": value_field}
                keep = set(BOOKKEEPING)
                if time_field is None:
                    keep.add("ts")
                else:
                    fields["ts"] = time_field
                view = View(category.id, fields, REFS, frozenset(keep))
        if len(self._views) < 10_000:
            self._views[signal] = view
        return view

    def _open(self, row: StoredReading) -> tuple[object, ...]:
        """The row's released fields (``LAYOUT.names``) with its value decoded (decrypted under
        its key owner when sealed)."""
        _, vehicle, subject, _, owner, signal, category, unit, text, sealed, ts, source, _ = row
        if text is None:
            aad = aad_for(vehicle, signal, ts, source)
            text = self.cipher.decrypt(owner, sealed, aad).decode()  # type: ignore[arg-type]
        return (ts, signal, unit, category, vehicle, subject, decode_value(text))
