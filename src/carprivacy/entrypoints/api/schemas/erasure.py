"""Body and answer of the erasure route (SPEC R3): counts and reasons, never a value."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from carprivacy.domain.erasure import ErasureReport


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=200, description="The reference of the erasure (a request id)."
    )
    controller: str = Field(
        "all",
        description="Where to erase: a controller id of the policy (mini_nl: the national "
        "company's records; mini_ag: the group login account and vehicle data), or all.",
    )
    language: str = Field("nl", description="The language of the notice to the person (nl, en).")


class ErasedOut(BaseModel):
    table: str
    category: str
    rows: int


class KeptOut(BaseModel):
    table: str
    category: str
    rows: int
    exemption: str
    article: str
    reason: str
    detail: str
    until: str | None


class ErasureOut(BaseModel):
    erasure_id: str
    controller: str
    state: str
    as_of: str
    erased: list[ErasedOut]
    kept: list[KeptOut]
    key_destroyed: bool
    notice_sent: bool
    resumed: bool

    @classmethod
    def of(cls, r: ErasureReport) -> ErasureOut:
        return cls(
            erasure_id=r.erasure_id,
            controller=r.controller,
            state=r.state,
            as_of=r.as_of,
            erased=[ErasedOut(**vars(g)) for g in r.erased],
            kept=[KeptOut(**vars(g)) for g in r.kept],
            key_destroyed=r.key_destroyed,
            notice_sent=r.notice_sent,
            resumed=r.resumed,
        )
