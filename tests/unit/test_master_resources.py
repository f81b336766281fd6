"""Each master-data description (SPEC I4) gives schemas that agree with it and with its gate View
(SPEC U1): an answer field the View does not cover would never be released, and In/Patch hold
exactly the fields the description calls writable and patchable."""

from __future__ import annotations

import pytest

from carprivacy.entrypoints.api.schemas.master import RESOURCES
from carprivacy.entrypoints.api.schemas.resource import REQUIRED, Resource, attr, covered
from carprivacy.services.master import views


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_every_answer_field_is_covered_by_the_view(resource: Resource) -> None:
    assert set(resource.Out.model_fields) == set(resource.fields)
    assert set(resource.Out.model_fields) <= covered(resource.view)
    assert set(resource.Written.model_fields) == set(resource.Out.model_fields)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_in_and_patch_hold_the_described_fields(resource: Resource) -> None:
    writable = [n for n, a in resource.fields.items() if a.write is not None]
    assert list(resource.In.model_fields) == writable
    required = {
        n for n, a in resource.fields.items() if a.write is not None and a.default is REQUIRED
    }
    assert {n for n, f in resource.In.model_fields.items() if f.is_required()} == required
    patchable = [n for n in writable if resource.fields[n].patch]
    assert list(resource.Patch.model_fields) == patchable
    assert not any(f.is_required() for f in resource.Patch.model_fields.values())
    for model in (resource.In, resource.Patch):
        assert model.model_config.get("extra") == "forbid"


def test_a_field_the_view_does_not_release_is_refused_when_described() -> None:
    with pytest.raises(ValueError, match="does not release"):
        Resource("Fleet", views.FLEET, {"id": attr(str), "secret": attr(str)})
