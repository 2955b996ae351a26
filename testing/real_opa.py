"""Real OPA semantics in-process, for differential tests only.

`opa-golib-python-bindings` embeds OPA's own Go evaluator (github.com/open-policy-agent/opa/v1/rego)
through ctypes. It is not a project dependency: its wheel declares Python >= 3.14, so .ci/run
installs it with --ignore-requires-python when it can, and tests that need it skip otherwise.
It stands in for nothing under test: it is the reference the embedded engine is compared with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checker.engines import RawResult, entry_query
from checker.policies import PolicySet

try:
    from opa_bindings import OpaEngine as _OpaEngine
except ImportError:  # pragma: no cover - depends on the machine
    _OpaEngine = None

SKIP_REASON = ("real OPA bindings not installed: pip install --ignore-requires-python "
               "opa-golib-python-bindings==0.4.4 (GitHub CI runs the opa binary instead)")


def available() -> bool:
    return _OpaEngine is not None


class RealOpa:
    """OPA's evaluator loaded with a PolicySet; optionally with its *_test.rego modules too."""

    def __init__(self, policy_set: PolicySet, *, with_tests: bool = False) -> None:
        assert _OpaEngine is not None, SKIP_REASON
        self._engine = _OpaEngine()
        self._policy_set = policy_set
        modules = list(policy_set.modules) + (list(policy_set.test_modules) if with_tests else [])
        for module in modules:
            self._engine.add_policy(module.path, module.source)
        self._engine.add_data(dict(policy_set.data))
        self._query = entry_query(policy_set)

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, RawResult]:
        results = {}
        for key, document in inputs:
            (bindings,) = self._engine.eval_query(self._query, dict(document))
            results[key] = bindings["x"]
        return results

    def test_rules(self) -> list[tuple[str, bool]]:
        """(data path of each test_* rule, passed) for every *_test.rego module."""
        outcomes = []
        for module in self._policy_set.test_modules:
            package = module.package
            for line in module.source.splitlines():
                if line.startswith("test_"):
                    name = line.split()[0].split("(")[0]
                    path = f"{package}.{name}"
                    try:
                        value = self._engine.eval_document(path, {})
                    except Exception:
                        value = None
                    outcomes.append((path, value is True))
        return outcomes

    def close(self) -> None:
        self._engine.close()
