from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Subprocesses (`python -m checker`, the `checker` script) run this checkout's code, not whichever
# copy happens to be installed: tests of a git worktree must test that worktree.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never share the user's cache (a test that wants one sets CHECKER_CACHE_DIR itself)."""
    monkeypatch.setenv("CHECKER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A copy of the shipped policies and example organisation to change freely."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "inventories", tmp_path / "inventories")
    return tmp_path


def run_checker(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in its own process, as a user or CI runs it."""
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600, check=False)
