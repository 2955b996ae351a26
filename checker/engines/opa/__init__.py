"""The OPA engine: evaluates through OPA's REST API, on running servers or on a local `opa`.

One module per concern: `namespacing` (moving modules under a per-run package, pure), `messages`
(what OPA's errors mean, pure), `rest` (the calls to one server), `dispatch` (batches spread over
servers), `rego_tests` (the *_test.rego runner), `process` (a local `opa run --server`) and
`engine` (OpaEngine, which ties them together).

Which HTTP calls go through opa-python-client (OpaClient) and which do not:
  - OpaClient: PUT/DELETE /v1/policies/{id} (update_policy_from_string, delete_policy),
    PUT/DELETE /v1/data/{path} (update_or_create_data, delete_data), the batched query
    POST /v1/data/{path} {"input": ...} (query_rule) and the GET /v1/data reads (get_data).
  - plain `requests`: the first GET /health of each server, because the client's check_health()
    answers a bare bool and checker must tell "refused", "timed out" and "401" apart.
The client builds its URLs from host and port; checker points its public `root_url` at the exact
base URL so IPv6 literals and servers behind a path prefix work too.

Sharing a server without clobbering it. Every module is uploaded with its package moved under
`checker_run_<id>` and every `data` reference rewritten to match, by a token-level rewrite that
skips strings and comments: `package access.x` -> `package checker_run_<id>.access.x`,
`import data.lib.groups` -> `import data.checker_run_<id>.lib.groups` (the alias stays `groups`),
`data.jurisdictions[j]` -> `data.checker_run_<id>.jurisdictions[j]`. The policy data goes to
/v1/data/checker_run_<id>, so `data.X` in the policies still finds it; a generated wrapper module
(package `checker_batch_<id>`) evaluates a whole batch of groups per request with
`with input as doc`. The rewrite inserts text within lines only, so OPA's line numbers are the
source's. Policy ids are `checker_run_<id>/NNN/<file name>`; close() deletes all of it, in the
reverse order of upload (OPA recompiles on delete), and the data, also after a failure.

The *_test.rego tests run with `opa test` when the binary is on PATH; otherwise their modules are
uploaded the same way and each test_* rule is read back, judged as `opa test` judges it: every
definition of a rule on its own, and a parametrized test (test_x[case]) case by case.
"""
