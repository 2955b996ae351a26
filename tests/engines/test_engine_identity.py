"""Results are cached under the engine's identity: which servers, which OPA version, checked at start.

An OPA engine that cannot be reached fails the run (exit 2) even when every result is in the cache,
and results one server produced never answer for another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.engines import EngineOptions, static_info
from checker.engines.opa.process import free_port
from checker.errors import CheckerError
from testing import real_opa
from testing.opa_rest_shim import serving
from tests.conftest import ROOT, run_checker

needs_bindings = pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)


def cached_audit(cache: Path, *engine: str) -> tuple[int, str, str]:
    proc = run_checker("audit", *engine, "--inventories", str(ROOT / "inventories"), "--policies",
                       str(ROOT / "policies"), "--format", "json", "--as-of", "2026-11-29",
                       env={"CHECKER_CACHE_DIR": str(cache)})
    return proc.returncode, proc.stdout, proc.stderr


def queries(shim_requests: list[tuple[str, str]]) -> int:
    return sum(1 for method, path in shim_requests if method == "POST" and "/v1/data/" in path)


@needs_bindings
def test_an_unreachable_server_fails_even_when_every_result_is_cached(tmp_path: Path) -> None:
    with serving() as (opa,):
        code, out, stderr = cached_audit(tmp_path, "--engine", "opa", "--opa-url", opa.url)
        assert code == 1, stderr
        version = json.loads(out)["engine"]["version"]
        code, out, stderr = cached_audit(tmp_path, "--engine", "opa", "--opa-url", opa.url)
        assert code == 1, stderr
        assert json.loads(out)["engine"]["version"] == version  # the probed version, not "not contacted"
        before = queries(opa.requests)
        cached_audit(tmp_path, "--engine", "opa", "--opa-url", opa.url)
        assert queries(opa.requests) == before  # warm: every result from the cache
        url = opa.url
    code, out, stderr = cached_audit(tmp_path, "--engine", "opa", "--opa-url", url)
    assert code == 2, (out, stderr)
    assert f"cannot reach the OPA server at {url}" in stderr
    assert json.loads(out)["error"] is True  # the report says so, never findings from the cache


@needs_bindings
def test_results_of_one_server_do_not_answer_for_another(tmp_path: Path) -> None:
    with serving(2) as (first, second):
        assert cached_audit(tmp_path, "--engine", "opa", "--opa-url", first.url)[0] == 1
        assert cached_audit(tmp_path, "--engine", "opa", "--opa-url", second.url)[0] == 1
        assert queries(second.requests) >= 1  # evaluated there, not read from the first one's results


def test_the_identity_names_each_server_and_fails_on_a_dead_one() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CheckerError, match="cannot reach the OPA server"):
        static_info("opa", EngineOptions(opa_urls=(dead,), timeout=5))
    with pytest.raises(CheckerError, match="unknown engine"):
        static_info("nope")
