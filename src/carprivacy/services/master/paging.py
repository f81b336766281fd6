"""Paging of repository listings: a stable order, a bounded page size, and the total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from carprivacy.domain.errors import Problem
from carprivacy.domain.master import raise_if
from carprivacy.services.master.ports import EntityRepository

T = TypeVar("T")
MAX_PAGE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


def page_of(repo: EntityRepository[T], offset: int, limit: int) -> Page[T]:
    problems = []
    if offset < 0:
        problems.append(Problem("offset", "min", "must be 0 or more"))
    if not 1 <= limit <= MAX_PAGE:
        problems.append(Problem("limit", "range", f"must be between 1 and {MAX_PAGE}"))
    raise_if(problems)
    return Page(repo.page(offset, limit), repo.count(), offset, limit)
