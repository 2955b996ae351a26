"""The known-answer tests' expected values are what OPA's own evaluator returns.

This is what makes the embedded engine's allowlist trustworthy: a builtin is allowed only if
regopy matches these values, and these values are checked against real OPA here.
"""

from __future__ import annotations

import pytest

from checker.engines.embedded_capabilities import _same, load_known_answers
from testing import real_opa

pytestmark = pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)


def test_every_known_answer_is_real_opas_answer() -> None:
    tests = load_known_answers()
    opa = real_opa.RealOpa(None)
    try:
        answers = opa.queries([(f"x := {t.query}", {}) for t in tests])
    finally:
        opa.close()
    wrong = []
    for test, (ok, got) in zip(tests, answers, strict=True):
        if test.error:
            if ok:
                wrong.append((test.query, "expected an error", got))
        elif not ok or not _same(got, test.expect):
            wrong.append((test.query, test.expect, got))
    assert len(tests) > 300
    assert wrong == []
