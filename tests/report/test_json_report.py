from __future__ import annotations

import io
import json
from typing import Any

from report_fixtures import diff_result, member_sg

from checker.models import RunResult
from checker.report import json_report


def doc(result: RunResult) -> dict[str, Any]:
    stream = io.StringIO()
    json_report.render(result, stream)
    return json.loads(stream.getvalue())  # type: ignore[no-any-return]


def test_a_diff_always_has_its_policy_impact() -> None:
    """Every diff document lists the impact (empty when the policies did not change), --observed or not."""
    assert len(doc(diff_result())["policy_impact"]) == 2
    assert doc(diff_result(policies_changed=False))["policy_impact"] == []


def test_self_granted_exceptions_and_bootstrap_are_in_the_document() -> None:
    granted = member_sg(change="introduced", waiver="w-new", waiver_change="extended")
    result = RunResult("diff", "2026-11-29", diff_result().engine, 1, 1, (granted,), meta={"bootstrap": True})
    document = doc(result)
    assert document["findings"][0]["waiver_change"] == "extended" and document["bootstrap"] is True
