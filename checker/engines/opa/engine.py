"""OpaEngine: the PolicyEngine on OPA servers, tying the rooms of this package together."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checker.engines import EngineOptions, RawResult, scope_rules
from checker.engines.opa.dispatch import Batch, Dispatcher, make_batches
from checker.engines.opa.messages import EvaluationFailed, ServerDown
from checker.engines.opa.namespacing import (
    NAMESPACE_PREFIX,
    WRAPPER_PREFIX,
    namespace_source,
    policy_id,
    results_rule,
    upload_order,
    wrapper_module,
)
from checker.engines.opa.process import READY_TIMEOUT, LocalOpa, binary_version, find_opa
from checker.engines.opa.rego_tests import distinct_test_rules, rego_test_verdict, run_opa_test
from checker.engines.opa.rest import OpaServer, short_error
from checker.errors import CheckerError, EngineError, PolicyError, Problem
from checker.models import Engine as EngineInfo
from checker.models import RuleInfo
from checker.policies import Module, PolicySet

MAX_WORKERS_PER_SERVER = 8


@dataclass(frozen=True)
class Upload:
    pid: str
    path: str  # display path
    source: str  # namespaced


def identify(options: EngineOptions) -> tuple[EngineInfo, str]:
    """(what the engine reports as, its cache identity), before anything is uploaded: each server's
    OPA version read over the API, or the local binary's `opa version`. Raises when a server
    cannot be reached or no `opa` is found."""
    urls = server_urls(options)
    if not urls:
        binary = _local_binary()
        version = binary_version(binary)
        return EngineInfo("opa", version), f"local opa {version}"
    versions = {url: OpaServer(url, options.opa_token, options.timeout, f"{NAMESPACE_PREFIX}probe", {}).probe_version()
                for url in urls}
    return (EngineInfo("opa", ", ".join(dict.fromkeys(versions.values()))),
            " ".join(f"{url}={version}" for url, version in sorted(versions.items())))


def server_urls(options: EngineOptions) -> tuple[str, ...]:
    # The same server twice would get the run twice and see its second cleanup fail.
    return tuple(dict.fromkeys(url.strip().rstrip("/") for url in options.opa_urls))


def _local_binary() -> str:
    binary = find_opa()
    if binary is None:
        raise CheckerError("--engine opa needs an OPA server: install OPA (the `opa` binary on PATH, see "
                           "https://www.openpolicyagent.org/docs/#running-opa) or pass --opa-url URL "
                           "(env CHECKER_OPA_URL)")
    return binary


class OpaEngine:
    """PolicyEngine on OPA servers (--opa-url, repeatable) or on a local `opa run --server`."""

    def __init__(self, policy_set: PolicySet, options: EngineOptions) -> None:
        self._options = options
        self._policy_set = policy_set
        run = secrets.token_hex(6)
        self.namespace = f"{NAMESPACE_PREFIX}{run}"
        self.wrapper_package = f"{WRAPPER_PREFIX}{run}"
        self._names: dict[str, str] = {}
        self._uploads = self._prepare(policy_set.modules, start=0)
        self._test_uploads: list[Upload] | None = None
        wrapper_id = f"{self.namespace}/batch/wrapper.rego"
        self._names[wrapper_id] = "(checker's batch wrapper)"
        self._wrapper = Upload(wrapper_id, self._names[wrapper_id],
                               wrapper_module(self.wrapper_package, self.namespace, policy_set.rules))
        self._local: LocalOpa | None = None
        self._servers: list[OpaServer] = []
        self._dispatcher: Dispatcher | None = None
        self._closed = False
        self.info = EngineInfo("opa", "unknown")
        try:
            urls = server_urls(options)
            if not urls:
                urls = (self._start_local(),)
            self._servers = [OpaServer(url, options.opa_token, options.timeout, self.namespace, self._names)
                             for url in urls]
            versions = [self._install(server) for server in self._servers]
            self.info = EngineInfo("opa", ", ".join(dict.fromkeys(versions)))
        except BaseException:
            self.close()
            raise

    def _prepare(self, modules: Sequence[Module], start: int, sources: Mapping[str, str] | None = None
                 ) -> list[Upload]:
        """Uploads for modules; sources replaces a module's text before namespacing (by path)."""
        uploads = []
        for index, module in enumerate(upload_order(modules), start=start):
            pid = policy_id(self.namespace, index, module.path)
            self._names[pid] = module.path
            source = (sources or {}).get(module.path, module.source)
            uploads.append(Upload(pid, module.path, namespace_source(source, self.namespace)))
        return uploads

    def _start_local(self) -> str:
        binary = _local_binary()
        ready_timeout = float(self._options.extra.get("opa_ready_timeout", READY_TIMEOUT))
        self._local = LocalOpa.start(binary, ready_timeout)
        return self._local.url

    def _install(self, server: OpaServer) -> str:
        server.check_health()
        client = server.new_client()
        server.put_data(client, self._policy_set.data)
        self._upload_modules(server, client, [*self._uploads, self._wrapper])
        version = server.read_version(client, f"{self.wrapper_package}/ready")
        if version == "unknown" and self._local is not None:
            version = binary_version(self._local.binary)
        return version

    def _upload_modules(self, server: OpaServer, client: Any, uploads: Sequence[Upload]) -> None:
        """PUT every module; retry the rejected ones while others get in (a module may need a
        helper package that is uploaded after it); what still fails is a policy error."""
        pending = list(uploads)
        while pending:
            rejected: list[tuple[Upload, list[Problem]]] = []
            for upload in pending:
                problems = server.put_policy(client, upload.pid, upload.source)
                if problems:
                    rejected.append((upload, problems))
            if len(rejected) == len(pending):
                problems = [p for _upload, found in rejected for p in found]
                rejected_by = Problem("", None, f"the OPA server at {server.url} rejected the policies above "
                                                f"(PUT /v1/policies)")
                raise PolicyError([*dict.fromkeys(problems), rejected_by])
            pending = [upload for upload, _problems in rejected]

    # -- evaluation

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]], scope: str = "group"
                 ) -> dict[str, RawResult]:
        rules = scope_rules(self._policy_set, scope)
        if self._closed:
            raise EngineError("the OPA engine is closed")
        if not inputs:
            return {}
        keys = [key for key, _document in inputs]
        if len(set(keys)) != len(keys):
            raise EngineError("duplicate input keys in one evaluation")
        batches = [Batch(n, items) for n, items in enumerate(make_batches(inputs))]
        per_server = max(1, min(self._options.jobs, MAX_WORKERS_PER_SERVER, len(batches)))
        workers = [(server, server.new_client()) for server in self._servers for _ in range(per_server)]
        self._dispatcher = Dispatcher(workers, batches,
                                      lambda server, client, batch: self._evaluate_batch(server, client, batch,
                                                                                         scope, rules))
        try:
            results = self._dispatcher.run()
        finally:
            self._dispatcher = None
            for server, client in workers:
                server.release(client)
        missing = [key for key in keys if key not in results]
        if missing:
            raise EngineError(f"no result for {len(missing)} input(s) (first: {missing[0]}); the run is incomplete")
        return {key: results[key] for key in keys}

    def _evaluate_batch(self, server: OpaServer, client: Any, batch: Batch, scope: str,
                        rules: Mapping[str, RuleInfo]) -> dict[str, RawResult]:
        try:
            answer = server.query(client, self.wrapper_package, results_rule(scope),
                                  {"batch": {key: document for key, document in batch.items}})
        except EvaluationFailed as exc:
            if len(batch.items) > 1:
                raise self._isolate(server, client, batch, scope) from None
            key = batch.items[0][0]
            raise EngineError([Problem(p.file, p.line, f"evaluating group {key}: {p.message}")
                               for p in exc.problems]) from None
        if "result" not in answer:
            raise ServerDown(f"the OPA server at {server.url} no longer serves the run's policies (was it "
                             f"restarted, or were they deleted?)")
        results = answer["result"]
        if not isinstance(results, dict):
            raise EngineError(f"the OPA server at {server.url} answered the batch with {type(results).__name__}, "
                              f"not an object")
        undefined = [key for key, _document in batch.items if not isinstance(results.get(key), dict)]
        if undefined:
            shown = ", ".join(undefined[:5]) + (f" and {len(undefined) - 5} more" if len(undefined) > 5 else "")
            raise EngineError(f"the rules' deny/warn sets came back undefined for group(s) {shown} on "
                              f"{server.url}: every rule family's deny/warn must be a partial set "
                              f"(`deny contains ...`), defined for every input")
        for key, _document in batch.items:
            self._check_shape(server, key, results[key], rules)
        return {key: results[key] for key, _document in batch.items}

    @staticmethod
    def _check_shape(server: OpaServer, key: str, raw: Mapping[str, Any], rules: Mapping[str, RuleInfo]) -> None:
        """The answer holds exactly the families and levels the wrapper asks for, each a list: a
        missing one would read as "no findings", one not asked for is not OPA's answer to this run."""
        for rule in rules.values():
            levels = raw.get(rule.rule_id)
            for level in rule.levels:
                if not isinstance(levels, dict) or not isinstance(levels.get(level), list):
                    raise EngineError(f"the OPA server at {server.url} answered group {key} without a "
                                      f"{rule.rule_id} {level} set; the run is incomplete")
        extra = [str(rule_id) for rule_id in raw if rule_id not in rules]
        extra += [f"{rule_id} {level}" for rule_id, rule in rules.items() for level in raw[rule_id]
                  if level not in rule.levels]
        if extra:
            raise EngineError(f"the OPA server at {server.url} answered group {key} with {', '.join(extra[:5])}, "
                              f"which checker did not ask for: is another process writing to its policies?")

    def _isolate(self, server: OpaServer, client: Any, batch: Batch, scope: str) -> EngineError:
        """After an evaluation error in a batch, evaluate its groups one by one to name the culprits."""
        problems: list[Problem] = []
        for key, document in batch.items:
            try:
                server.query(client, self.wrapper_package, results_rule(scope), {"batch": {key: document}})
            except EvaluationFailed as exc:
                problems.extend(Problem(p.file, p.line, f"evaluating group {key}: {p.message}") for p in exc.problems)
        return EngineError(problems or [Problem("", None, f"the OPA server at {server.url} reported an "
                                                          f"evaluation error for a batch, but not for any single "
                                                          f"group of it")])

    # -- the *_test.rego tests

    def run_rego_tests(self, policy_set: PolicySet) -> list[tuple[str, bool, str]]:
        """(name, passed, detail) for every test_* rule: `opa test` when the binary is on PATH,
        else evaluated on the first server after uploading the test modules (namespaced)."""
        if not policy_set.test_modules:
            return []
        binary = find_opa()
        if binary is not None:
            results, _coverage = run_opa_test(binary, policy_set, coverage=False,
                                              timeout=max(self._options.timeout, 300.0))
            return results
        return self._remote_tests(policy_set)

    def coverage(self, policy_set: PolicySet) -> float:
        """The percentage `opa test --coverage` reports (needs the binary on PATH)."""
        binary = find_opa()
        if binary is None:
            raise CheckerError("test coverage needs the `opa` binary on PATH (`opa test --coverage`)")
        _results, percent = run_opa_test(binary, policy_set, coverage=True,
                                         timeout=max(self._options.timeout, 300.0))
        return percent if percent is not None else 0.0

    def _remote_tests(self, policy_set: PolicySet) -> list[tuple[str, bool, str]]:
        server = self._servers[0]
        client = server.new_client()
        planned = distinct_test_rules(policy_set.test_modules)
        if self._test_uploads is None:
            self._test_uploads = self._prepare(policy_set.test_modules, start=len(self._uploads),
                                               sources={path: source for path, (source, _tests) in planned.items()})
            self._upload_modules(server, client, self._test_uploads)
        results = []
        for module in policy_set.test_modules:
            package = module.package
            if package is None:
                continue
            for test in planned[module.path][1]:
                path = "/".join([self.namespace, *package.split("."), test.uploaded])
                label = f"{package}.{test.name}"
                where = f"{module.path}:{test.line}"
                try:
                    answer = server.get_rule(client, path)
                except EvaluationFailed as exc:
                    results.append((label, False, f"{where}: error: {exc}"))
                    continue
                passed, why = rego_test_verdict(answer.get("result"), test.parametrized)
                results.append((label, passed, "" if passed else f"{where}: {why}"))
        return results

    # -- the end

    def close(self) -> None:
        """Remove what this run uploaded and stop a local server; never raises."""
        if self._closed:
            return
        self._closed = True
        if self._dispatcher is not None:
            self._dispatcher.stop()
        for server in self._servers:
            if self._local is None:  # a local server is stopped whole; a shared one is cleaned up
                try:
                    left = server.remove_everything()
                except Exception as exc:  # cleanup must not hide the run's outcome
                    left = [short_error(exc)]
                if left:
                    print(f"checker: warning: could not remove from the OPA server at {server.url}: "
                          f"{'; '.join(left)}", file=sys.stderr)
            server.close_clients()
        if self._local is not None:
            self._local.stop()
