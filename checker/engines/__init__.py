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

ENGINES = ("embedded", "opa")


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


def entry_query(policy_set: PolicySet, scope: str = "group") -> str:
    """One Rego query that gathers the deny/warn sets of every rule family of one scope (SPEC §3:
    "group" or "person") for the current input.

    Every family's sets are partial set rules, so they are defined (possibly empty) for every
    input; an undefined answer therefore means something went wrong and is treated as an error.
    """
    parts = []
    for rule in policy_set.rules.values():
        if rule.scope != scope:
            continue
        levels = ", ".join(f'"{level}": data.{rule.package}.{level}' for level in rule.levels)
        parts.append(f'"{rule.rule_id}": {{{levels}}}')
    return "x := {" + ", ".join(parts) + "}"


def entry_queries(policy_set: PolicySet) -> dict[str, str]:
    """scope -> its entry query, for the scopes the policies have families of (group always)."""
    scopes = {"group"} | {rule.scope for rule in policy_set.rules.values()}
    return {scope: entry_query(policy_set, scope) for scope in sorted(scopes)}


def scope_of_input(document: Mapping[str, Any]) -> str:
    """Which families an input is for: a person-scope input has `person`, a group input `group`."""
    return "person" if "person" in document else "group"


def static_info(name: str) -> EngineInfo:
    """What is known of an engine without starting it (for cache keys and fully cached runs)."""
    if name == "embedded":
        from checker.engines.embedded import regopy_version

        return EngineInfo("embedded", f"regopy {regopy_version()}")
    if name == "opa":
        return EngineInfo("opa", "not contacted (every result came from the cache)")
    raise CheckerError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def make_engine(name: str, policy_set: PolicySet, options: EngineOptions) -> PolicyEngine:
    if name == "embedded":
        from checker.engines.embedded import EmbeddedEngine

        return EmbeddedEngine(policy_set, options)
    if name == "opa":
        from checker.engines.opa_server import OpaEngine

        return OpaEngine(policy_set, options)
    raise CheckerError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


class LazyEngine:
    """Makes the engine on first use, so a fully cached run never starts one."""

    def __init__(self, name: str, policy_set: PolicySet, options: EngineOptions) -> None:
        self.name = name
        self._policy_set = policy_set
        self._options = options
        self._engine: PolicyEngine | None = None
        self._static = static_info(name)

    def __call__(self) -> PolicyEngine:
        if self._engine is None:
            self._engine = make_engine(self.name, self._policy_set, self._options)
        return self._engine

    @property
    def info(self) -> EngineInfo:
        return self._engine.info if self._engine is not None else self._static

    @property
    def cache_key(self) -> str:
        """Results depend on the policies and on the engine that produced them."""
        return f"{self._policy_set.digest}|{self._static.name}|{self._static.version}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
