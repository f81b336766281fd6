"""What each kind of request asks, checked on receipt (SPEC R1-R6).

- access: nothing more (the copy's format is chosen at download);
- rectification (Art. 16): ``changes``, the contact fields to correct and their new values;
- erasure (Art. 17): nothing more (the exemptions are the executor's to judge);
- restriction (Art. 18): ``case`` (one of the four of Art. 18(1)), optional ``categories`` and
  ``note``;
- portability (Art. 20): optional ``endpoint``, another controller's HTTPS address to send the
  data to directly (Art. 20(2)), and ``format`` (json or csv);
- objection (Art. 21): ``purpose`` (a legitimate-interest purpose) or ``marketing``, and
  ``grounds``.

A detail that is not of its kind, or a value that breaks a rule, is bad input naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from carprivacy.domain.errors import InvalidInputError, Problem
from carprivacy.domain.master import CONTACT_FIELDS
from carprivacy.domain.policy import LegalBasis, Policy
from carprivacy.domain.request_workflow import RequestKind
from carprivacy.domain.subject_state import RestrictionCase

MAX_TEXT = 2000
ALLOWED: dict[RequestKind, frozenset[str]] = {
    RequestKind.ACCESS: frozenset(),
    RequestKind.RECTIFICATION: frozenset({"changes"}),
    RequestKind.ERASURE: frozenset(),
    RequestKind.RESTRICTION: frozenset({"case", "categories", "note"}),
    RequestKind.PORTABILITY: frozenset({"endpoint", "format"}),
    RequestKind.OBJECTION: frozenset({"purpose", "marketing", "grounds"}),
}


def _text(value: object, path: str, problems: list[Problem], required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(Problem(path, "request.text", "must be a non-empty text"))
        return ""
    if len(value) > MAX_TEXT:
        problems.append(Problem(path, "request.max_length", f"at most {MAX_TEXT} characters"))
    return value


def checked(policy: Policy, kind: RequestKind, details: Mapping[str, Any]) -> dict[str, Any]:
    """``details`` as stored, or InvalidInputError naming every problem."""
    problems: list[Problem] = []
    for key in sorted(set(details) - ALLOWED[kind]):
        problems.append(
            Problem(f"details.{key}", "request.detail", f"not a detail of a {kind.value} request")
        )
    out: dict[str, Any] = {}
    if kind is RequestKind.RECTIFICATION:
        changes = details.get("changes")
        if not isinstance(changes, Mapping) or not changes:
            problems.append(
                Problem(
                    "details.changes",
                    "request.changes",
                    "name the fields to correct and their new values (Art. 16 GDPR)",
                )
            )
        else:
            out["changes"] = {}
            for name, value in changes.items():
                if name not in CONTACT_FIELDS:
                    problems.append(
                        Problem(
                            f"details.changes.{name}",
                            "request.field",
                            f"must be one of {', '.join(CONTACT_FIELDS)}",
                        )
                    )
                elif value is not None and not isinstance(value, str):
                    problems.append(
                        Problem(f"details.changes.{name}", "request.text", "must be a text")
                    )
                else:
                    out["changes"][name] = value
    elif kind is RequestKind.RESTRICTION:
        case = details.get("case")
        cases = [c.value for c in RestrictionCase]
        if case not in cases:
            problems.append(
                Problem("details.case", "request.case", f"must be one of {', '.join(cases)}")
            )
        out["case"] = case
        categories = details.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            problems.append(Problem("details.categories", "request.list", "a list of ids"))
        else:
            for i, c in enumerate(categories):
                if c not in policy.categories_by_id:
                    problems.append(
                        Problem(f"details.categories[{i}]", "unknown", "not a data category")
                    )
            out["categories"] = list(categories)
        out["note"] = _text(details.get("note"), "details.note", problems)
    elif kind is RequestKind.PORTABILITY:
        fmt = details.get("format", "json")
        if fmt not in ("json", "csv"):
            problems.append(Problem("details.format", "one_of", "must be json or csv"))
        out["format"] = fmt
        endpoint = details.get("endpoint")
        if endpoint is not None:
            parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
            if parts is None or parts.scheme != "https" or not parts.hostname:
                problems.append(
                    Problem(
                        "details.endpoint",
                        "request.https",
                        "another controller's endpoint must be an https:// address "
                        "(Art. 20(2) GDPR)",
                    )
                )
            out["endpoint"] = endpoint
    elif kind is RequestKind.OBJECTION:
        marketing = details.get("marketing", False)
        purpose = details.get("purpose")
        if not isinstance(marketing, bool):
            problems.append(Problem("details.marketing", "request.bool", "true or false"))
        if purpose is not None:
            p = policy.purposes_by_id.get(purpose) if isinstance(purpose, str) else None
            if p is None:
                problems.append(Problem("details.purpose", "unknown", "not a purpose"))
            elif not p.is_marketing and p.legal_basis is not LegalBasis.LEGITIMATE_INTEREST:
                problems.append(
                    Problem(
                        "details.purpose",
                        "art21",
                        "an Art. 21(1) objection applies to legitimate-interest purposes only",
                    )
                )
        out["purpose"] = purpose
        out["marketing"] = marketing
        out["grounds"] = _text(details.get("grounds"), "details.grounds", problems)
    if problems:
        raise InvalidInputError(problems)
    return out
