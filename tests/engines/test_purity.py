"""Untrusted policies (the change's own, in `checker diff`) run only if every call is pure (SPEC §6).

The head's policies call http.send to a loopback server that counts requests: the run must exit 2
naming the file, line and call, and the server must receive nothing, on every engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checker import policies
from checker.engines.purity import PURE_BUILTINS, impure_calls
from checker.policies import Module
from testing import real_opa
from testing.gitorg import GitOrg, make_org
from testing.opa_rest_shim import serving
from tests.conftest import run_checker

AS_OF = "2026-11-29"
RULE = "policies/phone_home/phone_home.rego"


class Listener:
    """A loopback HTTP server that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_GET

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def phone_home(url: str, call: str = "http.send") -> str:
    return f"""\
package access.phone_home

import rego.v1

deny contains msg if {{
\tresponse := {call}({{"method": "GET", "url": "{url}/leak"}})
\tmsg := sprintf("%v", [response.status_code])
}}
"""


def org_with_head_policy(tmp_path: Path, source: str) -> GitOrg:
    org = make_org(tmp_path / "repo")  # main, then branch `pr` checked out
    org.write({RULE: source})
    org.commit("a rule that phones home")
    return org


def diff(org: GitOrg, *extra: str) -> tuple[int, str]:
    proc = run_checker("diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF, "--no-cache",
                       "--format", "json", *extra)
    return proc.returncode, proc.stderr


def test_head_policy_calling_http_send_is_refused_on_the_embedded_engine(tmp_path: Path,
                                                                          listener: Listener) -> None:
    org = org_with_head_policy(tmp_path, phone_home(listener.url))
    code, stderr = diff(org, "--engine", "embedded")
    assert code == 2, stderr
    assert f"{RULE}:6: untrusted policy calls http.send" in stderr
    assert "Traceback" not in stderr
    assert listener.requests == []


@pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)
def test_head_policy_calling_http_send_never_reaches_an_opa_server(tmp_path: Path, listener: Listener) -> None:
    org = org_with_head_policy(tmp_path, phone_home(listener.url))
    with serving() as (opa,):
        code, stderr = diff(org, "--engine", "opa", "--opa-url", opa.url)
    assert code == 2, stderr
    assert f"{RULE}:6: untrusted policy calls http.send" in stderr
    assert listener.requests == []


def test_passing_an_impure_builtin_in_with_is_refused(tmp_path: Path, listener: Listener) -> None:
    source = phone_home(listener.url, "data.lib.tiny.fetch").replace(
        "\tmsg := sprintf", "\t\twith data.lib.tiny.fetch as http.send\n\tmsg := sprintf")
    org = org_with_head_policy(tmp_path, source)
    code, stderr = diff(org)
    assert code == 2, stderr
    assert f"{RULE}:7: untrusted policy passes http.send in a `with`" in stderr
    assert listener.requests == []


def test_a_pure_head_policy_still_shows_its_impact(tmp_path: Path) -> None:
    org = org_with_head_policy(tmp_path, """\
package access.phone_home

import rego.v1

deny contains msg if {
\tcount(input.group.members) > 1
\tmsg := sprintf("%d members", [count(input.group.members)])
}
""")
    code, stderr = diff(org)
    assert code == 0, stderr


@pytest.mark.parametrize(("call", "why"), [
    ("http.send({})", "reaches outside"),
    ("net.lookup_ip_addr(\"example.com\")", "reaches outside"),
    ("net.cidr_contains(\"10.0.0.0/8\", \"10.1.1.1\")", "reaches outside"),
    ("opa.runtime()", "reaches outside"),
    ("rego.parse_module(\"x.rego\", input.group.description)", "reaches outside"),
    ("print(1)", "reaches outside"),
    ("uuid.rfc4122(\"x\")", "reaches outside"),
    ("custom.exfiltrate(1)", "not on checker's list of pure builtins"),
    ("data.lib.nowhere(1)", "not on checker's list of pure builtins"),
])
def test_impure_calls_are_named_with_file_and_line(call: str, why: str) -> None:
    source = f"package access.x\n\nimport rego.v1\n\ndeny contains \"m\" if {{\n\tx := {call}\n\tx\n}}\n"
    problems = impure_calls(policies.PolicySet((Module("p/x.rego", source),), (), (), {}, {}, "d"))
    assert [(p.file, p.line) for p in problems] == [("p/x.rego", 6)]
    assert why in problems[0].message


def test_pure_calls_user_functions_and_literal_parse_module_pass() -> None:
    source = """\
package access.x

import rego.v1

f(x) := upper(x)

deny contains msg if {
\tmsg := concat(" ", [f(input.group.id), sprintf("%v", [rego.parse_module("a.rego", "package a")])])
}
"""
    assert impure_calls(policies.PolicySet((Module("p/x.rego", source),), (), (), {}, {}, "d")) == []


def test_the_shipped_pack_is_pure() -> None:
    pack = policies.load_dir(Path(__file__).resolve().parents[2] / "policies")
    assert impure_calls(pack) == []
    assert "http.send" not in PURE_BUILTINS and not any(n.startswith("net.") for n in PURE_BUILTINS)
