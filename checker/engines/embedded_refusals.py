"""What the embedded engine refuses in a policy: builtins and forms off the allowlist, restricted
keywords, literals it reads differently, and shapes it evaluates wrong (embedded_pitfalls)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

from checker.engines.embedded_allowlist import ALLOWED_BUILTINS, ALLOWED_FORMS, DENIED_BUILTINS, LISTS_REGOPY_VERSION
from checker.engines.embedded_capabilities import load_known_answers, run_form_answers, run_known_answers
from checker.engines.embedded_forms import FORM_MATCHERS, form_builtin
from checker.engines.embedded_pitfalls import argument_key_problems
from checker.rego_scan import Call, function_calls, keywords_used, tokenize, unsupported_calls

# Keywords the embedded engine must not be trusted with in (non-test) policy modules.
RESTRICTED_KEYWORDS: dict[str, str] = {
    "with": "the `with` keyword in a policy rule is not supported by the embedded engine",
}


def _recheck(modules: Mapping[str, str]) -> tuple[frozenset[str], frozenset[str]]:
    """Allowed builtins and forms among those the modules call, from a fresh known-answer run."""
    called = {call.name for source in modules.values() for call in function_calls(source)}
    tested = {test.builtin for test in load_known_answers()}
    results = run_known_answers(called & tested)
    form_results = {form: reason for form, reason in run_form_answers().items() if form_builtin(form) in called}
    return (frozenset(name for name, reason in results.items() if reason is None),
            frozenset(form for form, reason in form_results.items() if reason is None))


def _call_message(name: str) -> str:
    """Why a call that is neither a policy function nor allowed is refused."""
    if name in DENIED_BUILTINS:
        reason = DENIED_BUILTINS[name]
        forms = sorted(f for f in ALLOWED_FORMS if form_builtin(f) == name)
        only = f"; only the form {' or '.join(forms)} is known to be right" if forms else ""
        if reason.startswith("got "):
            return f"builtin {name} gives wrong results on the embedded engine ({reason}){only} — use --engine opa"
        return f"builtin {name} is not supported by the embedded engine ({reason}){only} — use --engine opa"
    if name.startswith("data."):
        return (f"function {name} is not defined in the policy modules, so the embedded engine"
                " cannot vouch for it — use --engine opa")
    return f"builtin {name} is not supported by the embedded engine (it has no known-answer test) — use --engine opa"


def check_policies(modules: Mapping[str, str], regopy_version: str | None = None) -> list[tuple[str, int, str, str]]:
    """(path, line, builtin or keyword, message) for every construct the embedded engine refuses.

    The committed lists hold for the regopy they were made with (LISTS_REGOPY_VERSION, which the
    test suite checks). With any other regopy installed, the known-answer tests of the builtins and
    forms these policies use are run again first, and only what passes them is allowed.
    """
    allowed, forms = ALLOWED_BUILTINS, ALLOWED_FORMS
    if regopy_version is not None and regopy_version != LISTS_REGOPY_VERSION:
        allowed, forms = _recheck(modules)

    def accepted(call: Call) -> bool:
        return any(form_builtin(form) == call.name and FORM_MATCHERS[form](call) for form in forms)

    findings = [(str(path), line, name, _call_message(name) if allowed is ALLOWED_BUILTINS else
                 f"builtin {name} failed its known-answer test on regopy {regopy_version} — use --engine opa")
                for path, line, name in unsupported_calls(modules, allowed, accepted)]
    for path, source in modules.items():
        if str(path).endswith("_test.rego"):
            continue  # test modules may mock with `with`; only policy modules are restricted
        for keyword, line in keywords_used(source):
            if keyword in RESTRICTED_KEYWORDS:
                findings.append((str(path), line, keyword, f"{RESTRICTED_KEYWORDS[keyword]} — use --engine opa"))
        findings.extend((str(path), line, text, message) for line, text, message in literal_problems(source))
        findings.extend((str(path), line, name, message) for line, name, message in argument_key_problems(source))
    return sorted(findings, key=lambda f: (f[0], f[1], f[2]))


_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)


def literal_problems(source: str) -> list[tuple[int, str, str]]:
    """(line, literal, why) for literals OPA reads but the embedded engine does not read the same.

    rego-cpp keeps a string literal as the text between its quotes, and checker hands it input
    strings escaped the way json.dumps escapes them (see embedded.escaped): a literal escaped any
    other way ("\\u00e9", "\\/") would silently compare unequal to the same text in the input.
    A number beyond a double's range fails every evaluation with a bare "stod"."""
    found = []
    for token in tokenize(source):
        if token.kind == "number" and math.isinf(float(token.text)):
            found.append((token.line, token.text, f"the number {token.text} is beyond the embedded engine's range "
                                                   f"(a 64-bit float) — use --engine opa"))
        elif token.kind in ("string", "template") and token.text.startswith(("\"", "$\"")) and "\\" in token.text:
            for match in _ESCAPE.finditer(token.text):
                escape = match.group(1)
                char = chr(int(escape[1:], 16)) if escape.startswith("u") else None
                canonical = json.dumps(char, ensure_ascii=False)[1:-1] if char is not None else None
                if (char is not None and canonical != match.group(0)) or (char is None and escape == "/"):
                    shown = match.group(0)
                    found.append((token.line, shown, f"the escape {shown} in a string compares unequal to the "
                                                     f"same text in the input on the embedded engine: write the "
                                                     f"character itself — or use --engine opa"))
    return found
