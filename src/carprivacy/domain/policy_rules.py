"""The rules a policy must keep (SPEC P7). Pure: a Policy in, every Problem out."""

from __future__ import annotations

from carprivacy.domain.errors import Problem
from carprivacy.domain.policy import Policy


def validate(policy: Policy) -> list[Problem]:
    return []
