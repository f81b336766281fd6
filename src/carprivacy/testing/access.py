"""An in-memory decider (the ingestion room's ``Decider`` port): answers with the rule a test
gives, records every decision it made, and refuses a list's remainder as the real engine does."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from carprivacy.domain.access import Decision, DecisionRequest, Reason
from carprivacy.domain.decisions import deny


class FakeDecider:
    def __init__(
        self,
        answer: Callable[[DecisionRequest], Decision],
        screen: Callable[[DecisionRequest], Decision | None] = lambda _: None,
    ) -> None:
        self._answer = answer
        self._screen = screen
        self.decided: list[tuple[DecisionRequest, Decision]] = []  # what the audit trail would get

    def screen(self, request: DecisionRequest) -> Decision | None:
        return self._screen(request)

    def decide_many(self, requests: Sequence[DecisionRequest]) -> list[Decision]:
        pairs = [(r, self._answer(r)) for r in requests]
        self.decided.extend(pairs)
        return [d for _, d in pairs]

    def decide_list(
        self, requests: Sequence[DecisionRequest], remainder: tuple[DecisionRequest, Reason] | None
    ) -> list[Decision]:
        decisions = self.decide_many(requests)
        if remainder is not None:
            self.decided.append((remainder[0], deny(*remainder)))
        return decisions
