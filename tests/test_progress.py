from __future__ import annotations

import io

from checker.progress import Progress


def test_long_runs_on_a_terminal_show_a_bar_and_clear_it() -> None:
    out = io.StringIO()
    bar = Progress("evaluating", 1000, enabled=True, stream=out)
    bar.advance(1000)
    bar.close()
    assert "1,000/1,000 groups" in out.getvalue()
    assert out.getvalue().endswith("\r")


def test_short_or_piped_runs_show_nothing() -> None:
    for total, enabled in ((10, True), (10_000, False)):
        out = io.StringIO()
        bar = Progress("evaluating", total, enabled=enabled, stream=out)
        bar.advance(total)
        bar.close()
        assert out.getvalue() == ""
