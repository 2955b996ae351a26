"""Batches of group inputs, spread over worker threads and servers: all of them or an error."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checker.engines import RawResult
from checker.engines.opa.messages import ServerDown
from checker.engines.opa.rest import OpaServer
from checker.errors import CheckerError, EngineError, Problem

BATCH_GROUPS = 200  # groups per request ...
BATCH_BYTES = 4 * 1024 * 1024  # ... or about this much JSON, whichever comes first


def make_batches(inputs: Sequence[tuple[str, Mapping[str, Any]]], max_groups: int = BATCH_GROUPS,
                 max_bytes: int = BATCH_BYTES) -> list[list[tuple[str, Mapping[str, Any]]]]:
    """Consecutive runs of inputs, each at most max_groups long and about max_bytes of JSON.

    A single input larger than max_bytes gets a batch of its own."""
    batches: list[list[tuple[str, Mapping[str, Any]]]] = []
    current: list[tuple[str, Mapping[str, Any]]] = []
    size = 0
    for key, document in inputs:
        item_size = len(json.dumps(document, separators=(",", ":"))) + len(key) + 4
        if current and (len(current) >= max_groups or size + item_size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append((key, document))
        size += item_size
    if current:
        batches.append(current)
    return batches


@dataclass
class Batch:
    index: int
    items: list[tuple[str, Mapping[str, Any]]]
    tried: list[str] = field(default_factory=list)  # server urls that failed it


Worker = tuple[OpaServer, Any]  # a server and one client (HTTP session) of it
EvaluateBatch = Callable[[OpaServer, Any, Batch], dict[str, RawResult]]


class Dispatcher:
    """Runs batches on worker threads spread over servers; all of them or an error, never part.

    A batch that meets ServerDown is retried once on another healthy server; the failing server
    takes no more batches. Any other error ends the run."""

    def __init__(self, workers: Sequence[Worker], batches: Sequence[Batch], evaluate: EvaluateBatch,
                 max_tries: int = 2) -> None:
        self._workers = list(workers)
        self._queue: deque[Batch] = deque(batches)
        self._remaining = len(batches)
        self._evaluate = evaluate
        self._max_tries = max_tries
        self._cond = threading.Condition()
        self._down: dict[str, str] = {}
        self._error: CheckerError | None = None
        self._stopped = False
        self._results: dict[str, RawResult] = {}
        self._servers = {server.url for server, _client in self._workers}

    def run(self) -> dict[str, RawResult]:
        threads = [threading.Thread(target=self._work, args=worker, daemon=True, name=f"opa-{n}")
                   for n, worker in enumerate(self._workers)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # short joins keep Ctrl-C deliverable to the main thread
        except BaseException:
            self.stop()
            raise
        if self._error is not None:
            raise self._error
        if self._remaining:
            raise EngineError(f"{self._remaining} batch(es) were not evaluated; the run is incomplete")
        return self._results

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _take(self, url: str) -> Batch | None:
        for batch in self._queue:
            if url not in batch.tried:
                self._queue.remove(batch)
                return batch
        return None

    def _work(self, server: OpaServer, client: Any) -> None:
        while True:
            with self._cond:
                batch = None
                while batch is None:
                    if self._stopped or self._error is not None or not self._remaining or server.url in self._down:
                        return
                    batch = self._take(server.url)
                    if batch is None:
                        self._cond.wait(0.5)
            try:
                results = self._evaluate(server, client, batch)
            except ServerDown as exc:
                with self._cond:
                    self._down[server.url] = str(exc)
                    batch.tried.append(server.url)
                    self._queue.appendleft(batch)
                    self._fail_stranded()
                    self._cond.notify_all()
                return
            except CheckerError as exc:
                self._set_error(exc)
                return
            except BaseException as exc:  # fail closed: an unexpected error must not read as a pass
                self._set_error(EngineError(f"evaluating on {server.url} failed unexpectedly: {exc!r}"))
                return
            with self._cond:
                self._results.update(results)
                self._remaining -= 1
                self._cond.notify_all()

    def _set_error(self, error: CheckerError) -> None:
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    def _fail_stranded(self) -> None:
        """Called with the lock held: end the run if a queued batch has nowhere left to go."""
        healthy = self._servers - set(self._down)
        for batch in self._queue:
            if len(batch.tried) >= self._max_tries or not (healthy - set(batch.tried)):
                problems = [Problem("", None, reason) for reason in self._down.values()]
                first = batch.items[0][0] if batch.items else "?"
                problems.append(Problem("", None, (
                    f"a batch of {len(batch.items)} group(s) (first: {first}) could not be evaluated on any "
                    f"healthy OPA server; the run is incomplete")))
                if self._error is None:
                    self._error = EngineError(problems)
                return
