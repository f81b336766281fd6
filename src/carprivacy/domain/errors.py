"""The carprivacy exception tree. Every error names the requirement or article it protects.

    CarPrivacyError
    ├── PolicyError               policy file invalid (P7)
    ├── InvalidInputError         bad input: names the field and the rule
    ├── NotFoundError             unknown id
    ├── ConflictError             the operation contradicts stored state
    ├── AuthenticationError       no or bad credentials (U1)
    ├── AccessDeniedError         the policy engine refused (U1-U3); carries the reasons
    └── KeyDestroyedError         the owner's data key was shredded: the data is gone (R3, I3)

Messages never contain personal data: they name fields, rules and ids, not values.
"""

from __future__ import annotations

from dataclasses import dataclass


class CarPrivacyError(Exception):
    requirement: str = ""


@dataclass(frozen=True)
class Problem:
    """One problem: where (a field or YAML path), which rule, and a message."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: [{self.rule}] {self.message}"


class PolicyError(CarPrivacyError):
    requirement = "P7"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InvalidInputError(CarPrivacyError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class NotFoundError(CarPrivacyError):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class ConflictError(CarPrivacyError):
    pass


class AuthenticationError(CarPrivacyError):
    requirement = "U1"


class AccessDeniedError(CarPrivacyError):
    requirement = "U1"

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        self.reasons = reasons
        super().__init__(message)


class KeyDestroyedError(CarPrivacyError):
    """The owner's data key was destroyed (crypto-shredding, Art. 17): its data is unreadable."""

    requirement = "R3"

    def __init__(self, message: str = "the data key of this owner was destroyed") -> None:
        super().__init__(message)
