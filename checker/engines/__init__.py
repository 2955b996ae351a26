"""Policy engines behind one small interface; unknown names raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from checker.errors import CheckerError
from checker.models import Engine as EngineInfo
from checker.models import RuleInfo
from checker.policies import PolicySet

# For one group: rule id -> level -> the elements of that rule's deny/warn set, as the engine returned them.
RawResult = dict[str, dict[str, list[Any]]]

ENGINES = ("embedded", "opa")

# What one input describes, and so which rule families judge it. A new scope (the person scope of
# SPEC §3: packages access.person.<name>) is one entry here plus its case in rule_scope(); both
# engines build one query per scope from these and evaluate(inputs, scope) picks it.
SCOPES = ("group",)


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

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]], scope: str = "group"
                 ) -> dict[str, RawResult]:
        """key -> raw result, for (key, input) pairs of one scope (SCOPES), judged by that scope's
        rule families. Raises CheckerError if any could not be evaluated."""
        ...

    def close(self) -> None: ...


def rule_scope(rule: RuleInfo) -> str:
    """The scope of inputs a rule family judges."""
    return "group"


def scope_rules(policy_set: PolicySet, scope: str) -> dict[str, RuleInfo]:
    """rule id -> family, for the families that judge inputs of `scope`."""
    if scope not in SCOPES:
        raise CheckerError(f"unknown evaluation scope {scope!r} (known: {', '.join(SCOPES)})")
    return {rule_id: rule for rule_id, rule in policy_set.rules.items() if rule_scope(rule) == scope}


def entry_query(policy_set: PolicySet, scope: str = "group") -> str:
    """One Rego query that gathers the deny/warn sets of every family of `scope` for the current input.

    Every family's sets are partial set rules, so they are defined (possibly empty) for every
    input; an undefined answer therefore means something went wrong and is treated as an error.
    """
    parts = []
    for rule in scope_rules(policy_set, scope).values():
        levels = ", ".join(f'"{level}": data.{rule.package}.{level}' for level in rule.levels)
        parts.append(f'"{rule.rule_id}": {{{levels}}}')
    return "x := {" + ", ".join(parts) + "}"


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
        from checker.engines.opa.engine import OpaEngine

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
