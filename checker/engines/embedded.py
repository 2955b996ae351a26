"""The embedded engine: regopy (rego-cpp) in worker processes.

Why processes: regopy releases the GIL but an Interpreter must not be shared between threads,
and a native crash in a worker must fail the run (exit 2), never pass it. Each worker compiles
the policies once into a bundle and then evaluates one group input per query.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from importlib import metadata
from typing import Any

from checker import rego_scan
from checker.engines import SCOPES, EngineOptions, RawResult, entry_query
from checker.engines.embedded_arrays import ArrayPlan, deduplicated
from checker.engines.embedded_errors import NO_LOCATION, compile_problems, evaluation_problem
from checker.engines.workers import context, die_with_parent
from checker.errors import EngineError, PolicyError, Problem
from checker.jsonkeys import unique_keys
from checker.models import Engine as EngineInfo
from checker.policies import PolicySet
from checker.progress import Progress

BATCH_SIZE = 32
MAX_POLICY_BYTES = 256 * 1024  # all evaluated modules together; the shipped pack is ~12 KB
MAX_STATEMENTS = 2000  # top-level statements (rules, functions, imports) in all of them
MAX_FAILURES_SHOWN = 20



def regopy_version() -> str:
    try:
        return metadata.version("regopy")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


class Evaluator:
    """The policies compiled in one process, one bundle per scope's query. Not thread-safe; one per worker."""

    def __init__(self, modules: Sequence[tuple[str, str]], data: Mapping[str, Any], queries: Mapping[str, str]
                 ) -> None:
        from regopy import Interpreter
        from regopy.rego_shared import RegoError

        self._interp = Interpreter()
        self._interp.strict_built_in_errors = True  # a builtin error must not read as "no finding"
        sources = dict(modules)
        try:
            for path, source in modules:
                self._interp.add_module(path, source)
            self._interp.add_data_json(json.dumps(data))
            self._bundles = {scope: self._interp.build(query, []) for scope, query in queries.items()}
        except RegoError as exc:
            raise PolicyError(compile_problems(str(exc), sources)) from None
        if not all(bundle.ok() for bundle in self._bundles.values()):
            raise PolicyError([Problem("", None, f"policies did not compile on the embedded engine {NO_LOCATION}")])

    def evaluate(self, document: Mapping[str, Any], scope: str = "group") -> RawResult:
        from regopy.rego_shared import rego_bundle_query, rego_output_ok, rego_output_string

        set_input(self._interp, escaped_document(document))
        # Use the raw C calls: regopy's Output wrapper parses before we can check ok().
        impl = rego_bundle_query(self._interp._impl, self._bundles[scope]._impl)
        try:
            if not rego_output_ok(impl):
                raise EngineError(_failed_output_message(impl))
            text = rego_output_string(impl)
        finally:
            _free_output(impl)
        if text.startswith("(error"):
            msg = re.search(r"\(errormsg (\d+):", text)
            raise EngineError(text[msg.end(): msg.end() + int(msg.group(1))] if msg else text[:300])
        if text == "undefined":
            raise EngineError("the rules' deny/warn sets came back undefined (are they all `contains` rules?)")
        try:
            result = json.loads(text, object_pairs_hook=unique_keys)
        except ValueError as exc:
            raise EngineError(f"the embedded engine returned a result that is not valid JSON: {exc}") from None
        if not isinstance(result, dict) or set(result) != {"expressions", "bindings"} \
                or not isinstance(result["bindings"], dict) or set(result["bindings"]) != {"x"}:
            raise EngineError("the rules' deny/warn sets came back undefined or more than once "
                              "(are they all `contains` rules?)")
        value = result["bindings"]["x"]
        if not isinstance(value, dict):
            raise EngineError(f"expected an object of rule results, got {type(value).__name__}")
        return deduplicated(value)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def escaped(value: Any) -> Any:
    """The input with strings in the escaped form rego-cpp keeps strings in internally.

    rego-cpp stores a string as the text between the quotes of its JSON literal (policy literals
    and the strings it builds are escaped), but regopy's set_input passes Python strings through
    unescaped: a quote or newline from the inventory would then compare unequal to the same text
    in a policy, and corrupt (or forge) the JSON result. Strings without such characters, nearly
    all of them, are passed as they are.
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1] if _NEEDS_ESCAPE.search(value) else value
    if isinstance(value, Mapping):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(v) for v in value]
    return value


def escaped_document(document: Mapping[str, Any]) -> Any:
    """escaped(document), without walking it when no string in it needs escaping (nearly always):
    json.dumps writes a backslash exactly where a key or string holds a character _NEEDS_ESCAPE finds."""
    try:
        if "\\" not in json.dumps(document, ensure_ascii=False):
            return document
    except (TypeError, ValueError):
        pass
    return escaped(document)


def set_input(interp: Any, document: Any) -> None:
    """interp.set_input(document), built node by node with rego-cpp's C calls directly: regopy's
    own builder spends most of a small input's time in Python dispatch and string buffers (about
    half of a person-scope evaluation). Any failing call fails the evaluation."""
    from regopy.rego_shared import Code, RegoError, rego, rego_free_input, rego_new_input, rego_set_input

    handle = rego_new_input()
    string, item, obj, array = rego.regoInputString, rego.regoInputObjectItem, rego.regoInputObject, rego.regoInputArray
    failed: list[Any] = []

    def add(value: Any) -> None:
        kind = type(value)
        if kind is str:
            code = string(handle, value.encode())
        elif kind is dict:
            for key, inner in value.items():
                add(key)
                add(inner)
                if item(handle) != Code.OK:
                    failed.append(value)
            code = obj(handle, len(value))
        elif kind is list or kind is tuple:
            for inner in value:
                add(inner)
            code = array(handle, len(value))
        elif kind is bool:
            code = rego.regoInputBoolean(handle, value)
        elif kind is int:
            code = rego.regoInputInt(handle, value)
        elif kind is float:
            code = rego.regoInputFloat(handle, value)
        elif value is None:
            code = rego.regoInputNull(handle)
        else:
            raise EngineError(f"cannot pass a {kind.__name__} to the embedded engine")
        if code != Code.OK:
            failed.append(value)

    try:
        add(document)
        if failed:
            raise EngineError(f"the embedded engine refused an input value ({json_preview(failed[0])})")
        rego_set_input(interp._impl, handle)
    except RegoError as exc:
        raise EngineError(f"the embedded engine refused the input: {exc}") from None
    finally:
        rego_free_input(handle)


def json_preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _failed_output_message(impl: Any) -> str:
    """The error messages of a failed output, read node by node (str() of it has segfaulted)."""
    from regopy import NodeKind
    from regopy.rego_shared import rego_node_get, rego_node_size, rego_node_type, rego_node_value, rego_output_node

    messages = []
    try:
        root = rego_output_node(impl)
        for i in range(rego_node_size(root)):
            error = rego_node_get(root, i)
            for j in range(rego_node_size(error)):
                child = rego_node_get(error, j)
                if rego_node_type(child) == NodeKind.ErrorMessage:
                    messages.append(rego_node_value(child))
    except Exception:  # pragma: no cover - best effort: the run fails either way
        pass
    return "; ".join(messages) or "evaluation failed"


def _free_output(impl: Any) -> None:
    from regopy.rego_shared import rego_free_output

    rego_free_output(impl)


# ---------------------------------------------------------------- worker processes

_WORKER: Evaluator | None = None


def _stdout_to_stderr() -> None:
    """rego-cpp prints compile errors on stdout; in a worker that would corrupt --format json."""
    sys.stdout.flush()
    os.dup2(2, 1)


def _init_worker(parent: int, modules: Sequence[tuple[str, str]], data: Mapping[str, Any],
                 queries: Mapping[str, str]) -> None:
    global _WORKER
    die_with_parent(parent)
    _stdout_to_stderr()
    try:
        _WORKER = Evaluator(modules, data, queries)
    except PolicyError:
        _WORKER = None  # reported by the parent, which compiled first


def _evaluate_batch(scope: str, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, bool, Any]]:
    """(key, ok, raw result or error message) for each input."""
    assert _WORKER is not None, "worker has no compiled policies"
    out: list[tuple[str, bool, Any]] = []
    for key, document in batch:
        try:
            out.append((key, True, _WORKER.evaluate(document, scope)))
        except EngineError as exc:
            out.append((key, False, str(exc)))
    return out


def _weight(item: tuple[str, Mapping[str, Any]]) -> int:
    group = item[1].get("group")
    members = group.get("members") if isinstance(group, Mapping) else None
    return len(members) if isinstance(members, list) else 0


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def check_size(policy_set: PolicySet) -> None:
    """rego-cpp compiles in superlinear time (2,000 one-line rules: ~6 s; 4,000: ~45 s, per worker):
    past these documented limits the embedded engine refuses the policies (exit 2) rather than hold
    the run; OPA compiles them in about linear time."""
    total = sum(len(module.source.encode()) for module in policy_set.modules)
    statements = {module.path: rego_scan.statement_count(module.source) for module in policy_set.modules}
    largest = max(policy_set.modules, key=lambda m: len(m.source), default=None)
    where = largest.path if largest is not None else ""
    if total > MAX_POLICY_BYTES:
        raise PolicyError([Problem(where, None, f"the policy modules total {total:,} bytes, over the embedded "
                                                f"engine's limit of {MAX_POLICY_BYTES:,} (it compiles in "
                                                f"superlinear time; this is the largest module) — use --engine opa")])
    if sum(statements.values()) > MAX_STATEMENTS:
        busiest = max(statements, key=lambda path: statements[path])
        raise PolicyError([Problem(busiest, None, f"the policy modules hold {sum(statements.values()):,} top-level "
                                                  f"statements, over the embedded engine's limit of "
                                                  f"{MAX_STATEMENTS:,} (it compiles in superlinear time; this "
                                                  f"module holds {statements[busiest]:,}) — use --engine opa")])


class EmbeddedEngine:
    def __init__(self, policy_set: PolicySet, options: EngineOptions) -> None:
        from checker.engines.embedded_capabilities import check_policies

        check_size(policy_set)
        refused = check_policies({m.path: m.source for m in policy_set.modules}, regopy_version())
        if refused:
            raise PolicyError([Problem(path, line, message) for path, line, _name, message in refused])
        self.info = EngineInfo("embedded", f"regopy {regopy_version()}")
        # Compiled with deny/warn rules as arrays (embedded_arrays: rego-cpp builds sets in
        # quadratic time); same lines, so error locations still point into the sources.
        plan = ArrayPlan(tuple((m.path, m.source) for m in policy_set.modules), policy_set.rules)
        self._modules = plan.modules
        self._sources = {m.path: m.source for m in policy_set.modules}
        self._data = dict(policy_set.data)
        self._queries = {scope: entry_query(policy_set, scope, plan.level_ref) for scope in SCOPES}
        self._jobs = max(1, options.jobs)
        self._progress = options.progress
        self._pool: ProcessPoolExecutor | None = None
        # Compile once here, in a throwaway process, so policy errors surface with file and line
        # before any worker starts (and a compile-time crash cannot take the parent down).
        self._compile_check()

    def _compile_check(self) -> None:
        with ProcessPoolExecutor(1, mp_context=context()) as pool:
            try:
                problems = pool.submit(_compile_only, os.getpid(), self._modules, self._data, self._queries).result()
            except BrokenProcessPool:
                raise EngineError("the embedded engine crashed while compiling the policies") from None
        if problems:
            raise PolicyError(problems)

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]], scope: str = "group"
                 ) -> dict[str, RawResult]:
        if scope not in self._queries:
            raise EngineError(f"unknown evaluation scope {scope!r}")
        if not inputs:
            return {}
        pool = self._ensure_pool()
        results: dict[str, RawResult] = {}
        failures = []
        # Largest groups first: a 500-member group costs a hundred small ones, and one left for
        # last would keep a core idle while the other finishes it.
        ordered = sorted(inputs, key=_weight, reverse=True)
        progress = Progress("evaluating", len(ordered), self._progress)
        try:
            for batch_result in pool.map(partial(_evaluate_batch, scope), _batches(ordered, BATCH_SIZE)):
                progress.advance(len(batch_result))
                for key, ok, value in batch_result:
                    if ok:
                        results[key] = value
                    else:
                        failures.append(evaluation_problem(key, value, self._sources))
        except BrokenProcessPool:
            self.close()
            raise EngineError("an embedded engine worker died during evaluation (a native crash); "
                              "the run is incomplete — try --engine opa") from None
        finally:
            progress.close()
        if failures:
            shown = failures[:MAX_FAILURES_SHOWN]
            if len(failures) > len(shown):
                shown.append(Problem("", None, f"... and {len(failures) - len(shown)} more groups failed the same way"))
            raise EngineError(shown)
        return results

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._jobs, mp_context=context(), initializer=_init_worker,
                                             initargs=(os.getpid(), self._modules, self._data, self._queries))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _compile_only(parent: int, modules: Sequence[tuple[str, str]], data: Mapping[str, Any],
                  queries: Mapping[str, str]) -> list[Problem]:
    die_with_parent(parent)
    _stdout_to_stderr()
    try:
        Evaluator(modules, data, queries)
    except PolicyError as exc:
        return exc.problems
    return []

