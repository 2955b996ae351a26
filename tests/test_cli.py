"""The command line end to end on the shipped example organisation: exit codes, JSON shape, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, run_checker

AS_OF = "2026-11-29"
ALL_RULES = {"owner-location", "member-location", "subject-jurisdiction-missing", "sensitive-group-size",
             "non-employee-access", "minor-safety-in-chat", "departed-owner", "training-expired"}


def audit_json(*extra: str, cwd: Path = ROOT) -> tuple[int, dict]:
    proc = run_checker("audit", "--as-of", AS_OF, "--format", "json", *extra, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_validate_example_org() -> None:
    proc = run_checker("validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")


def test_audit_prints_a_table_and_exits_1() -> None:
    proc = run_checker("audit", "--as-of", AS_OF)
    assert proc.returncode == 1, proc.stderr
    assert "owner-location" in proc.stdout and "inventories/groups/" in proc.stdout
    assert "deny" in proc.stdout.splitlines()[-1]


def test_audit_json_shape() -> None:
    code, doc = audit_json()
    assert code == 1
    assert set(doc) >= {"version", "command", "as_of", "engine", "summary", "findings"}
    assert (doc["version"], doc["command"], doc["as_of"]) == (1, "audit", AS_OF)
    assert doc["engine"]["name"] == "embedded" and doc["engine"]["version"]
    assert set(doc["summary"]) == {"groups", "people", "deny", "warn", "waived", "introduced", "worsened",
                                   "resolved", "unchanged"}
    keys = {"rule", "level", "group", "person", "message", "waived", "waiver", "change", "location"}
    for finding in doc["findings"]:
        assert keys <= set(finding) <= keys | {"measure", "waiver_change"}  # those two only when set
        assert finding["change"] is None
        assert finding["level"] in ("deny", "warn")
        assert set(finding["location"]) == {"file", "line"}
        assert Path(ROOT / finding["location"]["file"]).is_file()
        assert isinstance(finding["location"]["line"], int) and finding["location"]["line"] >= 1
    present = [f for f in doc["findings"]]
    assert doc["summary"]["deny"] == sum(1 for f in present if f["level"] == "deny" and not f["waived"])
    assert doc["summary"]["warn"] == sum(1 for f in present if f["level"] == "warn" and not f["waived"])
    assert doc["summary"]["waived"] == sum(1 for f in present if f["waived"])


def test_example_org_fires_every_rule_and_has_waivers() -> None:
    _, doc = audit_json()
    rules = {f["rule"] for f in doc["findings"]}
    assert rules >= ALL_RULES
    assert "waiver-expired" in rules
    assert any(f["waived"] for f in doc["findings"])


def test_member_findings_point_at_the_member_line() -> None:
    _, doc = audit_json()
    for finding in doc["findings"]:
        if finding["rule"] == "member-location":
            lines = (ROOT / finding["location"]["file"]).read_text().splitlines()
            assert finding["person"] in lines[finding["location"]["line"] - 1]


def test_fail_on_levels() -> None:
    assert audit_json("--fail-on", "never")[0] == 0
    assert audit_json("--fail-on", "warn")[0] == 1


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    proc = run_checker("audit", "--as-of", AS_OF, "--format", "json", "--output", str(out))
    assert proc.returncode == 1 and proc.stdout == ""
    assert json.loads(out.read_text())["command"] == "audit"


def test_cached_run_is_byte_identical(tmp_path: Path) -> None:
    env = {"CHECKER_CACHE_DIR": str(tmp_path / "cache")}
    args = ("audit", "--as-of", AS_OF, "--format", "json")
    uncached = run_checker(*args, "--no-cache")
    cold = run_checker(*args, env=env)
    warm = run_checker(*args, env=env)
    assert uncached.stdout == cold.stdout == warm.stdout
    assert (tmp_path / "cache").is_dir()


def test_bad_yaml_exits_2_naming_file_and_line(example_repo: Path) -> None:
    path = example_repo / "inventories" / "broken.yaml"
    path.write_text("people:\n  - id: x\n    location: US\n    location: US\n    employment: employee\n")
    proc = run_checker("audit", cwd=example_repo)
    assert proc.returncode == 2
    assert "inventories/broken.yaml:4: duplicate key 'location'" in proc.stderr
    assert proc.stdout == ""


def test_bad_policy_exits_2_naming_the_file(example_repo: Path) -> None:
    bad = example_repo / "policies" / "access" / "owner_location" / "owner_location.rego"
    bad.write_text(bad.read_text() + "\ndeny contains msg if {\n\tmsg := \n}\n")
    for command in ("audit", "validate"):
        proc = run_checker(command, cwd=example_repo)
        assert proc.returncode == 2, proc.stderr
        assert "policies/access/owner_location/owner_location.rego" in proc.stderr
        assert proc.stdout == ""  # rego-cpp's own error print must not corrupt the report stream


def test_unsupported_builtin_is_refused_on_the_embedded_engine(example_repo: Path) -> None:
    family = example_repo / "policies" / "office_network"
    family.mkdir()
    (family / "office_network.rego").write_text(
        "package access.office_network\n\nimport rego.v1\n\n"
        "deny contains msg if {\n"
        '\tnet.cidr_contains("10.0.0.0/8", "10.1.2.3")\n'
        '\tmsg := "office network"\n'
        "}\n")
    for command in ("audit", "validate"):
        proc = run_checker(command, cwd=example_repo)
        assert proc.returncode == 2
        assert "policies/office_network/office_network.rego:6" in proc.stderr
        assert "net.cidr_contains" in proc.stderr and "--engine opa" in proc.stderr


def test_builtin_error_at_evaluation_is_exit_2(example_repo: Path) -> None:
    family = example_repo / "policies" / "bad_count"
    family.mkdir()
    (family / "bad_count.rego").write_text(
        "package access.bad_count\n\nimport rego.v1\n\n"
        "deny contains msg if {\n"
        "\tcount(input.group.kind) > count(5)\n"
        '\tmsg := "never"\n'
        "}\n")
    proc = run_checker("audit", cwd=example_repo)
    assert proc.returncode == 2, proc.stdout
    assert "evaluating group" in proc.stderr


def test_bad_as_of_and_unknown_format() -> None:
    assert run_checker("audit", "--as-of", "2026-13-01").returncode == 2
    assert run_checker("audit", "--format", "yaml").returncode == 2


def test_missing_inventory_folder(tmp_path: Path) -> None:
    proc = run_checker("audit", "--inventories", str(tmp_path / "none"), "--policies", str(ROOT / "policies"))
    assert proc.returncode == 2 and "inventory folder not found" in proc.stderr
