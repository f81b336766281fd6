"""Load a policy YAML file into a :class:`~carprivacy.domain.policy.Policy` (SPEC P1-P7).

Three stages, each reporting every problem it finds, never only the first:

1. YAML syntax (with line and column) and duplicate keys (a second ``id:`` would silently win);
2. the typed schema (pydantic): each error gets its YAML path, e.g. ``purposes[7].consent_topic``,
   and the line it sits on;
3. the rules of :func:`carprivacy.domain.policy_rules.validate` (references, consent topics,
   portability, retention, transfers, minimisation), and that every fideslang id exists.

A later stage runs only when the earlier one passed: rules need a well-formed policy to talk about.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from carprivacy.adapters.policy.fideslang import check_fides
from carprivacy.adapters.policy.schema import PolicyModel
from carprivacy.domain.errors import PolicyError, Problem
from carprivacy.domain.policy import Policy
from carprivacy.domain.policy_rules import validate

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader (libyaml when available) that refuses duplicate mapping keys (YAML would keep
    the last silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`: merged keys may be overridden by design
        key = loader.construct_object(key_node)
        if key in seen:
            first = seen[key].start_mark
            raise yaml.constructor.ConstructorError(
                f"while constructing a mapping (key first defined on line {first.line + 1})",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def path_of(loc: Sequence[int | str]) -> str:
    """``("purposes", 7, "consent_topic")`` -> ``purposes[7].consent_topic``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _line_index(node: yaml.Node | None) -> dict[str, int]:
    """YAML path -> 1-based line, for every node of the document.

    An aliased node (``*anchor``) is walked once: a crafted file of nested aliases (a "billion
    laughs") would otherwise take exponential time; paths under an alias fall back to the nearest
    parent's line.
    """
    index: dict[str, int] = {}
    seen: set[int] = set()

    def walk(n: yaml.Node, loc: tuple[int | str, ...]) -> None:
        if id(n) in seen:
            return
        seen.add(id(n))
        index[path_of(loc)] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                index[path_of((*loc, key))] = k.start_mark.line + 1
                walk(v, (*loc, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*loc, i))

    if node is not None:
        walk(node, ())
    return index


def _nearest_line(index: dict[str, int], loc: Sequence[int | str]) -> int | None:
    parts = list(loc)
    while True:
        line = index.get(path_of(parts))
        if line is not None or not parts:
            return line
        parts.pop()


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{problem} ({context})" if context else str(problem)
    rule = "yaml.duplicate_key" if "duplicate key" in str(problem) else "yaml.syntax"
    return Problem(path=where, rule=rule, message=message)


def parse_policy_text(text: str, source: str = "<policy>") -> tuple[Policy | None, list[Problem]]:
    """Parse and check the shape; the rules are not run. Returns the policy or the problems."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(exc)]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        return None, [Problem("(root)", "schema.type", f"{source}: the policy must be a mapping")]
    try:
        model = PolicyModel.model_validate(data)
    except ValidationError as exc:
        lines = _line_index(node)
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = err["loc"]
            line = _nearest_line(lines, loc)
            suffix = f" (line {line})" if line is not None else ""
            problems.append(
                Problem(
                    path=path_of(loc), rule=f"schema.{err['type']}", message=err["msg"] + suffix
                )
            )
        return None, problems
    return model.to_domain(), []


def check_policy_text(text: str, source: str = "<policy>") -> tuple[Policy | None, list[Problem]]:
    """Every problem of a text (syntax, schema, then rules); the policy when there are none."""
    policy, problems = parse_policy_text(text, source)
    if policy is None:
        return None, problems
    problems = validate(policy) + check_fides(policy)
    return (None, problems) if problems else (policy, [])


def load_policy_text(text: str, source: str = "<policy>") -> Policy:
    """The valid policy, or :class:`PolicyError` listing every problem."""
    policy, problems = check_policy_text(text, source)
    if policy is None:
        raise PolicyError(problems)
    return policy


def read_policy_file(path: Path | str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            [Problem(str(path), "file.unreadable", exc.strerror or "cannot read the file")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError([Problem(str(path), "file.encoding", "the file is not UTF-8")]) from exc


def load_policy_file(path: Path | str) -> Policy:
    """Load and validate ``path``; :class:`PolicyError` lists every problem."""
    return load_policy_text(read_policy_file(path), str(path))
