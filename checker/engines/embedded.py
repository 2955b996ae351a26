"""The embedded engine: regopy (rego-cpp) in worker processes.

Why processes: regopy releases the GIL but an Interpreter must not be shared between threads,
and a native crash in a worker must fail the run (exit 2), never pass it. Each worker compiles
the policies once into a bundle and then evaluates one group input per query.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib import metadata
from typing import Any

from checker import rego_scan
from checker.engines import SCOPES, EngineOptions, RawResult, entry_query, family_queries
from checker.engines.embedded_arrays import ArrayPlan, deduplicated
from checker.engines.embedded_errors import NO_LOCATION, compile_problems, evaluation_problem
from checker.engines.embedded_input import (
    DEFAULT_STATEMENTS,
    LIMIT_MESSAGE,
    STATEMENTS_PER_VALUE,
    escaped_document,
    limit_setter,
    set_input,
    statement_limit,
)
from checker.engines.embedded_split import SPLIT_MEMBERS, balanced, member_count, merged, probe_document
from checker.engines.workers import context, die_with_parent
from checker.errors import CheckerError, EngineError, PolicyError, Problem
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
    """The policies compiled in one process, one bundle per scope's query (and, built when first
    asked for, one per family: embedded_split). Not thread-safe; one per worker."""

    base_statements = DEFAULT_STATEMENTS  # a query's statement limit before the input's share

    def __init__(self, modules: Sequence[tuple[str, str]], data: Mapping[str, Any], queries: Mapping[str, str],
                 family_queries: Mapping[str, Mapping[str, str]] | None = None) -> None:
        from regopy import Interpreter
        from regopy.rego_shared import RegoError

        self._interp = Interpreter()
        self._interp.strict_built_in_errors = True  # a builtin error must not read as "no finding"
        self._set_limit = limit_setter(self._interp)
        self._limit = DEFAULT_STATEMENTS
        self._family_queries = family_queries or {}
        self._family_bundles: dict[tuple[str, str], Any] = {}
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
        self._set_input(document)
        return self._run(self._bundles[scope])

    def evaluate_families(self, document: Mapping[str, Any], scope: str, families: Sequence[str]) -> RawResult:
        """The entries of `families` only, one query each after one set_input (embedded_split)."""
        self._set_input(document)
        return merged([self._run(self._family_bundle(scope, family)) for family in families])

    def family_costs(self, document: Mapping[str, Any], scope: str) -> dict[str, float]:
        """Family -> CPU seconds its query took on `document` (failures too: this only guides
        how a big group is split; its parts report any error)."""
        self._set_input(document)
        costs = {}
        for family in self._family_queries.get(scope, {}):
            started = time.process_time()
            with contextlib.suppress(EngineError):
                self._run(self._family_bundle(scope, family))
            costs[family] = time.process_time() - started
        return costs

    def _family_bundle(self, scope: str, family: str) -> Any:
        bundle = self._family_bundles.get((scope, family))
        if bundle is None:
            from regopy.rego_shared import RegoError

            try:
                bundle = self._interp.build(self._family_queries[scope][family], [])
            except (RegoError, KeyError) as exc:
                raise EngineError(f"the query of rule family {family} did not build: {exc}") from None
            if not bundle.ok():
                raise EngineError(f"the query of rule family {family} did not build")
            self._family_bundles[(scope, family)] = bundle
        return bundle

    def _set_input(self, document: Mapping[str, Any]) -> None:
        values = set_input(self._interp, escaped_document(document))
        if self._set_limit is not None:
            self._limit = statement_limit(values, self.base_statements)
            self._set_limit(self._limit)

    def _run(self, bundle: Any) -> RawResult:
        from regopy.rego_shared import rego_bundle_query, rego_output_ok, rego_output_string

        # Use the raw C calls: regopy's Output wrapper parses before we can check ok().
        impl = rego_bundle_query(self._interp._impl, bundle._impl)
        try:
            if not rego_output_ok(impl):
                raise EngineError(self._shown(_failed_output_message(impl)))
            text = rego_output_string(impl)
        finally:
            _free_output(impl)
        if text.startswith("(error"):
            msg = re.search(r"\(errormsg (\d+):", text)
            raise EngineError(self._shown(text[msg.end(): msg.end() + int(msg.group(1))] if msg else text[:300]))
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

    def _shown(self, message: str) -> str:
        """rego-cpp's message, with its statement limit explained (once: it repeats it per frame)."""
        if LIMIT_MESSAGE not in message:
            return message
        budget = (f"{self.base_statements:,} plus {STATEMENTS_PER_VALUE} per value in it" if self._set_limit
                  else "rego-cpp's fixed limit: this regopy does not let checker raise it")
        return (f"{LIMIT_MESSAGE}: the policies ran past the embedded engine's limit of {self._limit:,} "
                f"evaluation steps for this input ({budget}); work that grows faster than the group, such "
                f"as comparing every pair of members, ends there — use --engine opa")


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
_COMPILE_PROBLEMS: list[Problem] = []  # what compiling the policies in this worker reported


def _stdout_to_stderr() -> None:
    """rego-cpp prints compile errors on stdout; in a worker that would corrupt --format json."""
    sys.stdout.flush()
    os.dup2(2, 1)


def _init_worker(parent: int, modules: Sequence[tuple[str, str]], data: Mapping[str, Any],
                 queries: Mapping[str, str], family_queries: Mapping[str, Mapping[str, str]]) -> None:
    global _WORKER, _COMPILE_PROBLEMS
    die_with_parent(parent)
    _stdout_to_stderr()
    try:
        _WORKER = Evaluator(modules, data, queries, family_queries)
    except PolicyError as exc:
        _WORKER, _COMPILE_PROBLEMS = None, exc.problems  # the parent asks first (_compile_problems)


def _compile_problems() -> list[Problem]:
    return _COMPILE_PROBLEMS


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


def _evaluate_part(scope: str, key: str, document: Mapping[str, Any], families: Sequence[str]
                   ) -> list[tuple[str, bool, Any]]:
    """One part of a split group, in _evaluate_batch's shape."""
    assert _WORKER is not None, "worker has no compiled policies"
    try:
        return [(key, True, _WORKER.evaluate_families(document, scope, families))]
    except EngineError as exc:
        return [(key, False, str(exc))]


def _family_costs(scope: str, document: Mapping[str, Any]) -> dict[str, float]:
    assert _WORKER is not None, "worker has no compiled policies"
    try:
        return _WORKER.family_costs(document, scope)
    except EngineError:
        return {}  # the parts will fail with the message


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
    def __init__(self, policy_set: PolicySet, options: EngineOptions, split_members: int = SPLIT_MEMBERS,
                 wait: bool = True) -> None:
        from checker.engines.embedded_refusals import check_policies

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
        self._family_queries = {scope: family_queries(policy_set, scope, plan.level_ref) for scope in SCOPES}
        self._split_members = split_members
        self._jobs = max(1, options.jobs)
        self._progress = options.progress
        self._pool: ProcessPoolExecutor | None = None
        # The first worker compiles and says how that went before anything is evaluated, so policy
        # errors surface with file and line (and a compile-time crash cannot take the parent down).
        # Not waited for here when `wait` is false: the worker starts while the caller goes on, and
        # the first evaluate() waits and raises what construction would have.
        self._compiling: Future[list[Problem]] | None = self._ensure_pool().submit(_compile_problems)
        self._failed: CheckerError | None = None
        if wait:
            self._compiled()

    def _compiled(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._compiling is None:
            return
        try:
            problems = self._compiling.result()
        except BrokenProcessPool:
            problems = None
        self._compiling = None
        if problems is None or problems:
            self.close()
            self._failed = (EngineError("the embedded engine crashed while compiling the policies") if problems is None
                            else PolicyError(problems))
            raise self._failed

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]], scope: str = "group"
                 ) -> dict[str, RawResult]:
        if scope not in self._queries:
            raise EngineError(f"unknown evaluation scope {scope!r}")
        self._compiled()
        if not inputs:
            return {}
        pool = self._ensure_pool()
        # Largest groups first: a 500-member group costs a hundred small ones, and one left for
        # last would keep a core idle while the other finishes it. The biggest are split across
        # the workers by rule family (embedded_split).
        ordered = sorted(inputs, key=lambda item: member_count(item[1]), reverse=True)
        split = [item for item in ordered if self._splits(item[1], scope)]
        whole = [item for item in ordered if not self._splits(item[1], scope)]
        expected: dict[str, int] = {}
        progress = Progress("evaluating", len(ordered), self._progress)
        try:
            probes = [pool.submit(_family_costs, scope, probe_document(document)) for _key, document in split]
            tasks = []
            for (key, document), probe in zip(split, probes, strict=True):
                families = balanced(probe.result(), list(self._family_queries[scope]), self._jobs)
                expected[key] = len(families)
                tasks += [pool.submit(_evaluate_part, scope, key, document, part) for part in families]
            tasks += [pool.submit(_evaluate_batch, scope, batch) for batch in _batches(whole, BATCH_SIZE)]
            results, failures = self._collect(tasks, expected, progress)
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

    def _splits(self, document: Mapping[str, Any], scope: str) -> bool:
        return (self._jobs > 1 and len(self._family_queries[scope]) > 1
                and member_count(document) >= self._split_members)

    def _collect(self, tasks: Sequence[Future[list[tuple[str, bool, Any]]]], expected: Mapping[str, int],
                 progress: Progress) -> tuple[dict[str, RawResult], list[Problem]]:
        """Each group's result, a split group's parts merged once its `expected` parts are in, and
        the groups that failed (a split group with the message of its first failing part)."""
        results: dict[str, RawResult] = {}
        failed: dict[str, str] = {}
        received: dict[str, list[RawResult]] = {key: [] for key in expected}
        for task in tasks:
            for key, ok, value in task.result():
                if key in expected:
                    if ok:
                        received[key].append(value)
                    else:
                        failed.setdefault(key, value)
                        received[key].append({})
                    if len(received[key]) < expected[key]:
                        continue
                    if key not in failed:
                        results[key] = merged(received[key])
                elif ok:
                    results[key] = value
                else:
                    failed[key] = value
                progress.advance(1)
        return results, [evaluation_problem(key, message, self._sources) for key, message in failed.items()]

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._jobs, mp_context=context(), initializer=_init_worker,
                                             initargs=(os.getpid(), self._modules, self._data, self._queries,
                                                       self._family_queries))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

