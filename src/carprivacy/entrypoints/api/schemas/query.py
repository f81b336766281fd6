"""Integer query parameters of the HTTP API (SPEC I4): every one is bounded, so that a number a
store cannot hold (2**63 and more) is a 422 naming the parameter, never an overflow in the store.
A test walks every route and fails on an integer query parameter without an upper bound."""

from __future__ import annotations

from typing import Any

from fastapi import Query

# the largest signed 64-bit integer: the widest integer SQLite and PostgreSQL hold
QUERY_INT_MAX = 2**63 - 1


def offset(description: str = "How many items to skip.") -> Any:
    return Query(0, ge=0, le=QUERY_INT_MAX, description=description)


def after(description: str) -> Any:
    return Query(0, ge=0, le=QUERY_INT_MAX, description=description)


def limit(default: int, maximum: int, description: str = "How many items to return.") -> Any:
    return Query(default, ge=1, le=maximum, description=description)
