"""The steps every command shares: load -> validate -> join -> evaluate -> waive."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from checker import evaluate, inventory, policies, waivers
from checker.engines import PolicyEngine
from checker.models import Finding, Inventory, RuleInfo
from checker.policies import PolicySet


def load_policies(path: Path, display: str | None = None) -> PolicySet:
    return policies.load_dir(path, display if display is not None else _shown(path))


def known_for(policy_set: PolicySet) -> inventory.Known:
    return inventory.Known.from_policy_data(policy_set.data, policy_set.rules)


def load_inventory(path: Path, policy_set: PolicySet, display: str | None = None) -> Inventory:
    return inventory.load(path, display if display is not None else _shown(path), known_for(policy_set))


def findings(engine: PolicyEngine, inv: Inventory, as_of: str, rules: Mapping[str, RuleInfo]) -> list[Finding]:
    """Evaluated and waived findings of one inventory."""
    return waivers.apply(evaluate.run(engine, inv, as_of, rules), inv.waivers, as_of)


def _shown(path: Path) -> str:
    """The path as users should see it in locations: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
