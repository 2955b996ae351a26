"""Policy engines behind one small interface; unknown names raise."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from checker.errors import CheckerError, EngineError
from checker.models import Engine as EngineInfo
from checker.models import RuleInfo
from checker.policies import PolicySet

# For one group: rule id -> level -> the elements of that rule's deny/warn set, as the engine returned them.
RawResult = dict[str, dict[str, list[Any]]]

ENGINES = ("embedded", "opa")

# What one input describes, and so which rule families judge it. A new scope (the person scope of
# SPEC §3: packages access.person.<name>) is one entry here plus its case in rule_scope(); both
# engines build one query per scope from these and evaluate(inputs, scope) picks it.
SCOPES = ("group", "person")


DEFAULT_TIMEOUT = 60.0


def default_timeout() -> float:
    """Seconds each OPA request may take in all (env CHECKER_OPA_TIMEOUT, default 60)."""
    text = os.environ.get("CHECKER_OPA_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise CheckerError(f"CHECKER_OPA_TIMEOUT={text!r}: expected seconds, a number above 0 and at most 86400")
    return seconds


@dataclass(frozen=True)
class EngineOptions:
    jobs: int = 1
    opa_urls: tuple[str, ...] = ()
    opa_token: str | None = None
    timeout: float = field(default_factory=default_timeout)  # per OPA request, all of it (see opa/deadline.py)
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
    """The scope of inputs a rule family judges (policies.scope_of its package)."""
    return rule.scope


def scope_rules(policy_set: PolicySet, scope: str) -> dict[str, RuleInfo]:
    """rule id -> family, for the families that judge inputs of `scope`."""
    if scope not in SCOPES:
        raise CheckerError(f"unknown evaluation scope {scope!r} (known: {', '.join(SCOPES)})")
    return {rule_id: rule for rule_id, rule in policy_set.rules.items() if rule_scope(rule) == scope}


def entry_query(policy_set: PolicySet, scope: str = "group",
                level_ref: Callable[[str, str], str] | None = None) -> str:
    """One Rego query that gathers the deny/warn sets of every family of `scope` for the current input
    (read through level_ref(package, level) when given: the embedded engine reads arrays).

    Every family's sets are partial set rules, so they are defined (possibly empty) for every
    input; an undefined answer therefore means something went wrong and is treated as an error.
    Each family's entry reads only that family's rules, so family_queries() gives the same answer
    entry by entry (the embedded engine splits big groups that way).
    """
    parts = [_family_entry(rule, level_ref) for rule in scope_rules(policy_set, scope).values()]
    return "x := {" + ", ".join(parts) + "}"


def family_queries(policy_set: PolicySet, scope: str = "group",
                   level_ref: Callable[[str, str], str] | None = None) -> dict[str, str]:
    """rule id -> the entry query of that one family (an object with only its entry)."""
    return {rule_id: "x := {" + _family_entry(rule, level_ref) + "}"
            for rule_id, rule in scope_rules(policy_set, scope).items()}


def _family_entry(rule: RuleInfo, level_ref: Callable[[str, str], str] | None) -> str:
    ref = level_ref or (lambda package, level: f"data.{package}.{level}")
    levels = ", ".join(f'"{level}": {ref(rule.package, level)}' for level in rule.levels)
    return f'"{rule.rule_id}": {{{levels}}}'


def static_info(name: str, options: EngineOptions | None = None) -> tuple[EngineInfo, str]:
    """The engine's identity, established at start without compiling anything: what it reports as,
    and the key its results are cached under. For OPA that means contacting every server (or
    finding the local binary): an engine that cannot be reached fails the run (exit 2) even when
    every result is cached, and results of one fleet or OPA version never answer for another."""
    if name == "embedded":
        from checker.engines.embedded import regopy_version

        info = EngineInfo("embedded", f"regopy {regopy_version()}")
        return info, info.version
    if name == "opa":
        from checker.engines.opa.engine import identify

        return identify(options or EngineOptions())
    raise CheckerError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def make_engine(name: str, policy_set: PolicySet, options: EngineOptions, wait: bool = True) -> PolicyEngine:
    """The engine, ready (compile errors raised here), or with `wait` false, one whose workers may
    still be starting: the embedded engine then raises them from its first evaluate()."""
    if name == "embedded":
        from checker.engines.embedded import EmbeddedEngine

        return EmbeddedEngine(policy_set, options, wait=wait)
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
        self._static, self._identity = static_info(name, options)

    def __call__(self) -> PolicyEngine:
        if self._engine is None:
            engine = make_engine(self.name, self._policy_set, self._options)
            # Servers are probed at the start; one upgraded since would mix versions under one key.
            if self._options.opa_urls and engine.info.version != self._static.version:
                engine.close()
                raise EngineError(f"the {self.name} engine changed during the run: {self._static.version} at "
                                  f"the start, {engine.info.version} now; run again")
            self._engine = engine
        return self._engine

    def prestart(self) -> None:
        """Start the embedded engine's workers now, without waiting for them: they spawn and compile
        while the caller reads and parses. Any problem is raised where the engine is first used, as
        without this call (a problem found here is left for that use to find again)."""
        if self._engine is None and self.name == "embedded":
            with contextlib.suppress(CheckerError):
                self._engine = make_engine(self.name, self._policy_set, self._options, wait=False)

    @property
    def info(self) -> EngineInfo:
        return self._engine.info if self._engine is not None else self._static

    @property
    def cache_key(self) -> str:
        """Results depend on the policies and on the engine that produced them (which servers, which version)."""
        return f"{self._policy_set.digest}|{self._static.name}|{self._identity}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
