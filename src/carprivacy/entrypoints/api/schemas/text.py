"""Text fields of the HTTP API (SPEC I4): every text a request sends is one of these types.

``line(n)`` is a one-line text (a name, an id, a label), ``text(n)`` a text that may span lines
(a reason, a note). Both refuse, each with its rule named in the 422:

- ``control_character``: NUL and the other C0/C1 controls (in a line also CR, LF and TAB; a text
  keeps LF, CR and TAB);
- ``bidi_control``: the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069), which make a text read differently from what it holds;
- ``blank``: a text of only white space and invisible format characters (zero-width space, ...).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
LINE_BREAKS = frozenset("\n\r\t")


def _checked(value: str, *, multiline: bool) -> str:
    for ch in value:
        if ch in BIDI:
            raise PydanticCustomError(
                "bidi_control",
                "must not hold bidirectional override or isolate characters (U+202A-U+202E, "
                "U+2066-U+2069)",
            )
        if unicodedata.category(ch) == "Cc" and not (multiline and ch in LINE_BREAKS):
            what = "control characters (NUL, ...)" if multiline else "control characters "
            what += "" if multiline else "(NUL, CR, LF, TAB, ...)"
            raise PydanticCustomError("control_character", f"must not hold {what}")
    if not any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in value):
        raise PydanticCustomError(
            "blank", "must hold a visible character (not only white space or zero-width ones)"
        )
    return value


def _line(value: str) -> str:
    return _checked(value, multiline=False)


def _text(value: str) -> str:
    return _checked(value, multiline=True)


def line(max_length: int, min_length: int = 1, **field: Any) -> Any:
    """A one-line text of ``min_length`` to ``max_length`` characters."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length, **field), AfterValidator(_line)
    ]


def text(max_length: int, min_length: int = 1, **field: Any) -> Any:
    """A text that may span lines, of ``min_length`` to ``max_length`` characters."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length, **field), AfterValidator(_text)
    ]


# as annotations, with the lengths in ``Field(...)``: ``name: Line = Field(max_length=200)``
Line = Annotated[str, AfterValidator(_line)]
Text = Annotated[str, AfterValidator(_text)]
