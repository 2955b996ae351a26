"""Worker processes end when checker is killed (kill -9): the embedded engine's and the parsers'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the workers")

ENGINE_PARENT = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from checker import policies
from checker.engines import EngineOptions, make_engine
engine = make_engine("embedded", policies.load_dir(Path({str(ROOT / "policies")!r})), EngineOptions(jobs=2))
group = {{"id": "g", "platform": "lark", "kind": "chat", "data_classes": [], "subject_jurisdictions": [],
          "owner": {{"id": "a", "location": "US", "employment": "employee", "status": "active", "trainings": {{}}}},
          "members": []}}
engine.evaluate([(f"g{{n}}", {{"as_of": "2026-11-29", "group": dict(group, id=f"g{{n}}")}}) for n in range(8)])
print("ready", flush=True)
time.sleep(600)
"""

WATCHER_PARENT = f"""
import sys, time, multiprocessing, os
sys.path.insert(0, {str(ROOT)!r})
from checker.engines import workers

def child(parent):
    sys.platform = "darwin"  # no prctl: the watcher thread must do it
    workers.die_with_parent(parent)
    time.sleep(600)

if __name__ == "__main__":
    multiprocessing.get_context("fork").Process(target=child, args=(os.getpid(),)).start()
    time.sleep(1)
    print("ready", flush=True)
    time.sleep(600)
"""


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its reaper is missing


@pytest.mark.parametrize("script", [ENGINE_PARENT, WATCHER_PARENT], ids=["embedded-engine-prctl", "watcher-thread"])
def test_workers_are_gone_within_seconds_of_a_kill_9(script: str, tmp_path: Path) -> None:
    path = tmp_path / "parent.py"
    path.write_text(script, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        workers = children(parent.pid)
        assert workers, "the parent has no worker processes to test with"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if alive(pid)]
    finally:
        if parent.poll() is None:
            parent.kill()
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"workers {left} outlived their killed parent"
