"""Third parties a customer may share CarData with, registered by an administrator (SPEC C2,
P5; notice H; Data Act Art. 5).

- :meth:`ThirdPartyRegistry.register`: an organisation with its country and transfer mechanism,
  a member of a recipient of the policy file (``cardata_third_parties``); from then on it is a
  recipient of the policy under its own id (the decision engine resolves it through
  :meth:`member`), so that a share with it is never one with any other organisation of that
  kind. An undertaking the policy lists as a DMA gatekeeper is refused (Data Act Art. 5(3));
- :meth:`add_client`: a CarData client id of the third party's own (its machine caller owns
  it) that carries a share request (the purpose, agreed purpose, descriptors and period it asks
  a customer for when the customer approves its device code).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from carprivacy.domain.access import Caller, Role
from carprivacy.domain.cardata import API_READ, CLIENT_SCOPES, CarDataClient
from carprivacy.domain.decision_index import CompiledPolicy, chosen_party_topics
from carprivacy.domain.errors import AccessDeniedError, InvalidInputError, NotFoundError, Problem
from carprivacy.domain.policy import Policy, Recipient, TransferMechanism
from carprivacy.domain.shares import (
    ShareRequest,
    ThirdParty,
    eligible_kind,
    party_problems,
    scope_of,
    text_problems,
)
from carprivacy.services.cardata.ports import AuthorisationRepository, ShareRepository
from carprivacy.services.identity.ports import CallerRepository
from carprivacy.services.ports.clock import Clock

DEFAULT_GROUP = "cardata_third_parties"
MAX_DAYS = 5 * 366
ADMIN_ONLY = ("caller.role (Art. 32(4) GDPR): third parties are registered by an administrator",)


@dataclass
class ThirdPartyRegistry:
    policy: Policy
    compiled: CompiledPolicy
    repository: ShareRepository
    clients: AuthorisationRepository
    callers: CallerRepository
    signal_category: dict[str, str]  # catalogue signal -> its category
    clock: Clock
    _members: dict[str, tuple[Recipient, str] | None] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.compiled.use_members(self.member)

    # -- registration ------------------------------------------------------------------------

    def register(
        self,
        caller: Caller,
        party_id: str,
        name: str,
        country: str,
        transfer_mechanism: str,
        undertaking: str,
        member_of: str = DEFAULT_GROUP,
    ) -> ThirdParty:
        _admin(caller)
        try:
            mechanism: object = TransferMechanism(transfer_mechanism)
        except ValueError:
            mechanism = None
        taken = {*self.policy.recipients_by_id, *self.policy.controllers_by_id}
        problems = party_problems(party_id, name, country, mechanism, undertaking, taken)
        group = self.policy.recipients_by_id.get(member_of)
        if group is None or not eligible_kind(group.kind):
            problems.append(
                Problem("member_of", "recipient", "a third-party recipient of the policy")
            )
        if isinstance(undertaking, str) and undertaking in self.policy.gatekeeper_ids:
            problems.append(
                Problem(
                    "undertaking",
                    "recipient.gatekeeper",
                    "designated as a gatekeeper under the Digital Markets Act: not an eligible "
                    "third party (Art. 5(3) Regulation (EU) 2023/2854, Data Act)",
                )
            )
        if problems:
            raise InvalidInputError(problems)
        assert isinstance(mechanism, TransferMechanism)
        party = ThirdParty(
            party_id,
            name.strip(),
            member_of,
            country,
            mechanism,
            undertaking,
            self.clock(),
            caller.id,
        )
        self.repository.add_party(party)
        self._members.pop(party_id, None)
        self.compiled.forget(party_id)
        return party

    def parties(self) -> list[ThirdParty]:
        return self.repository.parties()

    def party(self, party_id: str) -> ThirdParty:
        found = self.repository.party(party_id)
        if found is None:
            raise NotFoundError("third party", party_id)
        return found

    def ids(self) -> Iterable[str]:
        return [p.id for p in self.repository.parties()]

    def member(self, organisation: str) -> tuple[Recipient, str] | None:
        """The recipient a registered organisation is, and the policy recipient it belongs to
        (the decision engine's resolver; read once per process and organisation)."""
        if organisation in self._members:
            return self._members[organisation]
        party = self.repository.party(organisation)
        group = self.policy.recipients_by_id.get(party.member_of) if party else None
        found = None if party is None or group is None else (party.recipient(group), group.id)
        if found is not None:  # an unknown one is asked again: it may be registered later
            self._members[organisation] = found
        return found

    # -- the third party's CarData clients ---------------------------------------------------

    def add_client(
        self,
        caller: Caller,
        party_id: str,
        owner_id: str,
        name: str,
        purpose: str,
        agreed_purpose: str,
        descriptors: list[str],
        days: int,
        scopes: Iterable[str] = (API_READ,),
    ) -> tuple[CarDataClient, ShareRequest]:
        """A CarData client id of the third party (owned by its machine caller ``owner_id``,
        whose organisation is the party) that asks for a share of ``descriptors`` for
        ``purpose`` during ``days`` days."""
        _admin(caller)
        party = self.party(party_id)
        problems: list[Problem] = []
        owner = self.callers.get(owner_id)
        if owner is None or owner.organisation != party.id or owner.role is not Role.PARTNER:
            problems.append(
                Problem("owner_id", "party_caller", "a partner caller of this third party")
            )
        problems += text_problems("name", name)
        problems += text_problems("agreed_purpose", agreed_purpose)
        target = self.policy.purposes_by_id.get(purpose)
        per_party = chosen_party_topics(self.policy)
        if target is None or target.consent_topic not in per_party:
            problems.append(Problem("purpose", "shareable", "a CarData sharing purpose"))
        elif party.member_of not in target.recipients:
            problems.append(Problem("purpose", "recipient", "the party is not its recipient"))
        else:
            _, _, _, scope = scope_of(descriptors, (), self.signal_category, target.categories, {})
            problems += scope
        if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            problems.append(Problem("days", "range", f"1 to {MAX_DAYS}"))
        wanted = frozenset(scopes)
        if not wanted or not wanted <= CLIENT_SCOPES:
            problems.append(Problem("scopes", "one_of", ", ".join(sorted(CLIENT_SCOPES))))
        if problems:
            raise InvalidInputError(problems)
        client = CarDataClient(str(uuid.uuid4()), owner_id, name.strip(), wanted, self.clock())
        self.clients.add_client(client)
        request = ShareRequest(
            client.id, party.id, purpose, agreed_purpose.strip(), tuple(descriptors), days
        )
        self.repository.add_request(request)
        return client, request


def _admin(caller: Caller) -> None:
    if caller.role is not Role.ADMINISTRATOR:
        raise AccessDeniedError("third parties are registered by an administrator", ADMIN_ONLY)
