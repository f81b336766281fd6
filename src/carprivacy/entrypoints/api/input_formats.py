"""Named input formats of the HTTP API: the pattern a field must match, and the rule name and
message a client sees when it does not (SPEC I4).

A 422 names the rule in words (``email`` / "must be an e-mail address"), never the raw regular
expression and never the submitted value. Schemas use these patterns; ``errors.py`` finds the
format of a failed pattern by its pattern text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputFormat:
    rule: str
    message: str
    pattern: str


EMAIL = InputFormat("email", "must be an e-mail address", r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY = InputFormat(
    "country_code", "must be an ISO 3166-1 alpha-2 country code (like NL)", r"^[A-Z]{2}$"
)
VIN = InputFormat(
    "vin", "must be a VIN: 17 capital letters and digits, no I, O or Q", r"^[A-HJ-NPR-Z0-9]{17}$"
)
CURRENCY = InputFormat(
    "currency_code", "must be an ISO 4217 currency code (like EUR)", r"^[A-Z]{3}$"
)
LOGIN_CODE = InputFormat("login_code", "must be the 6-digit code", r"^[0-9]{6}$")
IDENTIFIER = InputFormat(
    "identifier", "may hold only letters, digits and _ . : -", r"^[A-Za-z0-9_.:-]+$"
)
OUTCOME = InputFormat("outcome", "must be allow or deny", "^(allow|deny)$")

UNKNOWN_FORMAT = InputFormat("format", "has the wrong format", "")

BY_PATTERN: dict[str, InputFormat] = {
    f.pattern: f for f in (EMAIL, COUNTRY, VIN, CURRENCY, LOGIN_CODE, IDENTIFIER, OUTCOME)
}


def format_of(pattern: object) -> InputFormat:
    """The named format of a pattern (a generic one for a pattern not named here)."""
    return BY_PATTERN.get(pattern, UNKNOWN_FORMAT) if isinstance(pattern, str) else UNKNOWN_FORMAT
