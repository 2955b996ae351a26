"""Which policies may run untrusted: only those that call pure builtins (SPEC §6).

A pull request's own policies are evaluated for the impact section of `diff` (and judge the change
with --bootstrap). On a shared OPA fleet a policy calling `http.send`, `net.lookup_ip_addr` or
`opa.runtime()` would reach the network or read the server's environment, so such policies are
refused before any engine sees them, on every engine. The list is an allowlist: a builtin that is
not on it (a new OPA builtin, a typo, an unresolved function) is refused too, naming the call.
"""

from __future__ import annotations

from checker import rego_scan
from checker.errors import PolicyError, Problem
from checker.policies import PolicySet

# OPA builtins that depend only on their arguments and touch nothing outside the evaluation.
# Left out on purpose: http.send, net.* (DNS lookups; the CIDR ones too, for one simple rule),
# opa.runtime (the server's environment and config), rego.parse_module (except on literal text),
# print and trace (write to the server's logs), rand.intn and uuid.rfc4122 (random),
# providers.aws.sign_req (signs with credentials), and every internal.* name.
PURE_BUILTINS: frozenset[str] = frozenset({
    # numbers and arithmetic
    "abs", "ceil", "floor", "round", "plus", "minus", "mul", "div", "rem", "numbers.range",
    "numbers.range_step", "to_number", "count", "sum", "product", "max", "min", "sort",
    "bits.and", "bits.lsh", "bits.negate", "bits.or", "bits.rsh", "bits.xor",
    "equal", "neq", "lt", "lte", "gt", "gte", "and", "or",
    # aggregates, arrays, sets, objects
    "all", "any", "array.concat", "array.reverse", "array.slice", "intersection", "union", "set_diff",
    "object.filter", "object.get", "object.keys", "object.remove", "object.subset", "object.union",
    "object.union_n", "json.filter", "json.patch", "json.remove", "walk", "graph.reachable",
    "graph.reachable_paths",
    # strings and patterns
    "concat", "contains", "endswith", "format_int", "indexof", "indexof_n", "lower", "upper", "replace",
    "split", "sprintf", "startswith", "strings.any_prefix_match", "strings.any_suffix_match", "strings.count",
    "strings.render_template", "strings.replace_n", "strings.reverse", "substring", "trim", "trim_left",
    "trim_prefix", "trim_right", "trim_space", "trim_suffix", "regex.find_all_string_submatch_n",
    "regex.find_n", "regex.globs_match", "regex.is_valid", "regex.match", "regex.replace", "regex.split",
    "regex.template_match", "re_match", "glob.match", "glob.quote_meta", "units.parse", "units.parse_bytes",
    "semver.compare", "semver.is_valid", "uuid.parse",
    # types
    "is_array", "is_boolean", "is_null", "is_number", "is_object", "is_set", "is_string", "type_name",
    "cast_array", "cast_boolean", "cast_null", "cast_object", "cast_set", "cast_string",
    # encodings
    "base64.decode", "base64.encode", "base64.is_valid", "base64url.decode", "base64url.encode",
    "base64url.encode_no_pad", "hex.decode", "hex.encode", "json.is_valid", "json.marshal",
    "json.marshal_with_options", "json.unmarshal", "json.match_schema", "json.verify_schema", "yaml.is_valid",
    "yaml.marshal", "yaml.unmarshal", "urlquery.decode", "urlquery.decode_object", "urlquery.encode",
    "urlquery.encode_object", "graphql.is_valid", "graphql.parse", "graphql.parse_and_verify",
    "graphql.parse_query", "graphql.parse_schema", "graphql.schema_is_valid",
    # time (the clock is read, nothing is written)
    "time.add_date", "time.clock", "time.date", "time.diff", "time.format", "time.now_ns",
    "time.parse_duration_ns", "time.parse_ns", "time.parse_rfc3339_ns", "time.weekday",
    # cryptography on given bytes
    "crypto.hmac.equal", "crypto.hmac.md5", "crypto.hmac.sha1", "crypto.hmac.sha256", "crypto.hmac.sha512",
    "crypto.md5", "crypto.sha1", "crypto.sha256", "crypto.parse_private_keys",
    "crypto.x509.parse_and_verify_certificates", "crypto.x509.parse_and_verify_certificates_with_options",
    "crypto.x509.parse_certificate_request", "crypto.x509.parse_certificates", "crypto.x509.parse_keypair",
    "crypto.x509.parse_rsa_private_key", "io.jwt.decode", "io.jwt.decode_verify", "io.jwt.encode_sign",
    "io.jwt.encode_sign_raw", "io.jwt.verify_es256", "io.jwt.verify_es384", "io.jwt.verify_es512",
    "io.jwt.verify_hs256", "io.jwt.verify_hs384", "io.jwt.verify_hs512", "io.jwt.verify_ps256",
    "io.jwt.verify_ps384", "io.jwt.verify_ps512", "io.jwt.verify_rs256", "io.jwt.verify_rs384",
    "io.jwt.verify_rs512",
    # the policy's own annotations
    "rego.metadata.chain", "rego.metadata.rule",
})

# Reaching outside: named in messages, and refused even where they are not called but passed
# (`with data.lib.f as http.send`).
OUTSIDE_PREFIXES = ("http.", "net.", "opa.", "internal.", "providers.")
OUTSIDE_NAMES = frozenset({"rego.parse_module", "print", "trace", "rand.intn", "uuid.rfc4122"})


def _reaches_outside(name: str) -> bool:
    return name in OUTSIDE_NAMES or name.startswith(OUTSIDE_PREFIXES)


def _literal_parse_module(call: rego_scan.Call) -> bool:
    """rego.parse_module("file", `literal text`): parses nothing from outside."""
    return (call.name == "rego.parse_module" and len(call.args) == 2
            and all(len(arg) == 1 and arg[0].kind == "string" for arg in call.args))


def _message(name: str) -> str:
    why = ("reaches outside the evaluation" if _reaches_outside(name)
           else "is not on checker's list of pure builtins (nor a function of the policies)")
    return (f"untrusted policy calls {name}, which {why}: the change's own policies run only if every "
            f"call is pure (SPEC §6)")


def impure_calls(policy_set: PolicySet) -> list[Problem]:
    """Every call of the evaluated modules that is not pure, with file and line; [] when all are."""
    modules = {module.path: module.source for module in policy_set.modules}
    problems = [Problem(str(path), line, _message(name))
                for path, line, name in rego_scan.unsupported_calls(modules, PURE_BUILTINS, _literal_parse_module)]
    for path, source in modules.items():
        for name, line in rego_scan.with_values(source):
            if _reaches_outside(name):
                problems.append(Problem(path, line, f"untrusted policy passes {name} in a `with`, which reaches "
                                                    f"outside the evaluation (SPEC §6)"))
    return sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0, p.message))


def require_pure(policy_set: PolicySet, whose: str) -> None:
    """Raise PolicyError (exit 2) naming every impure call of `whose` policies."""
    problems = impure_calls(policy_set)
    if problems:
        raise PolicyError([*problems, Problem("", None, f"{whose} call builtins that are not pure; they are not "
                                                        f"evaluated on any engine")])
