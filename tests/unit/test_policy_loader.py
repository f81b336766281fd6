"""The loader: YAML syntax with line and column, schema errors with YAML paths."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carprivacy.adapters.policy.loader import (
    check_policy_text,
    load_policy_file,
    load_policy_text,
    parse_policy_text,
    path_of,
)
from carprivacy.domain.errors import PolicyError
from carprivacy.domain.policy import TransferMechanism

POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "mini-connected-nl.yaml"
TEXT = POLICY_PATH.read_text(encoding="utf-8")


@cache
def _parsed() -> dict[str, object]:
    d = yaml.load(TEXT, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert isinstance(d, dict)
    return d


def loaded() -> dict[str, object]:
    """A fresh, mutable copy of the shipped policy document."""
    return copy.deepcopy(_parsed())


def dump(d: dict[str, object]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(d, Dumper=dumper, allow_unicode=True, sort_keys=False)


def test_the_shipped_policy_loads_and_round_trips_through_yaml() -> None:
    policy = load_policy_text(TEXT)
    assert policy == load_policy_text(dump(loaded()))
    assert policy.id == "mini-connected-nl"


def test_path_of() -> None:
    assert path_of(("purposes", 7, "consent_topic")) == "purposes[7].consent_topic"
    assert path_of(("categories", 0, "fields", 2, "label", "nl")) == (
        "categories[0].fields[2].label.nl"
    )
    assert path_of(()) == "(root)"


def test_malformed_yaml_reports_line_and_column() -> None:
    broken = "id: x\npurposes:\n  - id: [unclosed\n  - id: y\n"
    policy, problems = check_policy_text(broken)
    assert policy is None and len(problems) == 1
    assert problems[0].rule == "yaml.syntax"
    assert problems[0].path.startswith("line 4, column")


def test_duplicate_keys_are_refused_with_their_line() -> None:
    text = "id: a\nversion: '1'\nid: b\n"
    _, problems = check_policy_text(text)
    assert [p.rule for p in problems] == ["yaml.duplicate_key"]
    assert problems[0].path == "line 3, column 1"
    assert "'id'" in problems[0].message and "line 1" in problems[0].message


def test_merge_keys_are_allowed() -> None:
    policy = load_policy_text(TEXT)
    assert len([r for r in policy.retention if r.weeks == 4]) == 7


def test_not_a_mapping() -> None:
    _, problems = check_policy_text("- just\n- a list\n")
    assert [p.rule for p in problems] == ["schema.type"]


def test_schema_errors_carry_yaml_paths_and_lines_all_at_once() -> None:
    d = loaded()
    purposes = d["purposes"]
    assert isinstance(purposes, list)
    purposes[7]["legal_basis"] = "vibes"
    purposes[7]["consent_topic"] = "Not An Id"
    del purposes[2]["form"]
    purposes[3]["colour"] = "blue"
    categories = d["categories"]
    assert isinstance(categories, list)
    categories[0]["fields"][1]["label"] = {"nl": "Achternaam"}
    policy, problems = parse_policy_text(dump(d))
    assert policy is None
    got = {(p.path, p.rule) for p in problems}
    assert ("purposes[7].legal_basis", "schema.enum") in got
    assert ("purposes[7].consent_topic", "schema.string_pattern_mismatch") in got
    assert ("purposes[2].form", "schema.missing") in got
    assert ("purposes[3].colour", "schema.extra_forbidden") in got
    assert ("categories[0].fields[1].label.en", "schema.missing") in got
    assert all("(line " in p.message for p in problems)


def test_missing_transfer_mechanism_defaults_in_the_eea_and_is_a_rule_problem_outside() -> None:
    d = loaded()
    recipients = d["recipients"]
    assert isinstance(recipients, list)
    google = next(i for i, r in enumerate(recipients) if r["id"] == "google_geocoding")
    dealers = next(i for i, r in enumerate(recipients) if r["id"] == "dealers")
    del recipients[google]["transfer_mechanism"]
    del recipients[dealers]["transfer_mechanism"]
    policy, problems = parse_policy_text(dump(d))
    assert policy is not None and problems == []
    assert policy.recipients[dealers].transfer_mechanism is TransferMechanism.EEA
    _, problems = check_policy_text(dump(d))
    assert [(p.path, p.rule) for p in problems] == [
        (f"recipients[{google}].transfer_mechanism", "transfer.mechanism_missing")
    ]


def test_load_raises_policy_error_with_every_problem(tmp_path: Path) -> None:
    d = loaded()
    purposes = d["purposes"]
    assert isinstance(purposes, list)
    marketing = next(i for i, p in enumerate(purposes) if p["id"] == "marketing_phone")
    del purposes[marketing]["consent_topic"]
    purposes[0]["categories"].append("nope")
    path = tmp_path / "broken.yaml"
    path.write_text(dump(d), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    rules = {(p.path, p.rule) for p in info.value.problems}
    assert (f"purposes[{marketing}].consent_topic", "consent.topic_required") in rules
    assert ("purposes[0].categories[4]", "reference.unknown_category") in rules


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_file(tmp_path / "missing.yaml")
    assert info.value.problems[0].rule == "file.unreadable"
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(PolicyError) as info:
        load_policy_file(bad)
    assert info.value.problems[0].rule == "file.encoding"


# ---- random breakage through the whole loader: the reported YAML path names the broken node


ENTRY_KEYS = ("purposes", "categories", "recipients", "retention", "consent_topics", "controllers")


def resolve(doc: object, path: str) -> object:
    """Follow a YAML path such as ``purposes[7].consent_topic`` into the loaded document."""
    import re

    node = doc
    for name, index in re.findall(r"([a-z_]+)|\[(\d+)\]", path):
        node = node[int(index)] if index else node[name]  # type: ignore[index]
    return node


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_random_yaml_breakage_is_reported_at_a_path_that_exists(data: st.DataObject) -> None:
    d = loaded()
    kind = data.draw(st.sampled_from(["extra_key", "bad_enum", "wrong_type", "no_topic"]))
    collection = data.draw(st.sampled_from(ENTRY_KEYS))
    entries = d[collection]
    assert isinstance(entries, list)
    i = data.draw(st.integers(0, len(entries) - 1))
    if kind == "extra_key":
        entries[i]["surprise"] = 1
        expected = (f"{collection}[{i}].surprise", "schema.extra_forbidden")
    elif kind == "bad_enum":
        purposes = d["purposes"]
        assert isinstance(purposes, list)
        field = data.draw(st.sampled_from(["legal_basis", "form"]))
        purposes[i % len(purposes)][field] = "nonsense"
        expected = (f"purposes[{i % len(purposes)}].{field}", "schema.enum")
    elif kind == "wrong_type":
        entries[i]["id"] = ["not", "a", "string"]
        expected = (f"{collection}[{i}].id", "schema.string_type")
    else:
        purposes = d["purposes"]
        assert isinstance(purposes, list)
        consent = [j for j, p in enumerate(purposes) if p["legal_basis"] == "consent"]
        j = data.draw(st.sampled_from(consent))
        del purposes[j]["consent_topic"]
        expected = (f"purposes[{j}].consent_topic", "consent.topic_required")
    text = dump(d)
    policy, problems = check_policy_text(text)
    assert policy is None
    assert expected in {(p.path, p.rule) for p in problems}
    if kind != "no_topic":
        resolve(d, expected[0])  # the path exists in the document
        problem = next(p for p in problems if (p.path, p.rule) == expected)
        line = int(problem.message.rsplit("(line ", 1)[1].rstrip(")"))
        marker = expected[0].rsplit(".", 1)[1] + ":"
        assert marker in text.splitlines()[line - 1] or "- " in text.splitlines()[line - 1]


def test_unknown_fideslang_ids_are_reported() -> None:
    d = loaded()
    purposes = d["purposes"]
    categories = d["categories"]
    assert isinstance(purposes, list) and isinstance(categories, list)
    purposes[3]["fides_data_use"] = "marketing.mind_reading"
    categories[1]["fides_category"] = "user.aura"
    _, problems = check_policy_text(dump(d))
    assert {(p.path, p.rule) for p in problems} == {
        ("purposes[3].fides_data_use", "fides.unknown_id"),
        ("categories[1].fides_category", "fides.unknown_id"),
    }


def test_nested_aliases_do_not_explode() -> None:
    """A 'billion laughs' document is refused in well under a second, not after 2**30 steps."""
    import time

    levels = ["a0: &a0 [x, x]"]
    levels += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 31)]
    text = "id: bomb\n" + "\n".join(levels) + "\nintro: *a30\n"
    start = time.perf_counter()
    _, problems = check_policy_text(text)
    assert time.perf_counter() - start < 2.0
    assert {p.path for p in problems} >= {"a0", "intro", "title"}
