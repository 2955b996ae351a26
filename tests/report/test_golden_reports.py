"""Every format against its reviewed golden file, for an audit, a diff and a clean diff.

Regenerate with `UPDATE_GOLDEN=1 python3 -m pytest tests/report` and review the diff before committing.
"""

from __future__ import annotations

import io

import pytest
from report_fixtures import audit_result, check_golden, clean_diff_result, diff_result

from checker import report
from checker.models import RunResult

CASES = {"audit": audit_result, "diff": diff_result, "clean-diff": clean_diff_result}
EXTENSIONS = {"sarif": "sarif.json", "github": "github.txt", "markdown": "md", "junit": "junit.xml"}


def rendered(fmt: str, result: RunResult) -> str:
    stream = io.StringIO()
    report.get(fmt)(result, stream)
    return stream.getvalue()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fmt", EXTENSIONS)
def test_matches_golden(fmt: str, case: str) -> None:
    check_golden(f"{case}.{EXTENSIONS[fmt]}", rendered(fmt, CASES[case]()))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fmt", EXTENSIONS)
def test_reporters_leave_the_result_alone(fmt: str, case: str) -> None:
    result = CASES[case]()
    before = repr(result)
    first = rendered(fmt, result)
    assert repr(result) == before
    assert rendered(fmt, result) == first  # deterministic: no clocks, no set order
