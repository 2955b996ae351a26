"""What an OPA server's failures mean, as checker errors and messages (pure)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

import requests

from checker.errors import EngineError, Problem

EVAL_ERROR_MESSAGE = "error(s) occurred while evaluating query"  # OPA's types.MsgEvaluationError
TOKEN_HINT = "the server requires a bearer token: pass --opa-token / CHECKER_OPA_TOKEN"

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


class ServerDown(EngineError):
    """This server cannot serve the run any more (unreachable, timed out, 5xx, lost our policies).

    Batches are idempotent, so a batch that met this may be retried on another server."""


class EvaluationFailed(EngineError):
    """OPA evaluated the batch and reported a runtime error: deterministic, so not retried elsewhere."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)


def connection_reason(exc: BaseException) -> str:
    """`[Errno 111] Connection refused` -> "connection refused"; the exception class otherwise."""
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(1).strip().lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    return type(exc).__name__


def unreachable_message(url: str, exc: BaseException) -> str:
    return (f"cannot reach the OPA server at {url}: {connection_reason(exc)}. Check that it is running and that "
            f"--opa-url is right, or omit --opa-url to let checker start a local `opa`")


def timeout_message(url: str, what: str, timeout: float) -> str:
    return (f"the OPA server at {url} did not answer {what} within {timeout:g}s (the engine timeout): check the "
            f"server's health and load, or spread the run over more servers (--opa-url, repeatable)")


def auth_message(url: str, status: int | str, token_given: bool) -> str:
    if token_given:
        return (f"the OPA server at {url} refused the bearer token (HTTP {status}): check --opa-token / "
                f"CHECKER_OPA_TOKEN and the server's system.authz policy")
    return f"the OPA server at {url} refused the request (HTTP {status}): {TOKEN_HINT}"


def clean_message(message: str, namespace: str, names: Mapping[str, str]) -> str:
    """OPA's text with our policy ids shown as the original files and the namespace taken out."""
    for pid in sorted(names, key=len, reverse=True):
        message = message.replace(pid, names[pid])
    return message.replace(f"data.{namespace}.", "data.").replace(f"{namespace}.", "")


def opa_problems(errors: Any, namespace: str, names: Mapping[str, str], fallback_file: str = "",
                 fallback: str = "") -> list[Problem]:
    """OPA's error list [{"code", "message", "location": {"file", "row", "col"}}] -> Problems.

    file is a policy id of this run, mapped back to the original display path; rows need no
    mapping because the namespace rewrite never adds or removes lines."""
    problems: list[Problem] = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        location: dict[str, Any] = error["location"] if isinstance(error.get("location"), dict) else {}
        file = names.get(str(location.get("file") or ""), str(location.get("file") or fallback_file))
        row = location.get("row")
        code = error.get("code")
        text = clean_message(str(error.get("message") or ""), namespace, names)
        problem = Problem(file, row if isinstance(row, int) and row > 0 else None,
                          f"{code}: {text}" if code else text)
        if problem not in problems:
            problems.append(problem)
    if not problems:
        problems.append(Problem(fallback_file, None, clean_message(fallback or "rejected by OPA", namespace, names)))
    return problems


def json_body(response: requests.Response) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            return body
    return {}


def looks_like_eval_error(status: int, body: Mapping[str, Any]) -> bool:
    if status != 500:
        return False
    errors: list[Any] = body["errors"] if isinstance(body.get("errors"), list) else []
    codes = [e.get("code", "") for e in errors if isinstance(e, dict)]
    return body.get("message") == EVAL_ERROR_MESSAGE or any(str(c).startswith("eval_") for c in codes)
