"""CarData shares with third parties (SPEC C2, U1; notice H; Data Act, Regulation (EU) 2023/2854,
Art. 4-6): a customer shares one vehicle's data with ONE chosen third party, for a scope, a
purpose and a period.

- a :class:`ThirdParty` is an organisation an administrator registered: a recipient of the
  policy (its own id is the organisation its callers carry), with its country and transfer
  mechanism, a member of one recipient of the policy file (``cardata_third_parties``); an
  undertaking designated as a DMA gatekeeper is refused (Data Act Art. 5(3));
- a :class:`Share` names the subject, the one vehicle, the one third party, the policy purpose
  and the agreed purpose in words, the scope (descriptors, or whole categories), the period,
  and how it was made (the portal, or the customer approving the third party's device code);
- states: ``pending`` (approved, its period not begun), ``active``, ``revoked`` (by the
  customer, at any time), ``expired`` (its period ended); :func:`state_at` is the state at a
  time whatever was stored, so that no read depends on a sweep having run;
- every change is an entry of the share's append-only history (:class:`ShareEvent`: who, when,
  why, as a fixed reason code: no free text, so no personal data in it);
- the terms (:func:`terms`) say that the third party may use the data only for the agreed
  purpose and may not pass it on (Data Act Art. 6(1), 6(2)(c)); they are recorded with the share
  (``purpose_bound``, ``onward_transfer``) and shown wherever the share is;
- :func:`as_consent` is the share as the decision engine reads it (a consent of the purpose's
  per-party topic, for that organisation, purpose, vehicle and scope only).

Standard library only; times are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import (
    EEA_COUNTRIES,
    Recipient,
    RecipientKind,
    Text,
    TransferMechanism,
)
from carprivacy.domain.subject_state import ConsentChoice, ConsentRecord

TERMS_VERSION = "1"
MAX_PERIOD = timedelta(days=5 * 366)
MAX_DESCRIPTORS = 200
PARTY_ID_RE = re.compile(r"[a-z][a-z0-9_]{2,63}")
_TEXT_RE = re.compile(r"[^\x00-\x1f\x7f<>]{1,100}")


class ShareState(StrEnum):
    PENDING = "pending"  # approved; its period has not begun
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ShareVia(StrEnum):
    PORTAL = "portal"
    DEVICE_CODE = "device_code"  # the customer approved the third party's device code
    API = "api"


class ShareReason(StrEnum):
    """Why a share changed: fixed codes, so the history holds no free text."""

    CUSTOMER_CREATED = "customer_created"
    CUSTOMER_APPROVED_REQUEST = "customer_approved_request"
    PERIOD_BEGAN = "period_began"
    CUSTOMER_REVOKED = "customer_revoked"
    PERIOD_ENDED = "period_ended"


@dataclass(frozen=True)
class ThirdParty:
    """An organisation a customer may share with, registered by an administrator."""

    id: str  # the organisation id its callers carry: a recipient id of its own
    name: str
    member_of: str  # the policy recipient it belongs to (e.g. cardata_third_parties)
    country: str
    transfer_mechanism: TransferMechanism
    undertaking: str  # the group it belongs to (checked against the DMA gatekeepers)
    registered_at: datetime
    registered_by: str

    def recipient(self, group: Recipient) -> Recipient:
        """The recipient it is: its own id, country and mechanism, of its group's kind."""
        return Recipient(
            id=self.id,
            name=Text(self.name, self.name),
            kind=group.kind,
            country=self.country,
            transfer_mechanism=self.transfer_mechanism,
            allowed_fields=group.allowed_fields,
            service_countries=group.service_countries,
            section=group.section,
            undertaking=self.undertaking,
        )


@dataclass(frozen=True)
class ShareRequest:
    """What a third party's CarData client asks for when a customer approves its device code:
    the purpose (policy id and agreed words), the descriptors and how long."""

    client_id: str
    party: str
    purpose: str
    agreed_purpose: str
    descriptors: tuple[str, ...]
    days: int


@dataclass(frozen=True)
class Share:
    id: str
    subject_id: str
    vehicle_id: str
    party: str  # ThirdParty.id
    purpose: str  # the policy purpose (cardata_sharing)
    topic: str  # that purpose's consent topic
    agreed_purpose: str  # the purpose agreed with the third party, in words
    descriptors: tuple[str, ...]  # catalogue signals; empty: whole categories
    categories: tuple[str, ...]  # the categories the scope covers
    withheld: tuple[str, ...]  # policy fields of the categories outside the descriptors
    valid_from: datetime
    valid_until: datetime
    created_at: datetime
    created_by: str  # the caller id of the customer who made it
    via: ShareVia
    state: ShareState  # as stored; the state at a time is state_at()
    revoked_at: datetime | None = None
    grant_id: str | None = None  # the device grant it was approved through
    terms_version: str = TERMS_VERSION
    purpose_bound: bool = True  # recorded: only for the agreed purpose (Art. 6(1) Data Act)
    onward_transfer: bool = False  # recorded: may not pass it on (Art. 6(2)(c) Data Act)

    @property
    def ends_at(self) -> datetime:
        """When it stops: its revocation, else the end of its period."""
        if self.revoked_at is not None and self.revoked_at < self.valid_until:
            return self.revoked_at
        return self.valid_until


@dataclass(frozen=True)
class ShareEvent:
    """One entry of a share's history: what became of it, when, by whom, why."""

    share_id: str
    seq: int
    at: datetime
    state: ShareState
    actor: str  # a caller id, or "system" for the period's own begin and end
    reason: ShareReason


def state_at(share: Share, at: datetime) -> ShareState:
    if share.revoked_at is not None and share.revoked_at <= at:
        return ShareState.REVOKED
    if share.state is ShareState.REVOKED:
        return ShareState.REVOKED
    if at >= share.valid_until:
        return ShareState.EXPIRED
    if at < share.valid_from:
        return ShareState.PENDING
    return ShareState.ACTIVE


def is_active(share: Share, at: datetime) -> bool:
    return state_at(share, at) is ShareState.ACTIVE


def transitions(share: Share, at: datetime) -> list[tuple[ShareState, datetime, ShareReason]]:
    """The changes of the period a share went through by ``at`` beyond its stored state
    (pending -> active at ``valid_from``, -> expired at ``valid_until``), to be recorded."""
    out: list[tuple[ShareState, datetime, ShareReason]] = []
    stored = share.state
    if stored is ShareState.PENDING and at >= share.valid_from:
        out.append((ShareState.ACTIVE, share.valid_from, ShareReason.PERIOD_BEGAN))
        stored = ShareState.ACTIVE
    if stored is ShareState.ACTIVE and at >= share.valid_until:
        out.append((ShareState.EXPIRED, share.valid_until, ShareReason.PERIOD_ENDED))
    return out


def as_consent(share: Share) -> ConsentRecord:
    """The share as the decision engine reads it: a consent of its purpose's per-party topic,
    given at the start of its period and closed at its end or revocation, that counts only for
    its organisation, purpose, vehicle and categories and withholds the fields outside its
    descriptors."""
    return ConsentRecord(
        id=f"share:{share.id}",
        subject_id=share.subject_id,
        topic=share.topic,
        choice=ConsentChoice.GIVEN,
        text_version=f"share-terms-{share.terms_version}",
        channel=share.via.value,
        given_at=share.valid_from,
        recorded_by=share.created_by,
        vehicle_id=share.vehicle_id,
        withdrawn_at=share.ends_at,
        party=share.party,
        purpose=share.purpose,
        scope=frozenset(share.categories),
        withheld=frozenset(share.withheld),
    )


# -- input ---------------------------------------------------------------------------------------


def text_problems(path: str, value: object) -> list[Problem]:
    if not isinstance(value, str) or not value.strip() or not _TEXT_RE.fullmatch(value):
        return [Problem(path, "text", "1 to 100 characters without control characters or <>")]
    return []


def party_problems(
    party_id: object,
    name: object,
    country: object,
    mechanism: object,
    undertaking: object,
    taken: Iterable[str],
) -> list[Problem]:
    """Problems of a third party to register (shapes; the gatekeeper refusal is the engine's
    and the registry's, with its rule and article)."""
    problems: list[Problem] = []
    if not isinstance(party_id, str) or not PARTY_ID_RE.fullmatch(party_id):
        problems.append(Problem("id", "pattern", "3 to 64 of a-z, 0-9 and _, starting a-z"))
    elif party_id in set(taken):
        problems.append(Problem("id", "unique", "a recipient or controller of the policy has it"))
    problems += text_problems("name", name)
    if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
        problems.append(Problem("country", "iso3166", "an ISO 3166-1 alpha-2 code, e.g. NL"))
    if not isinstance(mechanism, TransferMechanism):
        problems.append(Problem("transfer_mechanism", "one_of", "eea, adequacy, scc or none"))
    elif isinstance(country, str):
        in_eea = country in EEA_COUNTRIES
        if in_eea and mechanism is not TransferMechanism.EEA:
            problems.append(Problem("transfer_mechanism", "eea", "inside the EEA it is eea"))
        if not in_eea and mechanism in (TransferMechanism.EEA, TransferMechanism.NONE):
            problems.append(
                Problem(
                    "transfer_mechanism",
                    "chapter_v",
                    "outside the EEA: an adequacy decision or standard contractual clauses "
                    "(Art. 44-46 GDPR)",
                )
            )
    if not isinstance(undertaking, str) or not PARTY_ID_RE.fullmatch(undertaking):
        problems.append(Problem("undertaking", "pattern", "the group's id: a-z, 0-9 and _"))
    return problems


def period_problems(valid_from: datetime, valid_until: datetime, now: datetime) -> list[Problem]:
    problems = []
    if valid_until <= valid_from:
        problems.append(Problem("valid_until", "after", "after valid_from"))
    elif valid_until - valid_from > MAX_PERIOD:
        problems.append(Problem("valid_until", "max_period", "at most five years after valid_from"))
    if valid_until <= now:
        problems.append(Problem("valid_until", "future", "in the future"))
    return problems


def scope_of(
    descriptors: Iterable[str],
    categories: Iterable[str],
    signal_category: Mapping[str, str],
    purpose_categories: Iterable[str],
    category_signal_fields: Mapping[str, Mapping[str, str]],
    handle: tuple[str, Iterable[str], Iterable[str]] | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], list[Problem]]:
    """The scope of a share: (descriptors, categories, withheld ``category.field``s, problems).

    Either descriptors (catalogue signals; their categories are covered, and the other signal
    fields of those categories withheld) or categories (whole) of the purpose.
    ``category_signal_fields[category][signal]`` is the policy field a signal is.
    ``handle`` = (category, its fields, the fields kept): the vehicle's identification, which
    every share of a vehicle names (the party must know which vehicle it receives), covered
    with only the kept fields when the scope does not cover the category otherwise."""
    wanted = list(descriptors)
    named = list(categories)
    allowed = set(purpose_categories)
    problems: list[Problem] = []
    if bool(wanted) == bool(named):
        problems.append(
            Problem("descriptors", "one_of", "name descriptors or categories (one of them)")
        )
        return (), (), (), problems
    if len(wanted) > MAX_DESCRIPTORS:
        problems.append(Problem("descriptors", "max_items", f"at most {MAX_DESCRIPTORS}"))
        return (), (), (), problems
    if named:
        for i, c in enumerate(named):
            if c not in allowed:
                problems.append(
                    Problem(f"categories.{i}", "not_shareable", "not a category of the purpose")
                )
        cats = tuple(dict.fromkeys(named))
        return (), *_with_handle(cats, (), handle, allowed), problems
    seen: list[str] = []
    for i, d in enumerate(wanted):
        category = signal_category.get(d)
        if category is None:
            shown = d if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]{0,99}", d) else "?"
            problems.append(
                Problem(
                    f"descriptors.{i}", "unknown_descriptor", f"{shown!r} is not in the catalogue"
                )
            )
        elif category not in allowed:
            problems.append(
                Problem(f"descriptors.{i}", "not_shareable", "its category is not of the purpose")
            )
        elif d in seen:
            problems.append(Problem(f"descriptors.{i}", "unique", "given twice"))
        else:
            seen.append(d)
    cats = tuple(dict.fromkeys(signal_category[d] for d in seen))
    withheld = tuple(
        f"{c}.{name}"
        for c in cats
        for signal, name in category_signal_fields.get(c, {}).items()
        if signal not in seen
    )
    return tuple(seen), *_with_handle(cats, withheld, handle, allowed), problems


def _with_handle(
    cats: tuple[str, ...],
    withheld: tuple[str, ...],
    handle: tuple[str, Iterable[str], Iterable[str]] | None,
    allowed: set[str],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if handle is None or handle[0] in cats or handle[0] not in allowed:
        return cats, tuple(sorted(withheld))
    category, names, kept = handle
    keep = set(kept)
    hidden = tuple(f"{category}.{n}" for n in names if n not in keep)
    return (*cats, category), tuple(sorted((*withheld, *hidden)))


def eligible_kind(kind: RecipientKind) -> bool:
    """Kinds of policy recipient a registered third party may belong to."""
    return kind in (RecipientKind.THIRD_PARTY, RecipientKind.CONTROLLER)


# -- the terms -----------------------------------------------------------------------------------


def terms(share: Share, party_name: str) -> Text:
    """The terms of a share, as recorded and shown (Data Act Art. 6(1), 6(2)(c))."""
    scope_en = ", ".join(share.descriptors or share.categories)
    until = share.valid_until.date().isoformat()
    since = share.valid_from.date().isoformat()
    return Text(
        nl=(
            f"{party_name} ontvangt van één voertuig (met zijn identificatienummer, VIN) de "
            f"gegevens {scope_en}, van {since} tot "
            f"{until} of tot u het delen intrekt. {party_name} mag deze gegevens alleen gebruiken "
            f"voor het afgesproken doel: {share.agreed_purpose}. {party_name} mag ze niet aan "
            "anderen doorgeven en niet voor een ander doel gebruiken. U kunt het delen altijd "
            "intrekken; daarna ontvangt de partij niets meer."
        ),
        en=(
            f"{party_name} receives of one vehicle (with its identification number, VIN) the "
            f"data {scope_en}, from {since} until "
            f"{until} or until you revoke the share. {party_name} may use this data only for "
            f"the agreed purpose: {share.agreed_purpose}. {party_name} may not pass it on to "
            "anyone and may not use it for any other purpose. You can revoke the share at any "
            "time; after that the party receives nothing more."
        ),
    )
