"""The command line as a terminal and a pipe see it: colour and width on a real pseudo-terminal, a reader
that leaves early (`| head -1`), and file names or messages that try to reach the terminal or a CI log raw."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_checker

AS_OF = "2026-11-29"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_on_a_terminal(*args: str, columns: int, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`checker ARGS` with standard output on a real pseudo-terminal `columns` wide; its exit code and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "checker", *args], cwd=ROOT, stdout=slave,
                            stderr=subprocess.PIPE, env={**environ, **(env or {})})
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # a pseudo-terminal's buffer is small: read while the command writes
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    _, stderr = proc.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(master)
    assert stderr == b"", stderr.decode()
    return proc.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


def visible_width(text: str) -> int:
    return max(len(ANSI.sub("", line)) for line in text.splitlines())


def test_on_a_terminal_the_table_is_coloured_and_fits_its_real_width() -> None:
    code, out = run_on_a_terminal("audit", "--as-of", AS_OF, columns=100)
    assert code == 1
    assert "\x1b[1;31mdeny\x1b[0m" in out
    assert visible_width(out) <= 100
    assert visible_width(out) > 90, "the width is used, not a default of 80"
    assert ANSI.sub("", out.splitlines()[-1]).startswith("Exit 1: ")


@pytest.mark.parametrize("how", [{"env": {"NO_COLOR": "1"}}, {"args": ("--color", "never")}])
def test_no_color_and_color_never_turn_colour_off_on_a_terminal(how: dict) -> None:
    code, out = run_on_a_terminal("audit", "--as-of", AS_OF, *how.get("args", ()), columns=120,
                                  env=how.get("env"))
    assert code == 1 and "deny" in out
    assert "\x1b[" not in out


def test_in_a_pipe_no_colour_unless_asked_and_no_wrapping_unless_columns_says() -> None:
    env = {k: "" for k in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    plain = run_checker("audit", "--as-of", AS_OF, env=env)
    assert plain.returncode == 1 and "\x1b" not in plain.stdout
    indented = [line for line in plain.stdout.split("How to fix")[0].splitlines() if line.startswith(" ")]
    assert indented and all(re.match(r"^ +\d*  (deny|warn|waived) +\S+ .*\S  +\S", line) for line in indented), \
        "each finding is one line, its message beside its ids, for grep"
    coloured = run_checker("audit", "--as-of", AS_OF, "--color", "always", env=env)
    assert "\x1b[1;31mdeny\x1b[0m" in coloured.stdout
    narrow = run_checker("audit", "--as-of", AS_OF, env={**env, "COLUMNS": "80"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80


@pytest.mark.parametrize("reader", ["head -1", "true"])
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_reader_that_leaves_early_ends_the_run_quietly_with_its_exit_code(reader: str, fmt: str) -> None:
    # `true` has gone before checker writes a byte: the write always meets a closed pipe.
    script = (f'"{sys.executable}" -m checker audit --as-of {AS_OF} --format {fmt} | {reader}; '
              'echo "status=${PIPESTATUS[0]}" >&2')
    proc = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.stderr == "status=1\n", proc.stderr  # no traceback, no "Exception ignored", the run's own code
    if reader == "head -1":
        assert len(proc.stdout.splitlines()) == 1


def test_file_names_and_messages_reach_stderr_escaped(example_repo: Path) -> None:
    """A file name with a newline, a workflow command and an escape sequence: its error names it escaped."""
    name = "evil\n::warning file=README.md,line=1::forged\x1b[2J\u202e.yaml"
    (example_repo / "inventories" / name).write_text("groups: [\n", encoding="utf-8")
    proc = run_checker("audit", cwd=example_repo)
    assert proc.returncode == 2
    assert "evil\\n::warning file=README.md,line=1::forged\\x1b[2J\\u202e.yaml" in proc.stderr
    assert "\x1b" not in proc.stderr and "\u202e" not in proc.stderr
    assert all(line.startswith("checker: ") for line in proc.stderr.splitlines()), proc.stderr


def test_notes_and_warnings_on_stderr_escape_file_names_from_git(example_repo: Path) -> None:
    """A file name from an old commit reaches stderr through --history's note and diff's warning about a
    broken base: escaped there too, so no line of stderr can start a workflow command."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z",
           "GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z"}

    def git(*args: str, when: str = "2026-11-01") -> None:
        dated = {**env, "GIT_AUTHOR_DATE": f"{when}T12:00:00Z", "GIT_COMMITTER_DATE": f"{when}T12:00:00Z"}
        subprocess.run(["git", *args], cwd=example_repo, env=dated, check=True, capture_output=True)

    evil = example_repo / "inventories" / "evil\n::error file=README.md::forged\x1b[2J.yaml"
    evil.write_text("groups: [\n", encoding="utf-8")
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "a broken file")
    evil.unlink()
    git("checkout", "-qb", "repair")
    git("commit", "-qam", "repaired", when="2026-11-20")
    history = run_checker("audit", "--as-of", AS_OF, "--history", "2026-10-01", "--format", "json",
                          cwd=example_repo)
    changed = run_checker("diff", "--base", "main", "--as-of", AS_OF, "--format", "json", cwd=example_repo)
    for proc, expected in ((history, "--history"), (changed, "warning")):
        assert proc.returncode in (0, 1), proc.stderr
        assert expected in proc.stderr and "evil\\n::error file=README.md::forged\\x1b[2J.yaml" in proc.stderr
        assert "\x1b" not in proc.stderr
        assert all(line.startswith("checker: ") for line in proc.stderr.splitlines()), proc.stderr
