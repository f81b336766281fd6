"""Erasure of a data subject (SPEC R3, P1; Art. 17 GDPR): what is erased, what is kept and why.

Every record of the subject is judged, as a *portion* (the rows of one table and category, and
where it matters one vehicle or one row), against the exemptions, in this order:

1. ``other_controller``: held by the other joint controller only; an erasure at one controller
   leaves the other's records (the notice: deleting the group login account at the manufacturer
   does not delete the national company's data, and the reverse). Scope ``all`` erases at both.
2. ``legal_hold`` (Art. 17(3)(e), legal claims): an active hold covering the subject, the
   vehicle or the category.
3. ``statutory_retention`` (Art. 17(3)(b)): a dated retention rule anchored on the transaction
   date, of a category a legal-obligation purpose uses (the 10-year financial records), not run
   out yet; the person's name and address stay with such a record as its counterparty.
4. ``accountability`` (Art. 5(2), 7(1), 21(3)): the evidence of consents, objections and
   restrictions, kept without their free text; ``audit_log``: the access log, which names the
   subject only by keyed pseudonym; ``legal_claims``: the legal holds themselves.

Everything else is erased. Nothing here reads a clock or a database: ``as_of`` is given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from carprivacy.domain.errors import Problem
from carprivacy.domain.legal_holds import LegalHold
from carprivacy.domain.policy import LegalBasis, Policy, RetentionAnchor, RetentionRule
from carprivacy.domain.retention import rule_expiry

ALL = "all"  # the erasure scope of both joint controllers


class ErasureState(StrEnum):
    """The phases, in order; each is idempotent, so an interrupted erasure resumes where it was."""

    PLANNED = "planned"
    RESEALED = "resealed"  # kept values moved to the successor key
    NOTIFIED = "notified"  # the person told what is kept and why (before the key is gone)
    SHREDDED = "shredded"  # the subject's data key destroyed; the shred list has the entry
    COMPLETED = "completed"  # erased rows purged

    @property
    def rank(self) -> int:
        return list(ErasureState).index(self)


class Exemption(StrEnum):
    OTHER_CONTROLLER = "other_controller"
    LEGAL_HOLD = "legal_hold"
    STATUTORY_RETENTION = "statutory_retention"
    ACCOUNTABILITY = "accountability"
    AUDIT_LOG = "audit_log"
    LEGAL_CLAIMS = "legal_claims"

    @property
    def article(self) -> str:
        return {
            Exemption.OTHER_CONTROLLER: "Art. 26 GDPR",
            Exemption.LEGAL_HOLD: "Art. 17(3)(e) GDPR",
            Exemption.STATUTORY_RETENTION: "Art. 17(3)(b) GDPR",
            Exemption.ACCOUNTABILITY: "Art. 5(2), 7(1) and 21(3) GDPR",
            Exemption.AUDIT_LOG: "Art. 5(2) and 32 GDPR",
            Exemption.LEGAL_CLAIMS: "Art. 17(3)(e) GDPR",
        }[self]

    def explain(self, language: str = "en") -> str:
        en = {
            Exemption.OTHER_CONTROLLER: "held by the other joint controller, which this "
            "erasure does not reach",
            Exemption.LEGAL_HOLD: "under a legal hold (legal claims)",
            Exemption.STATUTORY_RETENTION: "a statutory retention period has not ended",
            Exemption.ACCOUNTABILITY: "evidence of your consents, objections and restrictions, "
            "kept without their free text",
            Exemption.AUDIT_LOG: "the access log, which names you only by a pseudonym",
            Exemption.LEGAL_CLAIMS: "the record of a legal hold",
        }
        nl = {
            Exemption.OTHER_CONTROLLER: "bewaard door de andere gezamenlijke "
            "verwerkingsverantwoordelijke, die deze wissing niet betreft",
            Exemption.LEGAL_HOLD: "onder een juridische bewaarplicht (juridische claims)",
            Exemption.STATUTORY_RETENTION: "een wettelijke bewaartermijn loopt nog",
            Exemption.ACCOUNTABILITY: "bewijs van uw toestemmingen, bezwaren en beperkingen, "
            "zonder vrije tekst",
            Exemption.AUDIT_LOG: "het toegangslogboek, dat u alleen onder een pseudoniem noemt",
            Exemption.LEGAL_CLAIMS: "de registratie van een juridische bewaarplicht",
        }
        return (nl if language == "nl" else en)[self]


@dataclass(frozen=True)
class Portion:
    """Rows of one table and category of the subject, judged as one."""

    table: str
    category: str
    count: int
    controller: str | None = None  # the row's own controller (accounts); else by category
    vehicle_id: str | None = None  # telemetry: one vehicle's rows
    row_id: str | None = None  # judged one row at a time (payments)
    anchor: datetime | None = None  # the row's retention anchor (payments: booked_at)
    fixed: Exemption | None = None  # kept whatever the scope (evidence, audit, holds)
    part: str = ""  # "" the whole row; else which columns ("name_address", "reachability")


@dataclass(frozen=True)
class Verdict:
    portion: Portion
    exemption: Exemption | None  # None: erased
    detail: str = ""  # the rule, hold or controller that keeps it
    until: datetime | None = None

    @property
    def kept(self) -> bool:
        return self.exemption is not None


def holders(policy: Policy, category: str, controller: str | None = None) -> frozenset[str]:
    """The controllers that hold a record of ``category`` (its row's own controller if it has
    one)."""
    if controller is not None:
        return frozenset({controller})
    found = frozenset(c.id for c in policy.controllers if category in c.holds)
    return found or frozenset(c.id for c in policy.controllers)


def account_owner(policy: Policy) -> str:
    """The controller of the group login account (the customer's portal login)."""
    for c in policy.controllers:
        if c.account_owner:
            return c.id
    return policy.controllers[0].id


def statutory_rules(policy: Policy, category: str) -> list[RetentionRule]:
    """Dated rules anchored on the transaction date of a category that a legal-obligation
    purpose uses: the statutory retention an erasure waits for."""
    obliged = any(
        p.legal_basis is LegalBasis.LEGAL_OBLIGATION and category in p.categories
        for p in policy.purposes
    )
    return [
        r
        for r in policy.retention
        if obliged
        and r.category == category
        and r.anchor is RetentionAnchor.TRANSACTION_DATE
        and not r.is_open_ended
    ]


def covering_hold(
    holds: Iterable[LegalHold], subject_id: str, vehicle_id: str | None, category: str
) -> LegalHold | None:
    for hold in holds:
        if not hold.active or (hold.category is not None and hold.category != category):
            continue
        if hold.subject_id is not None and hold.subject_id != subject_id:
            continue
        if hold.vehicle_id is not None and hold.vehicle_id != vehicle_id:
            continue
        if hold.subject_id is None and hold.vehicle_id is None:
            continue
        return hold
    return None


def judge(
    policy: Policy,
    scope: str,
    subject_id: str,
    portion: Portion,
    holds: Sequence[LegalHold],
    as_of: datetime,
) -> Verdict:
    if portion.fixed is not None:
        return Verdict(portion, portion.fixed)
    held_by = holders(policy, portion.category, portion.controller)
    if scope != ALL and scope not in held_by:
        return Verdict(portion, Exemption.OTHER_CONTROLLER, ", ".join(sorted(held_by)))
    hold = covering_hold(holds, subject_id, portion.vehicle_id, portion.category)
    if hold is not None:
        return Verdict(portion, Exemption.LEGAL_HOLD, f"hold {hold.id}")
    if portion.anchor is not None:
        for rule in statutory_rules(policy, portion.category):
            until = rule_expiry(rule, {rule.anchor: portion.anchor})
            if until is not None and until > as_of:
                return Verdict(portion, Exemption.STATUTORY_RETENTION, rule.id, until)
    return Verdict(portion, None)


def counterparty_kept(verdicts: Iterable[Verdict]) -> Verdict | None:
    """A kept financial record keeps its counterparty's name and address: the verdict that
    does (the latest-running one), or None."""
    keeping = [
        v
        for v in verdicts
        if v.exemption is Exemption.STATUTORY_RETENTION
        and v.portion.table == "payment_transactions"
    ]
    if not keeping:
        return None
    return max(keeping, key=lambda v: v.until or v.portion.anchor or datetime.min)


# -- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasedGroup:
    table: str
    category: str
    rows: int


@dataclass(frozen=True)
class KeptGroup:
    table: str
    category: str
    rows: int
    exemption: str
    article: str
    reason: str
    detail: str = ""
    until: str | None = None  # ISO date the exemption ends, where it has one


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure erased and kept, and why; counts and reasons, never a value."""

    erasure_id: str
    controller: str
    state: str
    as_of: str
    erased: tuple[ErasedGroup, ...] = ()
    kept: tuple[KeptGroup, ...] = ()
    key_destroyed: bool = False
    notice_sent: bool = False
    resumed: bool = False
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ErasureReport:
        data = json.loads(text) if text else {}
        data["erased"] = tuple(ErasedGroup(**g) for g in data.get("erased", ()))
        data["kept"] = tuple(KeptGroup(**g) for g in data.get("kept", ()))
        data["notes"] = tuple(data.get("notes", ()))
        return cls(**data)


def summarise(verdicts: Iterable[Verdict]) -> tuple[tuple[ErasedGroup, ...], tuple[KeptGroup, ...]]:
    """Verdicts grouped by table, category and reason (rows summed)."""
    erased: dict[tuple[str, str], int] = {}
    kept: dict[tuple[str, str, str, str, str | None], int] = {}
    for v in verdicts:
        p = v.portion
        name = p.table if not p.part else f"{p.table}.{p.part}"
        if v.exemption is None:
            erased[(name, p.category)] = erased.get((name, p.category), 0) + p.count
        else:
            until = v.until.date().isoformat() if v.until is not None else None
            key = (name, p.category, v.exemption.value, v.detail, until)
            kept[key] = kept.get(key, 0) + p.count
    return (
        tuple(ErasedGroup(t, c, n) for (t, c), n in sorted(erased.items()) if n),
        tuple(
            KeptGroup(t, c, n, e, Exemption(e).article, Exemption(e).explain(), d, u)
            for (t, c, e, d, u), n in sorted(kept.items(), key=lambda kv: str(kv[0]))
            if n
        ),
    )


def notice_text(report: ErasureReport, controller_names: Mapping[str, str], language: str) -> str:
    """The message to the person: what was erased, what was kept and why (Art. 12(1), 17)."""
    nl = language == "nl"
    scope = (
        " en ".join(controller_names.values()) if nl else " and ".join(controller_names.values())
    )
    lines = [
        (
            f"Uw verzoek om wissing (art. 17 AVG) is uitgevoerd bij {scope}."
            if nl
            else f"Your request for erasure (Art. 17 GDPR) was carried out at {scope}."
        ),
        "",
        "Gewist:" if nl else "Erased:",
    ]
    lines += [f"- {g.table} ({g.category}): {g.rows}" for g in report.erased] or ["- -"]
    lines += ["", "Bewaard, en waarom:" if nl else "Kept, and why:"]
    for g in report.kept:
        reason = Exemption(g.exemption).explain("nl" if nl else "en")
        until = f" ({'tot' if nl else 'until'} {g.until})" if g.until else ""
        lines.append(f"- {g.table} ({g.category}): {g.rows}: {reason}, {g.article}{until}")
    if not report.kept:
        lines.append("- -")
    lines += [
        "",
        (
            "U kunt een klacht indienen bij de Autoriteit Persoonsgegevens."
            if nl
            else "You may lodge a complaint with the Autoriteit Persoonsgegevens (Dutch DPA)."
        ),
    ]
    return "\n".join(lines)


def check_erasure(reason: str, scope: str, controllers: Iterable[str]) -> list[Problem]:
    """Problems with the staff's input, each naming its field and rule."""
    problems: list[Problem] = []
    if not reason.strip():
        problems.append(Problem("reason", "erasure.reason", "a reason is required"))
    elif len(reason) > 200:
        problems.append(Problem("reason", "erasure.reason", "at most 200 characters"))
    known = sorted({*controllers, ALL})
    if scope not in known:
        problems.append(Problem("controller", "erasure.controller", f"one of {', '.join(known)}"))
    return problems
