"""A run that could not be completed (exit 2) still writes its report in the chosen format and place
(SPEC §6, §7, §9), and validate and test honour --format and --output. Real command line, real files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import run_checker

SARIF_SCHEMA = json.loads((Path(__file__).parent / "report" / "sarif-schema-2.1.0.json").read_text())
BAD_OWNER = "groups:\n  - id: broken-group\n    platform: slack\n    kind: channel\n    owner: nobody-at-all\n" \
            "    members: []\n    data_classes: []\n"


@pytest.fixture
def broken(example_repo: Path) -> Path:
    (example_repo / "inventories" / "groups" / "broken.yaml").write_text(BAD_OWNER)
    return example_repo


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    done = run_checker(*args, "--inventories", str(repo / "inventories"), "--policies", str(repo / "policies"),
                       "--as-of", "2026-11-29", cwd=repo)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("command", ["validate", "audit"])
def test_json_error_document(broken: Path, command: str) -> None:
    code, out, err = run(broken, command, "--format", "json")
    assert code == 2, err
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["command"] == command and doc["error"] is True
    assert any(p["file"] == "inventories/groups/broken.yaml" and p["line"] == 5 and "nobody-at-all" in p["message"]
               for p in doc["problems"]), doc


def test_sarif_error_document(broken: Path) -> None:
    code, out, _ = run(broken, "audit", "--format", "sarif")
    assert code == 2
    doc = json.loads(out)
    assert not list(jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(doc))
    run_ = doc["runs"][0]
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert run_["invocations"][0]["toolExecutionNotifications"]
    assert any(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "inventories/groups/broken.yaml"
               for r in run_["results"])


def test_github_error_commands(broken: Path) -> None:
    code, out, _ = run(broken, "validate", "--format", "github")
    assert code == 2
    assert "::error file=inventories/groups/broken.yaml,line=5,title=checker validate%3A could not be run::" in out


def test_markdown_and_junit(broken: Path) -> None:
    code, out, _ = run(broken, "audit", "--format", "markdown")
    assert code == 2 and out.startswith("## ❌ checker audit could not be run")
    assert "`inventories/groups/broken.yaml:5`" in out
    code, out, _ = run(broken, "validate", "--format", "junit")
    assert code == 2
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 1
    assert any(case.get("name") == "inventories/groups/broken.yaml:5" for case in suite.iter("testcase"))


def test_the_error_report_goes_to_output_whole(broken: Path) -> None:
    target = broken / "report.json"
    code, out, _ = run(broken, "audit", "--format", "json", "--output", str(target))
    assert code == 2 and out == ""
    assert json.loads(target.read_text())["error"] is True
    assert [p.name for p in broken.iterdir() if p.name.startswith(".report.json")] == []  # no temporary left


def test_an_unwritable_output_leaves_no_file_and_exits_2(example_repo: Path) -> None:
    target = example_repo / "no-such-dir" / "report.json"
    code, _, err = run(example_repo, "validate", "--format", "json", "--output", str(target))
    assert code == 2 and "cannot write it" in err and not target.exists()


def test_validate_honours_format_and_output(example_repo: Path) -> None:
    code, out, err = run(example_repo, "validate", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["command"] == "validate" and doc["findings"] == [] and "error" not in doc
    assert err.startswith("ok: ")
    code, out, _ = run(example_repo, "validate", "--format", "sarif", "--output", str(example_repo / "v.sarif"))
    assert code == 0 and out == ""
    assert json.loads((example_repo / "v.sarif").read_text())["runs"][0]["results"] == []


def test_test_command_reports_failing_cases_in_the_format(example_repo: Path) -> None:
    cases = sorted((example_repo / "policies").rglob("*_test.yaml"))[0]
    text = cases.read_text()
    assert "findings: []" in text or "findings:" in text
    broken_case = text.replace("level: deny", "level: warn", 1) if "level: deny" in text else \
        text.replace("level: warn", "level: deny", 1)
    assert broken_case != text
    cases.write_text(broken_case)
    code, out, err = run(example_repo, "test", "--format", "json")
    assert code == 1, err
    doc = json.loads(out)
    assert doc["command"] == "test" and doc["findings"]
    assert all(f["message"].startswith("test failed: ") for f in doc["findings"])
    assert "FAIL " in err


def test_stderr_lines_cannot_forge_workflow_commands(example_repo: Path) -> None:
    """A file name carrying a newline and a workflow command stays on the one stderr line of its problem."""
    evil = example_repo / "inventories" / "groups" / "x\n::warning file=forged.yaml::forged.yaml"
    evil.write_text(BAD_OWNER)
    code, out, err = run(example_repo, "audit", "--format", "github")
    assert code == 2
    for stream in (out, err):
        assert not any(line.lstrip().startswith("::warning") for line in stream.splitlines()), stream
    assert "x\\n::warning" in err


def git_repo(repo: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(repo)], check=True)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit", "markdown"])
@pytest.mark.parametrize("where", ["root", "subfolder", "outside"])
def test_locations_are_relative_to_the_work_tree_root(example_repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                                      fmt: str, where: str) -> None:
    """SPEC §7: from any working directory and with absolute --inventories, every format names
    inventories/... (the path from the repository root)."""
    git_repo(example_repo)
    cwd = {"root": example_repo, "subfolder": example_repo / "inventories" / "groups",
           "outside": tmp_path_factory.mktemp("elsewhere")}[where]
    done = run_checker("audit", "--format", fmt, "--inventories", str(example_repo / "inventories"),
                       "--policies", str(example_repo / "policies"), "--as-of", "2026-11-29", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    assert "inventories/groups/" in done.stdout
    assert str(example_repo) not in done.stdout and "../" not in done.stdout


def test_html_links_use_link_base(example_repo: Path) -> None:
    base = "https://github.com/o/r/blob/0123456789abcdef0123456789abcdef01234567/"
    done = run_checker("audit", "--format", "html", "--link-base", base.rstrip("/"), "--as-of", "2026-11-29",
                       cwd=example_repo)
    assert done.returncode in (0, 1), done.stderr
    assert f'href="{base}inventories/groups/' in done.stdout


def test_html_links_default_to_the_remote_at_the_commit(example_repo: Path) -> None:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(example_repo), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    git("remote", "add", "origin", "git@github.com:example-org/access.git")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "start")
    sha = git("rev-parse", "HEAD")
    env = {"GITHUB_SERVER_URL": "", "GITHUB_REPOSITORY": ""}
    done = run_checker("audit", "--format", "html", "--as-of", "2026-11-29", "--inventories", ".", "--policies",
                       "../policies", cwd=example_repo / "inventories", env=env)
    assert done.returncode in (0, 1), done.stderr
    assert f'href="https://github.com/example-org/access/blob/{sha}/inventories/groups/' in done.stdout
    actions = {"GITHUB_SERVER_URL": "https://github.example.com", "GITHUB_REPOSITORY": "o/r"}
    done = run_checker("audit", "--format", "html", "--as-of", "2026-11-29", cwd=example_repo, env=actions)
    assert f'href="https://github.example.com/o/r/blob/{sha}/inventories/groups/' in done.stdout


@pytest.mark.parametrize("remote,expected", [
    ("git@github.com:org/repo.git", "https://github.com/org/repo/blob/C/"),
    ("https://user:token@github.com/org/repo.git", "https://github.com/org/repo/blob/C/"),
    ("ssh://git@ghe.example.com:2222/org/team/repo.git", "https://ghe.example.com/org/team/repo/blob/C/"),
    ("https://gitlab.com/group/repo", "https://gitlab.com/group/repo/-/blob/C/"),
    ("/srv/git/repo.git", None),
    ("file:///srv/git/repo.git", None),
])
def test_web_link_base(remote: str, expected: str | None) -> None:
    from checker.report.common import web_link_base

    commit = "0123456789abcdef0123456789abcdef01234567"
    assert web_link_base(remote, commit) == (expected.replace("C", commit) if expected else None)
