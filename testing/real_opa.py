"""Real OPA semantics, for differential tests only.

`opa-golib-python-bindings` embeds OPA's own Go evaluator (github.com/open-policy-agent/opa/v1/rego)
through ctypes. It is not a project dependency: its wheel declares Python >= 3.14, so .ci/run
installs it with --ignore-requires-python when it can, and tests that need it skip otherwise.
It stands in for nothing under test: it is the reference the embedded engine is compared with.

It runs in a spawned child process: the Go runtime and regopy's C++ runtime in one process
have aborted it, and a test process must never be taken down by either.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from checker.engines import SCOPES, RawResult, entry_query
from checker.policies import PolicySet

SKIP_REASON = ("real OPA bindings not installed: pip install --ignore-requires-python "
               "opa-golib-python-bindings==0.4.4 (GitHub CI runs the opa binary instead)")


def available() -> bool:
    return importlib.util.find_spec("opa_bindings") is not None


# ---------------------------------------------------------------- in the child process

_ENGINE: Any = None


def _start(modules: Sequence[tuple[str, str]], data: Mapping[str, Any]) -> None:
    global _ENGINE
    from opa_bindings import OpaEngine

    _ENGINE = OpaEngine()
    _ENGINE.print_handler = lambda *_: None
    for path, source in modules:
        _ENGINE.add_policy(path, source)
    _ENGINE.add_data(dict(data))


def _queries(queries: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[bool, Any]]:
    """(ok, value of x or error text) per (query, input); "<undefined>" when there is no result."""
    out: list[tuple[bool, Any]] = []
    for query, document in queries:
        try:
            rows = _ENGINE.eval_query(query, dict(document))
            out.append((True, rows[0]["x"] if rows else "<undefined>"))
        except Exception as exc:
            out.append((False, str(exc)))
    return out


def _documents(paths: Sequence[str]) -> list[Any]:
    values = []
    for path in paths:
        try:
            values.append(_ENGINE.eval_document(path, {}))
        except Exception:
            values.append(None)
    return values


# ---------------------------------------------------------------- in the test process


class RealOpa:
    """OPA's evaluator loaded with a PolicySet (optionally its *_test.rego modules too), in a child."""

    def __init__(self, policy_set: PolicySet | None, *, with_tests: bool = False) -> None:
        modules: list[tuple[str, str]] = []
        data: Mapping[str, Any] = {}
        if policy_set is not None:
            chosen = list(policy_set.modules) + (list(policy_set.test_modules) if with_tests else [])
            modules = [(m.path, m.source) for m in chosen]
            data = policy_set.data
            self._queries = {scope: entry_query(policy_set, scope) for scope in SCOPES}
        self._policy_set = policy_set
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=(modules, dict(data)))

    def queries(self, queries: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[bool, Any]]:
        return self._pool.submit(_queries, list(queries)).result()

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]], scope: str = "group"
                 ) -> dict[str, RawResult]:
        answers = self.queries([(self._queries[scope], document) for _, document in inputs])
        results = {}
        for (key, _), (ok, value) in zip(inputs, answers, strict=True):
            assert ok and value != "<undefined>", f"real OPA failed on {key}: {value}"
            results[key] = value
        return results

    def test_rules(self) -> list[tuple[str, bool]]:
        """(data path of each test_* rule, passed) for every *_test.rego module."""
        assert self._policy_set is not None
        paths = []
        for module in self._policy_set.test_modules:
            for line in module.source.splitlines():
                if line.startswith("test_"):
                    paths.append(f"{module.package}.{line.split()[0].split('(')[0]}")
        values = self._pool.submit(_documents, paths).result()
        return [(path, value is True) for path, value in zip(paths, values, strict=True)]

    def close(self) -> None:
        self._pool.shutdown()
