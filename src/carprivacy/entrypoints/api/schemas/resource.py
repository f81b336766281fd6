"""One description per kind of master-data record, and the schemas that come from it (SPEC I4).

A :class:`Resource` names each field of a record once: the type an answer carries, the type (with
its constraints) a request sends when the field is writable, whether a create needs it or what it
defaults to, and whether a PATCH may change it. Its policy mapping is the record's gate
:class:`~carprivacy.services.access.views.View` (``services/master/views.py``: the service layer,
the CLI and exports use the same view without pydantic); a resource refuses, when it is built, a
field its view does not cover, since such a field would never be released. From the description
come:

- ``In``: the writable fields (``extra="forbid"``; 422 names the field and the rule);
- ``Patch``: the patchable fields, every one optional;
- ``Out``: every field, as a read releases it (``out(obj)`` converts a domain object);
- ``Written``: ``Out`` as a write answers it (``release.echo``): the key and bookkeeping always,
  every other field only when the request sent it;
- ``Released``: ``Out`` as a read answers it (the OpenAPI answer of reads): the bookkeeping
  always, every other field only when the caller's form releases it (a minimised, pseudonymised
  or vehicle-linked form leaves fields out, and a reference that names nothing is left out).

A model no route uses (the ``In`` of a read-only record) never reaches the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from carprivacy.services.access.views import View

REQUIRED: Any = ...  # a create must send the field
OUT_REQUIRED: Any = ...  # an answer always carries the field


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Attr:
    """One field: ``out`` is its answer type; ``write`` its request type (None: not writable);
    ``default`` what a create means by leaving it out (REQUIRED: it may not; None: the request type
    becomes optional); ``patch``: a PATCH may change it; ``out_default``: an answer may leave it."""

    out: Any
    write: Any = None
    default: Any = REQUIRED
    patch: bool = False
    out_default: Any = OUT_REQUIRED


def attr(out: Any, write: Any = None, **options: Any) -> Attr:
    """An :class:`Attr`; ``write`` defaults to nothing (the field is only answered)."""
    return Attr(out, write, **options)


@dataclass(frozen=True)
class Resource:
    """A kind of master-data record (see the module docstring)."""

    name: str  # "Customer": CustomerIn, CustomerPatch, CustomerOut, CustomerWritten
    view: View
    fields: Mapping[str, Attr]
    doc: str | None = None  # the Out model's description
    source: Callable[[Any], Any] = lambda obj: obj  # domain object -> what Out reads
    echo: bool = True  # writes answer Written (release.echo); False: the whole Out
    In: type[BaseModel] = field(init=False)
    Patch: type[BaseModel] = field(init=False)
    Out: type[BaseModel] = field(init=False)
    Written: type[BaseModel] = field(init=False)
    Released: type[BaseModel] = field(init=False)

    def __post_init__(self) -> None:
        uncovered = sorted(set(self.fields) - covered(self.view))
        if uncovered:
            raise ValueError(f"{self.name}: the view does not release {uncovered}")
        out = create_model(f"{self.name}Out", __doc__=self.doc, **self._out_fields())
        writable = {n: a for n, a in self.fields.items() if a.write is not None}
        patchable = {n: a for n, a in writable.items() if a.patch}
        inputs = {n: _input(a) for n, a in writable.items()}
        patches = {n: (a.write | None, None) for n, a in patchable.items()}
        set_ = object.__setattr__
        set_(self, "Out", out)
        set_(self, "In", create_model(f"{self.name}In", __base__=Input, **inputs))  # type: ignore[call-overload]
        set_(self, "Patch", create_model(f"{self.name}Patch", __base__=Input, **patches))  # type: ignore[call-overload]
        set_(self, "Written", _written(self.name, out, self.view))
        set_(self, "Released", _released(self.name, out, self.view))

    def _out_fields(self) -> dict[str, Any]:
        return {
            name: (a.out, a.out_default) if a.out_default is not OUT_REQUIRED else (a.out, ...)
            for name, a in self.fields.items()
        }

    def out(self, obj: object) -> BaseModel:
        """``obj`` (a domain object) as its Out model."""
        return self.Out.model_validate(self.source(obj), from_attributes=True)

    def answer_model(self) -> type[BaseModel]:
        """What a write answers (the OpenAPI response model of POST and PATCH)."""
        return self.Written if self.echo else self.Out


def covered(view: View) -> set[str]:
    """The record fields a view releases in some form (policy fields, references, bookkeeping)."""
    return set(view.fields) | set(view.refs) | set(view.bookkeeping) | {view.key}


def _input(a: Attr) -> tuple[Any, Any]:
    if a.default is REQUIRED:
        return (a.write, ...)
    if a.default is None:
        return (a.write | None, None)
    return (a.write, a.default)


def _written(name: str, out: type[BaseModel], view: View) -> type[BaseModel]:
    """``out`` as a write answers it: the key and bookkeeping always, the rest when sent."""
    return _partial(
        f"{name}Written",
        f"The answer to a write of a {name.lower()}.",
        out,
        view.bookkeeping | {view.key},
        "present when the request sent it",
    )


def _released(name: str, out: type[BaseModel], view: View) -> type[BaseModel]:
    """``out`` as a read releases it: the bookkeeping always, the rest as the form allows."""
    return _partial(
        f"{name}Released",
        f"A {name.lower()} as the caller's form releases it.",
        out,
        view.bookkeeping,
        "present when the caller's form releases it",
    )


def _partial(
    model: str, doc: str, out: type[BaseModel], always: frozenset[str] | set[str], when: str
) -> type[BaseModel]:
    """``out`` with only the ``always`` fields required; every other one present ``when``."""
    fields: dict[str, Any] = {}
    for field_name, info in out.model_fields.items():
        if field_name in always:
            fields[field_name] = (info.annotation, info)
        else:
            fields[field_name] = (info.annotation, Field(default=None, description=when))
    partial: type[BaseModel] = create_model(model, __doc__=doc, **fields)
    return partial
