"""One error family; every member means exit 2 (the run could not be completed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, pinned to a file and line where known."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" if where else self.message


class CheckerError(Exception):
    """A run that could not be completed. Carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", None, problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputError(CheckerError):
    """Bad inventory input: YAML, schema, references."""


class PolicyError(CheckerError):
    """A policy that does not load, parse, or evaluate."""


class EngineError(CheckerError):
    """The engine is unreachable, crashed, or returned something unusable."""


class GitError(CheckerError):
    """A git operation failed: unknown ref, missing history, not a repository."""
