"""Policy engines behind one small interface; unknown names raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from checker.errors import CheckerError
from checker.models import Engine as EngineInfo
from checker.policies import PolicySet

# For one group: rule id -> level -> the elements of that rule's deny/warn set, as the engine returned them.
RawResult = dict[str, dict[str, list[Any]]]


@dataclass(frozen=True)
class EngineOptions:
    jobs: int = 1
    opa_urls: tuple[str, ...] = ()
    opa_token: str | None = None
    timeout: float = 60.0
    progress: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


class PolicyEngine(Protocol):
    info: EngineInfo

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, RawResult]:
        """key -> raw result, for (key, input) pairs. Raises CheckerError if any could not be evaluated."""
        ...

    def close(self) -> None: ...


def entry_query(policy_set: PolicySet) -> str:
    """One Rego query that gathers every rule family's deny/warn sets for the current input.

    Every family's sets are partial set rules, so they are defined (possibly empty) for every
    input; an undefined answer therefore means something went wrong and is treated as an error.
    """
    parts = []
    for rule in policy_set.rules.values():
        levels = ", ".join(f'"{level}": data.{rule.package}.{level}' for level in rule.levels)
        parts.append(f'"{rule.rule_id}": {{{levels}}}')
    return "x := {" + ", ".join(parts) + "}"


def make_engine(name: str, policy_set: PolicySet, options: EngineOptions) -> PolicyEngine:
    if name == "embedded":
        from checker.engines.embedded import EmbeddedEngine

        return EmbeddedEngine(policy_set, options)
    if name == "opa":
        from checker.engines.opa_server import OpaEngine

        return OpaEngine(policy_set, options)
    raise CheckerError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


ENGINES = ("embedded", "opa")
